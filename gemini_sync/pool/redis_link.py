"""The connection to Redis, and what happens when Redis is gone: fail fast, say it once, catch up.

Every Redis command of :class:`~gemini_sync.pool.RedisState` and its rotation
coordinators goes through :meth:`RedisLink.run` with a fallback: when Redis
does not answer (refused, reset, a timeout of ``socket_timeout``), the
fallback's result is used and Redis is left alone for ``retry_interval``
seconds, so a request waits for a dead Redis at most once per interval. The
outage is logged once (a warning), its end once (info); the hooks added with
:meth:`on_return` then run (the pool's state and the newest cookies are
written back to Redis). redis-py's own retries are off: failing over to the
local state is faster than retrying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .._log import logger, register_secret

__all__ = ["RedisLink"]

_T = TypeVar("_T")


def describe(url: str) -> str:
    """``host:port/db`` of a Redis URL: never its password."""
    parts = urlsplit(url)
    if parts.password:
        register_secret(parts.password)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


class RedisLink:
    """One redis-py client (its connection pool is thread- and fork-safe) and the outage bookkeeping."""

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 0.5,
        retry_interval: float = 1.0,
        client: Any = None,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.where = describe(url)
        self.client: Any = client or redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        self.retry_interval = retry_interval
        self._lock = threading.Lock()
        self._down_until: float | None = None  # monotonic; None while Redis answers
        self._hooks: list[Callable[[], None]] = []
        self._catching_up = threading.local()

    def __repr__(self) -> str:
        return f"<RedisLink {self.where} {'down' if self.down else 'up'}>"

    @property
    def down(self) -> bool:
        """True while Redis is taken for gone (since the last failed command)."""
        return self._down_until is not None

    def on_return(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` each time Redis answers again after an outage (to write local state back)."""
        with self._lock:
            self._hooks.append(hook)

    def run(self, command: Callable[[Any], _T], fallback: Callable[[], _T], *, now: bool = False) -> _T:
        """``command(client)``, or ``fallback()`` if Redis is gone (now, or still within its retry pause).

        ``now`` asks Redis even within the retry pause (after a refused request:
        the newest cookie may be there again, and the catch-up runs first).
        """
        down_until = self._down_until
        if down_until is not None and not now and time.monotonic() < down_until:
            return fallback()
        try:
            result = command(self.client)
        except self._errors as exc:
            self._went_down(exc)
            return fallback()
        if down_until is not None:
            self._came_back()
        return result

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = time.monotonic() + self.retry_interval
        if first:
            logger.warning(
                "Redis at %s is unavailable (%s): the pool and rotation use local state until it returns",
                self.where,
                exc.__class__.__name__,
            )

    def _came_back(self) -> None:
        with self._lock:
            if self._down_until is None:
                return
            self._down_until = None
            hooks = list(self._hooks)
        logger.info("Redis at %s answers again; writing the local state back", self.where)
        if getattr(self._catching_up, "active", False):
            return
        self._catching_up.active = True
        try:
            for hook in hooks:
                hook()
        finally:
            self._catching_up.active = False

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
