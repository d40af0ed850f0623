"""The pool's shared state: cool-downs, accounts taken out, streams in flight, usage seen.

:class:`PoolState` is what :class:`~gemini_sync.pool.AccountPool` needs of a
store; every implementation keeps the same data per account key (a hash of
the account's ``__Secure-1PSID``, never the value), so every process or host
that uses one store sees what the others learnt:

* ``cool``: quota bucket -> when the account may be asked again for it
  (``"*"``: for everything, after a 429);
* ``out``: until when and why the account is taken out (refused cookies,
  an account status that forbids use);
* ``slots``: the streams in flight, token -> when the slot expires (a
  process that died mid-stream holds its slots only that long);
* ``usage``: the last ``usage()`` reading, and when it was made;
* ``models``: the catalogue (``list_models()``) as last read, and until when
  it is fresh.

Times are Unix seconds of the pool's clock. :class:`MemoryState` keeps them in
one process; :class:`~gemini_sync.pool.local.LocalState` (the default) in the
cookie cache directory for every process of a host;
:class:`~gemini_sync.pool.RedisState` in Redis for every host. The rules on
the data (:class:`Book`) are pure functions of it, shared by all three.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["AccountView", "PoolState", "Book", "MemoryState", "merge_views", "new_token"]

#: the bucket of an account-wide cool-down (a 429 holds every model back)
ALL_BUCKETS = "*"

_tokens = itertools.count(1)


def new_token() -> str:
    """A slot token unique across processes and hosts (pid, a counter, random bits)."""
    return f"{os.getpid()}-{next(_tokens)}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class AccountView:
    """What the state says of one account at one moment (expired entries already dropped)."""

    cooldowns: Mapping[str, float] = field(default_factory=dict)
    out_until: float | None = None
    out_reason: str | None = None
    in_flight: int = 0
    usage_at: float | None = None
    quotas: tuple[Mapping[str, Any], ...] = ()

    def cooling_until(self, bucket: str) -> float | None:
        """Until when the account cools down for ``bucket`` (or for everything), else ``None``."""
        times = [t for name, t in self.cooldowns.items() if name in (bucket, ALL_BUCKETS)]
        return max(times) if times else None

    def used_percent(self, bucket: str, now: float) -> float:
        """The used share of ``bucket`` at the last usage reading (0 when unknown or reset since)."""
        for quota in self.quotas:
            used, resets_at = quota.get("used_percent"), quota.get("resets_at")
            if quota.get("name") != bucket or not isinstance(used, (int, float)):
                continue
            return 0.0 if isinstance(resets_at, (int, float)) and resets_at <= now else float(used)
        return 0.0


def merge_views(first: AccountView, second: AccountView) -> AccountView:
    """One view of two stores (Redis and the local fallback): the later times, the sum of slots."""
    cooldowns = dict(first.cooldowns)
    for bucket, until in second.cooldowns.items():
        cooldowns[bucket] = max(until, cooldowns.get(bucket, until))
    out = max((first, second), key=lambda v: v.out_until or 0.0)
    usage = max((first, second), key=lambda v: v.usage_at or 0.0)
    return AccountView(
        cooldowns,
        out.out_until,
        out.out_reason,
        first.in_flight + second.in_flight,
        usage.usage_at,
        usage.quotas,
    )


class PoolState(Protocol):
    """A store of the pool's state, shared by whoever opens the same one (see the module docstring)."""

    def views(self, keys: Sequence[str], now: float) -> dict[str, AccountView]:
        """The current view of each account in ``keys``."""
        ...

    def cool_down(self, key: str, bucket: str, until: float, now: float) -> None:
        """Hold the account back for ``bucket`` until ``until`` (a later time already set wins)."""
        ...

    def take_out(self, key: str, until: float, reason: str, now: float) -> None:
        """Take the account out until ``until``, saying ``reason``."""
        ...

    def restore(self, key: str) -> None:
        """Bring the account back now: no cool-down, not out."""
        ...

    def acquire(self, key: str, limit: int | None, now: float, ttl: float) -> str | None:
        """A slot for one stream (a token), or ``None`` if ``limit`` streams are in flight."""
        ...

    def release(self, key: str, token: str) -> None:
        """Give a slot back (a token unknown here is ignored)."""
        ...

    def record_usage(self, key: str, quotas: list[dict[str, Any]], now: float, ttl: float) -> None:
        """Remember a usage reading (``Quota.to_dict()`` values) made at ``now``."""
        ...

    def cached_models(self, key: str, now: float) -> list[dict[str, Any]] | None:
        """The catalogue last stored for the account, if still fresh."""
        ...

    def cache_models(self, key: str, models: list[dict[str, Any]], until: float, now: float) -> None:
        """Store the account's catalogue (``ModelInfo.to_dict()`` values), fresh until ``until``."""
        ...

    def close(self) -> None:
        """Free what the store holds open (connections); idempotent."""
        ...


class Book:
    """The rules on the state's data: ``{"accounts": {key: {...}}}``, as JSON values. Not thread-safe."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not isinstance(self.data.get("accounts"), dict):
            self.data["accounts"] = {}

    def _entry(self, key: str) -> dict[str, Any]:
        accounts: dict[str, Any] = self.data["accounts"]
        entry = accounts.get(key)
        if not isinstance(entry, dict):
            entry = accounts[key] = {}
        return entry

    def prune(self, now: float) -> None:
        """Drop what expired: cool-downs, take-outs, slots and catalogues past their time."""
        accounts: dict[str, Any] = self.data["accounts"]
        for key in list(accounts):
            entry = accounts[key]
            if not isinstance(entry, dict):
                del accounts[key]
                continue
            cool = entry.get("cool")
            if isinstance(cool, dict):
                entry["cool"] = {b: t for b, t in cool.items() if _number(t) > now}
            out = entry.get("out")
            if not isinstance(out, dict) or _number(out.get("until")) <= now:
                entry.pop("out", None)
            slots = entry.get("slots")
            if isinstance(slots, dict):
                entry["slots"] = {t: e for t, e in slots.items() if _number(e) > now}
            models = entry.get("models")
            if not isinstance(models, dict) or _number(models.get("until")) <= now:
                entry.pop("models", None)

    def view(self, key: str, now: float) -> AccountView:
        entry = self.data["accounts"].get(key)
        if not isinstance(entry, dict):
            return AccountView()
        cool = _mapping(entry.get("cool"))
        out = _mapping(entry.get("out"))
        slots = _mapping(entry.get("slots"))
        usage = _mapping(entry.get("usage"))
        out_until = _number(out.get("until"))
        quotas = usage.get("quotas")
        return AccountView(
            {str(b): _number(t) for b, t in cool.items() if _number(t) > now},
            out_until if out_until > now else None,
            str(out.get("reason")) if out_until > now else None,
            sum(1 for e in slots.values() if _number(e) > now),
            _number(usage.get("at")) or None,
            tuple(q for q in quotas if isinstance(q, dict)) if isinstance(quotas, list) else (),
        )

    def cool_down(self, key: str, bucket: str, until: float) -> None:
        cool = self._entry(key).setdefault("cool", {})
        cool[bucket] = max(until, _number(cool.get(bucket)))

    def take_out(self, key: str, until: float, reason: str) -> None:
        self._entry(key)["out"] = {"until": until, "reason": reason}

    def restore(self, key: str) -> None:
        entry = self._entry(key)
        entry.pop("out", None)
        entry.pop("cool", None)

    def acquire(self, key: str, limit: int | None, now: float, ttl: float) -> str | None:
        slots = self._entry(key).setdefault("slots", {})
        live = {t: e for t, e in slots.items() if _number(e) > now}
        if limit is not None and len(live) >= limit:
            return None
        token = new_token()
        live[token] = now + ttl
        self._entry(key)["slots"] = live
        return token

    def release(self, key: str, token: str) -> None:
        slots = self._entry(key).get("slots")
        if isinstance(slots, dict):
            slots.pop(token, None)

    def record_usage(self, key: str, quotas: list[dict[str, Any]], now: float) -> None:
        self._entry(key)["usage"] = {"at": now, "quotas": quotas}

    def cached_models(self, key: str, now: float) -> list[dict[str, Any]] | None:
        entry = self.data["accounts"].get(key)
        models = entry.get("models") if isinstance(entry, dict) else None
        if isinstance(models, dict) and _number(models.get("until")) > now:
            items = models.get("items")
            return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None
        return None

    def cache_models(self, key: str, models: list[dict[str, Any]], until: float) -> None:
        self._entry(key)["models"] = {"until": until, "items": models}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


class MemoryState:
    """The pool's state in this process only (thread-safe): for one process, or as a fallback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._book = Book()

    def __repr__(self) -> str:
        return "<MemoryState>"

    @property
    def empty(self) -> bool:
        """True when nothing was ever recorded here (a fallback that was never needed)."""
        with self._lock:
            return not self._book.data["accounts"]

    def snapshot(self) -> dict[str, Any]:
        """A copy of the raw data (for catching up another store)."""
        import copy

        with self._lock:
            return copy.deepcopy(self._book.data)

    def views(self, keys: Sequence[str], now: float) -> dict[str, AccountView]:
        with self._lock:
            return {key: self._book.view(key, now) for key in keys}

    def cool_down(self, key: str, bucket: str, until: float, now: float) -> None:
        with self._lock:
            self._book.cool_down(key, bucket, until)

    def take_out(self, key: str, until: float, reason: str, now: float) -> None:
        with self._lock:
            self._book.take_out(key, until, reason)

    def restore(self, key: str) -> None:
        with self._lock:
            self._book.restore(key)

    def acquire(self, key: str, limit: int | None, now: float, ttl: float) -> str | None:
        with self._lock:
            return self._book.acquire(key, limit, now, ttl)

    def release(self, key: str, token: str) -> None:
        with self._lock:
            self._book.release(key, token)

    def record_usage(self, key: str, quotas: list[dict[str, Any]], now: float, ttl: float) -> None:
        with self._lock:
            self._book.record_usage(key, quotas, now)

    def cached_models(self, key: str, now: float) -> list[dict[str, Any]] | None:
        with self._lock:
            return self._book.cached_models(key, now)

    def cache_models(self, key: str, models: list[dict[str, Any]], until: float, now: float) -> None:
        with self._lock:
            self._book.cache_models(key, models, until)

    def close(self) -> None:
        """Nothing to free."""
