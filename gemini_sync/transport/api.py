"""The authenticated calls every feature makes: the page's tokens, the POST that refreshes once, RPCs.

An :class:`Api` belongs to one :class:`~gemini_sync.GeminiClient`
(``client.api``); the features (chats, the account, Deep Research, the
send-once turns) make their requests through it and never reach into the
client. It owns the rule of docs/protocol.md 2.3: a request the service
refused without acting on it (401/403 cookies, 405 stale build label, 400
stale access token) is sent once more after one refresh, shared by every
thread refused at the same time. A guest's client (no account) has no
cookies to rotate: a refusal reads a new guest page instead. When the
refresh cannot help and the cookies look device-bound, the ``AuthError``
says so and names the remedy (:data:`~.auth.BOUND_ADVICE`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests

from .._log import logger
from ..errors import APIError, AuthError, GeminiError, RequestRejected
from ..protocol.request import AppTokens, BatchCall, PreparedRequest
from .auth import BOUND_ADVICE, CookieRefresher
from .retry import RetryPolicy
from .session import Transport

if TYPE_CHECKING:
    from .heartbeat import Heartbeat

__all__ = ["Api"]

#: HTTP statuses meaning "the page values are stale": 405 build label, 400 access token
_STALE_PAGE_STATUSES = frozenset({400, 405})


class Api:
    """Tokens, the authenticated POST and batchexecute calls of one client (thread-safe)."""

    def __init__(
        self,
        transport: Transport,
        refresher: CookieRefresher | None,
        *,
        retry_policy: RetryPolicy,
        auto_refresh: bool,
    ) -> None:
        self.transport = transport
        self.refresher = refresher
        self.retry_policy = retry_policy
        self.auto_refresh = auto_refresh
        self._refresh_lock = threading.Lock()
        self.closed = False
        self.heartbeat: Heartbeat | None = None  # the web app's activity call, when asked for

    def __repr__(self) -> str:
        return f"<Api {self.transport.endpoints.base_url or 'gemini.google.com'}>"

    def check_open(self) -> None:
        """``RuntimeError`` once the client is closed."""
        if self.closed:
            raise RuntimeError("this GeminiClient is closed")

    def close(self) -> None:
        """Stop cookie rotation and close the session (if the client created it). Idempotent."""
        if not self.closed:
            self.closed = True
            if self.refresher is not None:
                self.refresher.stop()
            if self.heartbeat is not None:
                self.heartbeat.stop()
            self.transport.close()

    def tokens(self, timeout: float | None = None) -> AppTokens:
        """The access token (bootstrapping once), and the rotation thread started lazily."""
        self.check_open()
        refresher = self.refresher
        if refresher is not None:
            refresher.sync()  # a cookie another process rotated, if any (one stat)
        tokens = self.transport.tokens(timeout)
        if self.auto_refresh and refresher is not None:
            refresher.start()
        heartbeat = self.heartbeat
        if heartbeat is not None:  # every request is activity; the thread starts with the first
            heartbeat.touch()
            heartbeat.start()
        return tokens

    def refresh_auth(self) -> None:
        """Take a newer cookie (another process's rotation) or rotate, then read the app page again."""
        self.check_open()
        try:
            if self.refresher is not None:
                self.refresher.rotate_now()
        except GeminiError as exc:
            logger.info("cookie rotation before re-bootstrap failed: %s", exc.__class__.__name__)
        self.transport.reset_tokens()
        try:
            self.transport.tokens()
        except AuthError as exc:
            raise self.explain(exc) from None

    def explain(self, error: AuthError) -> AuthError:
        """``error``, saying so when the session looks device-bound (and what to do then)."""
        sign = self.refresher.bound_sign if self.refresher is not None else None
        header = self.transport.bound_header
        if (sign is None and header is None) or BOUND_ADVICE in str(error):
            return error
        why = sign or f"the service sent a device-bound session header (Sec-Session-{header})"
        return AuthError(f"{error} Also, {why}. {BOUND_ADVICE}", code=error.code, partial=error.partial)

    def post(
        self, build: Callable[[AppTokens], PreparedRequest], what: str, **kwargs: Any
    ) -> requests.Response:
        """POST; on a refusal that means "nothing was done", refresh once and send again.

        401/403: rotate the cookies and read the app page again. 405 (a stale
        build label) and 400 without an ``"er"`` frame (a stale access token):
        read the app page again, so a long-running process survives the
        service's deploys. Safe to resend: the service did not act on the
        request, and nothing of it reached the caller. When many threads are
        refused at once, one of them refreshes and the others use its new
        page values.
        """
        tokens = self.tokens()
        try:
            return self.transport.post(build(tokens), what, **kwargs)
        except AuthError:
            with self._refresh_lock:
                if self.transport.tokens() is tokens:  # nobody refreshed since this request started
                    logger.info("%s was refused; refreshing cookies and token once", what)
                    self.refresh_auth()
        except APIError as exc:
            if exc.status_code not in _STALE_PAGE_STATUSES or isinstance(exc, RequestRejected):
                raise
            with self._refresh_lock:
                if self.transport.tokens() is tokens:
                    logger.info("%s got HTTP %s: reading the app page again once", what, exc.status_code)
                    self.transport.reset_tokens()
                    self.transport.tokens()
        try:
            return self.transport.post(build(self.transport.tokens()), what, **kwargs)
        except AuthError as exc:
            raise self.explain(exc) from None

    def rpc(
        self,
        calls: list[BatchCall],
        *,
        idempotent: bool = True,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        """The results of batchexecute ``calls``, in order (retried per ``policy`` when ``idempotent``)."""
        from .rpc import batch_execute  # imported by the first RPC: a client that only streams needs none

        bound = {} if timeout is None else {"timeout": timeout}

        def post(build: Callable[[AppTokens], PreparedRequest], what: str) -> requests.Response:
            # streamed: the read is bounded by batch_execute
            return self.post(build, what, stream=True, **bound)

        return batch_execute(
            self.transport, post, calls, policy=policy or self.retry_policy, idempotent=idempotent
        )
