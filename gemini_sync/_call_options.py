"""Checks of the per-call options of a generation: ``timeout=`` and ``request_options=``.

A generating call takes explicit keywords only, so a misspelt one is a
``TypeError`` at the call (and a mypy error). The few ``requests`` settings a
caller may still need (``verify``, ``proxies``, ``cert``...) go through
``request_options``, checked here at the call too: a key ``requests`` does not
take, or one the client sets itself, fails before anything is sent rather
than at the first read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .types import Timeout

__all__ = ["check_timeout", "check_request_options", "bounded_timeout", "read_timeout"]

# keywords of requests.Session.request a caller may pass through
_PASS_THROUGH = frozenset({"auth", "cookies", "proxies", "hooks", "verify", "cert"})
# keywords the client sets itself on every generation request (it follows redirects itself: same origin only)
_SET_BY_CLIENT = frozenset(
    {"method", "url", "params", "data", "headers", "files", "json", "stream", "timeout", "allow_redirects"}
)


def _positive(value: Any) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    )


def check_timeout(timeout: Any) -> None:
    """``ValueError`` unless ``timeout`` is a positive number or a pair of them (``None`` is allowed)."""
    if timeout is None or _positive(timeout):
        return
    if isinstance(timeout, tuple) and len(timeout) == 2 and all(_positive(part) for part in timeout):
        return
    raise ValueError(
        f"timeout must be a positive number of seconds or a (connect, read) pair of them, not {timeout!r}"
    )


def check_request_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``options`` after checking every key; see the module docstring."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"request_options must be a mapping, not {type(options).__name__}")
    for key in options:
        if key in _SET_BY_CLIENT:
            hint = " (use the timeout= argument)" if key == "timeout" else ""
            raise ValueError(f"request_options may not set {key!r}: the client sets it{hint}")
        if key not in _PASS_THROUGH:
            allowed = ", ".join(sorted(_PASS_THROUGH))
            raise TypeError(f"request_options: requests takes no option {key!r}; allowed: {allowed}")
    return dict(options)


def bounded_timeout(timeout: Timeout, time_left: float | None) -> Timeout:
    """``timeout`` cut so that no part of it outlasts ``time_left`` seconds (when there is a deadline)."""
    if time_left is None:
        return timeout
    left = max(0.001, time_left)
    if isinstance(timeout, tuple):
        return (min(timeout[0], left), min(timeout[1], left))
    return min(timeout, left)


def read_timeout(timeout: Timeout) -> float:
    """One number for requests that take one: the read part of a pair."""
    return timeout[1] if isinstance(timeout, tuple) else timeout
