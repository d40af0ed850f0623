"""The HTTP session: base URL, endpoints, timeouts, proxies, request ids.

:class:`Transport` owns (or borrows) one ``requests.Session`` shared by every
thread of a client: its connection pool and cookie jar are thread-safe, the
access token is fetched once under a lock, and request ids come from a locked
counter. Each stream gets its own response object and parser state.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import AuthError
from ..protocol.app import scrape_tokens
from ..protocol.request import AppTokens, PreparedRequest
from .errors import error_for_status, translate_exception

__all__ = ["Transport", "Endpoints", "abort_response"]


class Endpoints:
    """Absolute URLs of the service's endpoints, or all under one ``base_url``."""

    def __init__(self, base_url: str | None = None) -> None:
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"base_url must be an http(s) URL such as http://127.0.0.1:8765, not {base_url!r}"
                )
            root = base_url.rstrip("/")
            self.app = root + C.APP_PATH
            self.rotate = root + C.ROTATE_COOKIES_PATH
            self.upload = root + C.UPLOAD_PATH
            self.hosts = frozenset({parts.hostname or ""})
            self.cookie_domain = parts.hostname or ""
        else:
            self.app = C.GEMINI_ORIGIN + C.APP_PATH
            self.rotate = C.ROTATE_COOKIES_URL
            self.upload = C.UPLOAD_URL
            self.hosts = frozenset(
                {"gemini.google.com", "accounts.google.com", "content-push.googleapis.com"}
            )
            self.cookie_domain = ".google.com"
        self.base_url = base_url

    def for_path(self, path: str) -> str:
        root = self.base_url.rstrip("/") if self.base_url else C.GEMINI_ORIGIN
        return root + path


def abort_response(response: requests.Response) -> None:
    """Close ``response`` so a read blocked in another thread returns at once.

    Shutting the socket down wakes a ``recv`` waiting in another thread;
    closing alone would not. Safe to call more than once, from any thread.
    """
    raw = response.raw
    conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing must never raise
        pass


def set_read_timeout(response: requests.Response, seconds: float | None) -> None:
    """Change the socket read timeout of a streaming response (stall watchdog)."""
    conn = getattr(response.raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass


class Transport:
    """One session, the endpoints, timeouts and the access token of a client."""

    def __init__(
        self,
        cookies: Mapping[str, str],
        *,
        base_url: str | None = None,
        proxy: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        fallback_cookies: list[dict[str, str]] | None = None,
    ) -> None:
        self.endpoints = Endpoints(base_url)
        self._fallback_cookies = list(fallback_cookies or [])
        self.timeout = timeout
        self.owns_session = session is None
        self.session = session if session is not None else self._new_session()
        if proxy:
            self.session.proxies.update({"http": proxy, "https": proxy})
        self.proxy = proxy
        self.set_cookies(cookies)
        self._tokens: AppTokens | None = None
        self._tokens_lock = threading.Lock()
        self._reqid_lock = threading.Lock()
        self._reqid = random.randint(10000, 99999)

    def cookie_header(self, url: str) -> dict[str, str]:
        """An explicit ``Cookie`` header for a host of the service outside the jar's domain.

        The jar is scoped to ``.google.com``; the upload host
        (``content-push.googleapis.com``) and the hosts of generated images
        (``*.googleusercontent.com``) need the cookies too. Nothing for any
        other host; ``requests`` drops this header on a redirect.
        """
        if self.endpoints.base_url is not None:
            return {}  # everything is on one host, covered by the jar
        host = (urlsplit(url).hostname or "").lower()
        if host.endswith("google.com") or not (
            host in self.endpoints.hosts or host.endswith(".googleusercontent.com")
        ):
            return {}
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies if c.value is not None)
        return {"Cookie": cookie} if cookie else {}

    def set_cookies(self, cookies: Mapping[str, str]) -> None:
        """Put ``cookies`` in the shared jar, scoped to the service's domain."""
        for name, value in cookies.items():
            self.session.cookies.set(name, value, domain=self.endpoints.cookie_domain, path="/")

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=C.POOL_SIZE)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": C.USER_AGENT, "Accept-Language": "en-US,en;q=0.9"})
        return session

    def __repr__(self) -> str:
        base = self.endpoints.base_url or "gemini.google.com"
        return f"<Transport {base} cookies=<{len(self.session.cookies)} hidden>>"

    # -- request ids and tokens --------------------------------------------

    def next_reqid(self) -> int:
        """The next ``_reqid``: random start, +100000 per request (PROTOCOL.md 3.1)."""
        with self._reqid_lock:
            reqid = self._reqid
            self._reqid += 100000
            return reqid

    def tokens(self, timeout: float | None = None) -> AppTokens:
        """The app-page tokens, fetched once (thread-safe) on first use.

        ``timeout`` bounds the fetch, if one is needed (default: the transport's).
        """
        tokens = self._tokens
        if tokens is not None:
            return tokens
        with self._tokens_lock:
            if self._tokens is None:
                self._tokens = self._bootstrap(timeout)
            return self._tokens

    def _bootstrap(self, timeout: float | None) -> AppTokens:
        """Fetch the tokens; on refusal, try the fallback cookie sets in order."""
        try:
            return self.fetch_tokens(timeout)
        except AuthError:
            while self._fallback_cookies:
                self.set_cookies(self._fallback_cookies.pop(0))
                try:
                    tokens = self.fetch_tokens(timeout)
                except AuthError:
                    continue
                logger.debug("bootstrapped with cached cookies after the given ones were refused")
                return tokens
            raise

    def reset_tokens(self) -> None:
        """Forget the tokens so the next call bootstraps again."""
        with self._tokens_lock:
            self._tokens = None

    def fetch_tokens(self, timeout: float | None = None) -> AppTokens:
        """GET the app page and scrape its tokens (PROTOCOL.md 2.2)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
            "Origin": C.GEMINI_ORIGIN,
            "Referer": C.GEMINI_ORIGIN + "/",
        }
        response = self.request(
            "GET", self.endpoints.app, "loading the app page", headers=headers, timeout=timeout
        )
        tokens = scrape_tokens(response.text)
        if tokens is None:
            raise AuthError(
                "the app page has no access token: the cookies are expired or belong to a signed-out "
                "session. Sign in to gemini.google.com in a browser and copy fresh __Secure-1PSID and "
                "__Secure-1PSIDTS cookies (or set GEMINI_SECURE_1PSID / GEMINI_SECURE_1PSIDTS)."
            )
        register_secret(tokens.access_token)
        logger.debug("bootstrapped: build label %s, language %s", tokens.build_label, tokens.language)
        return tokens

    # -- sending -----------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; non-2xx statuses and network failures raise typed errors."""
        try:
            response = self.session.request(
                method, url, stream=stream, timeout=timeout if timeout is not None else self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise translate_exception(exc, what) from exc
        if response.status_code >= 300:
            error = error_for_status(response, what)
            response.close()
            raise error
        return response

    def post(
        self, prepared: PreparedRequest, what: str, *, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """POST a prepared request under the base URL."""
        return self.request(
            "POST",
            self.endpoints.for_path(prepared.path),
            what,
            stream=stream,
            params=prepared.params,
            headers=prepared.headers,
            data=prepared.data,
            **kwargs,
        )

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self.owns_session:
            self.session.close()
