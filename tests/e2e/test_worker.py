"""StreamWorker against the bundled emulator over real sockets: callbacks, threads, dispatch, cancel, errors.

What a GUI or server author relies on when they call ``stream.start(...)``:
callbacks run on the worker thread (or wherever ``dispatch`` sends them), in
chunk order, never on the caller's thread; exactly one of ``on_done`` /
``on_error`` runs, last; ``cancel()`` ends the stream promptly with
:class:`~gemini_sync.errors.Cancelled` and frees the connection (the server
sees the disconnect); an exception raised by any callback stops the stream
and reaches ``on_error`` and ``result()`` without printing anything.

No test sleeps to synchronise: every wait is an ``Event``, a ``Queue`` or an
emulator wait with a bounded timeout.
"""

from __future__ import annotations

import builtins
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient, errors
from gemini_sync.emulator import Emulator
from gemini_sync.types.images import GeneratedImage, WebImage
from gemini_sync.types.output import ModelOutput, StreamChunk
from tests._support import waits

pytestmark = [
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]

PACE = 0.005  # seconds between frames of an ordinary stream
SLOW_PACE = 0.03  # for tests that act while a stream is still running
WAIT = 5.0  # upper bound of every wait; a passing test never waits this long
PROMPT_CANCEL = 1.0  # "promptly": generous against CI noise, far under the stalls used below
STALL = 5.0


# --- fixtures and helpers -----------------------------------------------------


# one emulator for the module, reset before each test (tests/conftest.py)
pytestmark = [
    pytest.mark.gemini_emulator(pace=PACE, shared=True),
    pytest.mark.gemini_client(timeout=10.0, stall_timeout=10.0),
]


def slow(emu: Emulator) -> None:
    """Make the emulator's streams slow enough to act in the middle of them (reset by ``emu``)."""
    emu.pace = SLOW_PACE


def assert_disconnected(emu: Emulator, prompt: str, timeout: float = WAIT) -> None:
    """Wait (bounded) until the emulator saw the client close the stream of ``prompt``."""
    waits.assert_disconnected(emu, prompt, timeout)


def wait_for_generate(emu: Emulator, prompt: str, timeout: float = WAIT) -> None:
    """Wait (bounded) until the emulator has received the StreamGenerate request for ``prompt``."""
    deadline = time.monotonic() + timeout
    while not any(r.prompt == prompt for r in emu.generate_requests):
        left = deadline - time.monotonic()
        assert left > 0, f"the emulator never received {prompt!r}"
        emu.wait_for_requests(len(emu.requests) + 1, left)


class Boom(Exception):
    """Raised by a test callback."""


class Recorder:
    """Callbacks that record (kind, value, thread) in call order; optionally one of them raises."""

    KINDS = ("text", "thought", "image", "chunk", "done", "error")

    def __init__(self, raise_in: str | None = None, hook: Callable[[str, Any], None] | None = None) -> None:
        self.events: list[tuple[str, Any, threading.Thread]] = []
        self.ended = threading.Event()
        self.raise_in = raise_in
        self.raised: Boom | None = None
        self.hook = hook
        self._lock = threading.Lock()

    def _make(self, kind: str) -> Callable[[Any], None]:
        def callback(value: Any) -> None:
            with self._lock:
                self.events.append((kind, value, threading.current_thread()))
            if kind in ("done", "error"):
                self.ended.set()
            if self.hook is not None:
                self.hook(kind, value)
            if kind == self.raise_in and self.raised is None:
                self.raised = Boom(f"raised in on_{kind}")
                raise self.raised

        return callback

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        return {f"on_{kind}": self._make(kind) for kind in self.KINDS}

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    def values(self, kind: str) -> list[Any]:
        return [value for k, value, _ in self.events if k == kind]

    def threads(self) -> set[threading.Thread]:
        return {thread for _, _, thread in self.events}

    def expected_from_chunks(self) -> list[tuple[str, Any]]:
        """The callback sequence the recorded chunks imply: thought, text, images, chunk; then the end."""
        expected: list[tuple[str, Any]] = []
        for chunk in self.values("chunk"):
            if chunk.delta_thoughts:
                expected.append(("thought", chunk.delta_thoughts))
            if chunk.delta_text:
                expected.append(("text", chunk.delta_text))
            expected += [("image", image) for image in chunk.new_images]
            expected.append(("chunk", chunk))
        return expected


class QueueDispatcher:
    """A stand-in for a GUI loop: ``dispatch(fn)`` queues ``fn`` for one dedicated consumer thread.

    ``gate`` (set by default) holds the consumer back until the test lets it run.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.gate = threading.Event()
        self.gate.set()
        self.count = 0
        self.count_changed = threading.Condition()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._consume, name="fake-gui-loop", daemon=True)
        self.thread.start()

    def __call__(self, fn: Callable[[], None]) -> None:
        self.queue.put(fn)
        with self.count_changed:
            self.count += 1
            self.count_changed.notify_all()

    def wait_count(self, count: int, timeout: float = WAIT) -> bool:
        with self.count_changed:
            return self.count_changed.wait_for(lambda: self.count >= count, timeout)

    def run_here(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the consumer thread and return its result (or raise its exception)."""
        box: queue.Queue[tuple[bool, Any]] = queue.Queue()

        def task() -> None:
            try:
                box.put((True, fn()))
            except BaseException as exc:
                box.put((False, exc))

        self.queue.put(task)
        ok, value = box.get(timeout=WAIT)
        if not ok:
            raise value
        return value

    def _consume(self) -> None:
        while True:
            fn = self.queue.get()
            self.gate.wait()
            if fn is None:
                return
            try:
                fn()
            except BaseException as exc:  # a dispatched callback must never raise into the loop
                self.errors.append(exc)

    def stop(self) -> None:
        self.gate.set()
        self.queue.put(None)
        self.thread.join(WAIT)


@pytest.fixture
def dispatcher() -> Iterator[QueueDispatcher]:
    d = QueueDispatcher()
    yield d
    d.stop()
    assert d.errors == []


# --- threads and order ----------------------------------------------------------


def test_callbacks_run_in_chunk_order_on_a_named_daemon_worker_thread(
    emu: Emulator, client: GeminiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = Recorder()
    worker = client.stream("order and threads").start(**rec.callbacks())
    output = worker.result(timeout=WAIT)

    assert rec.ended.is_set() and worker.done()
    (thread,) = rec.threads()
    assert thread is not threading.current_thread()
    assert re.fullmatch(r"gemini-sync-stream-\d+", thread.name)
    assert thread.daemon
    # thought, text, images, chunk for every chunk, then on_done, last and once
    assert [(k, v) for k, v, _ in rec.events] == [*rec.expected_from_chunks(), ("done", output)]
    assert rec.kinds().count("done") == 1 and "error" not in rec.kinds()
    assert "".join(rec.values("text")) == output.text
    assert "You said: order and threads" in output.text
    chunks = rec.values("chunk")
    assert all(isinstance(c, StreamChunk) for c in chunks)
    assert [c.is_final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert worker.join(timeout=0) is True and worker.exception(timeout=0) is None
    assert capsys.readouterr() == ("", "")


def test_each_worker_gets_its_own_numbered_thread(client: GeminiClient) -> None:
    names: list[str] = []
    for i in range(2):
        rec = Recorder()
        client.stream(f"numbered {i}").start(**rec.callbacks()).result(timeout=WAIT)
        (thread,) = rec.threads()
        names.append(thread.name)
    first, second = (int(name.rsplit("-", 1)[1]) for name in names)
    assert second > first


def test_thoughts_of_a_thinking_model_arrive_through_on_thought(client: GeminiClient) -> None:
    rec = Recorder()
    worker = client.stream("think first", model="gemini-3-flash-thinking").start(**rec.callbacks())
    output = worker.result(timeout=WAIT)

    thoughts = rec.values("thought")
    assert thoughts and "".join(thoughts) == output.thoughts
    assert "".join(rec.values("text")) == output.text
    assert rec.threads() == {rec.events[0][2]} and rec.events[0][2].name.startswith("gemini-sync-stream-")
    assert [(k, v) for k, v, _ in rec.events] == [*rec.expected_from_chunks(), ("done", output)]


def test_images_arrive_once_each_through_on_image(emu: Emulator, client: GeminiClient) -> None:
    emu.script(
        "show me animals",
        text="Here are a fox and a bird, and one I drew.",
        web_images=["a red fox", "a blue bird"],
        generated_images=["a drawn cat"],
        chunks=6,
    )
    rec = Recorder()
    output = client.stream("show me animals").start(**rec.callbacks()).result(timeout=WAIT)

    images = rec.values("image")
    assert all(isinstance(image, WebImage) for image in images)
    assert [image.url for image in images] == [image.url for image in output.images]
    assert sorted(image.alt for image in images) == ["a blue bird", "a drawn cat", "a red fox"]
    assert [image.alt for image in images if isinstance(image, GeneratedImage)] == ["a drawn cat"]
    assert len({image.url for image in images}) == len(images)  # each image once
    # web images appear in the middle of the answer, before the final chunk
    first_image = rec.kinds().index("image")
    assert "text" in rec.kinds()[first_image:]
    assert [(k, v) for k, v, _ in rec.events] == [*rec.expected_from_chunks(), ("done", output)]


def test_default_picture_prompt_delivers_web_images(client: GeminiClient) -> None:
    rec = Recorder()
    output = client.stream("picture of a lighthouse").start(**rec.callbacks()).result(timeout=WAIT)
    assert len(rec.values("image")) == 2 == len(output.web_images)
    assert all("lighthouse" in image.alt for image in rec.values("image"))


def test_default_generate_prompt_delivers_a_generated_image(client: GeminiClient) -> None:
    rec = Recorder()
    output = client.stream("generate an image of a kite").start(**rec.callbacks()).result(timeout=WAIT)
    (image,) = rec.values("image")
    assert isinstance(image, GeneratedImage) and image.alt == "a kite"
    assert output.generated_images == [image]


def test_callbacks_are_optional(client: GeminiClient) -> None:
    texts: list[str] = []
    worker = client.stream("only text please").start(on_text=texts.append)
    output = worker.result(timeout=WAIT)
    assert "".join(texts) == output.text
    assert client.stream("no callbacks at all").start().result(timeout=WAIT).text.startswith("You said")


# --- dispatch -----------------------------------------------------------------


def test_dispatch_runs_every_callback_on_the_dispatch_thread_in_order(
    client: GeminiClient, dispatcher: QueueDispatcher
) -> None:
    rec = Recorder()
    worker = client.stream("dispatch me", model="gemini-3-flash-thinking").start(
        **rec.callbacks(), dispatch=dispatcher
    )
    output = worker.result(timeout=WAIT)  # from another thread than the dispatch thread: fine

    assert rec.threads() == {dispatcher.thread}
    assert [(k, v) for k, v, _ in rec.events] == [*rec.expected_from_chunks(), ("done", output)]
    assert "".join(rec.values("text")) == output.text
    assert "".join(rec.values("thought")) == output.thoughts
    assert dispatcher.count >= len(rec.values("chunk")) + 1


def test_result_on_the_dispatch_thread_raises_instead_of_deadlocking(
    client: GeminiClient, dispatcher: QueueDispatcher
) -> None:
    started = threading.Event()
    box: dict[str, Any] = {}
    seen: list[BaseException] = []

    def on_text(_delta: str) -> None:
        if seen:
            return
        assert started.wait(WAIT)
        for wait in (lambda: box["worker"].result(), lambda: box["worker"].join(), box["worker"].exception):
            try:
                wait()
            except RuntimeError as exc:
                seen.append(exc)

    box["worker"] = worker = client.stream("no deadlock").start(on_text=on_text, dispatch=dispatcher)
    started.set()
    output = worker.result(timeout=WAIT)

    assert len(seen) == 3 and all("dispatch thread" in str(exc) for exc in seen)
    # once done, the dispatch thread may ask for the result
    assert dispatcher.run_here(worker.result) is output
    assert dispatcher.run_here(lambda: worker.join(0)) is True


def test_a_failing_dispatcher_ends_the_worker_instead_of_hanging(client: GeminiClient) -> None:
    failure = Boom("the GUI loop is gone")

    def dispatch(_fn: Callable[[], None]) -> None:
        raise failure

    worker = client.stream("broken loop").start(on_text=lambda _d: None, dispatch=dispatch)
    with pytest.raises(Boom) as info:
        worker.result(timeout=WAIT)
    assert info.value is failure


# --- cancel ---------------------------------------------------------------------


def assert_cancelled(worker: Any, rec: Recorder, since: float | Callable[[], float]) -> errors.Cancelled:
    """``result()`` and ``on_error`` (last, once) give ``Cancelled``, well under a second after ``since``."""
    with pytest.raises(errors.Cancelled) as info:
        worker.result(timeout=WAIT)
    elapsed = time.monotonic() - (since() if callable(since) else since)
    assert elapsed < PROMPT_CANCEL, f"cancel took {elapsed:.2f}s"
    assert rec.ended.wait(WAIT)
    assert rec.kinds()[-1] == "error" and rec.values("error") == [info.value]
    assert "done" not in rec.kinds()
    assert worker.done()
    return info.value


def test_cancel_right_after_start(client: GeminiClient) -> None:
    rec = Recorder()
    worker = client.stream("cancel at once").start(**rec.callbacks())
    since = time.monotonic()
    worker.cancel()
    assert_cancelled(worker, rec, since)
    assert rec.values("text") == []


def test_cancel_before_the_first_frame(emu: Emulator, client: GeminiClient) -> None:
    prompt = "cancel before any frame"
    emu.fail_next(match=prompt, stall=STALL, after_frames=0)
    rec = Recorder()
    worker = client.stream(prompt).start(**rec.callbacks())
    wait_for_generate(emu, prompt)
    since = time.monotonic()
    worker.cancel()
    assert_cancelled(worker, rec, since)
    assert rec.kinds() == ["error"]
    assert_disconnected(emu, prompt)


def test_cancel_during_a_retry_backoff(emu: Emulator, client: GeminiClient) -> None:
    prompt = "cancel while waiting to retry"
    emu.fail_next(match=prompt, status=429, headers={"Retry-After": str(STALL)})
    rec = Recorder()
    worker = client.stream(prompt).start(**rec.callbacks())
    wait_for_generate(emu, prompt)  # the 429 is on its way: the worker is about to back off
    since = time.monotonic()
    worker.cancel()
    assert_cancelled(worker, rec, since)
    assert [r.prompt for r in emu.generate_requests] == [prompt]  # it never sent the prompt again


def test_cancel_while_the_app_page_is_pending_ends_with_cancelled(emu: Emulator) -> None:
    """Before any response exists the socket cannot be aborted: the wait is bounded by ``timeout``,
    and the outcome is still ``Cancelled`` (not the timeout, and no retry)."""
    emu.clear_faults()
    emu.clear_requests()
    emu.fail_next(path="/app", stall=3.0)
    with GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, timeout=0.5) as fresh:
        rec = Recorder()
        worker = fresh.stream("cancel while bootstrapping").start(**rec.callbacks())
        assert emu.wait_for_requests(1, WAIT) and emu.requests[0].path == "/app"
        worker.cancel()
        with pytest.raises(errors.Cancelled):
            worker.result(timeout=WAIT)
        assert rec.kinds() == ["error"]


def test_cancel_from_on_text_after_the_first_delta(emu: Emulator, client: GeminiClient) -> None:
    slow(emu)
    prompt = "cancel from on_text"
    emu.script(prompt, text="word " * 60, chunks=30)
    box: dict[str, Any] = {}
    cancelled_at: list[float] = []
    ready = threading.Event()

    def hook(kind: str, _value: Any) -> None:
        if kind == "text" and not cancelled_at:
            assert ready.wait(WAIT)
            cancelled_at.append(time.monotonic())
            box["worker"].cancel()

    rec = Recorder(hook=hook)
    box["worker"] = worker = client.stream(prompt).start(**rec.callbacks())
    ready.set()
    exc = assert_cancelled(worker, rec, since=lambda: cancelled_at[0])
    assert len(rec.values("text")) == 1  # nothing after the cancel
    assert exc.partial is not None and exc.partial.text.startswith(rec.values("text")[0])
    assert_disconnected(emu, prompt)


def test_cancel_from_another_thread_mid_stream(emu: Emulator, client: GeminiClient) -> None:
    slow(emu)
    prompt = "cancel from the caller"
    emu.script(prompt, text="word " * 60, chunks=30)
    first_text = threading.Event()
    rec = Recorder(hook=lambda kind, _v: kind == "text" and first_text.set())
    worker = client.stream(prompt).start(**rec.callbacks())
    assert first_text.wait(WAIT)
    since = time.monotonic()
    worker.cancel()
    assert_cancelled(worker, rec, since)
    assert 1 <= len(rec.values("text")) < 30
    assert_disconnected(emu, prompt)
    worker.cancel()  # cancelling a finished worker is a harmless no-op
    assert isinstance(worker.exception(timeout=0), errors.Cancelled)


def test_cancel_during_a_stall(emu: Emulator, client: GeminiClient) -> None:
    prompt = "cancel during a stall"
    emu.script(prompt, text="one two three four five six", chunks=6)
    emu.fail_next(match=prompt, stall=STALL, after_frames=3)  # cid frame + 2 text frames, then silence
    texts = threading.Semaphore(0)
    rec = Recorder(hook=lambda kind, _v: kind == "text" and texts.release())
    worker = client.stream(prompt).start(**rec.callbacks())
    assert texts.acquire(timeout=WAIT) and texts.acquire(timeout=WAIT)
    since = time.monotonic()
    worker.cancel()
    exc = assert_cancelled(worker, rec, since)
    assert len(rec.values("text")) == 2
    assert exc.partial is not None and exc.partial.text == "".join(rec.values("text"))
    assert_disconnected(emu, prompt)


def test_cancel_with_dispatch_after_the_worker_read_everything(
    emu: Emulator, client: GeminiClient, dispatcher: QueueDispatcher
) -> None:
    """A GUI's Stop button pressed while the GUI thread still has queued deltas: after ``cancel()``
    no more text is shown, and the end is ``on_error(Cancelled)``, not ``on_done`` with text the
    user never saw."""
    prompt = "stop a fast stream"
    emu.script(prompt, text="alpha beta gamma delta epsilon", chunks=5, times=2)
    n_chunks = sum(1 for _ in client.stream(prompt))  # the same answer, to know how many chunks come
    box: dict[str, Any] = {}

    def hook(kind: str, _value: Any) -> None:
        if kind == "text":
            box["worker"].cancel()

    rec = Recorder(hook=hook)
    dispatcher.gate.clear()  # the "GUI" is busy: everything queues up
    box["worker"] = worker = client.stream(prompt).start(**rec.callbacks(), dispatch=dispatcher)
    assert dispatcher.wait_count(n_chunks + 1)  # every chunk and the end are queued
    dispatcher.gate.set()
    assert_cancelled(worker, rec, since=time.monotonic())
    assert len(rec.values("text")) == 1
    assert rec.threads() == {dispatcher.thread}


# --- exceptions in callbacks ------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "thought", "image", "chunk"])
def test_an_exception_in_a_delta_callback_stops_the_stream(
    emu: Emulator, client: GeminiClient, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    prompt = f"raise in on_{kind}"
    emu.script(
        prompt,
        text="lorem ipsum dolor sit amet " * 4,
        thoughts="hmm, let me see",
        web_images=["x"],
        chunks=10,
    )
    rec = Recorder(raise_in=kind)
    worker = client.stream(prompt).start(**rec.callbacks())
    with pytest.raises(Boom) as info:
        worker.result(timeout=WAIT)

    assert info.value is rec.raised
    assert rec.values(kind) and rec.kinds().count(kind) == 1  # never called again
    assert rec.kinds()[-1] == "error" and rec.values("error") == [rec.raised]
    assert "done" not in rec.kinds()
    after = rec.kinds()[rec.kinds().index(kind) + 1 :]
    assert set(after) <= {"chunk", "image", "error"}  # at most the rest of the same chunk
    assert_disconnected(emu, prompt)  # the connection was closed mid-answer
    assert capsys.readouterr() == ("", "")


def test_an_exception_in_on_done_goes_to_on_error_and_result(
    client: GeminiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = Recorder(raise_in="done")
    worker = client.stream("raise in on_done").start(**rec.callbacks())
    with pytest.raises(Boom) as info:
        worker.result(timeout=WAIT)
    assert info.value is rec.raised
    assert rec.kinds()[-2:] == ["done", "error"] and rec.values("error") == [rec.raised]
    assert worker.done() and worker.exception(timeout=0) is rec.raised
    assert capsys.readouterr() == ("", "")


def test_an_exception_in_on_error_reaches_result(
    emu: Emulator, client: GeminiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = "raise in on_error"
    emu.fail_next(match=prompt, code=1037)
    rec = Recorder(raise_in="error")
    worker = client.stream(prompt).start(**rec.callbacks())
    with pytest.raises(Boom) as info:
        worker.result(timeout=WAIT)
    assert info.value is rec.raised
    assert isinstance(info.value.__context__, errors.UsageLimitExceeded)  # the original failure
    assert rec.kinds() == ["error"]
    assert capsys.readouterr() == ("", "")


def test_exceptions_in_dispatched_callbacks_stop_the_stream(
    emu: Emulator, client: GeminiClient, dispatcher: QueueDispatcher, capsys: pytest.CaptureFixture[str]
) -> None:
    slow(emu)
    prompt = "raise on the GUI thread"
    emu.script(prompt, text="word " * 60, chunks=30)
    rec = Recorder(raise_in="text")
    worker = client.stream(prompt).start(**rec.callbacks(), dispatch=dispatcher)
    with pytest.raises(Boom):
        worker.result(timeout=WAIT)
    assert rec.kinds().count("text") == 1 and rec.kinds()[-1] == "error"
    assert rec.threads() == {dispatcher.thread}
    assert_disconnected(emu, prompt)
    assert capsys.readouterr() == ("", "")


def test_a_stream_error_reaches_on_error_with_the_partial_output(emu: Emulator, client: GeminiClient) -> None:
    prompt = "fail half way"
    emu.script(prompt, text="one two three four five six", chunks=6)
    emu.fail_next(match=prompt, code=1037, after_frames=3)
    rec = Recorder()
    worker = client.stream(prompt).start(**rec.callbacks())
    with pytest.raises(errors.UsageLimitExceeded) as info:
        worker.result(timeout=WAIT)
    assert rec.values("error") == [info.value] and rec.kinds()[-1] == "error"
    assert info.value.partial is not None and info.value.partial.text == "".join(rec.values("text"))


# --- waiting: result, join, done ----------------------------------------------------


def test_result_with_a_short_timeout_raises_timeout_error_and_the_stream_goes_on(
    emu: Emulator, client: GeminiClient
) -> None:
    slow(emu)
    rec = Recorder()
    worker = client.stream("take your time").start(**rec.callbacks())
    with pytest.raises(builtins.TimeoutError):
        worker.result(timeout=0.01)
    with pytest.raises(builtins.TimeoutError):
        worker.exception(timeout=0.01)
    assert worker.join(timeout=0.01) is False
    assert worker.done() is False
    output = worker.result(timeout=WAIT)  # it kept going
    assert worker.done() is True and worker.join(timeout=0.01) is True
    assert "".join(rec.values("text")) == output.text and rec.kinds()[-1] == "done"
    assert isinstance(output, ModelOutput)


def test_join_without_timeout_waits_for_the_end(client: GeminiClient) -> None:
    rec = Recorder()
    worker = client.stream("join me").start(**rec.callbacks())
    assert worker.join() is True
    assert rec.kinds()[-1] == "done" and worker.done()


# --- misuse ---------------------------------------------------------------------------


def test_start_needs_a_fresh_stream(emu: Emulator, client: GeminiClient) -> None:
    stream = client.stream("iterated first")
    with stream:
        next(iter(stream))
        with pytest.raises(RuntimeError):
            stream.start(on_text=print)
    closed = client.stream("closed first")
    closed.close()
    with pytest.raises(RuntimeError):
        closed.start()


def test_start_twice_on_the_same_stream_is_refused(client: GeminiClient) -> None:
    stream = client.stream("started twice")
    rec = Recorder()
    worker = stream.start(**rec.callbacks())
    with pytest.raises(RuntimeError):
        stream.start(on_text=lambda _d: None)
    with pytest.raises(RuntimeError):
        iter(stream)
    output = worker.result(timeout=WAIT)
    assert "".join(rec.values("text")) == output.text  # the one worker got the whole answer


@pytest.mark.parametrize(
    "name", ["on_text", "on_thought", "on_image", "on_chunk", "on_done", "on_error", "dispatch"]
)
def test_callbacks_that_are_not_callable_raise_type_error(
    emu: Emulator, client: GeminiClient, name: str
) -> None:
    stream = client.stream("typed callbacks")
    with pytest.raises(TypeError, match=name):
        stream.start(**{name: "not a function"})
    assert emu.generate_requests == []  # nothing was sent
    texts: list[str] = []
    output = stream.start(on_text=texts.append).result(timeout=WAIT)  # the stream is still fresh
    assert "".join(texts) == output.text
