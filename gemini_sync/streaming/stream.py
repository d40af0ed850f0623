"""Stream: one answer as a generator of :class:`~gemini_sync.types.StreamChunk`.

A :class:`Stream` is lazy: nothing is sent until it is iterated (or
collected, or started on a worker). Its ``__iter__`` drives one private
generator whose ``finally`` closes the HTTP response, so every way out (end,
error, ``break`` + ``close()``, ``with`` exit, garbage collection) frees the
socket at once. The reading itself (retries, time bounds, recovery) is done
by :class:`~gemini_sync.streaming.reader.Reader`.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec

import requests

from .._exports import publish
from ..errors import GeminiError, StreamDiverged
from ..types.images import WebImage
from ..types.output import ModelOutput, Status, StreamChunk
from .reader import Reader, StreamOptions

if TYPE_CHECKING:
    from ..protocol.tool_calls import ToolCall
    from .worker import StreamWorker

__all__ = ["Stream", "StreamOptions", "collected"]


class Stream:
    """An answer being streamed. Iterate it, ``collect()`` it, or ``start()`` it.

    It is a context manager: leaving the ``with`` block closes the connection.
    A stream can be iterated once. ``on_final`` (a chat's ``advance``) is called
    once, when the turn is final for the caller: as the final chunk is handed
    out, when ``collect()`` returns, or, on a worker, once ``on_done`` returned.
    """

    def __init__(
        self,
        open_response: Callable[[float | None], requests.Response],
        options: StreamOptions,
        *,
        saver: Any = None,
        on_final: Callable[[ModelOutput], None] | None = None,
    ) -> None:
        self._cancelled = threading.Event()
        self._reader = Reader(open_response, options, saver, self._cancelled)
        self._on_error = options.on_error
        self._watch = options.watch
        self._what = options.what
        # told once, when the turn is final for the caller (a chat advancing); see _commit
        self._on_final = on_final
        self._committed = False
        self._gen: Iterator[StreamChunk] | None = None
        self._iterated = False
        self._yielded = False
        self._error: BaseException | None = None
        self._closed = False

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
        gen = self._gen  # the started generator read directly: this runs for every chunk
        chunk = next(gen if gen is not None else self._generator())
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
        self._reader.abort()

    def __repr__(self) -> str:
        state = "done" if self._output else "failed" if self._error else "closed" if self._closed else "open"
        return f"<Stream {self._what} {state}>"

    @property
    def _output(self) -> ModelOutput | None:
        return self._reader.output

    # -- public API --------------------------------------------------------

    @property
    def output(self) -> ModelOutput | None:
        """The final output once the stream has finished, else ``None``."""
        return self._output

    def partial(self) -> ModelOutput:
        """What has been delivered so far."""
        return self._reader.partial()

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
                self._reader.output = exc.output
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
        self._closed = self._reader.closed = True
        self._reader.abort()
        gen = self._gen
        if gen is not None:
            try:
                gen.close()  # type: ignore[attr-defined]
            except ValueError:
                pass  # running in another thread: the aborted socket ends it

    def cancel(self) -> None:
        """Stop the stream from any thread; the reader ends with :class:`~gemini_sync.errors.Cancelled`."""
        self._cancelled.set()
        self._reader.abort()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def start(
        self,
        *,
        on_text: Callable[[str], Any] | None = None,
        on_thought: Callable[[str], Any] | None = None,
        on_image: Callable[[WebImage], Any] | None = None,
        on_chunk: Callable[[StreamChunk], Any] | None = None,
        on_done: Callable[[ModelOutput], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
        on_status: Callable[[Status | None], Any] | None = None,
    ) -> StreamWorker:
        """Run the stream on a worker thread and deliver it through callbacks (see :mod:`.worker`).

        ``on_status(status)`` is called on each change of ``chunk.status``, in
        order, before the chunk's other callbacks (``None``: the answer is being
        written, or it is done). The turn is final for the caller once ``on_done`` returned: only then is
        the chat told, so an ``on_done`` that raises leaves the chat as it was.
        """
        from .worker import StreamWorker

        if self._iterated or self._closed:
            raise RuntimeError("start() needs a fresh stream; this one was already iterated or closed")
        if on_done is not None and not callable(on_done):
            raise TypeError(f"on_done must be callable, not {type(on_done).__name__}")
        on_final, self._on_final = self._on_final, None  # the worker's final step tells the chat

        def done(output: ModelOutput) -> None:
            if on_done is not None:
                on_done(output)
            if on_final is not None:
                on_final(output)

        try:
            return StreamWorker(
                self,
                on_text=on_text,
                on_thought=on_thought,
                on_image=on_image,
                on_chunk=on_chunk,
                on_done=done,
                on_error=on_error,
                dispatch=dispatch,
                on_status=on_status,
            )
        except TypeError:  # a callback that is not callable: refused before anything ran
            self._on_final = on_final
            raise

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the answer wrote as ``<tool_call>`` blocks (:mod:`gemini_sync.protocol.tool_calls`).

        For tools offered by prompt (``tools_instruction``): every call once the
        stream is done; while it streams, the calls whose block is complete.
        """
        from ..protocol.tool_calls import ToolCallParser

        output = self._output
        parser = ToolCallParser()
        parser.feed(output.text if output is not None else self.partial().text)
        if output is not None:
            parser.finish()
        return list(parser.calls)

    @property
    def text_stream(self) -> Iterator[str]:
        """The answer as its new pieces of text: only the non-empty ``delta_text`` of each chunk.

        ``"".join(stream.text_stream)`` is the final text. Leaving the loop
        early (``break``, an exception) closes the connection, like leaving a
        ``with`` block. Iterates the stream, so a stream gives one of
        ``text_stream``, ``thought_stream`` or its chunks.
        """
        return self._deltas("delta_text")

    @property
    def thought_stream(self) -> Iterator[str]:
        """Like :attr:`text_stream`, for the thoughts (``delta_thoughts``) of a thinking model."""
        return self._deltas("delta_thoughts")

    def _deltas(self, name: str) -> Iterator[str]:
        iter(self)  # refused here, not at the first next(), if the stream was iterated
        return self._pieces(name)

    def _pieces(self, name: str) -> Iterator[str]:
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
            self.close()  # also when the caller leaves early: the generator is closed then

    # -- the reader --------------------------------------------------------

    def _run(self) -> Iterator[StreamChunk]:
        # the generator holds the stream weakly: no Stream <-> generator cycle, so dropping
        # the last reference after a ``break`` frees the socket at once, without the cycle collector
        return _drive(weakref.ref(self), self._reader, self._on_error, self._watch)

    def _commit(self) -> None:
        if not self._committed and self._output is not None and self._on_final is not None:
            self._committed = True
            self._on_final(self._output)


_P = ParamSpec("_P")


def collected(start: Callable[_P, Stream], name: str, doc: str) -> Callable[_P, ModelOutput]:
    """A method that starts a stream with ``start``'s very parameters and returns it collected.

    How ``generate_content`` and ``send_message`` get exactly the explicit
    signature of ``stream`` and ``send_message_stream`` (for mypy, ``help()``
    and a ``TypeError`` on an unknown keyword) without a second copy that could drift.
    """

    def collect(*args: _P.args, **kwargs: _P.kwargs) -> ModelOutput:
        return start(*args, **kwargs).collect()

    collect.__name__ = name
    collect.__qualname__ = start.__qualname__.rpartition(".")[0] + "." + name
    collect.__module__ = start.__module__
    collect.__doc__ = doc
    collect.__signature__ = inspect.signature(start).replace(  # type: ignore[attr-defined]
        return_annotation="ModelOutput"
    )
    return collect


def _drive(
    ref: weakref.ref[Stream],
    reader: Reader,
    on_error: Callable[[GeminiError], None] | None,
    watch: Callable[[StreamChunk], bool] | None = None,
) -> Iterator[StreamChunk]:
    """The chunks of ``reader``; the turn is committed (the chat told) as the final one is handed out.

    It holds its stream weakly and only between yields, so it never keeps the stream alive.
    ``on_error`` is told of the typed error that ends the stream before it is raised
    (the client names the account's models in a 1052, for instance).
    """
    try:
        for batch in reader.batches():
            for chunk in batch:
                if watch is not None and watch(chunk):  # decided: not asked again
                    watch = None
                if chunk.is_final:
                    _tell(ref, None)
                yield chunk
    except GeminiError as exc:
        error = exc.with_partial(reader.partial())
        if on_error is not None:
            on_error(error)
        _tell(ref, error)
        raise
    except GeneratorExit:
        raise
    except BaseException as exc:
        _tell(ref, exc)
        raise
    finally:
        reader.release()


def _tell(ref: weakref.ref[Stream], error: BaseException | None) -> None:
    """Record ``error`` on the stream, or (``None``) commit its turn, if the stream still exists."""
    stream = ref()
    if stream is None:
        return
    if error is None:
        stream._commit()
    else:
        stream._error = error


publish(globals())
