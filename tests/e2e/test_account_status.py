"""Account status, abuse flags and usage windows, as a client reads them from the emulator.

Each status code of ``otAQ7b`` becomes its typed error at the first call that
reads the catalogue (1016 ``AuthError``; 1033 none; the others
``AccountRestricted`` with ``.status``), with a message saying what to do,
and is never asked again or retried; ``account_status()`` itself never raises.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from gemini_sync import AbuseStatus, GeminiClient, errors
from gemini_sync._constants import BATCH_EXEC_PATH, PSID
from gemini_sync.emulator import Emulator
from gemini_sync.transport import cache
from gemini_sync.types.status import STATUS_CODES

#: code -> a phrase the error must carry (what the user must do)
ACTIONS = {
    1014: "try again later",
    1021: "account's settings",
    1040: "accept the terms at https://gemini.google.com",
    1042: "accept the new terms",
    1054: "guardian",
    1057: "guardian to approve",
    1060: "supported country",
    1099: "does not know",
}


def _status_calls(emu: Emulator) -> int:
    return sum("otAQ7b" in r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH))


@pytest.mark.parametrize("code", sorted(ACTIONS))
def test_a_status_that_forbids_use_raises_account_restricted(
    emu: Emulator, client: GeminiClient, code: int
) -> None:
    emu.account_status = code
    for _ in range(2):  # the second call raises from what was read: no second request
        with pytest.raises(errors.AccountRestricted) as info:
            client.list_models()
        assert info.value.status == code and ACTIONS[code] in str(info.value)
    with pytest.raises(errors.AccountRestricted):
        client.generate_content("hi", model="pro")  # a name needs the catalogue
    assert _status_calls(emu) == 1  # never retried, never asked again
    assert not emu.generate_requests
    status = client.account_status()  # the status itself is readable, never raises
    assert status.code == code and not status.usable and status.action


def test_1016_with_cookies_is_an_auth_error_that_names_the_fix(emu: Emulator, client: GeminiClient) -> None:
    emu.account_status = 1016
    with pytest.raises(errors.AuthError) as info:
        client.list_models()
    assert not isinstance(info.value, errors.APIError)
    assert "fresh __Secure-1PSID" in str(info.value) and "guest=True" in str(info.value)
    assert _status_calls(emu) == 1


def test_1033_does_not_stop_use_and_is_said_once(
    emu: Emulator, client: GeminiClient, caplog: pytest.LogCaptureFixture
) -> None:
    emu.account_status = 1033
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        assert client.list_models()
        assert client.generate_content("hi", model="flash").text
    warnings = [r for r in caplog.records if "1033" in r.getMessage()]
    assert len(warnings) == 1
    assert client.account_status().usable


def test_1000_is_available(emu: Emulator, client: GeminiClient) -> None:
    status = client.account_status()
    assert (status.code, status.name, status.usable, status.action) == (1000, "available", True, "")
    assert client.list_models()


def test_every_documented_code_has_words() -> None:
    assert set(STATUS_CODES) == {1000, 1014, 1016, 1021, 1033, 1040, 1042, 1054, 1057, 1060}
    assert all(meaning and (action or code == 1000) for code, (_, meaning, action, _) in STATUS_CODES.items())


def test_account_status_includes_the_abuse_flags(emu: Emulator, client: GeminiClient) -> None:
    assert client.account_status().abuse == AbuseStatus()
    emu.abuse = (1037, "rate")
    abuse = client.account_status().abuse
    assert abuse is not None and (abuse.clean, abuse.code, abuse.signal) == (False, 1037, "rate")
    assert [r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH)][-1] == ["otAQ7b", "GPRiHf"]  # one request


def test_usage_includes_the_windows_and_the_quota_check(emu: Emulator, client: GeminiClient) -> None:
    emu.usage_used = 0.25
    usage = client.usage()
    assert {q.name for q in usage} >= {"pro", "flash"}  # still the list of buckets
    assert [(w.name, w.kind, w.used_percent) for w in usage.windows] == [
        ("5 hours", 1, 25.0),
        ("weekly", 2, 25.0),
    ]
    assert all(w.resets_at and w.resets_at > emu.quota_clock() for w in usage.windows)
    assert usage.tier == 1 and usage.check is not None and not usage.check.blocked
    emu.quota_blocked = True
    assert client.usage().check.blocked  # type: ignore[union-attr]
    sources = {r.query.get("source-path") for r in emu.requests_to(BATCH_EXEC_PATH) if "jSf9Qc" in r.rpcids}
    assert sources == {"/usage"}
    assert usage.to_dict()["windows"][0]["used_percent"] == 25.0


def test_1016_from_cached_cookies_deletes_the_cache(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GEMINI_SECURE_1PSID", "GEMINI_SECURE_1PSIDTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path))
    jar = requests.cookies.RequestsCookieJar()
    for name, value in emu.cookies.items():
        jar.set(name, value, domain="127.0.0.1", path="/")
    saved = cache.save_cookies(list(jar), emu.cookies[PSID], directory=tmp_path, domains=("127.0.0.1",))
    assert saved is not None and saved.exists()
    with GeminiClient(base_url=emu.url, auto_refresh=False) as client:
        assert client.cookie_source == "cookie cache"
        emu.account_status = 1016
        with pytest.raises(errors.AuthError):
            client.list_models()
    assert not saved.exists()  # the next start tries the given cookies, not the dead cache
