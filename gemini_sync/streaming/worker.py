"""StreamWorker: a stream run on its own thread and delivered through callbacks.

Threads: the stream is read on the worker thread (named
``gemini-sync-stream-N``, a daemon). Without ``dispatch`` every callback runs
on that worker thread. With ``dispatch`` each callback is handed, as a
zero-argument function, to ``dispatch`` (e.g. ``lambda fn: root.after(0, fn)``)
and runs wherever that puts it, in the order the chunks arrived. No callback
ever runs on the thread that called ``start()`` unless ``dispatch`` puts it there.

Per chunk, in this order: ``on_status`` (only when ``chunk.status`` changed,
including to ``None`` when the answer text starts), ``on_thought``,
``on_text``, ``on_image`` (each new image), ``on_chunk``.

Ending: exactly one of ``on_done(output)`` or ``on_error(exception)`` runs,
last. A callback that raises stops the stream and closes the connection; its
exception goes to ``on_error`` and is raised by ``result()``. ``cancel()``
works from any thread and ends the stream with
:class:`~gemini_sync.errors.Cancelled`.
"""

from __future__ import annotations

import builtins
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .._exports import publish
from .._log import logger
from ..errors import Cancelled, GeminiError
from ..types.images import WebImage
from ..types.output import ModelOutput, Status, StreamChunk

__all__ = ["StreamWorker"]

_ids = itertools.count(1)


class _Source(Protocol):
    """What a worker needs of a :class:`~gemini_sync.Stream` (typed here so worker.py does not import it)."""

    def __iter__(self) -> Iterator[StreamChunk]: ...

    @property
    def output(self) -> ModelOutput | None: ...

    @property
    def cancelled(self) -> bool: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class StreamWorker:
    """A running stream with callbacks; like a ``concurrent.futures.Future`` of its output."""

    def __init__(
        self,
        stream: _Source,
        *,
        on_text: Callable[[str], Any] | None = None,
        on_thought: Callable[[str], Any] | None = None,
        on_image: Callable[[WebImage], Any] | None = None,
        on_chunk: Callable[[StreamChunk], Any] | None = None,
        on_done: Callable[[ModelOutput], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
        on_status: Callable[[Status | None], Any] | None = None,
    ) -> None:
        for name, callback in (
            ("on_text", on_text),
            ("on_thought", on_thought),
            ("on_image", on_image),
            ("on_chunk", on_chunk),
            ("on_done", on_done),
            ("on_error", on_error),
            ("dispatch", dispatch),
            ("on_status", on_status),
        ):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable, not {type(callback).__name__}")
        self._stream = stream
        self._on_text = on_text
        self._on_thought = on_thought
        self._on_image = on_image
        self._on_chunk = on_chunk
        self._on_done = on_done
        self._on_error = on_error
        self._dispatch = dispatch
        self._on_status = on_status
        self._status: Status | None = None  # the last status on_status was told
        self._done = threading.Event()
        self._output: ModelOutput | None = None
        self._exception: BaseException | None = None
        self._callback_error: BaseException | None = None
        self._delivered: StreamChunk | None = None  # the last chunk whose callbacks all ran
        self._dispatch_thread: int | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"gemini-sync-stream-{next(_ids)}", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        state = "running" if not self._done.is_set() else "failed" if self._exception else "done"
        return f"<StreamWorker {self._thread.name} {state}>"

    # -- public API --------------------------------------------------------

    def cancel(self) -> None:
        """Stop the stream from any thread; it ends with :class:`~gemini_sync.errors.Cancelled`."""
        if not self._done.is_set():
            self._stream.cancel()

    def done(self) -> bool:
        """Whether the final callback (``on_done`` or ``on_error``) has run."""
        return self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until done (at most ``timeout`` seconds); return :meth:`done`."""
        self._guard_dispatch_thread()
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> ModelOutput:
        """The output, or raise the stream's exception.

        Raises the builtin :class:`TimeoutError` if not done within ``timeout``
        seconds (the stream keeps running). With ``dispatch``, do not call this
        from the dispatch thread before it is done: it would wait for callbacks
        that need that thread (a ``RuntimeError`` says so instead of hanging).
        """
        self._guard_dispatch_thread()
        if not self._done.wait(timeout):
            raise builtins.TimeoutError(f"the stream did not finish within {timeout:g}s")
        if self._exception is not None:
            raise self._exception
        assert self._output is not None
        return self._output

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The stream's exception (``None`` on success), waiting like :meth:`result`."""
        self._guard_dispatch_thread()
        if not self._done.wait(timeout):
            raise builtins.TimeoutError(f"the stream did not finish within {timeout:g}s")
        return self._exception

    # -- internals ---------------------------------------------------------

    def _guard_dispatch_thread(self) -> None:
        if (
            self._dispatch is not None
            and not self._done.is_set()
            and self._dispatch_thread == threading.get_ident()
        ):
            raise RuntimeError(
                "waiting for a StreamWorker on its dispatch thread would deadlock: "
                "its callbacks need this thread; use on_done/on_error instead"
            )

    def _run(self) -> None:
        error: BaseException | None = None
        output: ModelOutput | None = None
        try:
            for chunk in self._stream:
                if self._callback_error is not None:
                    break
                self._call(self._deliver, chunk)
            if self._callback_error is None:
                output = self._stream.output
        except BaseException as exc:  # noqa: BLE001 - handed to on_error and result()
            error = exc
        finally:
            self._stream.close()
        self._call(self._finish, output, error)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self._dispatch is None:
            fn(*args)
            return
        try:
            self._dispatch(lambda: fn(*args))
        except BaseException as exc:  # noqa: BLE001 - a broken dispatcher must not hang result()
            logger.debug("dispatch failed: %r", exc)
            self._fail_callback(exc)
            if fn == self._finish:  # bound methods: equal, never identical
                self._finish(None, exc)

    def _delivered_output(self) -> ModelOutput:
        chunk = self._delivered
        if chunk is None:
            return ModelOutput()
        cands = chunk.candidates
        if not chunk.is_final:  # it lists only the candidates that changed; the delivered one is the chosen
            cands = [c for c in cands if c.rcid == chunk.metadata[2]]
        return ModelOutput(
            metadata=list(chunk.metadata),
            candidates=list(cands),
            model_name=chunk.model_name,
            model_id=chunk.model_id,
        )

    def _fail_callback(self, exc: BaseException) -> None:
        if self._callback_error is None:
            self._callback_error = exc
            self._stream.cancel()

    def _deliver(self, chunk: StreamChunk) -> None:
        if self._dispatch is not None:
            self._dispatch_thread = threading.get_ident()
        if self._callback_error is not None or self._stream.cancelled:
            return
        try:
            if chunk.status != self._status:
                self._status = chunk.status
                if self._on_status is not None:
                    self._on_status(chunk.status)
            if chunk.delta_thoughts and self._on_thought is not None:
                self._on_thought(chunk.delta_thoughts)
            if chunk.delta_text and self._on_text is not None:
                self._on_text(chunk.delta_text)
            if self._on_image is not None:
                for image in chunk.new_images:
                    self._on_image(image)
            if self._on_chunk is not None:
                self._on_chunk(chunk)
        except BaseException as exc:  # noqa: BLE001 - stops the stream, reaches on_error
            self._fail_callback(exc)
        else:
            self._delivered = chunk

    def _finish(self, output: ModelOutput | None, error: BaseException | None) -> None:
        if self._done.is_set():
            return
        if self._dispatch is not None:
            self._dispatch_thread = threading.get_ident()
        if self._callback_error is not None:
            error, output = self._callback_error, None
        elif error is None and (output is None or self._stream.cancelled):
            # cancelled before the end was delivered (with dispatch the reader may have finished
            # long before): later deltas were dropped, so the output must not be reported as done
            error, output = Cancelled("the stream was cancelled"), None
        if isinstance(error, GeminiError):
            # what the callbacks really received (with dispatch, less than the reader had read)
            error.partial = self._delivered_output()
        try:
            if error is None:
                assert output is not None
                if self._on_done is not None:
                    try:
                        self._on_done(output)
                    except BaseException as exc:  # noqa: BLE001 - becomes the result
                        error, output = exc, None
                if error is not None and self._on_error is not None:
                    self._on_error(error)
            elif self._on_error is not None:
                self._on_error(error)
        except BaseException as exc:  # noqa: BLE001 - on_error itself failed: result() raises it
            exc.__context__ = error
            error, output = exc, None
        self._output = output
        self._exception = error
        self._done.set()


publish(globals())
