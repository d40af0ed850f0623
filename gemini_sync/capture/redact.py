"""Removing every secret from a capture before it is written (pure functions, no I/O).

A capture is attached to bug reports, so nothing that identifies or
authenticates the account may stay in it: cookie values, the page's tokens,
session id, push id, account id, e-mail addresses and the names the user
gives. Each is a :class:`Secret`; :func:`redact_capture` replaces every
occurrence of each, in every string of the capture and in every encoding the
service or the file puts it in (plain, URL-encoded, JSON-escaped up to three
deep, base64 at every alignment; :mod:`._redact_patterns` builds the regexes),
with a fixed placeholder of the same UTF-16 length, so the frames' length
prefixes stay right. What moves are byte counts: :func:`fix_body` makes a
framed body's lengths and ``e`` total true again and the timing of the reads is
scaled to the new length. :func:`leaks` is the last check the recorder runs on
the file's text: a capture is written only when it finds nothing.

Nothing here prints or logs, and no message, label or ``redacted`` line ever
holds a value (a :class:`Secret`'s ``repr`` leaves it out too).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..protocol.framing import dumps, utf16_len
from ._redact_patterns import (
    MIN_SEARCH,
    e_frame,
    email_spans,
    raw_pattern,
    secret_pattern,
    split_frames,
    widen,
)
from .file import Capture, Exchange

__all__ = [
    "KINDS",
    "Secret",
    "placeholder",
    "redact_text",
    "find_emails",
    "fix_body",
    "redact_capture",
    "leaks",
]

#: what a secret can be; the kind names its placeholder
KINDS: tuple[str, ...] = ("cookie", "token", "fsid", "pushid", "email", "name", "account")

_PASSES = 3  # a placeholder next to other text could complete a secret again: look again, a few times
_EMAIL = ("email", "e-mail")


@dataclass(frozen=True)
class Secret:
    """One value to remove: its kind (one of :data:`KINDS`), the label the file may show, the value.

    ``label`` says what it was (``"cookie __Secure-1PSID"``, ``"access token"``)
    and is all the capture keeps of it; ``value`` is never shown, not even by ``repr``.
    """

    kind: str
    label: str
    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of secret {self.kind!r} (one of {', '.join(KINDS)})")
        if not isinstance(self.value, str) or not isinstance(self.label, str):
            raise TypeError("a secret's label and value are text")


def placeholder(kind: str, length: int) -> str:
    """``REDACTED<KIND>XXX...`` cut or padded to ``length`` characters (ASCII letters only).

    Letters are valid unchanged inside a JSON string, a URL and base64, and
    each counts one UTF-16 unit, so the placeholder of a match measures what
    the match measured.
    """
    stem = "REDACTED" + "".join(ch for ch in kind.upper() if ch.isascii() and ch.isalnum())
    return (stem + "X" * max(0, length - len(stem)))[: max(0, length)]


@dataclass
class _Target:
    """One distinct secret value and every label it was given."""

    value: str
    kind: str
    labels: list[str]


def _targets(secrets: Sequence[Secret]) -> list[_Target]:
    by_value: dict[str, _Target] = {}
    for secret in secrets:
        if not secret.value:
            continue
        target = by_value.get(secret.value)
        if target is None:
            by_value[secret.value] = _Target(secret.value, secret.kind, [secret.label])
        elif secret.label not in target.labels:
            target.labels.append(secret.label)
    return sorted(by_value.values(), key=lambda target: -len(target.value))


def _replace(text: str, spans: list[tuple[int, int, str]]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with each span (merged where they overlap) replaced; the placeholders' new spans."""
    spans.sort(key=lambda span: (span[0], -span[1]))
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, kind])
    pieces: list[str] = []
    written: list[tuple[int, int]] = []
    pos = size = 0
    for start, end, kind in merged:
        pieces.append(text[pos:start])
        size += start - pos
        mark = placeholder(kind, utf16_len(text[start:end]))
        pieces.append(mark)
        written.append((size, size + len(mark)))
        size += len(mark)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), written


def _redact(text: str, targets: list[_Target], counts: Counter[str]) -> str:
    windows: list[tuple[int, int]] | None = None  # after a pass: only near its placeholders
    reach = 16 * max((len(target.value) for target in targets), default=0) + 64
    for _ in range(_PASSES):
        if windows is not None and not any(
            secret_pattern(target.value).search(text, max(0, start - reach), end + reach)
            for start, end in windows
            for target in targets
        ):
            break
        spans: list[tuple[int, int, str]] = []
        for target in targets:
            for match in secret_pattern(target.value).finditer(text):
                start, end = widen(text, match.start(), match.end())
                spans.append((start, end, target.kind))
                for label in target.labels:
                    counts[label] += 1
        if not spans:
            break
        text, windows = _replace(text, spans)
    return text


def redact_text(text: str, secrets: Sequence[Secret]) -> tuple[str, Counter[str]]:
    """``text`` with every secret, in every encoding, replaced; and the places found per label.

    Each match becomes ``placeholder(kind, n)`` with ``n`` the match's UTF-16
    length; a match is first widened off the middle of an escape sequence, so
    the JSON around it stays valid. Text that holds no secret comes back unchanged.
    """
    counts: Counter[str] = Counter()
    return _redact(text, _targets(secrets), counts), counts


def find_emails(text: str) -> set[str]:
    """The e-mail addresses in ``text`` (``@`` plain, ``%40`` or a JSON ``\\u0040``), decoded."""
    return set(email_spans(text))


def leaks(text: str, secrets: Sequence[Secret]) -> list[str]:
    """The labels of the secrets still in ``text`` in any encoding (empty: the text may be written)."""
    found: list[str] = []
    for secret in secrets:
        if secret.value and secret.label not in found and secret_pattern(secret.value).search(text):
            found.append(secret.label)
    return found


# -- framed bodies ----------------------------------------------------------------

_BOUNDS = 8  # the e total's own digits change the length it counts: a few rounds settle it


def fix_body(body: str) -> str:
    """An ``rt=c`` body with true frame lengths and a true ``e`` total; any other body unchanged.

    A frame's JSON ends at the first raw newline (compact JSON has none)
    unless its declared length spans further to a newline before the next
    frame. A length that does not measure it (UTF-16 units of the JSON plus
    its newlines) is re-measured; a last frame cut short (no newline, declared
    longer than what is there) keeps its length. The ``e`` frame's total
    becomes the body's UTF-8 byte length, which its own digits are part of.
    A body already right comes back as it was, byte for byte.
    """
    split = split_frames(body)
    if split is None:
        return body
    prefix, frames, tail = split
    changed = False
    e_index: int | None = None
    for index, frame in enumerate(frames):
        units = utf16_len(frame.text)
        if frame.newline:
            right = frame.units if frame.units in (units + 2, units + 1) else units + 2
        else:
            right = frame.units if frame.units >= units + 1 else units + 1
        changed = changed or right != frame.units
        frame.units = right
        if e_frame(frame.text) is not None:
            e_index = index
    if e_index is not None:
        frame = frames[e_index]
        decoded = e_frame(frame.text)
        assert decoded is not None
        others = len(prefix.encode()) + len(tail.encode())
        others += sum(len(f.wire().encode()) for i, f in enumerate(frames) if i != e_index)
        extra = frame.units - utf16_len(frame.text)  # keeps the frame's style of length (+1 or +2)
        for _ in range(_BOUNDS):
            total = others + len(frame.wire().encode())
            if decoded[0][4] == total:
                break
            decoded[0][4] = total
            frame.text = dumps(decoded)
            frame.units = utf16_len(frame.text) + extra
            changed = True
    if not changed:
        return body
    return prefix + "".join(frame.wire() for frame in frames) + tail


# -- the capture ------------------------------------------------------------------


def _walk(value: Any, redact: Callable[[str], str]) -> Any:
    """A copy of ``value`` (JSON-like) with every string in it, keys too, passed through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_walk(key, redact): _walk(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_walk(item, redact) for item in value)
    return value


def _strings(value: Any) -> list[str]:
    found: list[str] = []
    _walk(value, lambda text: found.append(text) or text)  # type: ignore[func-returns-value]
    return found


def _body_text(exchange: Exchange) -> tuple[str, bytes | None]:
    """The body as text to search, and its bytes when it is base64 (``None``: a text body).

    A base64 body that is UTF-8 is searched as that text; one that is not is
    searched as Latin-1 (one character per byte: the encoded spellings are
    ASCII and keep their byte positions).
    """
    if not exchange.body_base64:
        return exchange.body, None
    try:
        data = base64.b64decode(exchange.body, validate=True)
    except (binascii.Error, ValueError):
        return exchange.body, None  # not base64 after all: redacted as the text it is
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        return data.decode("latin-1"), data


def _redact_bytes(data: bytes, targets: list[_Target], counts: Counter[str]) -> bytes:
    """A body that is not text: the secrets' raw UTF-8 bytes, then their ASCII spellings, replaced."""
    for target in targets:

        def mark(match: re.Match[bytes], kind: str = target.kind, labels: list[str] = target.labels) -> bytes:
            for label in labels:
                counts[label] += 1
            return placeholder(kind, len(match.group())).encode("ascii")

        data = raw_pattern(target.value).sub(mark, data)
    return _redact(data.decode("latin-1"), targets, counts).encode("latin-1")


def _body(exchange: Exchange, targets: list[_Target], counts: Counter[str]) -> tuple[str, int]:
    """The redacted body (text or base64 as it came) and its new length in bytes."""
    text, data = _body_text(exchange)
    if data is None:
        redacted = _redact(text, targets, counts)
        if redacted == text:
            return exchange.body, len(text.encode("utf-8", "surrogatepass"))
        if exchange.body_base64:  # not valid base64: a text that is redacted as text
            return redacted, len(redacted.encode("utf-8", "surrogatepass"))
        redacted = fix_body(redacted)
        return redacted, len(redacted.encode("utf-8", "surrogatepass"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        out = _redact_bytes(data, targets, counts)
    else:
        redacted = _redact(text, targets, counts)
        out = data if redacted == text else fix_body(redacted).encode("utf-8", "surrogatepass")
    if out == data:
        return exchange.body, len(data)
    return base64.b64encode(out).decode("ascii"), len(out)


def _scaled(reads: list[list[float]], length: int) -> list[list[float]]:
    """The reads' byte offsets scaled so the last is ``length``; never decreasing, never past it."""
    if not reads or not all(isinstance(read, list) and len(read) == 2 for read in reads):
        return [list(read) if isinstance(read, list) else read for read in reads]
    last = reads[-1][1]
    if last == length:
        return [list(read) for read in reads]
    ratio = length / last if isinstance(last, (int, float)) and last > 0 else 0.0
    scaled: list[list[float]] = []
    previous = 0
    for seconds, offset in reads:
        value = min(length, max(previous, round(offset * ratio)))
        scaled.append([seconds, value])
        previous = value
    scaled[-1][1] = length
    return scaled


def _exchange(exchange: Exchange, targets: list[_Target], counts: Counter[str]) -> Exchange:
    def redact(text: str) -> str:
        return _redact(text, targets, counts)

    changes: dict[str, Any] = {}
    for item in dataclasses.fields(exchange):
        if item.name not in ("body", "body_base64", "reads"):
            changes[item.name] = _walk(getattr(exchange, item.name), redact)
    body, length = _body(exchange, targets, counts)
    changes["body"] = body
    changes["reads"] = _scaled(exchange.reads, length)
    return dataclasses.replace(exchange, **changes)


def _lines(secrets: Sequence[Secret], counts: Counter[str]) -> list[str]:
    """One line per label: how many places were redacted (never a value)."""
    lines: list[str] = []
    for label in dict.fromkeys(secret.label for secret in secrets):
        places = counts[label]
        line = f"{label}: {places} place{'' if places == 1 else 's'}" if places else f"{label}: not found"
        if any(len(s.value) < MIN_SEARCH for s in secrets if s.label == label):
            line += f" (shorter than {MIN_SEARCH} characters: searched as plain text and JSON only)"
        lines.append(line)
    return lines


def redact_capture(capture: Capture, secrets: Sequence[Secret]) -> Capture:
    """A new capture with every secret, and every e-mail address found in it, removed everywhere.

    Every string of the capture (turn, page, result, note, each exchange's
    fields: query, headers, form, ``freq`` at any depth, response headers,
    body) is redacted; e-mail addresses found anywhere become secrets of their
    own, so their other encodings go too. A base64 body is decoded, redacted
    and encoded again; a framed body that changed goes through :func:`fix_body`
    and its reads are scaled to its new byte length. ``redacted`` says, per
    label, how many places were replaced (the lines it held for other labels stay).
    The capture given is not changed.
    """
    given = [secret for secret in secrets if secret.value]
    texts: list[str] = []
    for item in dataclasses.fields(capture):
        if item.name not in ("exchanges", "format"):
            texts += _strings(getattr(capture, item.name))
    for exchange in capture.exchanges:
        texts += _strings([getattr(exchange, item.name) for item in dataclasses.fields(exchange)])
        texts.append(_body_text(exchange)[0])
    known = {secret.value for secret in given}
    emails = sorted({address for text in texts for address in find_emails(text)} - known)
    everything = given + [Secret(*_EMAIL, address) for address in emails]
    targets = _targets(everything)
    counts: Counter[str] = Counter()

    def redact(text: str) -> str:
        return _redact(text, targets, counts)

    exchanges = [_exchange(exchange, targets, counts) for exchange in capture.exchanges]
    changes: dict[str, Any] = {"exchanges": exchanges}
    for item in dataclasses.fields(capture):
        if item.name not in ("exchanges", "format", "redacted"):
            changes[item.name] = _walk(getattr(capture, item.name), redact)
    ours = dict.fromkeys(secret.label for secret in everything)
    kept = [redact(line) for line in capture.redacted if line.partition(": ")[0] not in ours]
    changes["redacted"] = kept + _lines(everything, counts)
    return dataclasses.replace(capture, **changes)
