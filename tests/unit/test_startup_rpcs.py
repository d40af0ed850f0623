"""The readers of the start-up RPCs (jSf9Qc, aPya6c, GPRiHf), the status table, guest refusals, DBSC hints.

Pure: shapes as working clients parse them (docs/protocol.md 13.2) and odd ones, which must never crash.
"""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync import AccountRestricted, AuthError, Model
from gemini_sync.guest import check_guest_call, guest_refusal
from gemini_sync.protocol.app import build_date, read_guest_page, render_app_page
from gemini_sync.protocol.request import AppTokens
from gemini_sync.protocol.startup import parse_abuse, parse_quota_check, parse_usage_info
from gemini_sync.types.status import describe_status, status_error

APP = "https://gemini.google.com/app"


def test_usage_info_reads_the_windows_and_the_tier() -> None:
    result = [2, [[999999, 0.5, 1, [[1800000000]]], [10, 0.25, 2, [[1800500000]]], [42, 0.9, 3, None]], False]
    tier, windows = parse_usage_info(result)
    assert tier == 2
    assert [(w.name, w.used_percent, w.resets_at) for w in windows] == [
        ("5 hours", 50.0, 1800000000.0),
        ("weekly", 25.0, 1800500000.0),
        ("AI credits", None, None),  # credits: only the amount left means something
    ]
    assert windows[2].remaining == 42.0


@pytest.mark.parametrize("odd", [None, [], "x", [None, "x"], [1, [[None], ["a", "b", "c"]]], {"a": 1}])
def test_odd_answers_never_crash(odd: Any) -> None:
    parse_usage_info(odd)
    parse_quota_check(odd)
    assert parse_abuse(odd).clean is True or parse_abuse(odd).code is None


def test_quota_check_and_abuse() -> None:
    check = parse_quota_check([True, 1.0, [1800000000]])
    assert (check.blocked, check.used_percent, check.resets_at) == (True, 100.0, 1800000000.0)
    assert parse_abuse([]).clean and parse_abuse([None, None]).clean
    flagged = parse_abuse([None, [None, "1037000001", None, [None, "burst"]]])
    assert (flagged.clean, flagged.code, flagged.signal) == (False, 1037, "burst")


@pytest.mark.parametrize("code", [1014, 1021, 1040, 1042, 1054, 1057, 1060, 4242])
def test_forbidding_statuses_are_account_restricted(code: int) -> None:
    error = status_error(describe_status(code))
    assert isinstance(error, AccountRestricted) and error.status == code and "To fix:" in str(error)


def test_1016_1033_1000_and_a_guest() -> None:
    assert isinstance(status_error(describe_status(1016)), AuthError)
    assert status_error(describe_status(1033)) is None and status_error(describe_status(1000)) is None
    assert status_error(describe_status(None)) is None
    guest = describe_status(1016, guest=True)
    assert guest.usable and guest.name == "guest" and status_error(guest) is None


def test_guest_page_gives_build_label_and_session_without_a_token() -> None:
    page = render_app_page(AppTokens("secret", "boq_x_20261201.01_p0", "-123"), signed_in=False)
    tokens = read_guest_page(page, APP, APP)
    assert (tokens.access_token, tokens.build_label, tokens.session_id) == (
        "",
        "boq_x_20261201.01_p0",
        "-123",
    )
    with pytest.raises(AuthError):
        read_guest_page(page, "https://accounts.google.com/x", APP)
    with pytest.raises(AuthError):
        read_guest_page("<html></html>", APP, APP)
    assert build_date("boq_x_20261201.01_p0") == (2026, 12, 1) and build_date("nothing") is None


def test_guest_checks() -> None:
    for fine in (None, Model.UNSPECIFIED, "flash-lite", " 3.5  FLASH-LITE ", "cf41b0e0dd7d53e5"):
        check_guest_call(fine, None)
    for refused in (Model.G_3_PRO, "pro", "fbb127bbb056c959"):
        with pytest.raises(ValueError, match="only the default model"):
            check_guest_call(refused, None)
    with pytest.raises(ValueError, match="thinking"):
        check_guest_call(None, "standard")
    assert "no history" in str(guest_refusal("list_chats()"))
