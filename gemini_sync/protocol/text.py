"""Text clean-up of snapshots and the rule for what is stable (PROTOCOL.md 5, 6).

One pipeline, applied to every snapshot before deltas are computed and to the
final text, so streamed and collected text agree:

1. (non-final snapshots only) cut the *volatile tail*: material the service
   may still take back or that cannot be processed yet: a trailing code fence
   or run of backticks, a markdown escape (backslashes before one of
   ```* _ ~ `` ``) near the end, a trailing backslash, an incomplete HTML
   entity (``&am``), and a trailing, possibly incomplete
   ``http://googleusercontent.com/<word>/<digits>`` placeholder;
2. remove the placeholders and the newlines right after them;
3. HTML-unescape (``&amp;`` -> ``&``).
"""

from __future__ import annotations

import html
import re

__all__ = ["stable_text", "final_text", "volatile_start", "clean", "ESCAPE_WINDOW"]

_PLACEHOLDER_HOST = "http://googleusercontent.com/"
_PLACEHOLDER = re.compile(r"http://googleusercontent\.com/\w+/\d+\n*")
_PLACEHOLDER_TAIL = re.compile(r"http://googleusercontent\.com/(?:\w+(?:/\d*)?)?\n*\Z")
_FENCE_TAIL = re.compile(r"\n?`{1,3}\Z")
_ESCAPE = re.compile(r"\\+[`*_~]|\\+\Z")
_ENTITY_TAIL = re.compile(r"&#?[A-Za-z0-9]{0,32}\Z")

#: a markdown escape this close to the end of a non-final snapshot is held back
ESCAPE_WINDOW = 32


def volatile_start(raw: str) -> int:
    """Index where the volatile tail of a non-final snapshot begins.

    The rules are applied until none moves the cut, since cutting one tail
    (say a placeholder) can expose another (say ``&am``) right before it.
    """
    cut = len(raw)
    while True:
        new = _cut_once(raw, cut)
        if new == cut:
            return cut
        cut = new


def _cut_once(raw: str, cut: int) -> int:
    """Apply each volatile-tail rule once to ``raw[:cut]``."""
    if not cut:
        return 0
    tail_from = max(0, cut - ESCAPE_WINDOW)
    if "\\" in raw[tail_from:cut]:
        match = _ESCAPE.search(raw, tail_from, cut)
        if match:
            cut = match.start()
    if cut and raw[cut - 1] == "`":
        match = _FENCE_TAIL.search(raw, max(0, cut - 4), cut)
        if match:
            cut = match.start()
    if "&" in raw[max(0, cut - 34) : cut]:
        match = _ENTITY_TAIL.search(raw, max(0, cut - 34), cut)
        if match:
            cut = match.start()
    if "h" in raw[max(0, cut - 96) : cut]:
        cut = _placeholder_cut(raw, cut)
    return cut


def _placeholder_cut(raw: str, cut: int) -> int:
    """Move ``cut`` before a trailing placeholder of ``raw[:cut]``, complete or partial."""
    match = _PLACEHOLDER_TAIL.search(raw, max(0, cut - 96), cut)
    if match:
        return match.start()
    # a partial host: the text ends with a prefix of "http://googleusercontent.com/"
    idx = raw.find("h", max(0, cut - len(_PLACEHOLDER_HOST)), cut)
    while idx != -1:
        if _PLACEHOLDER_HOST.startswith(raw[idx:cut]):
            return idx
        idx = raw.find("h", idx + 1, cut)
    return cut


def clean(text: str) -> str:
    """Steps 2 and 3 of the pipeline: drop placeholders, unescape entities.

    Local by construction: for a cut made by :func:`volatile_start`,
    ``clean(a + b) == clean(a) + clean(b)``, so streamed text can be cleaned
    piece by piece.
    """
    if _PLACEHOLDER_HOST in text:
        text = _PLACEHOLDER.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def stable_text(raw: str) -> str:
    """The processed text of a non-final snapshot, without its volatile tail."""
    return clean(raw[: volatile_start(raw)])


def final_text(raw: str) -> str:
    """The processed text of a final snapshot (nothing held back)."""
    return clean(raw)
