"""Thinking levels and how they are encoded: the one place that knows (docs/protocol.md 3.6).

Since 2026 thinking is a level of a model, chosen per request. The level goes
to two places of a StreamGenerate request: body slot ``inner[80]`` and slot
``[15]`` of the 17-element model header. What is known of the encoding:

* ``"standard"`` = 1: captured in the browser's requests (certain).
* ``"extended"`` = 2: used by a client that works against the service.
* ``"deep"`` (Deep Think) = 3: **disputed**. One client's enum and another's
  header say 3; the web app offers Deep Think in its Tools menu, and a fork's
  tests send tool 20 in ``inner[49]`` instead. This release sends level 3 in
  both places and no tool: if the service turns out to want tool 20, only
  :func:`encode` and :data:`DEEP_THINK_TOOL` change.

Where the account's catalogue (``otAQ7b``) lists the levels a model offers
is not known either. The emulator lists them as level numbers at
:data:`ENTRY_LEVELS_SLOT` of a model entry (its own choice); the client reads
that slot strictly (a list of known level numbers, anything else means "not
said"), so it checks a level only when the catalogue says which ones exist.
"""

from __future__ import annotations

from typing import Any, Literal, Union, cast

__all__ = [
    "Thinking",
    "LEVELS",
    "INNER_SLOT",
    "HEADER_SLOT",
    "ENTRY_LEVELS_SLOT",
    "DEEP_THINK_TOOL",
    "check_level",
    "encode",
    "decode",
    "decode_list",
]

#: what ``thinking=`` takes (``None``: the service's default)
Thinking = Literal["standard", "extended", "deep"]
#: level name -> the number sent, in the order the web app offers them
LEVELS: dict[str, int] = {"standard": 1, "extended": 2, "deep": 3}
#: body slot of the level (``inner[80]``)
INNER_SLOT = 80
#: model header slot of the level
HEADER_SLOT = 15
#: where the emulator lists a model's levels in an ``otAQ7b`` entry (not known on the service)
ENTRY_LEVELS_SLOT = 18
#: Deep Think as a tool in ``inner[49]`` (a fork's reading; **not sent** by this release)
DEEP_THINK_TOOL = 20

_NAMES = {number: name for name, number in LEVELS.items()}


def check_level(thinking: Any) -> Union[Thinking, None]:
    """``thinking`` if it is ``None`` or a level name; ``ValueError`` naming the levels otherwise."""
    if thinking is None:
        return None
    if isinstance(thinking, str) and thinking in LEVELS:
        return cast(Thinking, thinking)
    allowed = ", ".join(repr(name) for name in LEVELS)
    raise ValueError(f"thinking must be None (the service's default) or one of {allowed}, not {thinking!r}")


def encode(thinking: str) -> int:
    """The number sent for level ``thinking`` (in ``inner[80]`` and header ``[15]``)."""
    return LEVELS[thinking]


def decode(number: Any) -> str | None:
    """The level name of a number read from a request or a header, if it is a known level."""
    return _NAMES.get(number) if type(number) is int else None


def decode_list(value: Any) -> tuple[str, ...] | None:
    """A catalogue entry's levels: a non-empty list of known level numbers, else ``None`` (not said)."""
    if not isinstance(value, list) or not value:
        return None
    names = [decode(number) for number in value]
    if any(name is None for name in names):
        return None
    return tuple(sorted({n for n in names if n is not None}, key=LEVELS.__getitem__))
