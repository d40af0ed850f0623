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
* the newest rotation: its generation, time, a tag (a keyed digest of the
  auth cookies, :meth:`~.sealing.Sealer.tag`) and the cookie entries sealed
  with the state's ``secret_key`` (:mod:`.sealing`), written only over an
  older generation (a server-side script compares them);
* adoption: :meth:`~RedisCoordinator.changed` looks at the generation and
  tag in Redis at most every ``sync_interval`` s; a newer one is opened,
  written to the host's cache (so its other processes take it as before) and taken.

Redis unavailable: the background rotation waits for it (up to the state's
``outage_grace`` past the last rotation: hosts rotating alone would each
retire the cookie the others use); a rotation after a refused request goes
on with the host's file lock alone, and asks Redis first even within its
retry pause. When Redis answers again, a generation rotated here meanwhile
is published if Redis holds an older one (an empty Redis, after a restart,
holds none).

Generations are one sequence only while Redis keeps them: after Redis lost
them, a host may rotate from an older cookie than another host holds, and two
hosts then hold different cookies under one generation. So a rotation made
holding the Redis lock (the newest cookie at the service) is published past
whatever Redis holds; and two cookies met under one generation (the tags
differ) are settled for the later rotation, published one generation on, so
every host (whose client takes only a higher generation) takes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import pathlib
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from http.cookiejar import Cookie
from typing import TYPE_CHECKING, Any, NamedTuple

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
redis.call('HSET', KEYS[1], 'gen', ARGV[1], 'at', ARGV[2], 'blob', ARGV[3], 'tag', ARGV[4])
return 1
"""
_TRIES = 3  # publishing past what Redis holds, or settling two cookies: another host may do it first
_ALERT = 10.0  # seconds after a refusal during which every change check looks at Redis


class _Published(NamedTuple):
    """What Redis holds of an account: generation, rotation time, sealed blob, tag (``None``: no tag)."""

    generation: int
    rotated_at: float | None
    blob: Any
    tag: str | None


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
        self._seen_tag: str | None = None  # the tag of the cookie held here under that generation
        self._polled_at = -float("inf")
        self._urgent = False  # a request was refused: the next look at Redis is now, even within its pause
        self._alert_until = -float("inf")  # and until then, every look (monotonic)
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
        self._note(state.generation, self._tag(state.cookies))
        return state

    def changed(self) -> bool:
        """The host's cache file changed, or Redis holds another generation or cookie than seen here."""
        local = self._local.changed()
        now = time.monotonic()
        with self._mutex:
            urgent, self._urgent = self._urgent, False
            due = urgent or now < self._alert_until or now - self._polled_at >= self._sync_interval
            if due:
                self._polled_at = now
        if due:
            reply = self._link.run(lambda c: c.hmget(self._key, "gen", "tag"), lambda: None, now=urgent)
            if reply is not None:
                remote, tag = int(reply[0] or 0), _text(reply[1])
                with self._mutex:
                    # newer; older (Redis lost it or missed it: catch up); or another cookie under ours
                    other = tag is not None and self._seen_tag is not None and tag != self._seen_tag
                    if remote != self._seen or other:
                        return True
        return local

    def read(self) -> cache.CacheState:
        """The newest of the host's cache and Redis; a newer one from Redis is written to the host's cache."""
        for _ in range(_TRIES):
            state = self._read_once()
            if state is not None:
                return state
        return self._local.read()

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[bool | None]:
        """The host's file lock, then the account's Redis lock (both within ``timeout``; 0: try once).

        With a ``timeout`` (a refused request) Redis is asked even within its
        retry pause, and :meth:`changed` looks at Redis on every call for a
        while (the first time even within the pause): the newest cookie may
        reach Redis a moment later, and the pool looks before it takes the
        account out.
        """
        started = time.monotonic()
        urgent = timeout > 0
        if urgent:
            with self._mutex:
                self._urgent, self._alert_until = True, started + _ALERT
        with self._local.locked(timeout) as local_held:
            if local_held is False:
                yield False
                return
            left = max(0.0, timeout - (time.monotonic() - started))
            lock = self._link.client.lock(f"{self._key}:lock", timeout=self._lock_timeout, sleep=0.05)
            got = self._link.run(
                lambda c: bool(lock.acquire(blocking=left > 0, blocking_timeout=left if left > 0 else None)),
                lambda: None,
                now=urgent,
            )
            if got is False or (got is None and timeout == 0 and not self._overdue()):
                yield False  # held elsewhere; or Redis gone and the background rotation can wait for it
                return
            self._holding.active, self._holding.redis = True, bool(got)
            try:
                yield local_held if got is None else True  # Redis gone: the host's lock alone
            finally:
                self._holding.active = self._holding.redis = False
                if got:
                    self._link.run(lambda c: _release(lock), lambda: None)

    def write(
        self, cookies: Iterable[Cookie], generation: int, rotated_at: float, domains: tuple[str, ...]
    ) -> bool:
        """Write the host's cache and publish the sealed cookies, each unless it holds a newer generation.

        Holding the Redis lock, the cookies are the newest at the service: published
        past whatever Redis holds meanwhile (a host that caught up without the lock).
        """
        cookies = list(cookies)
        entries = cache.cookie_entries(cookies, domains, generation=generation, rotated_at=rotated_at)
        if getattr(self._holding, "redis", False):
            generation, published = self._publish_newest(generation, rotated_at, entries)
        else:
            published = self._publish(generation, rotated_at, entries)
        wrote = self._local.write(cookies, generation, rotated_at, domains)
        self._note(generation, self._tag(_values(entries)))
        return wrote or published

    # -- reading -------------------------------------------------------------

    def _read_once(self) -> cache.CacheState | None:
        """One look at both; ``None`` when another host settled a conflict first (look again)."""
        local = self._local.read()
        mine = self._tag(local.cookies)
        reply = self._link.run(lambda c: c.hmget(self._key, "gen", "at", "blob", "tag"), lambda: None)
        if reply is None:
            self._note(local.generation, mine)
            return local
        remote = _Published(
            int(reply[0] or 0), float(reply[1]) if reply[1] else None, reply[2], _text(reply[3])
        )
        other = remote.generation == local.generation and remote.tag is not None and remote.tag != mine
        if remote.generation > local.generation or other:
            entries = self._open(remote)
            if entries is None:
                self._unreadable()
                self._note(remote.generation, remote.tag)
                return cache.CacheState(local.cookies, remote.generation, local.rotated_at)
            if other:
                return self._settle(local, mine, remote, entries)
            return self._take(entries, remote.generation, remote.rotated_at)
        if local.generation > remote.generation:
            self._publish(
                local.generation, local.rotated_at or time.time(), cache.load_entries(self._local.path)
            )
        self._note(local.generation, mine)
        return local

    def _open(self, remote: _Published) -> list[dict[str, Any]] | None:
        """The entries Redis holds, if they open and are this account's."""
        entries = self._sealer.open(remote.blob, self._account, remote.generation) if remote.blob else None
        if entries and any(e.get("name") == PSID and e.get("value") == self._psid for e in entries):
            return entries
        return None

    def _take(
        self, entries: list[dict[str, Any]], generation: int, rotated_at: float | None
    ) -> cache.CacheState:
        """Take ``entries`` as ``generation``: into the host's cache, and as the state read."""
        self._store_local(entries, generation)
        cookies = _values(entries)
        self._note(generation, self._tag(cookies))
        for value in cookies.values():
            register_secret(value)
        return cache.CacheState(cookies, generation, rotated_at)

    def _settle(
        self, local: cache.CacheState, mine: str, remote: _Published, entries: list[dict[str, Any]]
    ) -> cache.CacheState | None:
        """Two cookies under one generation: the later rotation wins, published one generation on."""
        theirs = (remote.rotated_at or 0.0, remote.tag or "") > (local.rotated_at or 0.0, mine)
        generation = remote.generation + 1
        rotated_at = (remote.rotated_at if theirs else local.rotated_at) or time.time()
        winner = _renumbered(entries if theirs else cache.load_entries(self._local.path), generation)
        logger.info(
            "two cookies of one account under generation %d (hosts rotated apart while Redis had lost "
            "the newest); taking the later rotation (%s) as generation %d",
            remote.generation,
            "another host's" if theirs else "this host's",
            generation,
        )
        if not self._publish(generation, rotated_at, winner) and not self._link.down:
            return None  # another host published first: look again
        return self._take(winner, generation, rotated_at)

    # -- writing -------------------------------------------------------------

    def _publish_newest(
        self, generation: int, rotated_at: float, entries: list[dict[str, Any]]
    ) -> tuple[int, bool]:
        """Publish ``entries`` past any other cookie Redis holds; the generation used, and if published."""
        mine = self._tag(_values(entries))
        for _ in range(_TRIES):
            reply = self._link.run(lambda c: c.hmget(self._key, "gen", "tag"), lambda: None)
            if reply is None:
                return generation, False
            current, tag = int(reply[0] or 0), _text(reply[1])
            if current >= generation and tag == mine:
                return current, False  # published already (a catch-up of this host's cache)
            if current >= generation:
                logger.debug("Redis holds generation %d; publishing this rotation past it", current)
                generation = current + 1
                entries = _renumbered(entries, generation)
            if self._publish(generation, rotated_at, entries):
                return generation, True
        return generation, False

    def _publish(self, generation: int, rotated_at: float, entries: list[dict[str, Any]]) -> bool:
        if not entries:
            return False
        blob = self._sealer.seal(entries, self._account, generation)
        tag = self._tag(_values(entries))
        done = self._link.run(
            lambda c: int(c.eval(_PUBLISH, 1, self._key, generation, repr(rotated_at), blob, tag)),
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

    # -- helpers -------------------------------------------------------------

    def _tag(self, cookies: Mapping[str, str]) -> str:
        return self._sealer.tag(cookies, self._account)

    def _overdue(self) -> bool:
        """The host's last rotation is older than the outage grace: rotate without Redis."""
        rotated_at = self._local.read().rotated_at
        return rotated_at is None or time.time() - rotated_at > self._grace

    def _note(self, generation: int, tag: str | None) -> None:
        with self._mutex:
            if generation >= self._seen:
                self._seen, self._seen_tag = generation, tag

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


def _values(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Name -> value of cache entries (the last of a name wins, as the cache file is read)."""
    return {str(e["name"]): str(e["value"]) for e in entries}


def _renumbered(entries: list[dict[str, Any]], generation: int) -> list[dict[str, Any]]:
    """``entries`` recorded as ``generation`` (what the host's cache and the sealed blob carry)."""
    return [{**entry, "generation": generation} for entry in entries]


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


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
