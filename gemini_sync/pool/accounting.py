"""What an :class:`~gemini_sync.pool.AccountPool` learns of its accounts, and how it reports them.

Kept apart from picking and the calls (``pool.py``): the rules that turn an
error or a usage reading into a cool-down or a take-out in the pool's state,
and :meth:`status` that reads them back (see the ``pool`` module docstring).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._log import logger
from ..errors import AccountRestricted, AuthError, GeminiError, RateLimited, UsageLimitExceeded
from .state import ALL_BUCKETS, AccountView, PoolState

if TYPE_CHECKING:
    from ..types.account import Quota
    from .pick import Member

__all__ = ["Accounting", "MemberStatus"]


@dataclass
class MemberStatus:
    """One member as :meth:`AccountPool.status` reports it.

    ``state`` is ``"available"``, ``"cooling"`` (some bucket is held back:
    ``cooling`` maps it to the time it comes back) or ``"out"`` (``reason``
    says why, ``out_until`` until when); ``in_flight`` counts the streams of
    every process sharing the state.
    """

    name: str
    guest: bool
    state: str
    reason: str | None = None
    out_until: float | None = None
    cooling: dict[str, float] = field(default_factory=dict)
    in_flight: int = 0
    max_concurrent: int | None = None
    served: int = 0


class Accounting:
    """Learning from errors and usage readings; :meth:`status` and :meth:`restore`. Mixed into the pool."""

    members: list[Member]
    state: PoolState
    clock: Callable[[], float]
    cooldown: float
    takeout: float
    usage_interval: float | None
    _reading_usage: set[str]
    _usage_lock: threading.Lock

    def member(self, name: str) -> Member:
        """The member called ``name``; ``KeyError`` if none is."""
        for member in self.members:
            if member.name == name:
                return member
        names = ", ".join(m.name or "" for m in self.members)
        raise KeyError(f"no pool member named {name!r}; members: {names}")

    def _views(self) -> dict[str, AccountView]:
        return self.state.views([m.key for m in self.members], self.clock())

    def _read_usage(self, member: Member) -> list[Quota] | None:
        """Read ``member``'s usage and record it (cooling down used-up buckets); ``None`` if not read.

        One reading per member at a time: a thread that finds another reading goes on with what is known.
        """
        with self._usage_lock:
            if member.key in self._reading_usage:
                return None
            self._reading_usage.add(member.key)
        try:
            quotas = member.client.usage()
        except GeminiError as exc:
            self.learn(member, exc, None)
            logger.info("pool: reading the usage of %s failed (%s)", member.name, exc.__class__.__name__)
            return None
        finally:
            with self._usage_lock:
                self._reading_usage.discard(member.key)
        now = self.clock()
        self.state.record_usage(member.key, [q.to_dict() for q in quotas], now, self.usage_interval or 0.0)
        for quota in quotas:
            if quota.exhausted:
                until = quota.resets_at if quota.resets_at and quota.resets_at > now else now + self.cooldown
                self.state.cool_down(member.key, quota.name, until, now)
                logger.info(
                    "pool: %s has no %r quota left; not used for it until %.0f",
                    member.name,
                    quota.name,
                    until,
                )
        return quotas

    def learn(self, member: Member, error: GeminiError, bucket: str | None) -> None:
        """Record what ``error`` says of ``member``'s account (see the module docstring)."""
        now = self.clock()
        if isinstance(error, UsageLimitExceeded) and bucket is not None:
            resets_at = error.resets_at
            until = resets_at if resets_at is not None and resets_at > now else now + self.cooldown
            self.state.cool_down(member.key, bucket, until, now)
            logger.info(
                "pool: %s is out of its %r quota; cooling down for %.0f s", member.name, bucket, until - now
            )
        elif isinstance(error, (AuthError, AccountRestricted)):
            status = getattr(error, "status", None)
            reason = error.__class__.__name__ + (f" (status {status})" if status is not None else "")
            self.state.take_out(member.key, now + self.takeout, reason, now)
            logger.warning("pool: %s taken out for %.0f s: %s", member.name, self.takeout, reason)
        elif isinstance(error, RateLimited):
            until = now + (error.retry_after or 60.0)
            self.state.cool_down(member.key, ALL_BUCKETS, until, now)
            logger.info("pool: %s rate limited; held back for %.0f s", member.name, until - now)

    def restore(self, name: str) -> None:
        """Bring member ``name`` back now (after fresh cookies, for instance), for every process."""
        self.state.restore(self.member(name).key)
        logger.info("pool: %s restored", name)

    def status(self) -> list[MemberStatus]:
        """Each member's state: available, cooling down (which buckets, until when) or taken out (why)."""
        now = self.clock()
        views = self._views()
        found = []
        for member in self.members:
            view = views[member.key]
            cooling = {b: t for b, t in view.cooldowns.items() if t > now}
            out = view.out_until is not None and view.out_until > now
            found.append(
                MemberStatus(
                    member.name or member.key,
                    member.guest,
                    "out" if out else "cooling" if cooling else "available",
                    view.out_reason if out else None,
                    view.out_until if out else None,
                    cooling,
                    view.in_flight,
                    member.max_concurrent,
                    member.served,
                )
            )
        return found
