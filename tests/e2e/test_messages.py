"""Errors that say what to do: missing cookies, an emulator URL without cookies, network failures by cause.

Each failure is produced for real, offline: a closed port, plain HTTP spoken
to a TLS client, a proxy that is not there, and a DNS lookup that fails
(``socket.getaddrinfo`` replaced, so no resolver is ever asked).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient, errors
from gemini_sync.emulator import Emulator


@pytest.fixture
def no_cookies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GEMINI_SECURE_1PSID", "GEMINI_SECURE_1PSIDTS", "GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "cookies"))
    monkeypatch.setattr("gemini_sync.transport.sources.browser_cookies", lambda: None)


@pytest.fixture
def closed_url() -> Iterator[str]:
    with Emulator() as emulator:
        url = emulator.url
    yield url  # nothing listens there any more


def client_of(url: str, **options: Any) -> GeminiClient:
    return GeminiClient(
        cookies={"__Secure-1PSID": "x"}, base_url=url, max_retries=0, cookie_cache=False, **options
    )


def test_missing_cookies_say_how_to_get_them(no_cookies: None) -> None:
    with pytest.raises(errors.AuthError) as info:
        GeminiClient()
    message = str(info.value)
    assert "https://gemini.google.com" in message and "F12" in message
    assert "GEMINI_SECURE_1PSID" in message and "GEMINI_SECURE_1PSIDTS" in message
    assert "pip install 'gemini-sync[browser]'" in message
    assert "gemini_sync.emulator.Emulator" in message and "gemini-sync --emulator" in message


def test_an_emulator_url_without_cookies_says_any_value_works(
    no_cookies: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.AuthError, match="any non-empty value works"):
        GeminiClient(base_url="http://127.0.0.1:8765")
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:8765")
    with pytest.raises(
        errors.AuthError, match=re.escape("at http://127.0.0.1:8765 any non-empty value works")
    ):
        GeminiClient()


def test_gemini_base_url_is_used_when_no_base_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(pace=0) as emu:
        monkeypatch.setenv("GEMINI_BASE_URL", emu.url)
        with GeminiClient(cookies=emu.cookies, cookie_cache=False) as client:
            assert client.base_url == emu.url
            assert client.generate_content("where?").text.startswith("You said: where?")
        with GeminiClient(cookies=emu.cookies, base_url="http://127.0.0.1:1", cookie_cache=False) as other:
            assert other.base_url == "http://127.0.0.1:1"  # an explicit base_url wins


def test_a_refused_connection(closed_url: str) -> None:
    with client_of(closed_url) as client, pytest.raises(errors.StreamInterrupted) as info:
        client.generate_content("hi")
    port = closed_url.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port} refused the connection; is the server running" in str(info.value)


def test_a_failed_dns_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with client_of("http://emulator.invalid:8765") as client, pytest.raises(errors.StreamInterrupted) as info:
        client.generate_content("hi")
    assert "DNS lookup of emulator.invalid failed (Name or service not known)" in str(info.value)


def test_a_failed_tls_handshake() -> None:
    with Emulator() as plain_http:
        https = plain_http.url.replace("http://", "https://")
        with client_of(https) as client, pytest.raises(errors.StreamInterrupted) as info:
            client.generate_content("hi")
    assert f"the TLS handshake with {https.removeprefix('https://')} failed" in str(info.value)


def test_a_proxy_that_fails_is_named_without_its_credentials(closed_url: str) -> None:
    proxy = closed_url.replace("http://", "http://user:secret@")
    with (
        client_of("http://127.0.0.1:8765", proxy=proxy) as client,
        pytest.raises(errors.StreamInterrupted) as info,
    ):
        client.generate_content("hi")
    assert "the proxy failed" in str(info.value) and "secret" not in str(info.value)
