"""A pool's stream: one answer, sent to one account, and to another only if nothing arrived yet.

:class:`PoolStream` reads like :class:`~gemini_sync.Stream` (iterate it,
``collect()``, ``start()`` on a worker, ``text_stream``, ``cancel()``,
``close()``, a context manager) and is lazy the same way: nothing is sent, and
no slot of an account is taken, until it is read. Each try is the client's
own stream on one member, with the client's retries. When a try fails before
any content (no text, thoughts or images: :func:`may_fail_over`), the pool
learns from the error (a cool-down after 1037, the account taken out after
an authentication refusal) and sends the request to the next member; after
content it never does, and a request that may start a job on the service (a
``tool=``), a chat's turn or a request with file objects is never re-sent.

A refusal (:class:`~gemini_sync.errors.AuthError`) before any content first
makes the member's client look for a newer cookie another process or host
rotated (:meth:`CookieRefresher.sync <gemini_sync.transport.auth.CookieRefresher.sync>`):
when it took one since the try began, the account is not taken out, and a
request the pool may re-send is sent once more to the same member.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._log import logger
from ..errors import (
    AttachmentRejected,
    AuthError,
    Cancelled,
    FollowUpLimit,
    GeminiError,
    StreamDiverged,
    TimeoutError,
    UploadError,
)
from ..types.images import WebImage
from ..types.output import ModelOutput, Status, StreamChunk

if TYPE_CHECKING:
    from ..streaming.stream import Stream
    from ..streaming.worker import StreamWorker
    from .pick import Member
    from .pool import AccountPool, Lease

__all__ = ["PoolStream", "may_fail_over", "has_content"]

#: errors another account would meet as well, or that the caller caused
_NEVER_ELSEWHERE = (Cancelled, UploadError, AttachmentRejected, StreamDiverged, FollowUpLimit)


def has_content(output: ModelOutput | None) -> bool:
    """True if ``output`` holds anything of an answer: text, thoughts or images."""
    return output is not None and bool(
        output.text or output.thoughts or output.web_images or output.generated_images
    )


def may_fail_over(error: BaseException, *, content_seen: bool, time_left: float | None) -> bool:
    """Whether a try that ended with ``error`` may be sent to another account.

    Only a :class:`~gemini_sync.errors.GeminiError` before any content
    (neither seen nor in ``error.partial``), not one the caller caused or
    another account would meet too, and not a deadline that has run out.
    """
    if not isinstance(error, GeminiError) or isinstance(error, _NEVER_ELSEWHERE):
        return False
    if content_seen or has_content(error.partial):
        return False
    return not (isinstance(error, TimeoutError) and time_left is not None and time_left <= 0)


class _Tries:
    """The state of one pool stream's tries; the generator holds this, never the :class:`PoolStream`."""

    def __init__(
        self,
        pool: AccountPool,
        make: Callable[[Member, float | None], Stream],
        bucket: str,
        pinned: Member | None,
        failover: bool,
        deadline: float | None,
    ) -> None:
        self.pool = pool
        self.make = make
        self.bucket = bucket
        self.pinned = pinned
        self.failover = failover
        self.deadline = deadline
        self.started = time.monotonic()
        self.inner: Stream | None = None
        self.member: Member | None = None
        self.output: ModelOutput | None = None
        self.cancelled = False
        self.tried: set[str] = set()
        self.generation = 0  # the cookie generation of the member's client when its try began
        self.again: Member | None = None  # the member the next try goes to (it took a newer cookie)
        self.refreshed: set[str] = set()  # members tried again that way (once each)

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - (time.monotonic() - self.started)

    def open(self) -> Lease:
        """Take a slot on the next member to try and make its stream."""
        again, self.again = self.again, None
        lease = self.pool.lease(self.bucket, again or self.pinned, frozenset(self.tried), self.time_left())
        if self.inner is None or self.member is not lease.member:
            if self.inner is not None:
                self.inner.close()
            self.inner = self.make(lease.member, self.time_left())
        self.member = lease.member
        self.tried.add(lease.member.key)
        self.generation = _generation(lease.member)
        return lease

    def may_retry(self, member: Member, error: GeminiError, *, content_seen: bool) -> bool:
        """Learn from ``error``; whether the request may now go to another member (logged if so)."""
        if self._took_newer_cookie(member, error, content_seen=content_seen):
            if not self.failover or self.cancelled:
                return False  # the account is fine (a newer cookie): not taken out, and not re-sent
            logger.info("pool: %s was refused with an older cookie; sending the request again", member.name)
            self.refreshed.add(member.key)
            self.again = member
            return True
        self.pool.learn(member, error, self.bucket)
        if not self.failover or self.cancelled:
            return False
        if not may_fail_over(error, content_seen=content_seen, time_left=self.time_left()):
            return False
        if not self.pool.has_other(self.bucket, frozenset(self.tried)):
            return False
        logger.info(
            "pool: %s failed before any content (%s); sending the request to another account",
            member.name,
            error.__class__.__name__,
        )
        return True

    def _took_newer_cookie(self, member: Member, error: GeminiError, *, content_seen: bool) -> bool:
        """A refusal before any content, and ``member``'s client now holds a newer cookie than its try had.

        Once per member and request: a second refusal takes the account out as before.
        """
        if not isinstance(error, AuthError) or content_seen or has_content(error.partial):
            return False
        refresher = member.client.api.refresher
        if refresher is None or member.key in self.refreshed:
            return False
        refresher.sync()  # after a refusal the coordinator looks at the shared cookie at once
        return refresher.generation > self.generation

    def _drop_or_raise(self, lease: Lease, error: GeminiError, *, content_seen: bool) -> None:
        """After a failed try: drop its stream if another member may take the request, else re-raise."""
        if not self.may_retry(lease.member, error, content_seen=content_seen):
            raise error
        assert self.inner is not None
        self.inner.close()
        self.inner = None

    def chunks(self) -> Iterator[StreamChunk]:
        """Every try's chunks, failing over until one ends or may not be replaced."""
        while True:
            lease = self.open()
            assert self.inner is not None
            content_seen = False
            try:
                for chunk in self.inner:
                    content_seen = content_seen or bool(
                        chunk.text or chunk.thoughts or chunk.web_images or chunk.generated_images
                    )
                    yield chunk
            except GeminiError as exc:
                self._drop_or_raise(lease, exc, content_seen=content_seen)
                continue
            finally:
                lease.release()
            lease.member.served += 1
            self.output = self.inner.output
            return

    def collect(self) -> ModelOutput:
        """The whole answer of a fresh stream: each try collected (so a diverged final answer is kept)."""
        while True:
            lease = self.open()
            assert self.inner is not None
            try:
                output = self.inner.collect()
            except GeminiError as exc:
                self._drop_or_raise(lease, exc, content_seen=False)
                continue
            finally:
                lease.release()
            lease.member.served += 1
            self.output = output
            return output


def _generation(member: Member) -> int:
    """The generation of the cookie ``member``'s client holds (0 without rotation: a guest)."""
    refresher = member.client.api.refresher
    return refresher.generation if refresher is not None else 0


class PoolStream:
    """An answer from one of a pool's accounts; read it as a :class:`~gemini_sync.Stream`."""

    def __init__(self, tries: _Tries) -> None:
        self._tries = tries
        self._gen: Iterator[StreamChunk] | None = None
        self._iterated = False
        self._closed = False
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        member = self._tries.member
        where = member.name if member is not None else "not started"
        return f"<PoolStream {where} {'done' if self.output is not None else 'open'}>"

    @property
    def account(self) -> str | None:
        """The name of the member serving (or that served) the answer; ``None`` before it is read."""
        member = self._tries.member
        return member.name if member is not None else None

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> PoolStream:
        if self._iterated:
            raise RuntimeError("this stream was already iterated; a stream can be consumed once")
        self._iterated = True
        return self

    def __next__(self) -> StreamChunk:
        if self._gen is None:
            if self._closed:
                raise RuntimeError("this stream is closed")
            self._gen = self._tries.chunks()
        try:
            return next(self._gen)
        except StopIteration:
            raise
        except BaseException as exc:
            self._error = exc
            raise

    def __enter__(self) -> PoolStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- Stream's calls ----------------------------------------------------

    @property
    def output(self) -> ModelOutput | None:
        """The final output once the stream has finished, else ``None``."""
        return self._tries.output

    def partial(self) -> ModelOutput:
        """What the current try has delivered so far."""
        inner = self._tries.inner
        return inner.partial() if inner is not None else ModelOutput()

    def collect(self) -> ModelOutput:
        """Read the rest and return the whole answer (on a fresh or a partly read stream)."""
        if self._tries.output is not None:
            return self._tries.output
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("this stream is closed")
        if self._gen is None:
            self._iterated = True
            try:
                return self._tries.collect()
            except BaseException as exc:
                self._error = exc
                raise
        try:
            for _chunk in self._gen:
                pass
        except BaseException as exc:
            self._error = exc
            raise
        return self._finished()

    def _finished(self) -> ModelOutput:
        output = self._tries.output
        if output is None:
            raise RuntimeError("this stream was closed before it finished")
        return output

    def close(self) -> None:
        """Close the connection now; safe more than once."""
        self._closed = True
        inner = self._tries.inner
        if inner is not None:
            inner.close()
        gen = self._gen
        if gen is not None:
            try:
                gen.close()  # type: ignore[attr-defined]
            except ValueError:
                pass  # running in another thread: the closed inner stream ends it

    def cancel(self) -> None:
        """Stop the stream from any thread; it ends with :class:`~gemini_sync.errors.Cancelled`."""
        self._tries.cancelled = True
        inner = self._tries.inner
        if inner is not None:
            inner.cancel()

    @property
    def cancelled(self) -> bool:
        return self._tries.cancelled

    @property
    def text_stream(self) -> Iterator[str]:
        """The new pieces of text only, as :attr:`Stream.text_stream`."""
        return self._pieces("delta_text")

    @property
    def thought_stream(self) -> Iterator[str]:
        """The new pieces of thoughts only, as :attr:`Stream.thought_stream`."""
        return self._pieces("delta_thoughts")

    def _pieces(self, name: str) -> Iterator[str]:
        iter(self)

        def pieces() -> Iterator[str]:
            try:
                while True:
                    try:
                        chunk = next(self)
                    except StopIteration:
                        return
                    piece: str = getattr(chunk, name)
                    if piece:
                        yield piece
            finally:
                self.close()

        return pieces()

    def start(
        self,
        on_text: Callable[[str], Any] | None = None,
        on_thought: Callable[[str], Any] | None = None,
        on_image: Callable[[WebImage], Any] | None = None,
        on_chunk: Callable[[StreamChunk], Any] | None = None,
        on_done: Callable[[ModelOutput], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
        on_status: Callable[[Status | None], Any] | None = None,
    ) -> StreamWorker:
        """Run the stream on a worker thread with callbacks, as :meth:`Stream.start`."""
        from ..streaming.worker import StreamWorker

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
            on_status=on_status,
        )
