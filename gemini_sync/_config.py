"""The client's settings: the :class:`Timeouts` value, and the checks of every call's arguments.

:class:`Timeouts` gathers the client's time bounds in one frozen value (as
httpx's ``Timeout`` does), normalised once. The checks below run at the call,
before any I/O.

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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

from . import _constants as C
from ._exports import publish

if TYPE_CHECKING:
    from .types.account import GemLike

__all__ = [
    "Timeout",
    "Timeouts",
    "merge_timeouts",
    "timeout_property",
    "UNSET",
    "check_prompt",
    "check_seconds",
    "gem_id_of",
    "check_timeout",
    "check_request_options",
    "bounded_timeout",
    "read_timeout",
]

Timeout = Union[float, tuple[float, float]]
"""Seconds: one bound for connecting and for each read, or a ``(connect, read)`` pair."""


@dataclass(frozen=True)
class Timeouts:
    """Every time bound of a client, in seconds, as one value: ``GeminiClient(timeouts=Timeouts(...))``.

    * ``connect`` / ``read``: connecting, and waiting for each read of a
      response (``Timeouts(20)`` sets both; ``Timeouts(20, read=60)`` one of them);
    * ``stall``: the longest silence between frames of a stream (``None``: no bound);
    * ``busy_stall``: the longer silence allowed while the service reports that
      it is thinking or queued (thinking models are silent for minutes);
    * ``queue``: how long frames may keep coming without any content (the
      service showing a queued or busy state).

    Values are checked when the object is made; :meth:`replace` gives a copy
    with some bounds changed.
    """

    default: float = C.DEFAULT_TIMEOUT
    connect: float | None = None
    read: float | None = None
    stall: float | None = C.DEFAULT_STALL_TIMEOUT
    busy_stall: float | None = C.DEFAULT_BUSY_STALL_TIMEOUT
    queue: float | None = C.DEFAULT_QUEUE_TIMEOUT

    def __post_init__(self) -> None:
        check_seconds("Timeouts default", self.default, optional=False)
        for name in ("connect", "read", "stall", "busy_stall", "queue"):
            check_seconds(f"Timeouts {name}", getattr(self, name))

    @property
    def request(self) -> Timeout:
        """The bound of connecting and of each read, as requests takes it: seconds or ``(connect, read)``."""
        connect = self.connect if self.connect is not None else self.default
        read = self.read if self.read is not None else self.default
        return connect if connect == read else (connect, read)

    def replace(self, **changes: Any) -> Timeouts:
        """A copy with the given bounds changed (checked like the original)."""
        return replace(self, **changes)


#: the old keywords of GeminiClient, each one bound of :class:`Timeouts`
LEGACY_TIMEOUT_KEYWORDS = {
    "timeout": "default",
    "stall_timeout": "stall",
    "busy_stall_timeout": "busy_stall",
    "queue_timeout": "queue",
}


def merge_timeouts(timeouts: Timeouts | None, legacy: Mapping[str, Any]) -> Timeouts:
    """``timeouts``, or one built from the old keywords given (``TypeError`` for both at once)."""
    given = {LEGACY_TIMEOUT_KEYWORDS[name]: value for name, value in legacy.items() if value is not _UNSET}
    if timeouts is not None:
        if given:
            names = ", ".join(f"{name}=" for name, value in legacy.items() if value is not _UNSET)
            raise TypeError(f"pass either timeouts= or the older {names}, not both")
        if not isinstance(timeouts, Timeouts):
            raise TypeError(f"timeouts must be a Timeouts, not {type(timeouts).__name__}")
        return timeouts
    if "default" in given:
        check_seconds("timeout", given["default"], optional=False)
    for name, field_name in LEGACY_TIMEOUT_KEYWORDS.items():
        if field_name in given and field_name != "default":
            check_seconds(name, given[field_name])
    return Timeouts(**given)


class _Unset:
    """The default of an old keyword: "not given" (``None`` means "no bound" for some of them)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
UNSET = _UNSET


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


def gem_id_of(gem: GemLike | None) -> str | None:
    """The id of ``gem`` (a :class:`~gemini_sync.types.Gem` or an id string), ``TypeError`` otherwise."""
    if gem is None:
        return None
    if isinstance(gem, str) and gem:
        return gem
    from .types.account import Gem  # not a string: only then is the class needed

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


publish(globals())


def timeout_property(field: str, doc: str) -> Any:
    """A read/write property for one bound of ``client.timeouts`` (the pre-``Timeouts`` attribute names)."""

    def get(self: Any) -> Any:
        return self.timeouts.request if field == "default" else getattr(self.timeouts, field)

    def set_(self: Any, value: Any) -> None:
        self.timeouts = self.timeouts.replace(**{field: value})

    return property(get, set_, doc=doc)
