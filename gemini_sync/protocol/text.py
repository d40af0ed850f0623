"""Text clean-up of snapshots and the rule for what is stable (docs/protocol.md 5.4, 5.5).

One pipeline, applied to every snapshot before deltas are computed and to the
final text, so streamed and collected text agree:

1. (non-final snapshots only) cut the *volatile tail*: what the service may
   still take back, or what later characters may still turn into something
   else. The rules are listed once, in :data:`_TAIL_RULES`;
2. remove the ``http://googleusercontent.com/<word>/<digits>`` placeholders
   and the newlines right after them, and the code-execution suffix of fence
   info strings (``python?code_reference&code_event_index=N`` -> ``python``);
3. HTML-unescape (``&amp;`` -> ``&``);
4. (final text only) strip a trailing ``<FollowUp .../>`` element
   (docs/protocol.md 5.5); while streaming it is a volatile tail.

A cut made by the rules is a safe split: whatever is appended after it,
``clean(a + b) == clean(a) + clean(b)``. So text that is only appended to is
streamed exactly, however long a pending entity or placeholder grows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["stable_text", "final_text", "final_end", "volatile_start", "clean", "ESCAPE_WINDOW"]

_PLACEHOLDER_HOST = "http://googleusercontent.com/"
_PLACEHOLDER = re.compile(r"http://googleusercontent\.com/\w+/\d+\n*")
# a prefix of a placeholder match: later characters may still complete or lengthen it
_OPEN_PLACEHOLDER = re.compile(r"http://googleusercontent\.com/(?:\w+(?:/(?:\d+\n*)?)?)?")
# an entity html.unescape may still read differently once more characters come: a bare
# "&", "&#", "&#x", digits of any length, or a name of up to 32 letters and digits (every
# HTML5 entity name is letters and digits, then an optional ";")
_OPEN_ENTITY = re.compile(r"&(?:#(?:[xX][0-9a-fA-F]*|[0-9]*)|[A-Za-z0-9]{0,32})")
_FENCE_TAIL = re.compile(r"\n?`{1,3}\Z")
_FENCE_INFO = re.compile(r"(`{3}[\w+-]*)\?code_reference(?:&|&amp;)code_event_index=\d+")
_ATTRS = r"""(?:\s(?:"[^"]*"|'[^']*'|[^<>"'])*)?"""
_FOLLOW_UP = re.compile(rf"<FollowUp{_ATTRS}/?>\s*\Z")
_FOLLOW_UP_OPEN = re.compile(rf"""<FollowUp{_ATTRS}(?:"[^"]*|'[^']*)?/?\Z""")
_FOLLOW_UP_TAG = "<FollowUp"
_FENCE_WINDOW = 200
_FOLLOW_UP_WINDOW = 2000
_ESCAPE = re.compile(r"\\+[`*_~]|\\+\Z")

#: a markdown escape this close to the end of a non-final snapshot is held back
ESCAPE_WINDOW = 32

# A rule takes (raw, cut, floor) and returns where the volatile tail of raw[:cut] starts
# (``cut`` if it has none). ``raw[:floor]`` is known to be stable: a rule never looks before it.
_TailRule = Callable[[str, int, int], int]


def _markdown_escape(raw: str, cut: int, floor: int) -> int:
    """Service flicker: a temporary escape (``\\*``) or a trailing backslash near the end."""
    start = max(floor, cut - ESCAPE_WINDOW)
    if raw.find("\\", start, cut) != -1:
        match = _ESCAPE.search(raw, start, cut)
        if match:
            return match.start()
    return cut


def _code_fence(raw: str, cut: int, floor: int) -> int:
    """Service flicker: a provisional closing fence or a run of backticks at the end."""
    if raw[cut - 1] == "`":
        match = _FENCE_TAIL.search(raw, max(floor, cut - 4), cut)
        if match:
            return match.start()
    return cut


def _placeholder(raw: str, cut: int, floor: int) -> int:
    """A placeholder, complete or partial, at the end (its digits or newlines may still grow)."""
    start = raw.rfind(_PLACEHOLDER_HOST, floor, cut)
    if start != -1 and _OPEN_PLACEHOLDER.fullmatch(raw, start, cut):
        return start
    # a partial host: the text ends with a prefix of "http://googleusercontent.com/"
    idx = raw.find("h", max(floor, cut - len(_PLACEHOLDER_HOST) + 1), cut)
    while idx != -1:
        if _PLACEHOLDER_HOST.startswith(raw[idx:cut]):
            return idx
        idx = raw.find("h", idx + 1, cut)
    return cut


def _entity(raw: str, cut: int, floor: int) -> int:
    """An entity still open at the end, as html.unescape will see it: placeholders removed first.

    Only the last ``&`` can be open (``&`` ends any entity before it). The
    placeholders between it and the end are removed as :func:`clean` will
    remove them, so ``&`` + placeholder + ``am`` is held like ``&am``.
    """
    amp = raw.rfind("&", floor, cut)
    if amp == -1:
        return cut
    tail = raw[amp:cut]
    if _PLACEHOLDER_HOST in tail:
        tail = _PLACEHOLDER.sub("", tail)
    return amp if _OPEN_ENTITY.fullmatch(tail) else cut


def _fence_line(raw: str, cut: int, floor: int) -> int:
    """An opening fence line without its newline yet: its info string may still grow

    (``python`` -> ``python?code_reference&code_event_index=1``, cleaned to ``python``).
    """
    start = max(floor, cut - _FENCE_WINDOW)
    # the last line of raw[:cut], if it starts inside the window: "```" and an info string
    # without backticks (bare backticks are :func:`_code_fence`'s)
    newline = raw.rfind("\n", max(start - 1, 0), cut)
    if newline != -1:
        line = newline + 1
    elif start == 0:
        line = 0
    else:
        return cut
    if cut - line > 3 and raw.startswith("```", line) and raw.find("`", line + 3, cut) == -1:
        return line
    return cut


def _follow_up(raw: str, cut: int, floor: int) -> int:
    """A trailing ``<FollowUp .../>`` element: complete, still open, or a prefix of its tag."""
    start = max(floor, cut - _FOLLOW_UP_WINDOW)
    if raw.find("<", start, cut) == -1:
        return cut
    match = _FOLLOW_UP.search(raw, start, cut) or _FOLLOW_UP_OPEN.search(raw, start, cut)
    if match:
        return match.start()
    idx = raw.rfind("<", max(start, cut - len(_FOLLOW_UP_TAG)), cut)
    if idx != -1 and _FOLLOW_UP_TAG.startswith(raw[idx:cut]):
        return idx
    return cut


def _high_surrogate(raw: str, cut: int, floor: int) -> int:
    """Half of a surrogate pair: the next snapshot may hold the whole character instead."""
    return cut - 1 if "\ud800" <= raw[cut - 1] <= "\udbff" else cut


# a character without which no rule but _placeholder moves a cut (every rule looks at
# raw[floor:cut] only): text without one needs that one rule, not the whole loop
_TRIGGER = re.compile(r"[\\`&<\ud800-\udbff]")

#: every volatile-tail rule; a new kind of tail is one more function here
_TAIL_RULES: tuple[_TailRule, ...] = (
    _markdown_escape,
    _code_fence,
    _placeholder,
    _entity,
    _fence_line,
    _follow_up,
    _high_surrogate,
)


def volatile_start(raw: str, floor: int = 0) -> int:
    """Index where the volatile tail of a non-final snapshot begins (never before ``floor``).

    The rules are applied until none moves the cut, since cutting one tail
    (say a placeholder) can expose another (say ``&am``) right before it.
    ``floor`` is a cut made earlier for a snapshot this one extends: the text
    before it is stable, so only what follows it is examined (the cost of a
    frame does not grow with the text already streamed).
    """
    cut = len(raw)
    if cut > floor and _TRIGGER.search(raw, floor, cut) is None and _placeholder(raw, cut, floor) == cut:
        return cut  # nothing any rule reacts to: the common case, one scan of the new text
    while cut > floor:
        new = cut
        for rule in _TAIL_RULES:
            new = rule(raw, new, floor)
            if new <= floor:
                return floor
        if new == cut:
            return cut
        cut = new
    return floor


def clean(text: str) -> str:
    """Steps 2 and 3 of the pipeline: drop placeholders, unescape entities.

    Local by construction: for a cut made by :func:`volatile_start`,
    ``clean(a + b) == clean(a) + clean(b)``, so streamed text can be cleaned
    piece by piece.
    """
    if _PLACEHOLDER_HOST in text:
        text = _PLACEHOLDER.sub("", text)
    if "?code_reference" in text:
        text = _FENCE_INFO.sub(r"\1", text)
    if "&" in text:
        import html  # imported when an entity first shows up: ~1 ms off the start-up

        text = html.unescape(text)
    return text


def stable_text(raw: str) -> str:
    """The processed text of a non-final snapshot, without its volatile tail."""
    return clean(raw[: volatile_start(raw)])


def final_end(raw: str) -> int:
    """Where the text of a final snapshot ends: before a trailing ``<FollowUp .../>`` element."""
    if _FOLLOW_UP_TAG in raw:
        match = _FOLLOW_UP.search(raw, max(0, len(raw) - _FOLLOW_UP_WINDOW))
        if match:
            return match.start()
    return len(raw)


def final_text(raw: str) -> str:
    """The processed text of a final snapshot (nothing held back, a trailing ``<FollowUp/>`` removed)."""
    return clean(raw[: final_end(raw)])
