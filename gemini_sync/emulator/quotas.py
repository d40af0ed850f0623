"""Usage quotas: buckets that go down as answers are generated and refill on a clock.

Each :class:`Bucket` counts the answers of one model family or feature in a
window of ``period`` seconds; the window starts with the bucket's first use
and the bucket refills at its end. An answer charges one bucket when it is
accepted; an exhausted bucket makes StreamGenerate answer error 1037. The
``qpEbW`` RPC reports every bucket (:func:`~gemini_sync.protocol.rpcs.build_quota_item`).

Which bucket an answer charges is this emulator's choice: a thinking model
charges "extended thinking", a Pro model "pro", anything else "flash". The
service's own mapping is unknown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol.rpcs import QUOTA_NAMES
from ..protocol.service import build_quota_item

__all__ = ["Bucket", "QuotaBook", "DEFAULT_PERIOD"]

DEFAULT_PERIOD = 24 * 3600.0
#: answers per window: large enough that a test suite or a benchmark never meets them by accident
_DEFAULT_TOTALS = {"pro": 100_000, "flash": 1_000_000, "extended thinking": 100_000}


@dataclass
class Bucket:
    """One quota: ``used`` of ``total`` answers in the window that ends at ``resets_at``."""

    name: str
    key: tuple[int, int]
    total: int
    period: float = DEFAULT_PERIOD
    used: int = 0
    resets_at: float | None = None  # None until the first use starts a window

    def roll(self, now: float) -> None:
        """Refill the bucket if its window is over."""
        if self.resets_at is not None and now >= self.resets_at:
            self.used = 0
            self.resets_at = None

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)


@dataclass
class QuotaBook:
    """Every bucket of the account, thread-safe; ``clock`` gives Unix seconds (tests may replace it)."""

    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, name in QUOTA_NAMES.items():
            self._buckets[name] = Bucket(name, key, _DEFAULT_TOTALS[name])

    @staticmethod
    def bucket_for(model_name: str | None, thinking: bool) -> str:
        """The bucket an answer charges: of a model named ``model_name`` (``None``: the default), thinking?"""
        if thinking:
            return "extended thinking"
        if model_name is not None and "pro" in model_name.lower():
            return "pro"
        return "flash"

    def charge(self, name: str) -> bool:
        """Count one answer against bucket ``name``; ``False`` (nothing counted) if it is exhausted."""
        with self._lock:
            bucket = self._buckets[name]
            now = self.clock()
            bucket.roll(now)
            if bucket.remaining == 0:
                return False
            if bucket.resets_at is None:
                bucket.resets_at = now + bucket.period
            bucket.used += 1
            return True

    def configure(
        self, name: str, *, total: int | None = None, used: int | None = None, period: float | None = None
    ) -> Bucket:
        """Change a bucket (a new ``period`` or ``used`` starts a window now); returns a copy."""
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                raise ValueError(f"no quota named {name!r}; known: {', '.join(self._buckets)}")
            now = self.clock()
            bucket.roll(now)
            if total is not None:
                bucket.total = total
            if period is not None:
                bucket.period = period
            if used is not None:
                bucket.used = used
            if period is not None or used is not None:
                bucket.resets_at = now + bucket.period
            return Bucket(**vars(bucket))

    def items(self) -> list[list[Any]]:
        """Every bucket as a ``qpEbW`` item."""
        with self._lock:
            now = self.clock()
            items = []
            for bucket in self._buckets.values():
                bucket.roll(now)
                resets_at = bucket.resets_at if bucket.resets_at is not None else now + bucket.period
                used = 100.0 * bucket.used / bucket.total if bucket.total else 100.0
                items.append(build_quota_item(bucket.key, used, resets_at, bucket.total, bucket.remaining))
            return items
