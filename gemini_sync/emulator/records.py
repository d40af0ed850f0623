"""What the emulator saw: recorded requests, observed disconnects, and the parsers behind them.

Every request the emulator receives becomes a :class:`RecordedRequest`, parsed
as far as it parses (an unparsable ``f.req`` leaves ``inner`` as ``None``).
:class:`Journal` keeps them, thread-safe, together with the
:class:`Disconnect` events of clients that closed a stream early, and lets
tests wait for those with a bounded wait instead of a sleep.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .._constants import BATCH_EXEC_PATH, GENERATE_PATH
from ..models import INNER_SLOT as THINKING_INNER_SLOT
from ..models import MODEL_HEADER, header_level
from ..protocol.service import FreqError, RecordedCall, loads_lenient, parse_batch_freq, parse_generate_freq

if TYPE_CHECKING:
    from .faults import Fault

__all__ = [
    "Headers",
    "RecordedCall",
    "RecordedRequest",
    "Disconnect",
    "Journal",
    "FreqError",
    "parse_cookies",
    "parse_form",
    "parse_generate_freq",
    "parse_batch_freq",
    "loads_lenient",
]


class Headers(Mapping[str, str]):
    """Read-only request headers with case-insensitive names (first value wins)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = list(items)
        self._index: dict[str, str] = {}
        for name, value in self._items:
            self._index.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in the order received."""
        key = name.lower()
        return [value for item, value in self._items if item.lower() == key]

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


@dataclass
class RecordedRequest:
    """A request as the emulator received it.

    ``inner`` is the parsed inner ``f.req`` list of a StreamGenerate request and
    ``calls`` the parsed calls of a batchexecute request (``None`` when the
    request is of another kind or did not parse). ``fault`` is the injected
    fault applied to it, ``status`` the HTTP status it was answered with.
    ``warnings`` says what the emulator found suspicious (e.g. scripts exist
    but none matched this prompt).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    cookies: dict[str, str]
    form: dict[str, str]
    body: bytes = b""
    inner: list[Any] | None = None
    calls: list[RecordedCall] | None = None
    fault: Fault | None = None
    status: int | None = None
    timestamp: float = field(default_factory=time.time)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_generate(self) -> bool:
        """True for a StreamGenerate request."""
        return self.path == GENERATE_PATH

    @property
    def prompt(self) -> str | None:
        """The prompt of a StreamGenerate request (``inner[0][0]``)."""
        value = _dig(self.inner, 0, 0)
        return value if isinstance(value, str) else None

    @property
    def metadata(self) -> list[Any] | None:
        """The chat metadata list (``inner[2]``) of a StreamGenerate request."""
        value = _dig(self.inner, 2)
        return value if isinstance(value, list) else None

    @property
    def files(self) -> list[tuple[str, str]]:
        """``(identifier, filename)`` pairs of the attachments (``inner[0][3]``)."""
        pairs: list[tuple[str, str]] = []
        for item in _dig(self.inner, 0, 3) or ():
            identifier, name = _dig(item, 0, 0), _dig(item, 1)
            if isinstance(identifier, str):
                pairs.append((identifier, name if isinstance(name, str) else ""))
        return pairs

    @property
    def gem_id(self) -> str | None:
        """The gem id (``inner[19]``) of a StreamGenerate request."""
        value = _dig(self.inner, 19)
        return value if isinstance(value, str) and value else None

    @property
    def temporary(self) -> bool:
        """True when the request asked for a temporary chat (``inner[45] == 1``)."""
        return bool(_dig(self.inner, 45) == 1)

    @property
    def thinking_level(self) -> int | None:
        """The thinking level asked: ``inner[80]``, else the model header's ``[15]`` (protocol.md 3.6)."""
        value = _dig(self.inner, THINKING_INNER_SLOT)
        if type(value) is int:
            return value
        return header_level(self.headers.get(MODEL_HEADER))

    @property
    def model_id(self) -> str | None:
        """The model id in the model header, or ``None`` without (or with a bad) header."""
        value = self.headers.get(MODEL_HEADER)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        model_id = _dig(parsed, 4)
        return model_id if isinstance(model_id, str) else None

    @property
    def rpcids(self) -> list[str]:
        """The rpc ids of a batchexecute request, in call order."""
        if self.calls is not None:
            return [call.rpcid for call in self.calls]
        value = self.query.get("rpcids", "")
        return [part for part in value.split(",") if part]

    @property
    def key(self) -> str:
        """What faults match on: the prompt, the comma-joined rpc ids, or the path."""
        if self.path == GENERATE_PATH:
            return self.prompt or ""
        if self.path == BATCH_EXEC_PATH:
            return ",".join(self.rpcids)
        return self.path


@dataclass(frozen=True)
class Disconnect:
    """A client closed a response early; seen when a write failed or the socket closed."""

    path: str
    prompt: str | None
    body_bytes: int  # body bytes the emulator had sent when it noticed
    timestamp: float = field(default_factory=time.time)


class Journal:
    """Thread-safe log of requests and disconnects, with bounded waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._disconnects: list[Disconnect] = []

    def add(self, record: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(record)
            self._cond.notify_all()

    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()
            self._disconnects.clear()

    def add_disconnect(self, event: Disconnect) -> None:
        with self._cond:
            self._disconnects.append(event)
            self._cond.notify_all()

    def disconnects(self) -> list[Disconnect]:
        with self._cond:
            return list(self._disconnects)

    def wait_disconnects(self, count: int, timeout: float | None) -> bool:
        with self._cond:
            return bool(self._cond.wait_for(lambda: len(self._disconnects) >= count, timeout))

    def wait_requests(self, count: int, timeout: float | None) -> bool:
        with self._cond:
            return bool(self._cond.wait_for(lambda: len(self._requests) >= count, timeout))


# --- parsers ---------------------------------------------------------------


def _dig(obj: Any, *path: int) -> Any:
    for key in path:
        if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
            return None
        obj = obj[key]
    return obj


def parse_cookies(values: Iterable[str]) -> dict[str, str]:
    """Parse ``Cookie`` header values into a dict (first value of a name wins)."""
    cookies: dict[str, str] = {}
    for header in values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value.strip().strip('"')
    return cookies


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """Form fields of an urlencoded body (first value of a name wins); ``{}`` otherwise."""
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}
