"""The regular expressions behind :mod:`.redact`: one per secret, matching it in every encoding.

A secret reaches a capture as itself, URL-encoded, JSON-escaped up to three
deep (a payload is a JSON string inside a frame's JSON, inside the capture
file's JSON), and base64-encoded inside longer blobs. Rather than list every
spelling (they multiply per character), each character of the secret becomes
an alternation of its spellings:

- itself; URL-encoded (``%XX`` per UTF-8 byte, hex in any case, ``+`` for a
  space);
- a JSON escape (``\\uXXXX``, a surrogate pair for an astral character, or the
  short escape ``\\" \\\\ \\/ \\b \\f \\n \\r \\t``) behind a *backslash chain*: one
  backslash (or ``%5C``) followed by any number of further backslashes, ``%5C``
  or ``u005c``. Every depth of escaping spells the escape's backslash as such a
  chain (``\\\\``, ``\\u005c``, ``\\\\\\\\`` ...), so one short sub-pattern covers all
  depths, at the price of over-matching spellings no encoder writes.

Base64 adds, per byte alignment 0, 1 and 2 and for both alphabets, the
characters fully determined by the secret's bits (the *core*), with ``+`` and
``/`` spelled in their URL and JSON forms. The top-level alternation is kept
flat, each branch starting with one literal character, so the regex engine
scans for the set of first characters instead of trying every branch at
every position; and the first character's escapes leave out their chain
(:func:`widen` takes it in), so the many backslashes of a JSON body are not
each a place to try a chain. Together about five times faster on a 5 MB body.

:func:`widen` moves a match's ends off the middle of an escape sequence, so a
placeholder written over it leaves the JSON around it valid; :func:`email_spans`
finds e-mail addresses by their ``@`` (plain, ``%40`` or escaped); :func:`split_frames`
cuts an ``rt=c`` body into the frames :func:`~.redact.fix_body` re-measures.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..protocol.framing import XSSI_PREFIX, utf16_len

__all__ = [
    "MIN_SEARCH",
    "secret_pattern",
    "raw_pattern",
    "base64_cores",
    "widen",
    "email_spans",
    "Frame",
    "split_frames",
    "e_frame",
]

#: secrets shorter than this (in characters) are matched as plain text and JSON only
MIN_SEARCH = 4

_CHAIN_TAIL = r"(?:\\|%5[cC]|u005[cC])*"  # after a chain's first backslash: more backslash spellings
_SHORT = {
    '"': ('"', "%22"),
    "/": ("/", "%2[fF]"),
    "\b": ("b",),
    "\f": ("f",),
    "\n": ("n",),
    "\r": ("r",),
    "\t": ("t",),
}
_HEX = frozenset("0123456789abcdefABCDEF")


def _hex(value: int, width: int) -> str:
    """``value`` as ``width`` hex digits, each letter matching either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


_LEADS = (r"\\" + _CHAIN_TAIL, "%5[cC]" + _CHAIN_TAIL)  # the backslash chain, as two literal-first leads


def _units(ch: str) -> list[int]:
    raw = ch.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]


class _Spellings:
    """One character's spellings: whole ones, and the tails that follow a backslash chain."""

    def __init__(self, plain: list[str], escaped: list[str]) -> None:
        self.plain = plain
        self.escaped = escaped

    def branches(self) -> list[str]:
        """Every spelling as a branch that starts with a literal (one per chain lead, tails grouped)."""
        if not self.escaped:
            return list(self.plain)
        tails = _group(self.escaped)
        return self.plain + [lead + tails for lead in _LEADS]

    def first(self) -> list[str]:
        """The branches for a secret's first character: escapes without their backslash chain.

        Trying a chain at every backslash of a JSON-heavy text costs most of
        the scan, so a match starts at the escape's ``u`` (or short letter)
        and :func:`widen` takes in the chain before it. Only a backslash
        itself still needs its chain.
        """
        tails = [tail for tail in self.escaped if tail]
        leads = list(_LEADS) if "" in self.escaped else []
        return self.plain + tails + leads


def _char(ch: str, *, url: bool) -> _Spellings:
    """The spellings of one character of a secret."""
    plain = [re.escape(ch)]
    if url:
        if ch == " ":
            plain.append(r"\+")
        plain.append("".join("%" + _hex(byte, 2) for byte in ch.encode("utf-8", "surrogatepass")))
    units = _units(ch)
    escape = "u" + _hex(units[0], 4)
    if len(units) == 2:  # an astral character: a surrogate pair, each half behind its own chain
        escape += r"(?:\\|%5[cC])" + _CHAIN_TAIL + "u" + _hex(units[1], 4)
    escaped = [escape, *_SHORT.get(ch, ())]
    if ch == "\\":
        escaped.append("")  # a backslash at any depth is a chain by itself
    return _Spellings(plain, escaped)


def _core_char(ch: str) -> _Spellings:
    """A base64 character: letters, digits, ``-`` and ``_`` as themselves; ``+`` and ``/`` in every form."""
    return _char(ch, url=True) if ch in "+/" else _Spellings([re.escape(ch)], [])


def base64_cores(data: bytes) -> list[str]:
    """The base64 characters fully determined by ``data`` at byte alignments 0-2, both alphabets.

    At alignment ``k`` the data follows ``k`` other bytes of a longer blob: of
    ``b64encode(b"\\0" * k + data)`` only the characters ``[ceil(8k/6) :
    floor((8k + 8n)/6)]`` depend on the data's bits alone.
    """
    cores: list[str] = []
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + data).decode("ascii")
        core = encoded[-(-8 * k // 6) : (8 * k + 8 * len(data)) // 6]
        if core:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return list(dict.fromkeys(cores))


def _group(branches: list[str]) -> str:
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _flat(chars: list[_Spellings]) -> list[str]:
    """One spelling sequence as top-level branches: each branch of the first character + the rest."""
    rest = "".join(_group(spellings.branches()) for spellings in chars[1:])
    return [first + rest for first in chars[0].first()]


@functools.lru_cache(maxsize=64)
def secret_pattern(value: str) -> re.Pattern[str]:
    """The compiled regex matching ``value`` in every encoding (see the module docstring).

    Secrets shorter than :data:`MIN_SEARCH` characters get the plain and JSON
    spellings only: URL and base64 spellings that short match unrelated text.
    The cache keeps a capture's few patterns compiled between its many strings.
    """
    short = len(value) < MIN_SEARCH
    branches = _flat([_char(ch, url=not short) for ch in value])
    if not short:
        for core in base64_cores(value.encode("utf-8", "surrogatepass")):
            branches += _flat([_core_char(ch) for ch in core])
    return re.compile("|".join(dict.fromkeys(branches)))


@functools.lru_cache(maxsize=64)
def raw_pattern(value: str) -> re.Pattern[bytes]:
    """The secret's UTF-8 bytes, for a body that is not text."""
    return re.compile(re.escape(value.encode("utf-8", "surrogatepass")))


# -- keeping escapes whole --------------------------------------------------------


def _run(text: str, index: int) -> int:
    """How many backslashes end at ``index`` (inclusive)."""
    count = 0
    while index >= 0 and text[index] == "\\":
        count += 1
        index -= 1
    return count


def _token_end(text: str, index: int) -> int:
    """The end of the JSON escape starting with the backslash at ``index``."""
    return index + 6 if text.startswith("u", index + 1) and _is_hex(text, index + 2, index + 6) else index + 2


def _starts_escape(text: str, index: int) -> bool:
    """Whether the backslash at ``index`` starts an escape (an odd run of backslashes ends there)."""
    return text[index] == "\\" and _run(text, index) % 2 == 1


def widen(text: str, start: int, end: int) -> tuple[int, int]:
    """``start, end`` moved so the span neither begins nor ends inside an escape.

    A placeholder of letters written over half an escape would leave a bare
    backslash before letters (an invalid JSON escape) or a bare ``%``. The
    start moves back to the first character of an escape it cuts (or of a
    ``\\u005c``, a deeper level's backslash, just before it) and over the run
    of backslashes before it; the end moves forward to the end of an escape it
    cuts, or back off a backslash that starts an escape after the span (the
    greedy chain took the backslash that escapes the next character).
    """
    while True:
        before = start
        for index in range(start - 1, max(-1, start - 7), -1):
            if text[index] == "\\":
                if _starts_escape(text, index):
                    token = _token_end(text, index)
                    if token > start or (token == start and text[index + 1 : token].lower() == "u005c"):
                        start = index
                break
        while start > 0 and text[start - 1] == "\\":
            start -= 1
        if start >= 3 and text[start - 3 : start].upper() == "%5C":  # a URL-encoded chain
            start -= 3
        if start >= 1 and text[start - 1] == "%" and _is_hex(text, start, start + 2):
            start -= 1
        elif start >= 2 and text[start - 2] == "%" and _is_hex(text, start - 1, start + 1):
            start -= 2
        if start == before:
            break
    for index in range(end - 1, max(start - 1, end - 6), -1):
        if text[index] == "\\":
            if _starts_escape(text, index) and _token_end(text, index) > end:
                if index == end - 1:
                    if end - 1 > start:
                        end -= 1
                else:
                    end = _token_end(text, index)
            break
    if end - 1 > start and text[end - 1] == "%" and _is_hex(text, end, end + 2):
        end += 2
    elif end - 2 > start and text[end - 2] == "%" and _is_hex(text, end - 1, end + 1):
        end += 1
    return start, end


def _is_hex(text: str, start: int, end: int) -> bool:
    return end <= len(text) and all(c in _HEX for c in text[start:end])


# -- e-mail addresses -------------------------------------------------------------

_AT = re.compile(r"@|%40|(?:\\|%5[cC])" + _CHAIN_TAIL + "u0040")
_LOCAL = re.compile(r"(?:[A-Za-z0-9._+\-]|%[0-9A-Fa-f]{2})+\Z")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[A-Za-z]{{2,24}}(?![A-Za-z0-9\-])")
_ESCAPE_HEAD = re.compile(r"(?:u005[cC])*(?:u[0-9A-Fa-f]{4}|[bfnrt])")
_WINDOW = 200


def _locals(text: str, at: int, url: bool) -> Iterator[str]:
    """The local parts that may end at ``at``: the run of address characters before it, decoded.

    A run right after a backslash may begin with the rest of an escape
    (``\\u003dname@`` is ``=name@``): then both the run and the run without it
    are candidates, for over-redacting is harmless and missing a part is not.
    """
    match = _LOCAL.search(text, max(0, at - _WINDOW), at)
    if match is None:
        return
    run = match.group()
    decoded = unquote(run) if url else run
    index = len(decoded)
    while index > 0 and decoded[index - 1] in _LOCAL_CHARS:
        index -= 1
    local = decoded[index:].lstrip(".")
    if local:
        yield local
    if match.start() > 0 and text[match.start() - 1] == "\\":
        head = _ESCAPE_HEAD.match(local)
        if head is not None and head.end() < len(local):
            yield local[head.end() :]


def email_spans(text: str) -> Iterator[str]:
    """Every e-mail address in ``text`` whose ``@`` is plain, ``%40`` or a JSON escape, decoded."""
    for at in _AT.finditer(text):
        url = at.group() == "%40"
        domain = _DOMAIN.match(text, at.end(), at.end() + 256)
        if domain is None:
            continue
        for local in _locals(text, at.start(), url):
            yield f"{local}@{domain.group()}"


# -- framed bodies (for fix_body) ------------------------------------------------

_HEAD = re.compile(r"[ \t\r\n]*" + re.escape(XSSI_PREFIX))
_WS = re.compile(r"[ \t\r\n]*")
_LENGTH = re.compile(r"([0-9]{1,12})\n")
_NEXT = re.compile(r"[ \t\r\n]*(?:[0-9]{1,12}\n|\Z)")


@dataclass
class Frame:
    """One frame of an ``rt=c`` body as written: what precedes it, its declared length, its JSON."""

    lead: str  # whitespace before the length line
    units: int  # the declared length
    text: str  # the frame's JSON
    newline: bool  # a newline ends it (the last frame of a cut body has none)

    def wire(self) -> str:
        return f"{self.lead}{self.units}\n{self.text}" + ("\n" if self.newline else "")


def _measured_end(body: str, start: int, units: int) -> int | None:
    """Where ``units`` UTF-16 units from ``start`` end, if at a newline before a frame or the end."""
    end = min(len(body), start + units)
    have = utf16_len(body[start:end])
    while have > units:
        drop = max(1, (have - units) // 2)
        have -= utf16_len(body[end - drop : end])
        end -= drop
    if have != units or body[end - 1] != "\n" or _NEXT.match(body, end) is None:
        return None
    return end


def split_frames(body: str) -> tuple[str, list[Frame], str] | None:
    """The prefix, frames and trailing whitespace of a framed body; ``None`` if it is not one."""
    head = _HEAD.match(body)
    if head is None:
        return None
    pos = head.end()
    frames: list[Frame] = []
    while True:
        lead_end = _WS.match(body, pos).end()  # type: ignore[union-attr]
        if lead_end == len(body):
            return body[: head.end()], frames, body[pos:]
        length = _LENGTH.match(body, lead_end)
        if length is None:
            return None
        start, units = length.end(), int(length.group(1))
        newline = body.find("\n", start)
        if newline == -1:
            frames.append(Frame(body[pos:lead_end], units, body[start:], False))
            pos = len(body)
            continue
        end = newline + 1
        if units != utf16_len(body[start - 1 : end]):  # JSON with raw newlines that the length spans?
            later = _measured_end(body, start - 1, units)
            end = later if later is not None and later > end else end
        frames.append(Frame(body[pos:lead_end], units, body[start : end - 1], True))
        pos = end


def e_frame(text: str) -> list[Any] | None:
    """The decoded ``[["e", n, null, null, total]]`` frame, or ``None`` for any other frame."""
    if not text.startswith('[["e"'):
        return None
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    envelope = frame[0] if isinstance(frame, list) and frame else None
    if isinstance(envelope, list) and len(envelope) > 4 and envelope[0] == "e":
        total = envelope[4]
        if isinstance(total, int) and not isinstance(total, bool):
            return frame  # type: ignore[no-any-return]
    return None
