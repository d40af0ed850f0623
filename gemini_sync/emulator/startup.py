"""The start-up RPCs a 2026 client sends, answered in the shapes working clients parse.

A third-party client of 2026 (gemini_webapi 2.1.1) starts with ``otAQ7b``,
``ESY5D`` (twice), ``MaZiqc`` (pinned, then the others), ``jSf9Qc`` (from
``/usage``), ``qpEbW`` (twice), ``aPya6c`` and ``GPRiHf``; the web app also
writes the last chosen model with ``L5adhe``. Each is answered here (or in
:mod:`.batch`) as a result envelope, never an error envelope, so such a client
starts against the emulator unchanged. The shapes are that client's reading
(docs/protocol.md 13.2), written by our own code.

A signed-out visitor's (:attr:`~.exchange.Exchange.guest`) history, gem,
usage and preference-writing RPCs are refused with gRPC status 7 (permission
denied), as the service refuses them; ``otAQ7b`` reports 1016 with the
default model first; ``ESY5D``, ``aPya6c`` and ``GPRiHf`` are answered as for
anyone.
"""

from __future__ import annotations

from typing import Any

from ..protocol.jspb import dig
from ..protocol.service import build_account
from .backend import Backend
from .catalogue import DEFAULT_ID
from .codes import ACCOUNT_GUEST

__all__ = ["STARTUP_RPCS", "GUEST_DENIED", "guest_account", "usage_info", "quota_check", "abuse_status"]

#: rpc ids a signed-out visitor may not call (the answer: gRPC status 7)
GUEST_DENIED = frozenset(
    "MaZiqc hNvQHb GzXR5e qWymEb CNgdBe oMH3Zd kHv0Vd UXcSJb c8o8Fe jSf9Qc qpEbW L5adhe".split()
)
_FIVE_HOURS = 5 * 3600
_WEEK = 7 * 24 * 3600
#: plan -> the tier number ``jSf9Qc`` reports (1 free, 2 Pro, 4 Plus)
_TIERS = {"free": 1, "pro": 2, "plus": 4}
_REMAINING = 999999  # what a captured answer showed for an unlimited window
_CODE_SCALE = 1_000_000


def guest_account(backend: Backend) -> Any:
    """``otAQ7b`` for a signed-out visitor: status 1016, the default model first, no tier flags."""
    entries = sorted(backend.catalogue, key=lambda e: e.model_id != DEFAULT_ID)
    return build_account(ACCOUNT_GUEST, entries)


def _next(now: float, period: int) -> int:
    return (int(now) // period + 1) * period


def usage_info(backend: Backend, payload: Any) -> Any:
    """``jSf9Qc``: ``[tier, [[remaining, used fraction, kind, [[reset]]], ...], use credits]``."""
    now = backend.quotas.clock()
    used = min(max(backend.usage_used, 0.0), 1.0)
    windows = [
        [_REMAINING, used, 1, [[_next(now, _FIVE_HOURS)]]],
        [_REMAINING, used, 2, [[_next(now, _WEEK)]]],
    ]
    return [_TIERS.get(backend.plan, 1), windows, False]


def quota_check(backend: Backend, payload: Any) -> Any:
    """``aPya6c``: ``[blocked, used fraction, [reset]]``."""
    now = backend.quotas.clock()
    used = 1.0 if backend.quota_blocked else min(max(backend.usage_used, 0.0), 1.0)
    return [backend.quota_blocked, used, [_next(now, _FIVE_HOURS)]]


def abuse_status(backend: Backend, payload: Any) -> Any:
    """``GPRiHf``: ``[]`` when clean, else ``[null, [null, "<code * 1e6 + n>", null, [null, signal]]]``."""
    if backend.abuse is None:
        return []
    code, signal = backend.abuse
    return [None, [None, str(code * _CODE_SCALE + 1), None, [None, signal]]]


def write_preferences(backend: Backend, payload: Any) -> Any:
    """``L5adhe``: remember the model id written (the last string of ``payload[0]``) and answer it."""
    values = dig(payload, 0)
    written = (
        next((v for v in reversed(values) if isinstance(v, str)), None) if isinstance(values, list) else None
    )
    backend.last_mode = written
    return written


STARTUP_RPCS = {
    "jSf9Qc": usage_info,
    "aPya6c": quota_check,
    "GPRiHf": abuse_status,
    "L5adhe": write_preferences,
}
