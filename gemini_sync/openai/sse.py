"""Server-Sent Events: the framing of streamed answers, and a WSGI body that is told when it ends.

Each event is one ``data:`` line of compact JSON (JSON has no raw newline, so
one line always suffices), optionally after an ``event:`` line (the Responses
API names its events), and a blank line. Chat completions end with
``data: [DONE]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["event", "DONE", "SSE_HEADERS", "ClosingBody"]

DONE = b"data: [DONE]\n\n"

#: headers of every event stream: no caching, and no buffering by a proxy in front (nginx)
SSE_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache"),
    ("X-Accel-Buffering", "no"),
]


def event(data: Any, name: str | None = None) -> bytes:
    """One event: ``data`` as JSON, named ``name`` if given."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


class ClosingBody:
    """A WSGI response body that runs ``on_close`` once, when the server closes it (or it ends).

    The WSGI server calls ``close()`` after the last chunk and when the client
    leaves early, so a stream upstream is closed and a concurrency slot given
    back on every way out.
    """

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._source = chunks
        self._chunks = iter(chunks)
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        try:
            for part in (self._chunks, self._source):
                closer = getattr(part, "close", None)
                if callable(closer):
                    closer()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()
