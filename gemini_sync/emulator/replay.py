"""Replaying a capture: the emulator answers with what the service really sent.

With :meth:`Emulator.replay <gemini_sync.emulator.Emulator.replay>` on, a
StreamGenerate request that passes the emulator's checks (cookies, token,
``f.req``) is answered with the capture's recorded body, byte for byte,
cut where the network cut it and paced as it arrived (``speed`` 1.0: the
recorded timing; 0: as fast as the socket takes it; 2.0: twice as slow).
Every such request gets the recorded answer, whatever its prompt (a replay is
a test of the app that sends it); a different prompt is noted in the
request's ``warnings``. A batchexecute request naming the same RPCs as a
recorded one gets that recorded answer; everything else (the page, rotation,
upload, other RPCs) is the emulator's own, so a client signs in and works as
usual around the replayed turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..capture.file import BATCH, Capture, CaptureError, Exchange

if TYPE_CHECKING:
    from .desk import Reply
    from .wire import BodyWriter

__all__ = ["Replay", "load_replay", "serve_generate", "serve_batch"]

_JSON = "application/json; charset=utf-8"
_MAX_GAP = 30.0  # seconds: a recorded pause longer than this (a laptop asleep) is replayed as this


class Replay:
    """A capture being replayed, and how fast."""

    def __init__(self, capture: Capture, *, speed: float = 1.0) -> None:
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed >= 0:
            raise ValueError(f"speed must be a number >= 0 (1.0 = as recorded), not {speed!r}")
        generate = capture.generate
        if generate is None:
            raise CaptureError("the capture holds no StreamGenerate exchange to replay")
        for exchange in (generate, *capture.of_kind(BATCH)):
            _check(exchange)
        self.capture = capture
        self.speed = float(speed)
        self.generate = generate
        self._batches = {frozenset(e.rpcids): e for e in capture.of_kind(BATCH) if e.rpcids}
        self._lock = threading.Lock()
        self.answered = 0  # StreamGenerate requests answered from the capture

    def batch_for(self, rpcids: set[str]) -> Exchange | None:
        """The recorded batchexecute exchange that called exactly ``rpcids``, if any."""
        return self._batches.get(frozenset(rpcids))

    def count(self) -> None:
        with self._lock:
            self.answered += 1


def _check(exchange: Exchange) -> None:
    """A recorded exchange a replay can send: a status, a body, reads as ``[seconds, bytes]`` pairs."""
    status = exchange.status
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise CaptureError(f"a recorded exchange has no valid HTTP status ({status!r})")
    try:
        exchange.body_bytes  # noqa: B018 - decodes the base64 of a binary body
    except ValueError:
        raise CaptureError("a recorded body is not valid base64") from None
    reads = exchange.reads
    if not isinstance(reads, list) or not all(
        isinstance(item, list)
        and len(item) == 2
        and all(isinstance(n, (int, float)) and not isinstance(n, bool) and n >= 0 for n in item)
        for item in reads
    ):
        raise CaptureError("a recorded exchange's reads are not [seconds, bytes] pairs")


def load_replay(capture: Capture | str | os.PathLike[str], *, speed: float = 1.0) -> Replay:
    """A :class:`Replay` of a capture object or file (:class:`CaptureError` if it cannot be)."""
    if not isinstance(capture, Capture):
        capture = Capture.load(capture)
    return Replay(capture, speed=speed)


def _writer_of(
    exchange: Exchange, speed: float, wait: Callable[[BodyWriter, float], None]
) -> Callable[[BodyWriter], None]:
    body = exchange.body_bytes

    def write(writer: BodyWriter) -> None:
        sent, at = 0, 0.0
        for when, end in exchange.reads:
            end = min(int(end), len(body))
            if speed and when > at:
                wait(writer, min(when - at, _MAX_GAP) * speed)
            at = max(at, when)
            if end > sent:
                writer.write(body[sent:end])
                sent = end
        if sent < len(body):
            writer.write(body[sent:])

    return write


def _pause(writer: BodyWriter, seconds: float) -> None:
    writer.pause(seconds)


def serve_generate(ex: Reply, replay: Replay) -> None:
    """Answer a StreamGenerate request with the recorded answer (status, body, pieces, timing)."""
    exchange = replay.generate
    replay.count()
    recorded = exchange.prompt
    if recorded is not None and ex.record.prompt != recorded:
        ex.record.warnings.append("replayed a capture recorded for another prompt")
    content_type = exchange.response_headers.get("content-type", _JSON)
    if exchange.status != 200:
        ex.respond(exchange.status, exchange.body_bytes, content_type=content_type)
        return
    ex.stream_raw(_writer_of(exchange, replay.speed, _pause), content_type=content_type)


def serve_batch(ex: Reply, replay: Replay, rpcids: set[str]) -> bool:
    """Answer a batchexecute request with a recorded one of the same RPCs; ``False`` if none."""
    exchange = replay.batch_for(rpcids)
    if exchange is None:
        return False
    content_type = exchange.response_headers.get("content-type", _JSON)
    ex.respond(exchange.status, exchange.body_bytes, content_type=content_type)
    return True
