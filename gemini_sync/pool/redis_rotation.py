"""One account's cookie rotation coordinated through Redis: one rotation per interval across all hosts.

:class:`RedisCoordinator` is a :class:`~gemini_sync.transport.rotation.RotationCoordinator`
made by :meth:`RedisState.rotation <gemini_sync.pool.RedisState.rotation>` for
``GeminiClient(..., rotation=state.rotation)``. It wraps the host's own
:class:`~gemini_sync.transport.rotation.AccountCache` (the file lock, the
cookie cache that the host's processes share) and adds, under
``<prefix>:rot:<account>`` in Redis:

* the lock: a Redis lock with a timeout (``lock_timeout``), taken after the
  host's file lock, so one process per host contends for it and a host that
  died holding it frees it when it expires;
* the newest rotation: its generation, time and the cookie entries sealed
  with the state's ``secret_key`` (:mod:`.sealing`), written only over an
  older generation (a server-side script compares them);
* adoption: :meth:`~RedisCoordinator.changed` looks at the generation in
  Redis at most every ``sync_interval`` s; a newer one is opened, written to
  the host's cache (so its other processes take it as before) and taken.

Redis unavailable: the background rotation waits for it (up to the state's
``outage_grace`` past the last rotation: hosts rotating alone would each
retire the cookie the others use); a rotation after a refused request goes
on with the host's file lock alone. When Redis answers again, a generation
rotated here meanwhile is published if Redis holds an older one.
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from http.cookiejar import Cookie
from typing import TYPE_CHECKING, Any

from .._constants import PSID
from .._log import logger, register_secret
from ..transport import cache
from ..transport.rotation import AccountCache

if TYPE_CHECKING:
    from .redis_state import RedisState
    from .sealing import Sealer

__all__ = ["RedisCoordinator"]

_PUBLISH = """
local current = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'at', ARGV[2], 'blob', ARGV[3])
return 1
"""
_DOWN = -1


class RedisCoordinator:
    """The rotation of the account ``psid`` across hosts (see the module docstring)."""

    def __init__(self, state: RedisState, psid: str, directory: pathlib.Path) -> None:
        assert state.sealer is not None, "a RedisCoordinator needs the state's secret_key"
        self._sealer: Sealer = state.sealer
        self._link = state.link
        self._lock_timeout = state.lock_timeout
        self._sync_interval = state.sync_interval
        self._grace = state.outage_grace
        self._psid = psid
        self._local = AccountCache(psid, directory)
        self._account = hashlib.sha256(psid.encode()).hexdigest()[:24]  # as the cache file's name
        self._key = f"{state.prefix}:rot:{self._account}"
        self._mutex = threading.Lock()
        self._seen = 0  # the newest generation read or written here
        self._polled_at = -float("inf")
        self._remote = 0
        self._holding = threading.local()  # this thread holds the file lock (inside locked())
        self._said_unreadable = False
        hook = weakref.WeakMethod(self._catch_up)
        self._link.on_return(lambda: _call(hook))

    def __repr__(self) -> str:
        return f"<RedisCoordinator {self._key}>"

    @property
    def path(self) -> pathlib.Path:
        """The host's cache file of the account."""
        return self._local.path

    # -- RotationCoordinator -------------------------------------------------

    def baseline(self) -> cache.CacheState:
        """The host's cache: a newer generation in Redis is taken on the first request."""
        state = self._local.read()
        with self._mutex:
            self._seen = max(self._seen, state.generation)
        return state

    def changed(self) -> bool:
        """The host's cache file changed, or Redis holds a generation newer than any seen here."""
        local = self._local.changed()
        now = time.monotonic()
        with self._mutex:
            due = now - self._polled_at >= self._sync_interval
            if due:
                self._polled_at = now
        if due:
            remote = self._link.run(lambda c: int(c.hget(self._key, "gen") or 0), lambda: _DOWN)
            with self._mutex:
                if remote != _DOWN:
                    self._remote = remote
                behind = remote != _DOWN and remote < self._seen  # Redis lost it or missed it: catch up
                if remote > self._seen or behind:
                    return True
        return local

    def read(self) -> cache.CacheState:
        """The newest of the host's cache and Redis; a newer one from Redis is written to the host's cache."""
        local = self._local.read()
        reply = self._link.run(lambda c: c.hmget(self._key, "gen", "at", "blob"), lambda: None)
        if reply is None:
            self._note(local.generation)
            return local
        generation = int(reply[0] or 0)
        rotated_at = float(reply[1]) if reply[1] else None
        if generation > local.generation:
            entries = self._sealer.open(reply[2], self._account, generation) if reply[2] else None
            if entries and any(e.get("name") == PSID and e.get("value") == self._psid for e in entries):
                self._store_local(entries, generation)
                self._note(generation)
                cookies = {str(e["name"]): str(e["value"]) for e in entries}
                for value in cookies.values():
                    register_secret(value)
                return cache.CacheState(cookies, generation, rotated_at)
            self._unreadable()
            self._note(generation)
            return cache.CacheState(local.cookies, generation, local.rotated_at)
        if local.generation > generation:
            self._publish(
                local.generation, local.rotated_at or time.time(), cache.load_entries(self._local.path)
            )
        self._note(local.generation)
        return local

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[bool | None]:
        """The host's file lock, then the account's Redis lock (both within ``timeout``; 0: try once)."""
        started = time.monotonic()
        with self._local.locked(timeout) as local_held:
            if local_held is False:
                yield False
                return
            left = max(0.0, timeout - (time.monotonic() - started))
            lock = self._link.client.lock(f"{self._key}:lock", timeout=self._lock_timeout, sleep=0.05)
            got = self._link.run(
                lambda c: bool(lock.acquire(blocking=left > 0, blocking_timeout=left if left > 0 else None)),
                lambda: None,
            )
            if got is False or (got is None and timeout == 0 and not self._overdue()):
                yield False  # held elsewhere; or Redis gone and the background rotation can wait for it
                return
            self._holding.active = True
            try:
                yield local_held if got is None else True  # Redis gone: the host's lock alone
            finally:
                self._holding.active = False
                if got:
                    self._link.run(lambda c: _release(lock), lambda: None)

    def write(
        self, cookies: Iterable[Cookie], generation: int, rotated_at: float, domains: tuple[str, ...]
    ) -> bool:
        """Write the host's cache and publish the sealed cookies, each unless it holds a newer generation."""
        cookies = list(cookies)
        wrote = self._local.write(cookies, generation, rotated_at, domains)
        entries = cache.cookie_entries(cookies, domains, generation=generation, rotated_at=rotated_at)
        published = self._publish(generation, rotated_at, entries)
        self._note(generation)
        return wrote or published

    # -- helpers -------------------------------------------------------------

    def _overdue(self) -> bool:
        """The host's last rotation is older than the outage grace: rotate without Redis."""
        rotated_at = self._local.read().rotated_at
        return rotated_at is None or time.time() - rotated_at > self._grace

    def _note(self, generation: int) -> None:
        with self._mutex:
            self._seen = max(self._seen, generation)

    def _publish(self, generation: int, rotated_at: float, entries: list[dict[str, Any]]) -> bool:
        if not entries:
            return False
        blob = self._sealer.seal(entries, self._account, generation)
        done = self._link.run(
            lambda c: int(c.eval(_PUBLISH, 1, self._key, generation, repr(rotated_at), blob)),
            lambda: 0,
        )
        if done:
            logger.debug("rotated cookie published to Redis (generation %d)", generation)
        return bool(done)

    def _store_local(self, entries: list[dict[str, Any]], generation: int) -> None:
        """Put a cookie taken from Redis in the host's cache (under its lock), for its other processes."""
        if getattr(self._holding, "active", False):
            self._local.write_entries(entries, generation)
            return
        with self._local.locked(0) as held:
            if held is not False:  # busy: a process here is rotating; it reads Redis itself
                self._local.write_entries(entries, generation)

    def _unreadable(self) -> None:
        if not self._said_unreadable:
            self._said_unreadable = True
            logger.warning(
                "the cookie another host published in Redis cannot be opened (another secret_key?); "
                "this host keeps its own"
            )

    def _catch_up(self) -> None:
        """Redis answers again: publish a generation rotated here meanwhile, or take a newer one."""
        self.read()


def _release(lock: Any) -> None:
    from redis.exceptions import LockError

    try:
        lock.release()
    except LockError:  # it expired (the rotation outlived lock_timeout): someone else may hold it now
        logger.debug("the Redis rotation lock had expired before its release")


def _call(hook: weakref.WeakMethod[Any]) -> None:
    method = hook()
    if method is not None:
        method()
