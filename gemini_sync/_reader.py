"""Reading one StreamGenerate answer: attempts, frames -> chunks, time bounds, recovery.

:class:`Reader` is the machinery behind :class:`~gemini_sync.stream.Stream`.
It reads in two phases. Until the first data payload of the turn arrives,
failures are transient and the request may be retried (see
:mod:`.transport.retry`). From then on nothing is retried: content or a
conversation id exists, and a retry would duplicate or splice; a break is
instead repaired by reading the turn back from the history, if possible.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from . import _constants as C
from ._log import logger
from .errors import Cancelled, GeminiError, StreamInterrupted, TimeoutError
from .protocol.delta import StreamAssembler
from .protocol.framing import FrameDecoder
from .protocol.payload import CandidateSnapshot, Payload, parse_frame
from .protocol.text import final_text
from .transport.errors import translate_exception
from .transport.retry import RetryPolicy, call_with_retries
from .transport.session import abort_response, set_read_timeout
from .types import ModelOutput, StreamChunk

__all__ = ["Reader", "StreamOptions", "RecoverFn"]


RecoverFn = Callable[[str, str], "tuple[list[CandidateSnapshot], bool] | None"]


@dataclass
class StreamOptions:
    """How a stream reads: retry policy, stall and total time bounds, recovery.

    ``stall_timeout`` bounds the silence between frames; ``queue_timeout``
    bounds the time in which frames keep coming (queueing, "thinking" status)
    but none brings content, so a waiting state is not taken for progress forever.

    ``recover(cid, rid)`` reads turn ``rid`` of conversation ``cid`` back
    (raw candidates, finished?) or returns ``None`` if it is not there yet.
    """

    policy: RetryPolicy
    stall_timeout: float | None = C.DEFAULT_STALL_TIMEOUT
    deadline: float | None = None
    what: str = "StreamGenerate"
    recover: RecoverFn | None = None
    recover_timeout: float = C.RECOVER_TIMEOUT
    recover_interval: float = C.RECOVER_INTERVAL
    queue_timeout: float | None = C.DEFAULT_QUEUE_TIMEOUT


def _timeout_moved(current: float | None, wanted: float | None) -> bool:
    """Whether the socket timeout must change (``settimeout`` costs syscalls on every call).

    Kept while the wanted bound stays within 10% below (or 50% above) the
    current one, so a stall is detected at most 10% late.
    """
    if current is None or wanted is None:
        return current != wanted
    return current < 0 or wanted < current * 0.9 or wanted > current * 1.5


class _Attempt:
    """State of one attempt: its response, decoder and assembler."""

    __slots__ = (
        "assembler",
        "decoder",
        "deferred",
        "last_frame",
        "last_progress",
        "pending",
        "read_timeout",
        "response",
    )

    def __init__(self, saver: Any) -> None:
        self.response: requests.Response | None = None
        self.decoder = FrameDecoder()
        self.assembler = StreamAssembler(saver)
        self.last_frame = self.last_progress = time.monotonic()
        self.read_timeout: float | None = -1.0  # the socket's current timeout (-1: not set yet)
        self.pending: list[StreamChunk] = []
        # an error met after chunks of the same read: raised once those are delivered
        self.deferred: GeminiError | None = None


class Reader:
    """Reads one answer; yields batches of chunks (the final chunk last).

    ``cancelled`` is shared with the owning stream; ``closed`` is set by it.
    """

    def __init__(
        self,
        open_response: Callable[[float | None], requests.Response],
        options: StreamOptions,
        saver: Any,
        cancelled: threading.Event,
    ) -> None:
        self._open_response = open_response
        self._options = options
        self._saver = saver
        self._cancelled = cancelled
        self.closed = False
        self.attempt: _Attempt | None = None
        self.output: ModelOutput | None = None
        self._ends: float | None = None  # monotonic time of the deadline, set when reading starts

    def partial(self) -> ModelOutput:
        """What the current attempt has delivered so far."""
        attempt = self.attempt
        return attempt.assembler.partial() if attempt else ModelOutput()

    def abort(self) -> None:
        """Shut the connection down now (from any thread)."""
        attempt = self.attempt
        if attempt is not None and attempt.response is not None:
            abort_response(attempt.response)

    def release(self) -> None:
        """Close the response (on the reading thread, at the end)."""
        attempt = self.attempt
        if attempt is not None and attempt.response is not None:
            attempt.response.close()

    def batches(self) -> Iterator[list[StreamChunk]]:
        """The answer as batches of chunks, one batch per network read."""
        options = self._options
        if options.deadline is not None:
            self._ends = time.monotonic() + options.deadline
        attempt = call_with_retries(self._retry_policy(), options.what, self._prime, allowed=self._may_retry)
        pending, attempt.pending = attempt.pending, []
        yield pending
        del pending  # else the first read's chunks stay alive for the whole stream
        while self.output is None:
            try:
                chunks = self._read_chunks(attempt)
            except (StreamInterrupted, TimeoutError) as exc:
                chunks = self._recover(attempt, exc)
            yield chunks

    def _retry_policy(self) -> RetryPolicy:
        """The stream's retry policy, its waits bounded by the deadline and cut short by :meth:`cancel`."""
        policy = copy.copy(self._options.policy)
        policy.sleep = self._backoff
        return policy

    def _backoff(self, seconds: float) -> None:
        """Wait before the next attempt, unless the deadline leaves no time for it."""
        if self._ends is not None and time.monotonic() + seconds >= self._ends:
            raise TimeoutError(
                f"the stream's deadline of {self._options.deadline:g}s leaves no time to wait "
                f"{seconds:.2f}s for another attempt"
            )
        custom = self._options.policy.sleep
        if custom is not None:
            custom(seconds)
        else:
            self._cancelled.wait(seconds)  # the next attempt then raises Cancelled at once

    def _time_left(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline); what a request may take."""
        if self._ends is None:
            return None
        left = self._ends - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the stream exceeded its deadline of {self._options.deadline:g}s")
        return left

    def _may_retry(self) -> bool:
        attempt = self.attempt
        if self._cancelled.is_set() or self.closed:
            return False
        if self._ends is not None and time.monotonic() >= self._ends:
            return False
        return attempt is None or (attempt.assembler.data_payloads == 0 and not attempt.assembler.delivered)

    def _prime(self) -> _Attempt:
        """One attempt up to the first data payload (the retryable phase)."""
        if self.attempt is not None and self.attempt.response is not None:
            self.attempt.response.close()
        attempt = self.attempt = _Attempt(self._saver)
        self._check_cancel()
        try:
            response = self._open_response(self._time_left())
        except BaseException:
            self._check_cancel()  # cancelled while connecting: that, not the I/O error, is the outcome
            raise
        attempt.response = response
        if self._cancelled.is_set() or self.closed:
            abort_response(response)
            self._check_cancel()
        attempt.last_frame = time.monotonic()
        try:
            while attempt.assembler.data_payloads == 0 and self.output is None:
                attempt.pending.extend(self._read_chunks(attempt))
        except BaseException:
            response.close()
            raise
        return attempt

    def _check_cancel(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the stream was cancelled")
        if self.closed:
            raise Cancelled("the stream was closed")

    def _read_chunks(self, attempt: _Attempt) -> list[StreamChunk]:
        """One network read, decoded into zero or more chunks (final chunk at EOF)."""
        if attempt.deferred is not None:
            raise attempt.deferred
        response = attempt.response
        assert response is not None
        options = self._options
        timeout = self._time_left()  # raises once the deadline has passed
        if options.stall_timeout is not None:
            stall_left = options.stall_timeout - (time.monotonic() - attempt.last_frame)
            if stall_left <= 0:
                raise self._stalled()
            timeout = stall_left if timeout is None else min(timeout, stall_left)
        if _timeout_moved(attempt.read_timeout, timeout):
            set_read_timeout(response, timeout)
            attempt.read_timeout = timeout
        try:
            data = response.raw.read1(C.READ_CHUNK_SIZE)
        except Exception as exc:
            self._check_cancel()
            assembler = attempt.assembler
            if not (assembler.ended and assembler.complete):
                error = translate_exception(exc, options.what)
                if isinstance(error, TimeoutError):
                    error = self._timeout_error()
                raise error from exc
            # the whole answer and the end marker arrived; only the transfer's own end was lost
            logger.debug("connection broke after the end marker (%s)", exc.__class__.__name__)
            data = b""
        self._check_cancel()
        if not data:
            chunks, attempt.deferred = self._process(attempt, attempt.decoder.close())
            if attempt.deferred is not None:
                return chunks
            try:
                chunks.append(self._complete(attempt))
            except GeminiError as exc:
                if not chunks:
                    raise
                attempt.deferred = exc
            return chunks
        frames = attempt.decoder.feed(data)
        if not frames:
            return []
        attempt.last_frame = now = time.monotonic()
        payloads = attempt.assembler.data_payloads
        chunks, attempt.deferred = self._process(attempt, frames)
        if chunks or (payloads == 0 and attempt.assembler.data_payloads):
            attempt.last_progress = now  # content or the turn's ids: not just "still queued"
        elif options.queue_timeout is not None and now - attempt.last_progress > options.queue_timeout:
            raise TimeoutError(
                f"the service kept the request waiting (frames without content) for over "
                f"{options.queue_timeout:g}s"
            )
        return chunks

    def _complete(self, attempt: _Attempt) -> StreamChunk:
        """The final chunk; records the output (the chat is told when it is handed out)."""
        assembler = attempt.assembler
        final = assembler.finish()
        if assembler.late_status is not None:
            logger.debug("status %s after a complete answer ignored", assembler.late_status)
        self.output = assembler.final_output()  # its own lists: changing the final chunk changes nothing here
        return final

    def _recover(self, attempt: _Attempt, error: GeminiError) -> list[StreamChunk]:
        """After a break, read the turn back instead of re-sending (which would duplicate it).

        Polls READ_CHAT for a bounded time. If the finished answer extends what
        was delivered, the rest comes as ordinary chunks; otherwise ``error``.
        """
        options = self._options
        assembler = attempt.assembler
        cid, rid = assembler.cid, assembler.metadata[1]
        if options.recover is None or not cid or not rid or self._cancelled.is_set() or self.closed:
            raise error
        if attempt.response is not None:
            abort_response(attempt.response)
        logger.info("stream broke after the turn was saved (%s); reading it back", error.__class__.__name__)
        limit = time.monotonic() + options.recover_timeout
        if self._ends is not None:
            limit = min(limit, self._ends)
        found = None
        while True:
            try:
                found = options.recover(cid, rid)
            except GeminiError as exc:
                logger.info("reading the turn back failed: %s", exc.__class__.__name__)
            if found is not None and found[1]:
                break
            left = limit - time.monotonic()
            if left <= 0 or self._cancelled.wait(min(options.recover_interval, left)):
                self._check_cancel()
                raise error
        snaps = found[0]
        delivered = assembler.partial().text
        if not final_text(snaps[0].text).startswith(delivered):
            raise error
        chunks = []
        chunk = assembler.feed_event(Payload(cid, rid, snaps, context_token=assembler.context_token))
        if chunk is not None:
            chunks.append(chunk)
        chunks.append(self._complete(attempt))
        logger.info("recovered the rest of the answer from the history")
        return chunks

    def _timeout_error(self) -> TimeoutError:
        """Which bound fired on a timed-out read: the total deadline or the stall watchdog."""
        try:
            self._time_left()
        except TimeoutError as exc:
            return exc
        if self._options.stall_timeout is not None:
            return self._stalled()
        return TimeoutError(f"{self._options.what} timed out reading the response")

    def _stalled(self) -> TimeoutError:
        return TimeoutError(f"the stream stalled: no frame for {self._options.stall_timeout:g}s")

    @staticmethod
    def _process(attempt: _Attempt, frames: list[Any]) -> tuple[list[StreamChunk], GeminiError | None]:
        """Frames -> chunks, and an error met after some of them (to raise once they are delivered)."""
        feed = attempt.assembler.feed_event
        chunks: list[StreamChunk] = []
        try:
            for frame in frames:
                for event in parse_frame(frame):
                    chunk = feed(event)
                    if chunk is not None:
                        chunks.append(chunk)
        except GeminiError as exc:
            if not chunks:
                raise
            return chunks, exc
        return chunks, None
