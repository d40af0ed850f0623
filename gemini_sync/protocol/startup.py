"""The start-up RPCs of a 2026 client: usage windows, the quota check, abuse flags, the heartbeat.

Pure: ``*_call`` builds a :class:`~.request.BatchCall`, ``parse_*`` reads the
decoded result with :func:`~.jspb.dig`, never failing on a short or odd array.
Every reading here is a working client's (gemini_webapi 2.1.1), not a capture,
unless said (docs/protocol.md 13.2):

* ``jSf9Qc`` (sent from ``/usage``): ``r[0]`` tier, ``r[1]`` windows
  ``[remaining, used fraction 0-1, kind, [[reset seconds]]]`` with kind
  1 = the current 5-hour window, 2 = weekly, 3 = AI credits; ``r[2]`` "use
  AI credits past the limit".
* ``aPya6c``: ``[blocked, used fraction 0-1, [reset seconds]]``.
* ``GPRiHf``: clean when ``r[1]`` is empty; else ``r[1][1] // 1e6`` is a code
  and ``r[1][3][1]`` a signal (no flagged answer has been published).
* ``ESY5D`` ``[[["bard_activity_enabled"]]]``: the web app's activity
  heartbeat; its answer is not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jspb import as_list, dig
from .request import BatchCall

if TYPE_CHECKING:  # imported where built
    from ..types.status import AbuseStatus, QuotaCheck, UsageWindow

__all__ = [
    "USAGE_INFO",
    "QUOTA_CHECK",
    "ABUSE_STATUS",
    "SETTINGS",
    "WRITE_SETTINGS",
    "WINDOW_NAMES",
    "usage_info_call",
    "quota_check_call",
    "abuse_call",
    "heartbeat_call",
    "parse_usage_info",
    "parse_quota_check",
    "parse_abuse",
]

USAGE_INFO = "jSf9Qc"
QUOTA_CHECK = "aPya6c"
ABUSE_STATUS = "GPRiHf"
SETTINGS = "ESY5D"
WRITE_SETTINGS = "L5adhe"
#: ``jSf9Qc`` window kind -> our name
WINDOW_NAMES = {1: "5 hours", 2: "weekly", 3: "AI credits"}
_CODE_SCALE = 1_000_000
_PERCENT = 100.0


def usage_info_call() -> BatchCall:
    return BatchCall(USAGE_INFO, [], source_path="/usage")


def quota_check_call() -> BatchCall:
    return BatchCall(QUOTA_CHECK, [])


def abuse_call() -> BatchCall:
    return BatchCall(ABUSE_STATUS, [])


def heartbeat_call() -> BatchCall:
    return BatchCall(SETTINGS, [[["bard_activity_enabled"]]])


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _percent(fraction: Any) -> float | None:
    value = _number(fraction)
    return None if value is None else round(min(max(value, 0.0), 1.0) * _PERCENT, 1)


def parse_usage_info(result: Any) -> tuple[int | None, list[UsageWindow]]:
    """``jSf9Qc``: the tier and the usage windows (see the module docstring)."""
    from ..types.status import UsageWindow

    tier = dig(result, 0)
    windows: list[UsageWindow] = []
    for item in as_list(dig(result, 1)):
        kind = dig(item, 2)
        if type(kind) is not int:
            continue
        only_amount = kind == 3  # only the remaining amount means something for credits
        windows.append(
            UsageWindow(
                WINDOW_NAMES.get(kind, f"window {kind}"),
                kind,
                None if only_amount else _percent(dig(item, 1)),
                _number(dig(item, 0)),
                None if only_amount else _number(dig(item, 3, 0, 0)),
            )
        )
    return (tier if type(tier) is int else None), windows


def parse_quota_check(result: Any) -> QuotaCheck:
    """``aPya6c``: blocked, the share used and the reset time."""
    from ..types.status import QuotaCheck

    return QuotaCheck(dig(result, 0) is True, _percent(dig(result, 1)), _number(dig(result, 2, 0)))


def parse_abuse(result: Any) -> AbuseStatus:
    """``GPRiHf``: clean, or a code and a signal."""
    from ..types.status import AbuseStatus

    flagged = dig(result, 1)
    if not isinstance(flagged, list) or not flagged:
        return AbuseStatus()
    raw = dig(flagged, 1)
    try:
        code = int(raw) // _CODE_SCALE if raw is not None and not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        code = None
    signal = dig(flagged, 3, 1)
    return AbuseStatus(False, code, signal if isinstance(signal, str) else None)
