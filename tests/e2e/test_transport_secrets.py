"""Secrets stay home: cookie scope, redirects, cookie values, error previews.

Every request is recorded with its URL, scheme and ``Cookie`` header
(``responses`` sees the request exactly as requests' cookie jar prepared it,
which is what would reach the network), against the service's real https
hosts, so ``Secure`` and host scoping are exercised as they would be there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from gemini_sync import GeminiClient, errors
from gemini_sync._constants import BATCH_EXEC_PATH, GENERATE_PATH, ROTATE_COOKIES_URL, UPLOAD_URL
from gemini_sync.protocol.app import render_app_page
from gemini_sync.protocol.request import AppTokens
from gemini_sync.types.images import GeneratedImage, WebImage
from tests._wire import answer_body

ORIGIN = "https://gemini.google.com"
APP = ORIGIN + "/app"
GEN = ORIGIN + GENERATE_PATH
TOKEN = "AJvLN6M-scope-token:1713000000000"
PSID = "psid-scope-secret"
PSIDTS = "psidts-scope-secret"
PNG = {"body": b"\x89PNG\r\n", "content_type": "image/png"}


def _seen(mock: Any) -> list[tuple[str, str, str]]:
    """(scheme, host + path, Cookie header) of every request, in order."""
    out = []
    for call in mock.calls:
        parts = urlsplit(call.request.url)
        out.append((parts.scheme, f"{parts.hostname}{parts.path}", call.request.headers.get("Cookie", "")))
    return out


def _cookie_of(mock: Any, host_path: str) -> str:
    return next(cookie for _scheme, where, cookie in _seen(mock) if where == host_path)


@pytest.fixture
def mock() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(APP, body=render_app_page(AppTokens(TOKEN, "bl", "-1")))
        yield rsps


def _client(**options: Any) -> GeminiClient:
    return GeminiClient(PSID, PSIDTS, auto_refresh=False, cookie_cache=False, **options)


def test_cookies_go_only_to_the_service_hosts_over_https(mock: Any, tmp_path: Path) -> None:
    mock.post(GEN, body=answer_body(["Hi"]))
    mock.post(UPLOAD_URL, body="/contrib_service/ttl_1d/abc")
    for url in (
        "https://lh3.googleusercontent.com/gen",
        "http://lh3.googleusercontent.com/plain",
        "https://www.google.com/web",
        "http://books.google.com/web",
        "https://lh3.googleusercontent.com/webimg",
    ):
        mock.get(url, **PNG)
    mock.get("https://example.com/hop", status=302, headers={"Location": "http://sites.google.com/x.png"})
    mock.get("http://sites.google.com/x.png", **PNG)
    mock.get(
        "https://lh3.googleusercontent.com/moved", status=302, headers={"Location": "https://evil.test/g"}
    )
    mock.get("https://evil.test/g", **PNG)
    with _client() as client:
        assert client.generate_content("hi", files=[("a.txt", b"x")]).text == "Hi"
        GeneratedImage("https://lh3.googleusercontent.com/gen").attach(client).save(tmp_path, "g1")
        GeneratedImage("http://lh3.googleusercontent.com/plain").attach(client).save(tmp_path, "g2")
        GeneratedImage("https://lh3.googleusercontent.com/moved").attach(client).save(tmp_path, "g3")
        WebImage("https://www.google.com/web").attach(client).save(tmp_path, "w1")
        WebImage("http://books.google.com/web").attach(client).save(tmp_path, "w2")
        WebImage("https://lh3.googleusercontent.com/webimg").attach(client).save(tmp_path, "w3")
        WebImage("https://example.com/hop").attach(client).save(tmp_path, "w4")
    for where in (
        "gemini.google.com/app",
        "gemini.google.com" + GENERATE_PATH,
        "content-push.googleapis.com/upload",
    ):
        assert f"__Secure-1PSID={PSID}" in _cookie_of(mock, where)
    assert PSID in _cookie_of(mock, "lh3.googleusercontent.com/gen")  # a generated image is the account's
    assert PSID in _cookie_of(mock, "lh3.googleusercontent.com/moved")
    never = [
        "lh3.googleusercontent.com/plain",  # http
        "evil.test/g",  # after a redirect to another host
        "www.google.com/web",  # web images: public pages' pictures
        "books.google.com/web",
        "lh3.googleusercontent.com/webimg",
        "example.com/hop",
        "sites.google.com/x.png",
    ]
    for where in never:
        assert _cookie_of(mock, where) == "", where


@pytest.mark.parametrize("scope", ["; Domain=.google.com", ""])
def test_a_rotated_cookie_reaches_every_service_host_and_no_other(
    mock: Any, tmp_path: Path, scope: str
) -> None:
    """Set for the whole domain or for the rotation host only, the new value goes where the old one went."""
    mock.post(
        ROTATE_COOKIES_URL,
        body="",
        headers={"Set-Cookie": f"__Secure-1PSIDTS=rotated-secret{scope}; Path=/; Secure"},
    )
    mock.get("https://books.google.com/web", **PNG)
    mock.post(GEN, body=answer_body(["Hi"]))
    with _client() as client:
        assert client._refresher.rotate_now()
        WebImage("https://books.google.com/web").attach(client).save(tmp_path)
        client.generate_content("hi")
    assert _cookie_of(mock, "books.google.com/web") == ""
    generate_cookie = _cookie_of(mock, "gemini.google.com" + GENERATE_PATH)
    assert generate_cookie.count("__Secure-1PSIDTS=") == 1 and "rotated-secret" in generate_cookie


def test_a_users_jar_is_used_as_a_jar_never_flattened(mock: Any, tmp_path: Path) -> None:
    session = requests.Session()
    session.cookies.set("SID", "users-google-secret", domain=".google.com")
    session.cookies.set("shop", "users-shop-secret", domain="shop.test")
    mock.get("https://lh3.googleusercontent.com/gen", **PNG)
    mock.get("https://www.google.com/web", **PNG)
    with _client(session=session) as client:
        GeneratedImage("https://lh3.googleusercontent.com/gen").attach(client).save(tmp_path, "g")
        WebImage("https://www.google.com/web").attach(client).save(tmp_path, "w")
    generated = _cookie_of(mock, "lh3.googleusercontent.com/gen")
    assert PSID in generated and "users-" not in generated
    web = _cookie_of(mock, "www.google.com/web")
    assert (
        PSID not in web and "users-shop-secret" not in web
    )  # the user's own google cookie: their jar's call


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["https://evil.test/steal", "http://gemini.google.com" + GENERATE_PATH])
def test_stream_generate_never_follows_a_redirect_to_another_origin(
    mock: Any, status: int, target: str
) -> None:
    mock.post(GEN, status=status, headers={"Location": target})
    host = re.escape(urlsplit(target).hostname or "")
    with _client() as client, pytest.raises(errors.APIError, match=host) as info:
        client.generate_content("the secret prompt")
    assert "another host" in str(info.value)
    assert [where for _s, where, _c in _seen(mock)] == [
        "gemini.google.com/app",
        "gemini.google.com" + GENERATE_PATH,
    ]


@pytest.mark.parametrize("call", ["batchexecute", "upload"])
def test_batchexecute_and_uploads_never_follow_a_redirect_to_another_origin(mock: Any, call: str) -> None:
    mock.post(ORIGIN + BATCH_EXEC_PATH, status=307, headers={"Location": "https://evil.test/rpc"})
    mock.post(UPLOAD_URL, status=308, headers={"Location": "https://evil.test/up"})
    mock.post(GEN, body=answer_body(["Hi"]))
    with _client() as client, pytest.raises(errors.APIError, match=r"evil\.test"):
        if call == "batchexecute":
            client.list_chats()
        else:
            client.generate_content("hi", files=[("a.txt", b"secret file")])
    assert not [where for _s, where, _c in _seen(mock) if where.startswith("evil.test")]


def test_a_redirect_loop_ends_at_once_and_same_origin_hops_are_followed(mock: Any) -> None:
    mock.post(GEN, status=307, headers={"Location": GENERATE_PATH})
    with _client() as client, pytest.raises(errors.APIError, match="redirect loop"):
        client.generate_content("hi")
    assert len([c for c in mock.calls if GENERATE_PATH in c.request.url]) == 1


def test_a_same_origin_redirect_is_followed_a_few_times_at_most() -> None:
    with responses.RequestsMock() as mock:
        mock.get(APP, status=302, headers={"Location": "/app?hl=en"})
        mock.get(APP + "?hl=en", body=render_app_page(AppTokens(TOKEN, "bl", "-1")))
        with _client() as client:
            client.init()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for hop in range(6):
            mock.get(f"{APP}?n={hop}" if hop else APP, status=302, headers={"Location": f"/app?n={hop + 1}"})
        with _client() as client, pytest.raises(errors.APIError, match="redirects"):
            client.init()
        assert len(mock.calls) == 4  # the request and three hops


def test_cookie_values_are_stripped_and_a_control_character_is_refused_without_the_value() -> None:
    client = GeminiClient(PSID + "\n", "  " + PSIDTS + "\r\n", auto_refresh=False, cookie_cache=False)
    assert {c.value for c in client.session.cookies} == {PSID, PSIDTS}
    client.close()
    with pytest.raises(ValueError, match="__Secure-1PSIDTS") as info:
        GeminiClient(PSID, "half\nother-half-secret", auto_refresh=False, cookie_cache=False)
    assert "other-half-secret" not in str(info.value) and PSID not in str(info.value)


def test_a_protocol_error_never_quotes_what_the_client_sent(mock: Any) -> None:
    mock.post(GEN, body=f"<html>echo at={TOKEN}&f.req=the secret prompt</html>")
    with _client() as client, pytest.raises(errors.ProtocolError, match="HTML") as info:
        client.generate_content("the secret prompt")
    message = str(info.value)
    assert TOKEN not in message and "secret" not in message and "AJvLN6M" not in message
