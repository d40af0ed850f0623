"""The examples in examples/ do what their docstrings say, against the bundled emulator.

* ``stream_script.py`` runs as a subprocess, as a user would run it;
* ``flask_sse.py`` through Flask's test client (events, errors, early disconnect);
* ``django_view.py`` through Django's test client;
* ``tk_chat.py`` in a real Tk window on an Xvfb display started here when
  Xvfb and tkinter are available, and always through its controller with a
  fake Tk root whose ``after()`` runs callbacks on a consumer thread.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.answers import default_answer
from tests._support import waits

pytestmark = [
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PACE = 0.005
SLOW_PACE = 0.03
WAIT = 10.0
LONG_TEXT = " ".join(f"word{n}" for n in range(120))


# --- fixtures and helpers -----------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def examples_importable() -> Iterator[None]:
    """Import the examples as ``python examples/<name>.py`` would see them (their folder on sys.path)."""
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


def example(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.fixture(autouse=True)
def no_gemini_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_BASE_URL", "GEMINI_EMULATOR", "GEMINI_SECURE_1PSID", "GEMINI_SECURE_1PSIDTS"):
        monkeypatch.delenv(name, raising=False)


# one emulator for the module, reset before each test (tests/conftest.py)
pytestmark += [pytest.mark.gemini_emulator(pace=PACE, shared=True), pytest.mark.gemini_client(timeout=10.0)]


def assert_disconnected(emu: Emulator, prompt: str, timeout: float = WAIT) -> None:
    """Wait (bounded) until the emulator saw the client close the stream of ``prompt``."""
    waits.assert_disconnected(emu, prompt, timeout)


# --- stream_script.py ------------------------------------------------------------------


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    environ["PYTHONIOENCODING"] = "utf-8"
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "stream_script.py"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environ,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_stream_script_runs_with_no_account_on_the_bundled_emulator() -> None:
    prompt = "Tell me about the emulator, in a test"
    done = run_script(prompt)
    expected = default_answer(prompt).text
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    answer, _, summary = done.stdout.partition("\n---\n")
    assert answer == expected  # the deltas, printed as they came, make up the whole answer
    assert summary.startswith(f"collected {len(expected)} characters")
    assert "conversation c_" in summary


def test_stream_script_uses_base_url_and_gemini_base_url(emu: Emulator, client: GeminiClient) -> None:
    emu.script("where am I?", text="Here, on the emulator of the test.", times=None)
    by_flag = run_script("--base-url", emu.url, "where am I?")
    by_env = run_script("where am I?", env={"GEMINI_BASE_URL": emu.url})
    for done in (by_flag, by_env):
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Here, on the emulator of the test.\n---\ncollected 34 characters")
    assert [r.prompt for r in emu.generate_requests] == ["where am I?", "where am I?"]


def test_stream_script_shows_thoughts_on_stderr() -> None:
    done = run_script("--model", "gemini-3-flash-thinking", "think it over")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("[thinking] ") and "Reading the request" in done.stderr
    assert done.stdout.startswith("You said: think it over")


def test_stream_script_reports_typed_errors_with_exit_codes() -> None:
    refused = run_script("--simulate", "usage-limit", "too much")
    assert refused.returncode == 4
    assert "UsageLimitExceeded (code 1037)" in refused.stderr
    assert "partial answer kept:" in refused.stderr
    assert refused.stdout.startswith("You said: too much")  # the part that arrived before the error
    logged_out = run_script("--simulate", "logged-out", "who am I?")
    assert logged_out.returncode == 3
    assert "not logged in" in logged_out.stderr and "Traceback" not in logged_out.stderr


# --- flask_sse.py ------------------------------------------------------------------------


def parse_sse(body: str) -> list[tuple[str, Any]]:
    """``(event name, parsed JSON data)`` for each event; the default name is ``message``."""
    events = []
    assert body.endswith("\n\n")
    for block in body[:-2].split("\n\n"):
        name, data = "message", None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        events.append((name, data))
    return events


@pytest.fixture
def flask_app(client: GeminiClient) -> Any:
    app = example("flask_sse").create_app(client)
    app.testing = True
    return app


def test_flask_sse_streams_one_event_per_chunk_then_done(emu: Emulator, flask_app: Any) -> None:
    answer = "Foxes are small omnivores. 🦊 They live on every continent but Antarctica."
    emu.script("tell me about foxes", text=answer, thoughts="Foxes, then.", web_images=["a fox"], chunks=6)
    response = flask_app.test_client().get("/stream", query_string={"prompt": "tell me about foxes"})

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    events = parse_sse(response.get_data(as_text=True))
    *chunks, (last_name, done) = events
    assert last_name == "done"
    assert all(name == "message" for name, _ in chunks) and len(chunks) >= 7
    data = [chunk for _, chunk in chunks]
    assert [c["final"] for c in data] == [False] * (len(data) - 1) + [True]
    assert "".join(c["text"] for c in data) == answer == done["text"]
    assert "".join(c["thoughts"] for c in data) == "Foxes, then." == done["thoughts"]
    assert [image["alt"] for c in data for image in c["images"]] == ["a fox"]
    assert done["cid"].startswith("c_")


def test_flask_sse_reports_errors_as_a_failure_event(emu: Emulator, flask_app: Any) -> None:
    emu.fail_next(match="limit me", code=1037)
    response = flask_app.test_client().get("/stream?prompt=limit+me")
    events = parse_sse(response.get_data(as_text=True))
    assert events[-1][0] == "failure" and events[-1][1]["type"] == "UsageLimitExceeded"
    assert all(name != "done" for name, _ in events)


def test_flask_sse_page_and_bad_request(flask_app: Any) -> None:
    web = flask_app.test_client()
    page = web.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "new EventSource(" in html and "/stream?prompt=" in html and 'addEventListener("done"' in html
    for bad in ("/stream?prompt=%20", "/stream?prompt=hi&model=gemini-9"):
        response = web.get(bad)
        assert response.status_code == 400 and response.is_json and response.get_json()["error"]


def test_flask_sse_closing_the_response_closes_the_upstream_stream(emu: Emulator, flask_app: Any) -> None:
    emu.pace = SLOW_PACE
    emu.script("a long story", text=LONG_TEXT, chunks=40)
    response = flask_app.test_client().get("/stream?prompt=a+long+story", buffered=False)
    events = iter(response.response)
    first = next(events)
    assert first.startswith(b"data: ")
    response.close()  # what the WSGI server does when the browser goes away
    assert_disconnected(emu, "a long story")


def test_flask_sse_app_factory_reads_gemini_base_url(
    emu: Emulator, client: GeminiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", emu.url)
    app = example("flask_sse").create_app()
    shared = app.extensions["gemini_client"]
    try:
        assert shared.base_url == emu.url
        web = app.test_client()
        bodies = [web.get(f"/stream?prompt=env+{i}").get_data(as_text=True) for i in range(2)]
    finally:
        shared.close()
    for i, body in enumerate(bodies):
        assert parse_sse(body)[-1][1]["text"] == default_answer(f"env {i}").text
    assert len(emu.requests_to("/app")) == 1  # one client for the whole app


# --- django_view.py ----------------------------------------------------------------------


@pytest.fixture
def django_view(emu: Emulator, client: GeminiClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("GEMINI_BASE_URL", emu.url)
    module = example("django_view")
    module.close_client()
    yield module
    module.close_client()


def test_django_streaming_view_streams_the_answer(emu: Emulator, django_view: ModuleType) -> None:
    from django.test import Client

    answer = "Django streams this, piece by piece: 日本語 and 🚀."
    emu.script("stream with django", text=answer, chunks=5)
    response = Client().get("/stream", {"prompt": "stream with django"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    pieces = [piece.decode() for piece in response.streaming_content]
    assert len(pieces) >= 5  # streamed, not buffered into one piece
    assert "".join(pieces) == answer


def test_django_views_share_one_client_and_map_errors(emu: Emulator, django_view: ModuleType) -> None:
    from django.test import Client

    web = Client()
    first = web.get("/answer", {"prompt": "json please"})
    assert first.status_code == 200
    assert first.json()["text"] == default_answer("json please").text
    emu.fail_next(match="over the limit", code=1037)
    limited = web.get("/answer", {"prompt": "over the limit"})
    assert limited.status_code == 429 and limited.json()["type"] == "UsageLimitExceeded"
    emu.fail_next(match="fail mid-stream", code=1037, after_frames=2)
    streamed = b"".join(web.get("/stream", {"prompt": "fail mid-stream"}).streaming_content).decode()
    assert streamed.startswith("You said: fail mid-stream")
    assert streamed.endswith("[error: UsageLimitExceeded: " + streamed.split("UsageLimitExceeded: ")[1])
    for view in ("/stream", "/answer"):
        for bad in ({"prompt": ""}, {"prompt": "hi", "model": "gemini-9"}):
            response = web.get(view, bad)
            assert response.status_code == 400 and response.json()["error"]
    assert len(emu.requests_to("/app")) == 1
    assert django_view.get_client() is django_view.get_client()


def test_django_closing_the_response_closes_the_upstream_stream(
    emu: Emulator, django_view: ModuleType
) -> None:
    from django.test import Client

    emu.pace = SLOW_PACE
    emu.script("a long django story", text=LONG_TEXT, chunks=40)
    response = Client().get("/stream", {"prompt": "a long django story"})
    pieces = iter(response.streaming_content)
    assert next(pieces).decode().startswith("word0")
    response.close()
    assert_disconnected(emu, "a long django story")


# --- tk_chat.py ----------------------------------------------------------------------------


class FakeRoot:
    """Stands in for ``tk.Tk``: ``after(ms, fn)`` queues ``fn`` for one consumer thread (the "Tk thread")."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.after_calls = 0
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._loop, name="fake-tk", daemon=True)
        self.thread.start()

    def after(self, _ms: int, fn: Callable[[], None]) -> str:
        self.after_calls += 1
        self.queue.put(fn)
        return f"after#{self.after_calls}"

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the "Tk thread" (as a button press would) and return its result."""
        box: queue.Queue[Any] = queue.Queue()
        self.queue.put(lambda: box.put(fn()))
        return box.get(timeout=WAIT)

    def _loop(self) -> None:
        while (fn := self.queue.get()) is not None:
            try:
                fn()
            except BaseException as exc:
                self.errors.append(exc)

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(WAIT)


class FakeView:
    """A ChatView that records what the controller shows, and on which thread."""

    def __init__(self) -> None:
        self.prompt_text = ""
        self.text = ""
        self.thoughts = ""
        self.status = "ready"
        self.statuses: list[str] = []  # every status shown, in order
        self.busy = False
        self.threads: set[str] = set()
        self.changed = threading.Condition()

    def _note(self) -> None:
        self.threads.add(threading.current_thread().name)
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def prompt(self) -> str:
        return self.prompt_text

    def clear(self) -> None:
        self.text = self.thoughts = ""

    def append_text(self, delta: str) -> None:
        self.text += delta
        self._note()

    def append_thought(self, delta: str) -> None:
        self.thoughts += delta
        self._note()

    def set_status(self, text: str) -> None:
        self.status = text
        self.statuses.append(text)
        self._note()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._note()


def fake_tk_scenario(emu: Emulator, client: GeminiClient) -> None:
    """Send, stream, Stop and a second turn through the controller with a fake root and view."""
    tk_chat = example("tk_chat")
    root, view = FakeRoot(), FakeView()
    try:
        controller = tk_chat.ChatController(
            client, view, lambda fn: root.after(0, fn), model="gemini-3-flash-thinking"
        )
        view.prompt_text = "   "
        assert root.run(controller.send) is None and view.status == "type a prompt first"

        view.prompt_text = "first question"
        assert root.run(controller.send) is not None
        assert view.wait_for(lambda: view.status.startswith("done"))
        expected = default_answer("first question", thinking=True)
        assert view.text == expected.text and view.thoughts == expected.thoughts[-1]
        assert view.status == f"done: {len(expected.text)} characters" and not view.busy
        thinking = [s for s in view.statuses if s.startswith("Thinking: ")]
        assert thinking and "streaming..." in view.statuses[view.statuses.index(thinking[-1]) :]
        assert view.threads == {"fake-tk"}  # every view call ran on the "Tk thread"
        assert root.after_calls > 3

        emu.pace = SLOW_PACE
        emu.script("stop me", text=LONG_TEXT, chunks=40)
        view.prompt_text = "stop me"
        assert root.run(controller.send) is not None
        assert view.busy and root.run(controller.send) is None  # Send is ignored while a turn runs
        assert view.wait_for(lambda: bool(view.text))
        root.run(controller.stop)  # the Stop button
        assert view.wait_for(lambda: view.status == "stopped")
        assert not view.busy and LONG_TEXT.startswith(view.text) and view.text != LONG_TEXT
        assert_disconnected(emu, "stop me")
        assert root.errors == []
    finally:
        root.stop()


def test_tk_chat_logic_with_a_fake_root(emu: Emulator, client: GeminiClient) -> None:
    fake_tk_scenario(emu, client)


def run_tk_until(root: Any, predicate: Callable[[], bool], action: Callable[[], None] | None = None) -> bool:
    """Run Tk's main loop (so callbacks dispatched from the worker run) until ``predicate()`` or WAIT."""
    deadline = time.monotonic() + WAIT

    def poll() -> None:
        if predicate() or time.monotonic() > deadline:
            root.quit()
        else:
            root.after(10, poll)

    if action is not None:
        root.after(0, action)
    root.after(0, poll)
    root.mainloop()
    return predicate()


def test_tk_chat_window_streams_and_stops(display: str | None, emu: Emulator, client: GeminiClient) -> None:
    if display is None:  # no Xvfb, no $DISPLAY or no tkinter: still test the app, with a fake root
        fake_tk_scenario(emu, client)
        return
    import tkinter as tk

    tk_chat = example("tk_chat")
    root = tk.Tk(screenName=display)
    try:
        app = tk_chat.TkChatApp(root, client, model="gemini-3-flash-thinking")
        assert app.status.get() == "ready" and app.stop_button["state"] == "disabled"
        app.prompt_box.insert(0, "hello window")
        assert run_tk_until(root, lambda: app.status.get().startswith("done"), app.send_button.invoke)
        expected = default_answer("hello window", thinking=True)
        assert app.text() == expected.text
        assert app.thoughts() == expected.thoughts[-1]
        assert app.send_button["state"] == "normal" and app.stop_button["state"] == "disabled"

        emu.pace = SLOW_PACE
        emu.script("stop the window", text=LONG_TEXT, chunks=40)
        app.prompt_box.delete(0, "end")
        app.prompt_box.insert(0, "stop the window")
        assert run_tk_until(root, lambda: bool(app.text()), app.send_button.invoke)
        assert app.stop_button["state"] == "normal" and app.send_button["state"] == "disabled"
        assert run_tk_until(root, lambda: app.status.get() == "stopped", app.stop_button.invoke)
        assert LONG_TEXT.startswith(app.text()) and app.text() != LONG_TEXT
        assert app.send_button["state"] == "normal" and app.stop_button["state"] == "disabled"
        assert_disconnected(emu, "stop the window")
    finally:
        root.destroy()
        # Tk variables must die on this (the Tk) thread: drop the app and collect its cycles here,
        # not whenever some worker thread happens to trigger the garbage collector
        app = None
        gc.collect()


def test_django_serves_an_answers_images_itself_with_the_type_its_bytes_say(
    emu: Emulator, django_view: ModuleType
) -> None:
    from django.test import Client

    answer = Client().get("/answer", {"prompt": "Generate an image of a cat"}).json()
    (link,) = answer["images"]
    assert link["url"].startswith("/images/") and "googleusercontent" not in link["url"]
    image = Client().get(link["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    missing = Client().get("/images/never-handed-out")
    assert missing.status_code == 404
