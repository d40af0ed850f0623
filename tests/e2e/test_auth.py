"""Authentication lifecycle: cookie sources, rotation thread, cache, 401 refresh, secrets, proxies."""

from __future__ import annotations

import http.server
import json
import logging
import os
import socketserver
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from gemini_sync import GeminiClient, errors
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.transport import cache
from gemini_sync.transport.auth import CookieRefresher, resolve_cookies
from gemini_sync.types.images import WebImage

pytestmark = pytest.mark.gemini_emulator(pace=0.001)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cookie-cache"
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(directory))
    monkeypatch.delenv("GEMINI_SECURE_1PSID", raising=False)
    monkeypatch.delenv("GEMINI_SECURE_1PSIDTS", raising=False)
    return directory


def _client(emu: Emulator, **kwargs: Any) -> GeminiClient:
    kwargs.setdefault("auto_refresh", False)
    return GeminiClient(cookies=emu.cookies, base_url=emu.url, **kwargs)


# -- cookie sources and precedence ------------------------------------------------------------


def test_arguments_win_over_everything(cache_dir: Path) -> None:
    env = {"GEMINI_SECURE_1PSID": "env-psid", "GEMINI_COOKIE_PATH": str(cache_dir)}
    chosen = resolve_cookies("arg-psid", "arg-ts", {PSID: "map-psid", "NID": "nid"}, environ=env)
    assert chosen.source == "arguments"
    assert chosen.cookies == {PSID: "arg-psid", PSIDTS: "arg-ts", "NID": "nid"}


def test_mapping_wins_over_environment(cache_dir: Path) -> None:
    env = {"GEMINI_SECURE_1PSID": "env-psid", "GEMINI_COOKIE_PATH": str(cache_dir)}
    chosen = resolve_cookies(None, None, {PSID: "map-psid", PSIDTS: "map-ts"}, environ=env)
    assert chosen.source == "cookies mapping" and chosen.cookies[PSID] == "map-psid"


def test_environment_wins_over_cache(cache_dir: Path) -> None:
    _write_cache(cache_dir, "cached-psid", "cached-ts")
    env = {
        "GEMINI_SECURE_1PSID": "env-psid",
        "GEMINI_SECURE_1PSIDTS": "env-ts",
        "GEMINI_COOKIE_PATH": str(cache_dir),
    }
    chosen = resolve_cookies(None, None, None, environ=env)
    assert chosen.source == "environment"
    assert chosen.cookies == {PSID: "env-psid", PSIDTS: "env-ts"}


def test_cache_is_used_when_nothing_else_gives_cookies(cache_dir: Path) -> None:
    _write_cache(cache_dir, "cached-psid", "cached-ts")
    chosen = resolve_cookies(
        None, None, None, environ={"GEMINI_COOKIE_PATH": str(cache_dir)}, use_browser=False
    )
    assert chosen.source == "cookie cache"
    assert chosen.cookies == {PSID: "cached-psid", PSIDTS: "cached-ts"}


def test_browser_is_last_and_optional(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gemini_sync.transport.sources as auth

    monkeypatch.setattr(auth, "browser_cookies", lambda: {PSID: "browser-psid"})
    chosen = resolve_cookies(None, None, None, environ={"GEMINI_COOKIE_PATH": str(cache_dir)})
    assert chosen.source == "browser" and chosen.cookies[PSID] == "browser-psid"
    # given cookies always win over the browser
    assert resolve_cookies("arg", None, None, environ={}).source == "arguments"


def test_browser_extra_missing_means_no_browser_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    import gemini_sync.transport.sources as auth

    real_import = builtins.__import__

    def no_browser(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "browser_cookie3":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_browser)
    assert auth.browser_cookies() is None


def test_no_cookies_error_lists_every_source(cache_dir: Path) -> None:
    with pytest.raises(errors.AuthError) as info:
        resolve_cookies(None, None, None, environ={"GEMINI_COOKIE_PATH": str(cache_dir)}, use_browser=True)
    message = str(info.value)
    for source in (
        "secure_1psid argument",
        "cookies= mapping",
        "GEMINI_SECURE_1PSID",
        "cookie cache",
        "browser",
    ):
        assert source in message


def test_rotated_cache_is_a_fallback_for_a_refused_psidts(emu: Emulator, cache_dir: Path) -> None:
    strict = Emulator(pace=0.001, psid="acct-psid", psidts="current-ts")
    with strict:
        _write_cache(cache_dir, "acct-psid", "current-ts")
        with GeminiClient("acct-psid", "stale-ts", base_url=strict.url, auto_refresh=False) as client:
            assert client.generate_content("hi").text
        app_pages = strict.requests_to("/app")
        assert len(app_pages) == 2  # refused with the stale value, then accepted with the cached one
        assert app_pages[-1].cookies[PSIDTS] == "current-ts"


# -- rotation thread and cache ----------------------------------------------------------------


def test_refresher_rotates_at_its_interval_and_stops(emu: Emulator, cache_dir: Path) -> None:
    waits: list[float] = []
    rotated = threading.Event()
    stop_after = 3
    now = [1_000_000.0]  # a fake clock that the fake wait moves on

    def fake_wait(event: threading.Event, seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        if len(waits) > stop_after:
            rotated.set()
            return event.wait(10)  # park until stop() sets the event
        return event.is_set()

    with _client(emu) as client:
        client.init()
        refresher = CookieRefresher(
            client._transport, emu.cookies[PSID], interval=123.0, wait=fake_wait, clock=lambda: now[0]
        )
        refresher.start()
        assert rotated.wait(10)
        assert refresher.rotations == stop_after and emu.rotations == stop_after
        assert waits[:stop_after] == [123.0] * stop_after
        refresher.stop()
        assert not refresher.running


def test_client_starts_rotation_lazily_and_close_stops_it(emu: Emulator, cache_dir: Path) -> None:
    client = GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=True, refresh_interval=3600)
    refresher = client._refresher
    assert refresher is not None and not refresher.running  # nothing started by the constructor
    client.generate_content("hi")
    assert refresher.running
    client.close()
    assert not refresher.running
    names = [t.name for t in threading.enumerate()]
    assert "gemini-sync-cookie-refresh" not in names


def test_auto_refresh_false_never_starts_a_thread(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu, auto_refresh=False) as client:
        client.generate_content("hi")
        assert client._refresher is not None and not client._refresher.running


def test_failed_rotation_backs_off_without_hurting_streams(emu: Emulator, cache_dir: Path) -> None:
    delays: list[float] = []
    failed = threading.Event()

    now = [1_000_000.0]

    def fake_wait(event: threading.Event, seconds: float) -> bool:
        delays.append(seconds)
        now[0] += seconds
        if len(delays) >= 3:
            failed.set()
            return event.wait(10)
        return event.is_set()

    emu.fail_next(2, path="/RotateCookies", status=429)
    with _client(emu) as client:
        client.init()
        refresher = CookieRefresher(
            client._transport, emu.cookies[PSID], interval=10.0, wait=fake_wait, clock=lambda: now[0]
        )
        refresher.start()
        assert failed.wait(10)
        assert delays[:3] == [10.0, 20.0, 40.0]  # doubled after each failure
        assert refresher.failures == 2
        assert client.generate_content("still works").text
        refresher.stop()


def test_rotation_updates_cookies_for_every_thread_and_writes_cache(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as client:
        client.init()
        refresher = client._refresher
        assert refresher is not None
        assert refresher.rotate_now()
        new_value = emu.cookies[PSIDTS]
        client.generate_content("after rotation")
        assert emu.generate_requests[-1].cookies[PSIDTS] == new_value
        target = cache.cache_file(emu.cookies[PSID], cache_dir)
        files = sorted(cache_dir.iterdir())
        assert files == sorted([target, target.with_suffix(".lock")])  # the cache and its rotation lock
        assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
        for path in files:
            assert emu.cookies[PSID] not in path.name  # never the secret itself
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        files = [target]
        saved = {entry["name"]: entry["value"] for entry in json.loads(files[0].read_text())}
        assert saved[PSIDTS] == new_value


def test_cache_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.cookiejar

    jar = requests.cookies.RequestsCookieJar()
    jar.set(PSID, "p" * 20, domain=".google.com", path="/")
    jar.set(PSIDTS, "t" * 20, domain=".google.com", path="/")
    target = cache.save_cookies(list(jar), "p" * 20, directory=tmp_path)
    assert target is not None
    before = target.read_text()

    def broken_dump(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache.json, "dump", broken_dump)
    assert cache.save_cookies(list(jar), "p" * 20, directory=tmp_path) is None
    assert target.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temp file left behind
    assert isinstance(jar, http.cookiejar.CookieJar)


def test_expired_cache_entries_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            [
                {"name": PSID, "value": "psid", "domain": ".google.com", "path": "/", "expires": None},
                {"name": PSIDTS, "value": "old", "domain": ".google.com", "path": "/", "expires": 1},
            ]
        )
    )
    assert cache.load_cookies(path) == {PSID: "psid"}


def test_concurrent_streams_during_rotation(emu: Emulator, cache_dir: Path) -> None:
    results: list[str] = []
    failures: list[BaseException] = []
    with _client(emu) as client:
        client.init()
        refresher = client._refresher
        assert refresher is not None

        def streamer(i: int) -> None:
            try:
                results.append(client.generate_content(f"stream {i}").text)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=streamer, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for _ in range(3):
            assert refresher.rotate_now()
        for thread in threads:
            thread.join(30)
    assert not failures and len(results) == 8
    assert emu.rotations == 3


# -- 401 refresh --------------------------------------------------------------------------------


def test_401_refreshes_once_then_succeeds(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as client:
        client.init()
        emu.fail_next(status=401)
        assert client.generate_content("hi").text
    assert emu.rotations == 1
    assert len(emu.requests_to("/app")) == 2  # re-bootstrapped
    assert len(emu.generate_requests) == 2


def test_401_twice_is_an_auth_error(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as client:
        emu.fail_next(2, status=401)
        with pytest.raises(errors.AuthError):
            client.generate_content("hi")
    assert len(emu.generate_requests) == 2


# -- secret hygiene ------------------------------------------------------------------------------


def test_no_secret_in_debug_logs_reprs_or_errors(
    emu: Emulator, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _client(emu) as client:
        client.generate_content("hi")
        assert client._refresher is not None and client._refresher.rotate_now()
        emu.fail_next(code=1037)
        with pytest.raises(errors.UsageLimitExceeded) as info:
            client.generate_content("hi")
        emu.expire_cookies()
        client._transport.reset_tokens()
        with pytest.raises(errors.AuthError) as auth_info:
            client.generate_content("hi")
        texts = [
            caplog.text,
            repr(client),
            repr(client._transport),
            str(info.value),
            str(auth_info.value),
            repr(client._transport.tokens),
        ]
    secrets = [emu.access_token, *[r.cookies.get(PSIDTS, "") for r in emu.requests], emu.cookies[PSID]]
    assert caplog.records  # something was logged
    for text in texts:
        for secret in filter(None, secrets):
            assert secret not in text


def test_redacting_filter_covers_the_library_logger(caplog: pytest.LogCaptureFixture) -> None:
    from gemini_sync._log import logger, register_secret

    caplog.set_level(logging.DEBUG, logger="gemini_sync")
    register_secret("super-secret-cookie-value")
    logger.debug("value is %s", "super-secret-cookie-value")
    assert "super-secret-cookie-value" not in caplog.text and "<redacted>" in caplog.text


def test_no_cookie_on_a_cross_host_image_download(emu: Emulator, cache_dir: Path, tmp_path: Path) -> None:
    with _client(emu) as client:
        output = client.generate_content("Show me a picture of a cat")
        image = output.web_images[0]
        other_host = image.url.replace("127.0.0.1", "localhost")  # same server, another host name
        WebImage(other_host).attach(client).save(tmp_path / "other")
        image.save(tmp_path / "same")
    same, other = _image_requests(emu)
    assert other.cookies == {}
    assert same.cookies.get(PSID)


def _image_requests(emu: Emulator) -> tuple[Any, Any]:
    images = [r for r in emu.requests if r.path.startswith("/images/")]
    other = next(r for r in images if r.headers.get("Host", "").startswith("localhost"))
    same = next(r for r in images if r.headers.get("Host", "").startswith("127.0.0.1"))
    return same, other


def test_no_cookie_follows_an_off_site_redirect(tmp_path: Path, cache_dir: Path) -> None:
    with responses.RequestsMock() as mock:
        mock.get(
            "http://gemini.test/img.png", status=302, headers={"Location": "http://elsewhere.test/x.png"}
        )
        mock.get("http://elsewhere.test/x.png", body=b"\x89PNG\r\n", content_type="image/png")
        with GeminiClient(
            "psid-value-1", "ts-value-1", base_url="http://gemini.test", auto_refresh=False
        ) as client:
            WebImage("http://gemini.test/img.png").attach(client).save(tmp_path)
        first, second = mock.calls
        assert "psid-value-1" in first.request.headers.get("Cookie", "")
        assert "Cookie" not in second.request.headers


# -- proxies and sessions -------------------------------------------------------------------------


class _Proxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    seen: list[str]


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A forwarding HTTP proxy for absolute-URI requests; records what passed through."""

    def _forward(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "host")}
        upstream = requests.request(self.command, self.path, headers=headers, data=body, timeout=10)
        payload = upstream.content
        self.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in ("transfer-encoding", "content-length", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _forward

    def log_message(self, *_args: Any) -> None:
        pass


def test_proxy_is_used_for_every_request(emu: Emulator, cache_dir: Path, tmp_path: Path) -> None:
    proxy = _Proxy(("127.0.0.1", 0), _ProxyHandler)
    proxy.seen = []
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
        with _client(emu, proxy=proxy_url) as client:
            output = client.generate_content("Generate an image of a cat", files=[("a.txt", b"hello")])
            output.images[0].save(tmp_path)
            assert client.session.proxies == {"http": proxy_url, "https": proxy_url}
    finally:
        proxy.shutdown()
        proxy.server_close()
    seen = " ".join(proxy.seen)
    for path in ("/app", "/upload", "StreamGenerate", "/images/"):
        assert path in seen


def test_user_session_is_used_and_never_closed(emu: Emulator, cache_dir: Path) -> None:
    session = requests.Session()
    closed: list[bool] = []
    session.close = lambda: closed.append(True)  # type: ignore[method-assign]
    with GeminiClient(cookies=emu.cookies, base_url=emu.url, session=session, auto_refresh=False) as client:
        assert client.session is session
        assert client.generate_content("hi").text
    assert closed == []
    assert session.cookies.get(PSID) == emu.cookies[PSID]


def test_created_session_has_browser_like_headers(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as client:
        client.generate_content("hi")
        headers = emu.generate_requests[-1].headers
        assert "Mozilla/5.0" in headers["User-Agent"]
        assert headers["Origin"] == "https://gemini.google.com"
        assert headers["X-Same-Domain"] == "1"


def _write_cache(directory: Path, psid: str, psidts: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = cache.cache_file(psid, directory)
    path.write_text(
        json.dumps(
            [
                {"name": PSID, "value": psid, "domain": ".google.com", "path": "/", "expires": None},
                {"name": PSIDTS, "value": psidts, "domain": ".google.com", "path": "/", "expires": None},
            ]
        )
    )
    os.chmod(path, 0o600)


def test_cookie_cache_false_never_writes_the_cache(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu, cookie_cache=False) as client:
        client.init()
        assert client._refresher.rotate_now()
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
    assert emu.rotations == 1
