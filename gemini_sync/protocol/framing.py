"""Length-prefixed framing of ``rt=c`` responses (docs/protocol.md 4).

:class:`FrameDecoder` turns byte chunks, cut anywhere, into decoded JSON
frames. Lengths count UTF-16 code units (JavaScript ``String.length``): a
character outside the Basic Multilingual Plane counts 2. The decoder works on
decoded text. Compact JSON never holds a raw newline, so a frame is looked for
at the first newline after its length line and taken only if the declared
length measures exactly to it (one UTF-16 encoding of the frame, none if it is
ASCII); anything else (a length that is off, JSON with newlines inside) is
measured unit by unit with C-speed slices, as the lengths demand.

:func:`encode_frame` and :func:`encode_body` are the inverse, used by the
emulator, so client and emulator share one definition of the wire format.

Every malformed input raises :class:`~gemini_sync.errors.ProtocolError`; a
body that ends inside a frame raises
:class:`~gemini_sync.errors.StreamInterrupted`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable
from typing import Any

from .._constants import MAX_BODY_CHARS, MAX_FRAME_UNITS, MAX_LENGTH_DIGITS
from ..errors import GeminiError, ProtocolError, StreamInterrupted

__all__ = ["XSSI_PREFIX", "FrameDecoder", "utf16_len", "encode_frame", "encode_body", "dumps", "json_decode"]

XSSI_PREFIX = ")]}'"
_WS_CHARS = " \t\r\n"
_WS = re.compile(r"[ \t\r\n]*")
_LENGTH_LINE = re.compile(rf"([0-9]{{1,{MAX_LENGTH_DIGITS}}})\n")
_DIGITS = re.compile(r"[0-9]*")
_PREVIEW = 60


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (JavaScript ``String.length``)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


# ``json.loads`` of a str is this decoder's ``decode`` behind a Python-level call and two checks;
# every frame and payload is decoded, so they call it directly (the same errors: ValueError subclasses)
json_decode = json.JSONDecoder().decode


def _astral(text: str) -> int:
    """Number of characters in ``text`` that take two UTF-16 units."""
    if text.isascii():
        return 0
    return (len(text.encode("utf-16-le", "surrogatepass")) >> 1) - len(text)


def dumps(obj: Any) -> str:
    """Compact JSON, raw UTF-8 characters (as the service sends them)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def encode_frame(frame: Any) -> str:
    """One frame: ``<len>\\n<json>\\n`` with ``len`` = UTF-16 length of the JSON + 2.

    ``frame`` is a JSON-able list of envelopes, or already-serialised JSON text.
    """
    text = frame if isinstance(frame, str) else dumps(frame)
    return f"{utf16_len(text) + 2}\n{text}\n"


def encode_body(frames: Iterable[Any]) -> str:
    """A whole ``rt=c`` body: the anti-XSSI line, a blank line, then the frames."""
    return XSSI_PREFIX + "\n\n" + "".join(encode_frame(f) for f in frames)


def _preview(text: str) -> str:
    """The shape of the body's start, for an error message: letters as ``a``, digits as ``0``.

    A body can echo the request (an ``at=`` token, the prompt), so its text is
    never quoted; the shape still tells an HTML page or a JSON value apart.
    """
    text = text[:_PREVIEW]
    shape = "".join(
        "a" if ch.isalpha() else "0" if ch.isdigit() else ch if ch.isascii() else "?" for ch in text
    )
    return repr(shape) + ("..." if len(text) == _PREVIEW else "") + " (letters shown as a, digits as 0)"


class FrameDecoder:
    """Incremental decoder: ``decode(bytes) -> ([frame, ...], error)``, then ``finish()``.

    Good frames met before garbage are returned with the error rather than
    lost, for the caller to hand out before raising it (the reader's one
    "deliver, then raise" path); ``feed``/``close`` are the all-or-nothing
    forms. A decoder that met an error stays broken: every later call raises it.

    A frame is the decoded JSON value (normally a list of envelopes). Bytes are
    decoded with an incremental UTF-8 decoder, so a chunk may end inside a
    character, a length line or a frame. Pending text is joined only once a
    newline (a frame's possible end) or enough characters for the awaited frame
    have arrived, so a large frame that trickles in is not re-copied for every
    network chunk.
    """

    __slots__ = (
        "_avail",
        "_broken",
        "_buf",
        "_consumed",
        "_need",
        "_newline_wait",
        "_pieces",
        "_prefix_done",
        "_resume",
        "_utf8",
        "frames",
    )

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""  # undecoded-into-frames text, starting at a frame boundary
        self._pieces: list[str] = []  # text received since _buf was last joined
        self._avail = 0  # len(_buf) + sum(len(pieces))
        self._need = 1  # characters required before parsing is worth trying
        self._newline_wait = False  # a newline in new text is also worth a try (a frame's end)
        self._prefix_done = False
        self._consumed = 0  # characters consumed into frames so far
        self._broken: GeminiError | None = None  # the error met; every later call raises it
        # progress into an incomplete frame at the start of _buf: (chars measured, units left)
        self._resume: tuple[int, int] | None = None
        self.frames = 0  # frames decoded so far

    def decode(self, data: bytes) -> tuple[list[Any], GeminiError | None]:
        """The frames ``data`` completed (maybe none), and an error met after them (``None``: none)."""
        if self._broken is not None:
            raise self._broken
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            message = f"response is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            raise self._break(ProtocolError(message)) from None
        if not text:
            return [], None
        self._pieces.append(text)
        self._avail += len(text)
        if self._consumed + self._avail > MAX_BODY_CHARS:
            message = f"response body exceeds the limit of {MAX_BODY_CHARS} characters"
            raise self._break(ProtocolError(message))
        if self._avail < self._need and not (self._newline_wait and "\n" in text):
            return [], None
        del text  # joined into the buffer by _parse: not kept alive beside it
        return self._parse()

    def finish(self) -> tuple[list[Any], GeminiError | None]:
        """The end of the body: the last frames, and the error if it ended inside a frame."""
        if self._broken is not None:
            raise self._broken
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise self._break(StreamInterrupted("response body ended inside a UTF-8 character")) from None
        if text:
            self._pieces.append(text)
            self._avail += len(text)
        frames, error = self._parse(final=True) if self._avail else ([], None)
        rest = self._buf.strip(" \t\r\n")
        if error is None and rest:
            if not self._prefix_done and XSSI_PREFIX.startswith(rest):
                error = StreamInterrupted("response body ended before the first frame")
            else:
                error = StreamInterrupted(
                    f"response body ended inside a frame ({len(rest)} characters of an incomplete frame)"
                )
            if not frames:
                raise self._break(error)
        return frames, error

    def feed(self, data: bytes) -> list[Any]:
        """The frames ``data`` completed; garbage anywhere in it raises at once."""
        frames, error = self.decode(data)
        if error is not None:
            raise error
        return frames

    def close(self) -> list[Any]:
        """The last frames; raises if the body ended inside a frame."""
        frames, error = self.finish()
        if error is not None:
            raise error
        return frames

    def _break(self, error: GeminiError) -> GeminiError:
        self._broken = error
        return error

    # -- internals --------------------------------------------------------

    def _parse(self, final: bool = False) -> tuple[list[Any], GeminiError | None]:
        buf = self._buf + "".join(self._pieces) if self._pieces else self._buf
        self._pieces = []
        frames: list[Any] = []
        try:
            return self._parse_frames(buf, frames, final), None
        except ProtocolError as exc:
            self._break(exc)
            if not frames:
                raise
            self.frames += len(frames)
            return frames, exc

    def _parse_frames(self, buf: str, frames: list[Any], final: bool) -> list[Any]:
        """Append the complete frames of ``buf`` to ``frames``; keep the rest for later.

        ``final``: no more text will come, so a frame not ended by a newline is measured now.
        """
        pos = 0
        end_of_buf = len(buf)
        need = 1
        self._newline_wait = False
        while True:
            if pos < end_of_buf and buf[pos] in _WS_CHARS:
                pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= end_of_buf:
                break
            if not self._prefix_done:
                if buf.startswith(XSSI_PREFIX, pos):
                    pos += len(XSSI_PREFIX)
                    self._prefix_done = True
                    continue
                if XSSI_PREFIX.startswith(buf[pos:]):
                    break  # a prefix of the prefix: wait
                if buf[pos] not in "0123456789":
                    raise self._garbage(buf, pos)
                self._prefix_done = True  # tolerate a body without the prefix
            start = buf.find("\n", pos, pos + MAX_LENGTH_DIGITS + 1)  # the usual length line, no regex
            digits = buf[pos:start] if start > pos else ""
            if digits.isdigit() and digits.isascii():
                units = int(digits)
            else:
                match = _LENGTH_LINE.match(buf, pos)
                if match is None:
                    digits_end = _DIGITS.match(buf, pos).end()  # type: ignore[union-attr]
                    if digits_end == end_of_buf and digits_end - pos <= MAX_LENGTH_DIGITS:
                        break  # length line not complete yet
                    raise self._garbage(buf, pos)
                units = int(match.group(1))
                start = match.end() - 1
            if units > MAX_FRAME_UNITS:
                raise ProtocolError(f"frame length {units} exceeds the limit of {MAX_FRAME_UNITS}")
            if units == 0:
                raise ProtocolError("frame length 0 is not a valid frame")
            # ``start``: the newline after the digits, which the length counts
            resume = self._resume
            if resume is not None and pos == 0:
                end, left = self._measure(buf, start + resume[0], resume[1])
            else:
                newline = buf.find("\n", start + 1)
                if newline != -1:
                    frame = self._at_newline(buf, start, newline, units)
                    if frame is not None:
                        frames.append(frame)
                        pos = newline + 1
                        continue
                elif not final and end_of_buf - start < units:
                    self._newline_wait = True  # cannot be measured yet: wait for its newline
                    need = units - (end_of_buf - start)
                    break
                end, left = self._measure(buf, start, units)
            if left:
                self._resume = (end - start, left)
                need = (left + 1) >> 1  # each missing character is at most 2 units
                break
            self._resume = None
            frames.append(self._decode_frame(buf[start:end], units))
            pos = end
        self._consumed += pos
        self._buf = buf[pos:] if pos else buf
        self._avail = len(self._buf)
        self._need = len(self._buf) + need
        self.frames += len(frames)
        return frames

    def _at_newline(self, buf: str, start: int, newline: int, units: int) -> Any:
        """The frame ending at ``newline`` if ``units`` measures exactly to it; else ``None``.

        The fast path of a well-formed body: compact JSON never holds a raw
        newline, so a frame ends at the first newline after its length line.
        That guess is taken only if it is exact: ``units`` must equal the
        UTF-16 length of ``"\\n" + json + "\\n"`` (or of ``"\\n" + json``, a frame
        whose length leaves out its trailing newline). The UTF-16 encoding is
        computed only for text that is not ASCII, once. Any other case
        (``None``) goes to :meth:`_measure`, which walks the declared units.
        """
        chars = newline + 1 - start  # "\n" + json + "\n" in characters
        if units < chars - 1:
            return None
        text = buf[start + 1 : newline]
        wide = 0 if text.isascii() else _astral(text)
        if units != chars + wide and units != chars - 1 + wide:
            return None
        try:
            return json_decode(text)
        except (ValueError, RecursionError):
            return self._decode_frame(text, units)  # raises the ProtocolError that says why

    @staticmethod
    def _measure(buf: str, end: int, left: int) -> tuple[int, int]:
        """Advance ``end`` over up to ``left`` UTF-16 units of ``buf``.

        Returns the new end and the units still missing (0: the frame is complete).
        Each pass measures a slice with one C-level call; a slice that holds too
        many units is cut to the characters that surely fit.
        """
        size = len(buf)
        while left:
            step_end = min(end + left, size)
            if step_end == end:
                break
            count = step_end - end
            wide = _astral(buf[end:step_end])
            if count + wide <= left:
                left -= count + wide
                end = step_end
                continue
            # too many units: keep the first count - wide characters, which surely fit;
            # their wide characters are those of the slice minus those of the dropped tail
            safe = count - wide
            if safe > 0:
                left -= safe + wide - _astral(buf[end + safe : step_end])
            else:  # every character of the slice is wide: take one if it fits
                if left < 2:
                    raise ProtocolError("frame length ends inside a character (length is off by one unit)")
                safe = 1
                left -= 2
            end += safe
        return end, left

    def _decode_frame(self, text: str, units: int) -> Any:
        try:
            return json_decode(text)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(
                f"frame {self.frames + 1} (declared length {units}) is not valid JSON: "
                f"{exc.__class__.__name__}; starts with {_preview(text.lstrip())}"
            ) from None

    @staticmethod
    def _garbage(buf: str, pos: int) -> ProtocolError:
        rest = buf[pos:].lstrip()
        if rest[:1] == "<" or rest[:15].lower().startswith(("<!doctype", "<html")):
            return ProtocolError(f"expected length-prefixed frames, received an HTML page: {_preview(rest)}")
        return ProtocolError(f"expected a frame length, found {_preview(rest)}")
