"""The capture file: one turn as the service really answered it, secrets removed.

A capture is JSON (``format: "gemini_sync.capture/1"``) holding:

- ``turn``: what was asked (prompt, model, thinking level, tool);
- ``page``: the app page's relevant ``WIZ_global_data`` values (redacted) and
  the names of every key the page had (a shape the drift report compares);
- ``exchanges``: every HTTP exchange of the turn in order, each with its
  method, host, path, query, the extension headers, the form fields (``f.req``
  as sent, and decoded in ``freq``), the status, a few response headers, the
  body as received (after the transfer's content coding, before any framing
  is read) and the timing of each network read;
- ``redacted``: what was removed (kinds and cookie names, never a value);
- ``result``: what the client read from it (text, ids, context token, served
  model), so a replay can be checked against the live run;
- ``note``: words for a human: where it came from, what was edited.

This module only reads and writes the format: :mod:`.record` fills it from a
live client, :mod:`.redact` removes the secrets, :mod:`.drift` compares two.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .._exports import publish
from ..errors import GeminiError

__all__ = ["FORMAT", "Capture", "Exchange", "CaptureError", "PAGE", "GENERATE", "BATCH", "OTHER"]

FORMAT = "gemini_sync.capture/1"

#: kinds of exchange
PAGE, GENERATE, BATCH, OTHER = "page", "generate", "batchexecute", "other"

_MAX_FILE = 64 * 1024 * 1024  # a capture of one turn is kilobytes; refuse to read a runaway file


class CaptureError(GeminiError):
    """A capture file that cannot be read, written or replayed (the message says why)."""


@dataclass
class Exchange:
    """One HTTP request of the turn and its answer, as the client saw them.

    ``body`` is the response body's text (UTF-8), or base64 when
    ``body_base64`` (a body that is not UTF-8, e.g. an image). ``reads`` is
    ``[seconds after the response's headers arrived, body bytes received so
    far]`` per network read, so a replay can pace the body as it came.
    ``started`` is when the headers arrived, in seconds after the capture began.
    """

    kind: str
    method: str
    host: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    freq: Any = None
    rpcids: list[str] = field(default_factory=list)
    status: int = 200
    response_headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    body_base64: bool = False
    reads: list[list[float]] = field(default_factory=list)
    started: float = 0.0

    @property
    def body_bytes(self) -> bytes:
        """The body as bytes."""
        return base64.b64decode(self.body) if self.body_base64 else self.body.encode("utf-8")

    @property
    def prompt(self) -> str | None:
        """The prompt of a StreamGenerate exchange (``inner[0][0]``), else ``None``."""
        inner = self.freq.get("inner") if isinstance(self.freq, dict) else None
        try:
            value = inner[0][0]  # type: ignore[index]
        except (TypeError, IndexError, KeyError):
            return None
        return value if isinstance(value, str) else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exchange:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        try:
            exchange = cls(**known)
        except TypeError as exc:
            raise CaptureError(f"an exchange of the capture is incomplete: {exc}") from None
        if not isinstance(exchange.body, str) or not isinstance(exchange.kind, str):
            raise CaptureError("an exchange of the capture has no text body or kind")
        for name in ("query", "headers", "form", "response_headers"):
            value = getattr(exchange, name)
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise CaptureError(f"an exchange's {name} is not a mapping of strings")
        if not isinstance(exchange.rpcids, list) or not all(isinstance(r, str) for r in exchange.rpcids):
            raise CaptureError("an exchange's rpcids are not a list of strings")
        if not isinstance(exchange.reads, list):
            raise CaptureError("an exchange's reads are not a list")
        return exchange


@dataclass
class Capture:
    """One recorded turn (see the module docstring); ``save``/``load`` write and read the file."""

    turn: dict[str, Any] = field(default_factory=dict)
    page: dict[str, Any] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    note: str = ""
    recorded_at: str = ""
    library: str = ""
    format: str = FORMAT

    # -- the exchanges a replay and a report look at --------------------------

    def of_kind(self, kind: str) -> list[Exchange]:
        """The exchanges of one kind, in order."""
        return [exchange for exchange in self.exchanges if exchange.kind == kind]

    @property
    def generate(self) -> Exchange | None:
        """The turn's (last) StreamGenerate exchange: the one that answered."""
        found = self.of_kind(GENERATE)
        return found[-1] if found else None

    # -- the file ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The file's text: indented JSON, non-ASCII kept as is, keys in a fixed order."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> Capture:
        if not isinstance(data, dict):
            raise CaptureError("not a capture: the file is not a JSON object")
        if data.get("format") != FORMAT:
            raise CaptureError(f"not a capture of format {FORMAT!r} (format: {data.get('format')!r})")
        exchanges = data.get("exchanges")
        if not isinstance(exchanges, list) or not all(isinstance(item, dict) for item in exchanges):
            raise CaptureError("the capture has no list of exchanges")
        known = {
            name: data[name] for name in cls.__dataclass_fields__ if name in data and name != "exchanges"
        }
        return cls(exchanges=[Exchange.from_dict(item) for item in exchanges], **known)

    @classmethod
    def from_json(cls, text: str) -> Capture:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CaptureError(f"not a capture: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Capture:
        """Read a capture file (UTF-8 JSON); :class:`CaptureError` if it is not one."""
        try:
            with open(path, "rb") as handle:
                raw = handle.read(_MAX_FILE + 1)
        except OSError as exc:
            raise CaptureError(
                f"cannot read the capture {os.fspath(path)!r}: {exc.strerror or exc}"
            ) from None
        if len(raw) > _MAX_FILE:
            raise CaptureError(f"the capture {os.fspath(path)!r} is larger than {_MAX_FILE} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CaptureError(f"the capture {os.fspath(path)!r} is not UTF-8 text") from None
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the file (whole or not at all: a temporary file renamed into place)."""
        target = os.fspath(path)
        temporary = f"{target}.{os.getpid()}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(self.to_json())
            os.replace(temporary, target)
        except OSError as exc:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise CaptureError(f"cannot write the capture {target!r}: {exc.strerror or exc}") from None


publish(globals())
