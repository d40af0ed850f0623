"""Checks of the arguments of the client's calls, made at the call before any I/O.

The prompt, durations, the gem and the tool are checked here, and so are the
per-call options ``timeout=`` and ``request_options=``. A generating call
takes explicit keywords only, so a misspelt one is a ``TypeError`` at the
call (and a mypy error). The few ``requests`` settings a caller may still
need (``verify``, ``proxies``, ``cert``...) go through ``request_options``,
checked here at the call too: a key ``requests`` does not take, or one the
client sets itself, fails before anything is sent rather than at the first
read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .types import Timeout

if TYPE_CHECKING:
    from ._account_types import GemLike

__all__ = [
    "check_prompt",
    "check_seconds",
    "gem_id_of",
    "tool_slots",
    "check_timeout",
    "check_request_options",
    "bounded_timeout",
    "read_timeout",
]

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


def check_prompt(prompt: Any) -> str:
    """``prompt`` if it is a non-empty string that can be sent as UTF-8, else ``ValueError``."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a non-empty string, not {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("prompt must be a non-empty string")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"prompt holds a lone surrogate at index {exc.start} and cannot be sent as UTF-8"
        ) from None
    return prompt


def check_seconds(name: str, value: Any, *, optional: bool = True) -> None:
    """A duration option: a positive, finite number of seconds (or ``None`` where allowed)."""
    if (value is None and optional) or _positive(value):
        return
    allowed = "a positive number of seconds (finite)" + (" or None" if optional else "")
    raise ValueError(f"{name} must be {allowed}, not {value!r}")


def tool_slots(tool: str | None) -> dict[int, Any] | None:
    """The inner slots of a tool (``inner[49]``, docs/protocol.md), or ``None`` without one."""
    if tool is None:
        return None
    from .protocol.generated_media import TOOLS

    number = TOOLS.get(tool) if isinstance(tool, str) else None
    if number is None:
        raise ValueError(f"tool must be one of {', '.join(map(repr, TOOLS))} or None, not {tool!r}")
    return {49: number}


def gem_id_of(gem: GemLike | None) -> str | None:
    """The id of ``gem`` (a :class:`~gemini_sync.types.Gem` or an id string), ``TypeError`` otherwise."""
    if gem is None:
        return None
    if isinstance(gem, str) and gem:
        return gem
    from ._account_types import Gem  # not a string: only then is the class needed

    if isinstance(gem, Gem):
        return gem.id
    raise TypeError("gem must be a Gem or a gem id string")


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
