"""Reading one StreamGenerate answer: attempts, frames -> chunks, time bounds, recovery.

:class:`Reader` is the machinery behind :class:`~gemini_sync.stream.Stream`.
It reads in two phases. Until the first data payload of the turn arrives,
failures are transient and the request may be retried (see
:mod:`.transport.retry`). From then on nothing is retried: content or a
conversation id exists, and a retry would duplicate or splice; a break is
instead repaired by reading the turn back from the history, if possible.
A status met before that first payload (the service says the request is
queued) is handed out at once, without ending the retryable phase; a retry
then starts from that status, so the caller is not told it twice.

Every request of the stream runs under one :class:`~.transport.wire.Call`,
so ``cancel()``/``close()`` reach its socket in any phase and the deadline and
stall bound are enforced by the clock (the call's watchdog), on any framing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from .. import _constants as C
from .._log import logger
from ..errors import Cancelled, GeminiError, StreamInterrupted, TimeoutError
from ..protocol.payload import Payload, parse_frame
from ..protocol.text import final_text
from ..transport.errors import translate_exception
from ..transport.retry import RetryPolicy, call_with_retries
from ..transport.session import abort_response
from ..transport.wire import Call, bound
from ..types.output import ModelOutput, StreamChunk
from .options import Attempt, StreamOptions

__all__ = ["Reader", "StreamOptions"]  # the options are in .options, recovery in .recovery


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
        self._call = Call()  # every socket of the stream, its deadline and stall watchdog
        self.closed = False
        self.attempt: Attempt | None = None
        self.output: ModelOutput | None = None
        self._ends: float | None = None  # monotonic time of the deadline, set when reading starts

    def partial(self) -> ModelOutput:
        """What the current attempt has delivered so far."""
        attempt = self.attempt
        return attempt.assembler.partial() if attempt else ModelOutput()

    def abort(self, reason: str = "cancelled") -> None:
        """Shut every connection of the stream down now, in any phase (from any thread)."""
        self._call.abort(reason)
        attempt = self.attempt
        if attempt is not None and attempt.response is not None and not self._call.tracked:
            abort_response(attempt.response)  # a user's own adapter: only the response reaches the socket

    def release(self) -> None:
        """Close the response (on the reading thread, at the end)."""
        attempt = self.attempt
        if attempt is not None and attempt.response is not None:
            attempt.response.close()
        self._call.finish()

    def batches(self) -> Iterator[list[StreamChunk]]:
        """The answer as batches of chunks, one batch per network read.

        An error met after good chunks of a read is raised once they are
        handed out (the one "deliver, then raise" of the read path).
        """
        options = self._options
        if options.deadline is not None:
            self._ends = time.monotonic() + options.deadline
            self._call.set_deadline(self._ends)
        while True:  # the retryable phase; a status ("queued") read in it is handed out at once
            attempt = call_with_retries(
                self._retry_policy(), options.what, self._prime, allowed=self._may_retry
            )
            if not attempt.waiting:
                break
            chunks, attempt.pending = attempt.pending, []
            yield chunks
            del chunks
        chunks, error = attempt.pending, attempt.error
        attempt.pending, attempt.error = [], None
        while True:
            yield chunks
            # the caller is done with these chunks: the list (which it may still name) is emptied,
            # so a read's chunks are not kept alive while the next read is decoded
            chunks.clear()
            del chunks
            if isinstance(error, (StreamInterrupted, TimeoutError)):
                yield self._recover(attempt, error)  # a break after good chunks: read the rest back
            elif error is not None:
                raise error
            if self.output is not None:
                return
            try:
                chunks, error = self._read_chunks(attempt)
            except (StreamInterrupted, TimeoutError) as exc:
                chunks, error = [], exc

    def _retry_policy(self) -> RetryPolicy:
        """The stream's retry policy, its waits bounded by the deadline and cut short by :meth:`cancel`."""
        return self._options.policy.replace(sleep=self._backoff)

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

    def _prime(self) -> Attempt:
        """One attempt up to the first data payload (the retryable phase), or up to a status before it."""
        previous = self.attempt
        if previous is not None and previous.waiting:
            return self._prime_more(previous)
        if previous is not None and previous.response is not None:
            previous.response.close()
        attempt = self.attempt = Attempt(self._saver)
        if previous is not None:  # the caller saw that status already: a retry does not repeat it
            attempt.assembler.status = previous.assembler.status
        self._check_cancel()
        self._call.watch_stall(None)  # until a response starts, the request's timeouts and the deadline
        try:
            with bound(self._call):
                response = self._open_response(self._time_left())
        except BaseException as exc:
            self._check_cancel()  # cancelled while connecting: that, not the I/O error, is the outcome
            self._check_deadline()
            if isinstance(exc, RuntimeError) and not isinstance(exc, GeminiError):
                raise Cancelled(f"the stream could not start: {exc}") from exc  # e.g. the client was closed
            raise
        attempt.response = response
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        attempt.encoded = encoding not in ("", "identity")
        self._call.settimeout(None)  # from now on the watchdog bounds silence, by the clock
        self._call.watch_stall(self._options.stall_timeout)
        return self._prime_more(attempt)

    def _prime_more(self, attempt: Attempt) -> Attempt:
        """Read until the first data payload, or until a status chunk can be handed out first."""
        attempt.waiting = False
        response = attempt.response
        assert response is not None
        try:
            self._check_cancel()
            while attempt.assembler.data_payloads == 0 and self.output is None and attempt.error is None:
                chunks, attempt.error = self._read_chunks(attempt)
                attempt.pending.extend(chunks)
                if attempt.pending and attempt.error is None and attempt.assembler.data_payloads == 0:
                    attempt.waiting = True
                    break
        except BaseException:
            response.close()
            raise
        if attempt.error is not None and not attempt.pending:
            raise attempt.error
        return attempt

    def _check_cancel(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the stream was cancelled")
        if self.closed:
            raise Cancelled("the stream was closed")

    def _check_bounds(self) -> None:
        """Raise the error of the bound (deadline, stall) that shut the socket down, if one did."""
        self._check_deadline()
        if self._call.stalled:
            raise self._stalled()

    def _check_deadline(self) -> None:
        if self._call.ended == "deadline":
            self._time_left()
            raise TimeoutError(f"the stream exceeded its deadline of {self._options.deadline:g}s")

    # -- one read, in named steps ---------------------------------------------

    def _read_chunks(self, attempt: Attempt) -> tuple[list[StreamChunk], GeminiError | None]:
        """The frames the next network reads complete, as chunks (the final one at EOF), and an
        error met after them. Reads that complete no frame (a frame split across reads) loop here."""
        decode = attempt.decoder.decode
        response = attempt.response
        assert response is not None
        read1, encoded = response.raw.read1, attempt.encoded
        while True:
            if self._ends is not None:
                self._time_left()  # raises once the deadline has passed
            # one read of the body, inline (this runs for every frame); urllib3 decodes gzip/deflate
            # (br/zstd when installed) incrementally: docs/protocol.md 4.3; a body without an
            # encoding skips its decoding buffer (two copies of every read)
            try:
                data = bytes(read1(C.READ_CHUNK_SIZE, decode_content=encoded))
            except Exception as exc:  # noqa: BLE001 (_read_failed re-raises it typed, unless the answer was whole)
                data = self._read_failed(attempt, exc)
            self._check_cancel()
            if not data:
                self._check_bounds()  # a close-delimited body "ends" when a bound shut its socket
                return self._at_end(attempt)
            frames, error = decode(data)
            if frames:
                break
        call = self._call
        call.progress()
        assembler = attempt.assembler
        payloads = assembler.data_payloads
        chunks, error = self._process(attempt, frames, error)
        options = self._options
        stall = options.stall_bound(True) if assembler.busy else options.stall_timeout
        if stall != call.stall:  # the service said it is thinking or queued, or stopped saying so
            call.watch_stall(stall)
        self._check_waiting(attempt, bool(chunks) or (payloads == 0 and assembler.data_payloads > 0))
        return chunks, error

    def _read_failed(self, attempt: Attempt, exc: Exception) -> bytes:
        """A failed read of the body: ``b""`` if the answer was whole, else the typed error of the
        bound that fired (raised)."""
        self._check_cancel()
        assembler = attempt.assembler
        if assembler.ended and assembler.complete:
            # the whole answer and the end marker arrived; only the transfer's own end was lost
            logger.debug("connection broke after the end marker (%s)", exc.__class__.__name__)
            return b""
        self._check_bounds()
        error = translate_exception(exc, self._options.what)
        if isinstance(error, TimeoutError):
            error = self._timeout_error()
        raise error from exc

    def _at_end(self, attempt: Attempt) -> tuple[list[StreamChunk], GeminiError | None]:
        """The body ended: the last frames and the final chunk (or why the answer is incomplete)."""
        frames, error = attempt.decoder.finish()
        chunks, error = self._process(attempt, frames, error)
        if error is not None:
            return chunks, error
        try:
            chunks.append(self._complete(attempt))
        except GeminiError as exc:
            if not chunks:
                raise
            return chunks, exc
        return chunks, None

    def _check_waiting(self, attempt: Attempt, progressed: bool) -> None:
        """Frames without content (queued, "thinking") are waiting, bounded by ``queue_timeout``."""
        now = time.monotonic()
        limit = self._options.queue_timeout
        if progressed:
            attempt.last_progress = now  # content or the turn's ids: not just "still queued"
        elif limit is not None and now - attempt.last_progress > limit:
            raise TimeoutError(
                f"the service kept the request waiting (frames without content) for over {limit:g}s"
            )

    def _complete(self, attempt: Attempt) -> StreamChunk:
        """The final chunk; records the output (the chat is told when it is handed out)."""
        assembler = attempt.assembler
        final = assembler.finish()
        if assembler.late_status is not None:
            logger.debug("status %s after a complete answer ignored", assembler.late_status)
        self.output = assembler.final_output()  # its own lists: changing the final chunk changes nothing here
        return final

    def _recover(self, attempt: Attempt, error: GeminiError) -> list[StreamChunk]:
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
            attempt.response.close()
        self._call.watch_stall(None)  # reading back is bounded by recover_timeout and the deadline
        logger.info(
            "stream broke after the conversation id arrived (%s); reading the turn back",
            error.__class__.__name__,
        )
        limit = (
            options.recover_timeout
            if self._ends is None
            else min(options.recover_timeout, self._ends - time.monotonic())
        )
        from .recovery import ReadBackPace, after_read_back, read_back  # only a broken stream needs it

        snaps = read_back(
            options.recover,
            cid,
            rid,
            ReadBackPace(limit, options.recover_interval, options.recover_first),
            self._call,
            self._cancelled,
            error,
            check_cancel=self._check_cancel,
        )
        delivered = assembler.partial().text
        if not final_text(snaps[0].text).startswith(delivered):
            raise after_read_back(error, "its final text does not extend what was delivered", cid)
        chunks = []
        chunk = assembler.feed_event(Payload(cid, rid, snaps, context_token=assembler.context_token))
        if chunk is not None:
            chunks.append(chunk)
        chunks.append(self._complete(attempt))
        logger.info("recovered the rest of the answer from the history")
        return chunks

    def _timeout_error(self) -> TimeoutError:
        """Which bound fired on a timed-out read: the clock decides, not the socket."""
        try:
            self._time_left()
        except TimeoutError as exc:
            return exc
        if self._call.stalled:
            return self._stalled()
        return TimeoutError(f"{self._options.what} timed out reading the response")

    def _stalled(self) -> TimeoutError:
        attempt = self.attempt
        bound = self._options.stall_bound(attempt is not None and attempt.assembler.busy)
        return TimeoutError(f"the stream stalled: no frame for {bound or 0:g}s")

    @staticmethod
    def _process(
        attempt: Attempt, frames: list[Any], after: GeminiError | None = None
    ) -> tuple[list[StreamChunk], GeminiError | None]:
        """Frames -> chunks, and an error met after some of them (``after``: the decoder's, if none).

        The error is raised at once if no chunk came before it; otherwise it is
        returned, to be raised once the chunks are handed out.
        """
        feed = attempt.assembler.feed_event
        chunks: list[StreamChunk] = []
        try:
            for n, frame in enumerate(frames):
                frames[n] = None  # each frame is dropped once read, not kept until the whole read is
                for event in parse_frame(frame):
                    chunk = feed(event)
                    if chunk is not None:
                        chunks.append(chunk)
        except GeminiError as exc:
            if not chunks:
                raise
            return chunks, exc
        if after is not None and not chunks:
            raise after
        return chunks, after
