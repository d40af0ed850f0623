"""The HTTP session: base URL, endpoints, cookies' scope, redirects, bounded reads.

:class:`Transport` owns (or borrows) one ``requests.Session`` shared by every
thread of a client: its connection pool and cookie jar are thread-safe, the
access token is fetched once under a lock, and request ids come from a locked
counter. Each stream gets its own response object and parser state.

The service's cookies live in the jar scoped to the hosts that need them (the
app and its API, rotation, upload), ``Secure`` unless ``base_url`` is plain
http; requests' own domain matching picks them, so a user's ``session=`` jar is
used as a jar, never flattened into a header. Redirects are followed here, not
by requests: never to another origin for the service's calls, a few times at
most, a loop ends at once, and a cookie header never survives a change of host.

Every connection is made through :class:`~.wire.CallAdapter`, so a call can be
aborted in any phase. A user's ``session=`` gets that adapter mounted for the
service's origins only when it uses requests' plain ``HTTPAdapter`` there; a
custom adapter is left alone, and then ``cancel()`` reaches the socket only
once the response has started.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import APIError, AuthError, GeminiError, ProtocolError
from ..protocol.request import AppTokens, PreparedRequest
from .endpoints import Endpoints
from .errors import error_for_status, translate_exception
from .wire import CallAdapter

__all__ = ["Transport", "Endpoints", "abort_response"]


def abort_response(response: requests.Response) -> None:
    """Close ``response`` so a read blocked in another thread returns (fallback for foreign adapters).

    Shutting the socket down wakes a ``recv`` waiting in another thread;
    closing alone would not. Safe to call more than once, from any thread.
    """
    raw = response.raw
    conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing must never raise
        pass


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.scheme, (parts.hostname or "").lower(), port


def read_body(response: requests.Response, limit: int, what: str) -> bytes:
    """The (decompressed) body of a streamed ``response``, read in pieces, refused past ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            block = response.raw.read(C.READ_CHUNK_SIZE, decode_content=True)
            if not block:
                break
            size += len(block)
            if size > limit:
                raise ProtocolError(f"{what}: the answer exceeds the limit of {limit} bytes")
            parts.append(block)
    except GeminiError:
        raise
    except Exception as exc:  # requests', urllib3's (protocol, decoding) and socket errors
        raise translate_exception(exc, what) from exc
    finally:
        response.close()
    return b"".join(parts)


class Transport:
    """One session, the endpoints, timeouts and the access token of a client."""

    def __init__(
        self,
        cookies: Mapping[str, str],
        *,
        base_url: str | None = None,
        proxy: str | None = None,
        timeout: float | tuple[float, float] = C.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        fallback_cookies: list[dict[str, str]] | None = None,
        guest: bool = False,
    ) -> None:
        self.endpoints = Endpoints(base_url)
        self.guest = guest  # a signed-out visitor: no account cookie, an empty ``at``
        self.bound_header: str | None = None  # a DBSC header (Sec-Session-*) an answer carried
        self.date_header: str | None = None  # the last app page's ``Date``, for clock checks
        self._fallback_cookies = list(fallback_cookies or [])
        self.timeout = timeout
        self.owns_session = session is None
        self._cookie_names: set[str] = set()
        self.session = session if session is not None else self._new_session()
        if session is not None:
            self._adopt_session(session)
        if proxy:
            self.session.proxies.update({"http": proxy, "https": proxy})
        self.proxy = proxy
        self.set_cookies(cookies)
        self._tokens: AppTokens | None = None
        self._tokens_lock = threading.Lock()
        self._reqid_lock = threading.Lock()
        self._reqid = random.randint(10000, 99999)

    def cookie_header(self, url: str) -> dict[str, str]:
        """The service's cookies as a header, for a generated image on its image host.

        Generated images are the account's and live on ``*.googleusercontent.com``,
        outside the jar's hosts (where web images live too, so the jar cannot
        hold them there). Only the service's own cookies, only over https; a
        redirect to another host drops the header (see :meth:`request`).
        """
        if self.endpoints.base_url is not None:
            return {}  # everything is on one host, covered by the jar
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not host.endswith(".googleusercontent.com"):
            return {}
        app_host = urlsplit(self.endpoints.app).hostname
        values = [
            f"{c.name}={c.value}"
            for c in self.session.cookies
            if c.name in self._cookie_names and c.value is not None and c.domain == app_host
        ]
        return {"Cookie": "; ".join(values)} if values else {}

    def set_cookies(self, cookies: Mapping[str, str]) -> None:
        """Put ``cookies`` in the shared jar, scoped to each host of the service that needs them."""
        self._cookie_names.update(cookies)
        for name, value in cookies.items():
            for host in self.endpoints.hosts:
                self.session.cookies.set(name, value, domain=host, path="/", secure=self.endpoints.secure)

    def _adopt_cookies(self, response: requests.Response) -> None:
        """A service cookie an answer set (host-only, or for all of ``.google.com``) goes to every
        host of the service that needs it, and only there."""
        fresh = {c.name: c.value for c in iter(response.cookies) if c.name in self._cookie_names and c.value}
        if not fresh:
            return
        jar = self.session.cookies
        hosts = self.endpoints.hosts
        for cookie in [c for c in iter(jar) if c.name in fresh and c.domain not in hosts]:
            jar.clear(cookie.domain, cookie.path, cookie.name)
        self.set_cookies(fresh)

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        adapter = CallAdapter(pool_connections=4, pool_maxsize=C.POOL_SIZE)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": C.USER_AGENT, "Accept-Language": "en-US,en;q=0.9"})
        return session

    def _adopt_session(self, session: requests.Session) -> None:
        """Mount the abortable adapter for the service's origins of a user's session (see module doc)."""
        for origin in self.endpoints.origins():
            current = session.get_adapter(origin + "/")
            if type(current) is HTTPAdapter:
                adapter = CallAdapter(
                    pool_connections=getattr(current, "_pool_connections", 4),
                    pool_maxsize=getattr(current, "_pool_maxsize", C.POOL_SIZE),
                    max_retries=current.max_retries,
                    pool_block=getattr(current, "_pool_block", False),
                )
                session.mount(origin, adapter)
            elif not isinstance(current, CallAdapter):
                logger.debug("session= has its own adapter for %s: cancel() reaches only a response", origin)

    def __repr__(self) -> str:
        base = self.endpoints.base_url or "gemini.google.com"
        return f"<Transport {base} cookies=<{len(self.session.cookies)} hidden>>"

    # -- request ids and tokens --------------------------------------------

    def next_reqid(self) -> int:
        """The next ``_reqid``: random start, +100000 per request (docs/protocol.md 3.1)."""
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
        """Fetch the tokens; on refusal, try the fallback cookie sets in order (a guest: :meth:`_visit`)."""
        if self.guest:
            return self._visit(timeout)
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

    def _visit(self, timeout: float | None) -> AppTokens:
        """A signed-out visitor's start: the home page (its anonymous cookies), then the app page.

        A home page that fails is logged and skipped: the app page works
        without its cookies too (docs/protocol.md 13).
        """
        try:
            self.request(
                "GET", self.endpoints.home, "loading the home page", timeout=timeout, redirects="any"
            )
        except GeminiError as exc:
            logger.info("the home page failed (%s); going on without its cookies", exc.__class__.__name__)
        from ..protocol.app import read_guest_page  # the page's reader loads with the first request

        page, url = self.fetch_app_page(timeout)
        tokens = read_guest_page(page, url, self.endpoints.app)
        logger.debug("guest session: build label %s", tokens.build_label)
        return tokens

    def reset_tokens(self) -> None:
        """Forget the tokens so the next call bootstraps again."""
        with self._tokens_lock:
            self._tokens = None

    def fetch_app_page(self, timeout: float | None = None) -> tuple[str, str]:
        """GET the app page, bounded in size; its text and the URL that finally served it.

        Redirects to another https host are followed (a signed-out session is
        sent to a sign-in page); the cookies go only where the jar scopes them.
        """
        headers = {
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
            "Origin": C.GEMINI_ORIGIN,
            "Referer": C.GEMINI_ORIGIN + "/",
        }
        what = "loading the app page"
        response = self.request(
            "GET", self.endpoints.app, what, headers=headers, timeout=timeout, stream=True, redirects="any"
        )
        self.date_header = response.headers.get("Date")
        body = read_body(response, C.MAX_PAGE_BYTES, what)
        return body.decode(response.encoding or "utf-8", errors="replace"), response.url

    def fetch_tokens(self, timeout: float | None = None) -> AppTokens:
        """GET the app page and read its tokens (docs/protocol.md 2.2); ``AuthError`` when signed out.

        A page served by any host other than the app's (a sign-in page after a
        redirect) never yields a token.
        """
        from ..protocol.app import read_app_page  # the page's reader loads with the first request

        page, url = self.fetch_app_page(timeout)
        tokens = read_app_page(page, url, self.endpoints.app)
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
        redirects: str = "same-origin",
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; non-2xx statuses and network failures raise typed errors.

        Redirects: ``"same-origin"`` (the service's calls) refuses one to
        another origin with an :class:`~gemini_sync.errors.APIError` naming
        the host; ``"any"`` follows it without the explicit ``Cookie`` header
        or a body. At most ``MAX_REDIRECTS`` hops; a loop ends at once.
        """
        seen = {url}
        kwargs.setdefault("headers", {})
        for _hop in range(C.MAX_REDIRECTS + 1):
            response = self._send(method, url, what, stream, timeout, kwargs)
            if not response.is_redirect:
                break
            response.close()
            target = urljoin(url, response.headers["Location"])
            status = response.status_code
            method, kwargs = self._redirected(status, method, url, target, what, redirects, kwargs)
            if target in seen:
                raise APIError(f"{what}: redirect loop at {_origin(target)[1]}", status_code=status)
            seen.add(target)
            url = target
        else:
            raise APIError(f"{what}: more than {C.MAX_REDIRECTS} redirects", status_code=response.status_code)
        if response.status_code >= 300:
            error = error_for_status(response, what)
            response.close()
            raise error
        return response

    def _send(
        self, method: str, url: str, what: str, stream: bool, timeout: Any, kwargs: dict[str, Any]
    ) -> requests.Response:
        try:
            response = self.session.request(
                method,
                url,
                stream=stream,
                timeout=timeout if timeout is not None else self.timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise translate_exception(exc, what) from exc
        self._adopt_cookies(response)
        headers = response.headers
        if "Sec-Session-Challenge" in headers or "Sec-Session-Registration" in headers:  # W3C DBSC
            self.bound_header = "Challenge" if "Sec-Session-Challenge" in headers else "Registration"
        return response

    @staticmethod
    def _redirected(
        status: int, method: str, url: str, target: str, what: str, policy: str, kwargs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The method and arguments of the next hop; a typed error where it must not be taken."""
        same = _origin(target) == _origin(url)
        host = _origin(target)[1] or target
        if not same and policy != "any":
            message = f"{what} was redirected to another host ({host}); not followed"
            raise APIError(message, status_code=status)
        kwargs = dict(kwargs)
        if not same:
            kwargs["headers"] = {k: v for k, v in kwargs["headers"].items() if k.lower() != "cookie"}
        if status == 303 or (status in (301, 302) and method == "POST"):
            kwargs.pop("data", None)
            return "GET", kwargs
        body = kwargs.get("data")
        if body is not None and (not same or not isinstance(body, (bytes, str, dict))):
            message = f"{what} was redirected ({status}, {host}) with a body that is not re-sent"
            raise APIError(message, status_code=status)
        return method, kwargs

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
