"""RedisState: the pool's state and each account's cookie rotation, shared by every host through Redis.

``RedisState(url)`` is a :class:`~gemini_sync.pool.state.PoolState` whose data
live in Redis (redis-py, the ``[redis]`` extra), under ``<prefix>:acct:<key>:``
per account (a hash of the account's cookie, never the cookie):

* ``cool`` (a hash bucket -> until) and ``out``: cool-downs and take-outs,
  expiring with their time;
* ``slots``: a sorted set token -> expiry, the streams in flight: taking a
  slot is one server-side script (drop the expired, count, add), so the limit
  holds across hosts; a host that died mid-stream holds its slots only
  until they expire;
* ``usage`` and ``models``: the last usage reading and the catalogue, with a TTL.

:meth:`RedisState.rotation` makes the rotation coordinator of one account for
``GeminiClient(..., rotation=state.rotation)`` (see :mod:`.redis_rotation`):
one rotation per interval per account across all hosts. It needs
``secret_key``: the rotated cookie is published sealed with it
(:mod:`.sealing`), and without a cookie other hosts could not use, rotation
stays per host (the file lock of each host's cookie cache).

When Redis does not answer, everything goes to a :class:`~gemini_sync.pool.LocalState`
(the host's cookie cache directory) and Redis is tried again every
``retry_interval`` s; the outage is logged once, and when Redis answers again
the local cool-downs and take-outs are written back (:mod:`.redis_link`).
"""

from __future__ import annotations

import json
import math
import pathlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._log import logger
from .local import LocalState
from .redis_link import RedisLink
from .state import AccountView, merge_views, new_token

if TYPE_CHECKING:
    from ..transport.rotation import RotationCoordinator
    from .sealing import Sealer

__all__ = ["RedisState"]

_COOL = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[2])
if limit >= 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def _ttl(until: float, now: float) -> int:
    """Seconds a key holding a time ``until`` is kept (a minute past it, at least one)."""
    return max(1, math.ceil(until - now) + 60)


class RedisState:
    """The pool's state in Redis at ``url`` (``redis://[:password@]host:port/db``), for every host.

    ``secret_key`` (16 bytes or more, the same on every host) lets
    :meth:`rotation` publish rotated cookies sealed with it. ``lock_timeout``
    bounds how long a rotation lock outlives a host that died holding it (it
    must exceed a rotation's own timeout, 10 s); ``sync_interval`` is how
    often a client looks for a cookie another host rotated (at most one Redis
    read per interval, however many requests); ``outage_grace`` is how long
    past its last rotation a host waits for an unavailable Redis before its
    background rotation goes on alone (hosts rotating alone would refuse each
    other's cookies; a refused request still rotates at once); ``fallback`` is the local
    state used while Redis is unavailable (default: the cookie cache
    directory's). ``client`` takes a ready ``redis.Redis``.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        secret_key: str | bytes | None = None,
        prefix: str = "gemini_sync",
        lock_timeout: float = 30.0,
        sync_interval: float = 1.0,
        outage_grace: float = 1800.0,
        socket_timeout: float = 0.5,
        retry_interval: float = 1.0,
        fallback: LocalState | None = None,
        client: Any = None,
    ) -> None:
        try:
            import redis  # noqa: F401 - checked here so the error names the extra
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("RedisState needs redis-py: pip install 'gemini-sync[redis]'") from exc
        if lock_timeout <= 0 or sync_interval < 0:
            raise ValueError("lock_timeout must be positive and sync_interval not negative")
        self.link = RedisLink(
            url, socket_timeout=socket_timeout, retry_interval=retry_interval, client=client
        )
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self.sync_interval = sync_interval
        self.outage_grace = outage_grace
        self.sealer: Sealer | None = None
        if secret_key is not None:
            from .sealing import Sealer

            self.sealer = Sealer(secret_key)
        self.fallback = fallback if fallback is not None else LocalState()
        self._used_fallback = False
        self._keys: set[str] = set()
        self._keys_lock = threading.Lock()
        self._said_per_host = False
        self.link.on_return(self._catch_up)

    def __repr__(self) -> str:
        return f"<RedisState {self.link.where} prefix={self.prefix!r} sealed={self.sealer is not None}>"

    def _key(self, account: str, what: str) -> str:
        return f"{self.prefix}:acct:{account}:{what}"

    def _local(self) -> LocalState:
        self._used_fallback = True
        return self.fallback

    def _seen(self, key: str) -> None:
        with self._keys_lock:
            self._keys.add(key)

    # -- rotation ----------------------------------------------------------

    def rotation(self, psid: str, directory: pathlib.Path) -> RotationCoordinator:
        """The rotation coordinator of the account ``psid`` (pass ``rotation=state.rotation`` to a client).

        Without ``secret_key`` it is the host's own file lock (rotation per host; said once in the log).
        """
        from ..transport.rotation import AccountCache

        if self.sealer is None:
            if not self._said_per_host:
                self._said_per_host = True
                logger.info(
                    "RedisState without secret_key: cookies are not shared, each host rotates its own"
                )
            return AccountCache(psid, directory)
        from .redis_rotation import RedisCoordinator

        return RedisCoordinator(self, psid, directory)

    # -- PoolState ---------------------------------------------------------

    def views(self, keys: Sequence[str], now: float) -> dict[str, AccountView]:
        for key in keys:
            self._seen(key)

        def command(client: Any) -> dict[str, AccountView]:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(self._key(key, "cool"))
                pipe.get(self._key(key, "out"))
                pipe.zcount(self._key(key, "slots"), f"({now}", "+inf")
                pipe.get(self._key(key, "usage"))
            replies = pipe.execute()
            return {key: _view(replies[4 * i : 4 * i + 4], now) for i, key in enumerate(keys)}

        found = self.link.run(command, lambda: self._local().views(keys, now))
        if not self._used_fallback or self.link.down:
            return found
        extra = self.fallback.views(keys, now)  # what was recorded here while Redis was gone
        return {key: merge_views(found[key], extra[key]) for key in keys}

    def cool_down(self, key: str, bucket: str, until: float, now: float) -> None:
        self._seen(key)
        self.link.run(
            lambda c: c.eval(_COOL, 1, self._key(key, "cool"), bucket, repr(until), _ttl(until, now)),
            lambda: self._local().cool_down(key, bucket, until, now),
        )

    def take_out(self, key: str, until: float, reason: str, now: float) -> None:
        self._seen(key)
        value = json.dumps({"until": until, "reason": reason})
        self.link.run(
            lambda c: c.set(self._key(key, "out"), value, ex=_ttl(until, now)),
            lambda: self._local().take_out(key, until, reason, now),
        )

    def restore(self, key: str) -> None:
        self.fallback.restore(key)
        self.link.run(lambda c: c.delete(self._key(key, "out"), self._key(key, "cool")), lambda: 0)

    def acquire(self, key: str, limit: int | None, now: float, ttl: float) -> str | None:
        token = "r" + new_token()
        script_args = (
            repr(now),
            -1 if limit is None else limit,
            repr(now + ttl),
            token,
            _ttl(now + ttl, now),
        )
        got = self.link.run(
            lambda c: c.eval(_ACQUIRE, 1, self._key(key, "slots"), *script_args),
            lambda: None,
        )
        if got is None:  # Redis gone: count here (a host's own streams stay limited)
            return self._local().acquire(key, limit, now, ttl)
        return token if int(got) else None

    def release(self, key: str, token: str) -> None:
        if token.startswith("r"):
            self.link.run(lambda c: c.zrem(self._key(key, "slots"), token), lambda: 0)
        else:
            self.fallback.release(key, token)

    def record_usage(self, key: str, quotas: list[dict[str, Any]], now: float, ttl: float) -> None:
        value = json.dumps({"at": now, "quotas": quotas})
        self.link.run(
            lambda c: c.set(self._key(key, "usage"), value, ex=_ttl(now + ttl, now)),
            lambda: self._local().record_usage(key, quotas, now, ttl),
        )

    def cached_models(self, key: str, now: float) -> list[dict[str, Any]] | None:
        raw = self.link.run(lambda c: c.get(self._key(key, "models")), lambda: None)
        if raw is None:
            return self.fallback.cached_models(key, now) if self._used_fallback else None
        try:
            found = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(found, dict) or not isinstance(found.get("items"), list):
            return None
        if not isinstance(found.get("until"), (int, float)) or found["until"] <= now:
            return None
        return [item for item in found["items"] if isinstance(item, dict)]

    def cache_models(self, key: str, models: list[dict[str, Any]], until: float, now: float) -> None:
        value = json.dumps({"until": until, "items": models})
        self.link.run(
            lambda c: c.set(self._key(key, "models"), value, ex=_ttl(until, now)),
            lambda: self._local().cache_models(key, models, until, now),
        )

    def _catch_up(self) -> None:
        """Write what was recorded locally while Redis was gone back to Redis (the later times win)."""
        if not self._used_fallback:
            return
        with self._keys_lock:
            keys = sorted(self._keys)
        now = time.time()
        for key, view in self.fallback.views(keys, now).items():
            for bucket, until in view.cooldowns.items():
                self.cool_down(key, bucket, until, now)
            if view.out_until is not None:
                self.take_out(key, view.out_until, view.out_reason or "", now)
        logger.debug("pool state: %d account(s) written back to Redis", len(keys))

    def close(self) -> None:
        """Close the connections to Redis."""
        self.link.close()


def _view(replies: list[Any], now: float) -> AccountView:
    """An account's view from its ``cool``, ``out``, slot count and ``usage`` replies."""
    cool_raw, out_raw, slots, usage_raw = replies
    cooldowns: dict[str, float] = {}
    for bucket, until in (cool_raw or {}).items():
        try:
            value = float(until)
        except ValueError:
            continue
        if value > now:
            cooldowns[bucket.decode() if isinstance(bucket, bytes) else str(bucket)] = value
    out = _json(out_raw)
    out_until = out.get("until") if isinstance(out.get("until"), (int, float)) else None
    if out_until is not None and out_until <= now:
        out_until = None
    usage = _json(usage_raw)
    quotas = usage.get("quotas")
    return AccountView(
        cooldowns,
        out_until,
        str(out.get("reason")) if out_until is not None else None,
        int(slots or 0),
        float(usage["at"]) if isinstance(usage.get("at"), (int, float)) else None,
        tuple(q for q in quotas if isinstance(q, dict)) if isinstance(quotas, list) else (),
    )


def _json(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
