"""Stream: one answer as a generator of :class:`~gemini_sync.types.StreamChunk`.

A :class:`Stream` is lazy: nothing is sent until it is iterated (or
collected, or started on a worker). Its ``__iter__`` drives one private
generator whose ``finally`` closes the HTTP response, so every way out (end,
error, ``break`` + ``close()``, ``with`` exit, garbage collection) frees the
socket at once.

Reading happens in two phases. Until the first data payload of the turn
arrives, failures are transient and the request may be retried (see
:mod:`.transport.retry`). From then on nothing is retried: content or a
conversation id exists, and a retry would duplicate or splice.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from . import _constants as C
from ._log import logger
from .errors import Cancelled, GeminiError, StreamDiverged, StreamInterrupted, TimeoutError
from .protocol.delta import StreamAssembler
from .protocol.framing import FrameDecoder
from .protocol.payload import CandidateSnapshot, Payload, parse_frame
from .protocol.text import final_text
from .transport.errors import translate_exception
from .transport.retry import RetryPolicy, call_with_retries
from .transport.session import abort_response, set_read_timeout
from .types import ModelOutput, StreamChunk

if TYPE_CHECKING:
    from .worker import StreamWorker

__all__ = ["Stream", "StreamOptions"]


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


class Stream:
    """An answer being streamed. Iterate it, ``collect()`` it, or ``start()`` it.

    It is a context manager: leaving the ``with`` block closes the connection.
    A stream can be iterated once.
    """

    def __init__(
        self,
        open_response: Callable[[], requests.Response],
        options: StreamOptions,
        *,
        saver: Any = None,
        on_output: Callable[[ModelOutput], None] | None = None,
        on_revoke: Callable[[ModelOutput], None] | None = None,
    ) -> None:
        self._open_response = open_response
        self._options = options
        self._saver = saver
        self._on_output = on_output
        self._on_revoke = on_revoke
        self._committed = False
        self._gen: Iterator[StreamChunk] | None = None
        self._attempt: _Attempt | None = None
        self._iterated = False
        self._yielded = False
        self._output: ModelOutput | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> Stream:
        if self._iterated:
            raise RuntimeError(
                "this stream was already iterated; a Stream can be consumed once "
                "(use stream.collect() for the whole answer, or start a new stream)"
            )
        self._iterated = True
        return self

    def __next__(self) -> StreamChunk:
        chunk = next(self._generator())
        self._yielded = True
        return chunk

    def _generator(self) -> Iterator[StreamChunk]:
        if self._gen is None:
            if self._closed:
                raise RuntimeError("this stream is closed")
            self._gen = self._run()
        return self._gen

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        attempt = self._attempt
        if attempt is not None and attempt.response is not None:
            abort_response(attempt.response)

    def __repr__(self) -> str:
        state = "done" if self._output else "failed" if self._error else "closed" if self._closed else "open"
        return f"<Stream {self._options.what} {state}>"

    # -- public API --------------------------------------------------------

    @property
    def output(self) -> ModelOutput | None:
        """The final output once the stream has finished, else ``None``."""
        return self._output

    def partial(self) -> ModelOutput:
        """What has been delivered so far."""
        attempt = self._attempt
        return attempt.assembler.partial() if attempt else ModelOutput()

    def collect(self) -> ModelOutput:
        """Read the rest of the stream and return the whole answer.

        Works on a fresh stream and on a partly consumed one (the result is the
        whole answer, not the rest). Raises the stream's typed error.
        """
        if self._output is not None:
            self._commit()
            return self._output
        if self._error is not None:
            raise self._error
        fresh = not self._yielded
        self._iterated = True
        try:
            for _chunk in self._generator():
                pass
        except StreamDiverged as exc:
            if fresh and exc.output is not None:
                # nobody saw the deltas, so the final answer is the exact result
                self._output = exc.output
                self._error = None
                self._commit()
                return exc.output
            raise
        output = self._finished_output()
        self._commit()
        return output

    def _finished_output(self) -> ModelOutput:
        if self._output is None:
            raise RuntimeError("this stream was closed before it finished")
        return self._output

    def close(self) -> None:
        """Close the connection now; safe from any thread and more than once."""
        self._closed = True
        attempt = self._attempt
        if attempt is not None and attempt.response is not None:
            abort_response(attempt.response)
        gen = self._gen
        if gen is not None:
            try:
                gen.close()  # type: ignore[attr-defined]
            except ValueError:
                pass  # running in another thread: the aborted socket ends it

    def cancel(self) -> None:
        """Stop the stream from any thread; the reader ends with :class:`~gemini_sync.errors.Cancelled`."""
        self._cancelled.set()
        attempt = self._attempt
        if attempt is not None and attempt.response is not None:
            abort_response(attempt.response)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def start(
        self,
        on_text: Callable[[str], Any] | None = None,
        on_thought: Callable[[str], Any] | None = None,
        on_image: Callable[[Any], Any] | None = None,
        on_chunk: Callable[[StreamChunk], Any] | None = None,
        on_done: Callable[[ModelOutput], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
    ) -> StreamWorker:
        """Run the stream on a worker thread and deliver it through callbacks (see :mod:`.worker`)."""
        from .worker import StreamWorker

        if self._iterated or self._closed:
            raise RuntimeError("start() needs a fresh stream; this one was already iterated or closed")

        return StreamWorker(
            self,
            on_text=on_text,
            on_thought=on_thought,
            on_image=on_image,
            on_chunk=on_chunk,
            on_done=on_done,
            on_error=on_error,
            dispatch=dispatch,
        )

    # -- the reader --------------------------------------------------------

    def _run(self) -> Iterator[StreamChunk]:
        options = self._options
        started = time.monotonic()
        attempt: _Attempt | None = None
        try:
            attempt = call_with_retries(
                self._retry_policy(), options.what, lambda: self._prime(started), allowed=self._may_retry
            )
            pending, attempt.pending = attempt.pending, []
            yield from self._handing_out(pending)
            while self._output is None:
                try:
                    chunks = self._read_chunks(attempt, started)
                except (StreamInterrupted, TimeoutError) as exc:
                    chunks = self._recover(attempt, exc, started)
                yield from self._handing_out(chunks)
        except GeminiError as exc:
            self._error = exc.with_partial(self.partial())
            raise
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            if attempt is not None and attempt.response is not None:
                attempt.response.close()
            elif self._attempt is not None and self._attempt.response is not None:
                self._attempt.response.close()

    def _handing_out(self, chunks: list[StreamChunk]) -> Iterator[StreamChunk]:
        """Yield ``chunks``; the turn is committed (the chat told) as the final one is handed out."""
        for chunk in chunks:
            if chunk.is_final:
                self._commit()
            yield chunk

    def _commit(self) -> None:
        if not self._committed and self._output is not None and self._on_output is not None:
            self._committed = True
            self._on_output(self._output)

    def _revoke(self) -> None:
        """Undo :meth:`_commit` when a worker reports the turn as failed after all (see worker.py)."""
        if self._committed and self._output is not None and self._on_revoke is not None:
            self._committed = False
            self._on_revoke(self._output)

    def _retry_policy(self) -> RetryPolicy:
        """The stream's retry policy, its backoff cut short by :meth:`cancel` (unless a sleep is set)."""
        policy = self._options.policy
        if policy.sleep is not None:
            return policy
        policy = copy.copy(policy)
        policy.sleep = self._backoff
        return policy

    def _backoff(self, seconds: float) -> None:
        self._cancelled.wait(seconds)  # the next attempt then raises Cancelled at once

    def _may_retry(self) -> bool:
        attempt = self._attempt
        if self._cancelled.is_set() or self._closed:
            return False
        return attempt is None or (attempt.assembler.data_payloads == 0 and not attempt.assembler.delivered)

    def _prime(self, started: float) -> _Attempt:
        """One attempt up to the first data payload (the retryable phase)."""
        if self._attempt is not None and self._attempt.response is not None:
            self._attempt.response.close()
        attempt = self._attempt = _Attempt(self._saver)
        self._check_cancel()
        try:
            response = self._open_response()
        except BaseException:
            self._check_cancel()  # cancelled while connecting: that, not the I/O error, is the outcome
            raise
        attempt.response = response
        if self._cancelled.is_set() or self._closed:
            abort_response(response)
            self._check_cancel()
        attempt.last_frame = time.monotonic()
        try:
            while attempt.assembler.data_payloads == 0 and self._output is None:
                attempt.pending.extend(self._read_chunks(attempt, started))
        except BaseException:
            response.close()
            raise
        return attempt

    def _check_cancel(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the stream was cancelled")
        if self._closed:
            raise Cancelled("the stream was closed")

    def _read_chunks(self, attempt: _Attempt, started: float) -> list[StreamChunk]:
        """One network read, decoded into zero or more chunks (final chunk at EOF)."""
        if attempt.deferred is not None:
            raise attempt.deferred
        response = attempt.response
        assert response is not None
        options = self._options
        now = time.monotonic()
        timeout = None
        if options.stall_timeout is not None:
            timeout = options.stall_timeout - (now - attempt.last_frame)
            if timeout <= 0:
                raise TimeoutError(f"the stream stalled: no frame for {options.stall_timeout:g}s")
        if options.deadline is not None:
            left = options.deadline - (now - started)
            if left <= 0:
                raise TimeoutError(f"the stream exceeded its deadline of {options.deadline:g}s")
            timeout = left if timeout is None else min(timeout, left)
        if _timeout_moved(attempt.read_timeout, timeout):
            set_read_timeout(response, timeout)
            attempt.read_timeout = timeout
        try:
            data = response.raw.read1(C.READ_CHUNK_SIZE)
        except Exception as exc:
            self._check_cancel()
            error = translate_exception(exc, options.what)
            if isinstance(error, TimeoutError):
                error = self._timeout_error(started)
            raise error from exc
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
        self._output = ModelOutput(metadata=final.metadata, candidates=final.candidates)
        return final

    def _recover(self, attempt: _Attempt, error: GeminiError, started: float) -> list[StreamChunk]:
        """After a break, read the turn back instead of re-sending (which would duplicate it).

        Polls READ_CHAT for a bounded time. If the finished answer extends what
        was delivered, the rest comes as ordinary chunks; otherwise ``error``.
        """
        options = self._options
        assembler = attempt.assembler
        cid, rid = assembler.cid, assembler.metadata[1]
        if options.recover is None or not cid or not rid or self._cancelled.is_set() or self._closed:
            raise error
        if attempt.response is not None:
            abort_response(attempt.response)
        logger.info("stream broke after the turn was saved (%s); reading it back", error.__class__.__name__)
        limit = time.monotonic() + options.recover_timeout
        if options.deadline is not None:
            limit = min(limit, started + options.deadline)
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

    def _timeout_error(self, started: float) -> TimeoutError:
        """Which bound fired: the total deadline or the stall watchdog."""
        options = self._options
        if options.deadline is not None and time.monotonic() - started >= options.deadline:
            return TimeoutError(f"the stream exceeded its deadline of {options.deadline:g}s")
        if options.stall_timeout is not None:
            return TimeoutError(f"the stream stalled: no frame for {options.stall_timeout:g}s")
        return TimeoutError(f"{options.what} timed out reading the response")

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
