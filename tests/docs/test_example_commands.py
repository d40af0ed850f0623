"""The README's example commands, run as a user runs them, and the same commands in each example's docstring.

Each command of the README's Examples table runs in a subprocess from the
project root, with no Gemini settings in the environment, so the examples
start their bundled emulator themselves. The web servers' fixed ports (5000,
8000) are replaced by a free one, so the test never collides with a server
already running; everything else is the README's command word for word.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0


def readme_commands() -> dict[str, str]:
    """``{example file name: command}`` from the README's Examples table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Examples") :]
    section = section[: section.index("\n## ", 1)]
    commands = {}
    for command in re.findall(r"^\|[^|]+\| `([^`]+)`", section, re.MULTILINE):
        name = re.search(r"examples/(\w+\.py)", command)
        assert name, command
        commands[name[1]] = command
    return commands


COMMANDS = readme_commands()


def docstring_command(name: str) -> str:
    """The run command in the docstring of ``examples/<name>`` (the indented line naming the file)."""
    source = (ROOT / "examples" / name).read_text(encoding="utf-8")
    docstring = source.split('"""')[1]
    [line] = [
        line.strip()
        for line in docstring.splitlines()
        if line.startswith("    ") and f"examples/{name}" in line
    ]
    return line


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_") and k != "DISPLAY"}
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", **extra)
    return env


def argv_of(command: str, **replace: str) -> tuple[dict[str, str], list[str]]:
    """``(environment assignments, argv)`` of a shell command line; ``python`` is this interpreter."""
    words = shlex.split(command)
    assignments = {}
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        assignments[key] = value
    assert words[0] == "python", command
    words = [replace.get(word, word) for word in [sys.executable, *words[1:]]]
    return assignments, words


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_line(stream: IO[str], pattern: str) -> str:
    """Read ``stream`` until a line matches ``pattern`` (bounded: the process is killed after WAIT)."""
    seen = []
    for line in stream:
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"never printed {pattern!r}; output was:\n{''.join(seen)}")


@contextmanager
def server(argv: list[str], env: dict[str, str], ready: str) -> Iterator[subprocess.Popen[str]]:
    """Run a web example in its own process group until the block ends; wait for its ``ready`` line."""
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Django's autoreloader runs the server in a child: stop both
    )
    try:
        assert process.stdout is not None
        with _watchdog(process):
            wait_for_line(process.stdout, ready)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(WAIT)


@contextmanager
def _watchdog(process: subprocess.Popen[str]) -> Iterator[None]:
    """Kill ``process`` if the block takes longer than WAIT (so a read of its output cannot hang)."""
    import threading

    done = threading.Event()

    def guard() -> None:
        if not done.wait(WAIT):
            os.killpg(process.pid, signal.SIGKILL)

    thread = threading.Thread(target=guard, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_every_example_has_its_readme_command_in_its_docstring() -> None:
    assert set(COMMANDS) == {"stream_script.py", "tk_chat.py", "flask_sse.py", "django_view.py"}
    for name, command in COMMANDS.items():
        assert docstring_command(name) == command, name


def test_stream_script_command() -> None:
    env, argv = argv_of(COMMANDS["stream_script.py"])
    done = subprocess.run(
        argv, cwd=ROOT, env=user_env(**env), capture_output=True, text=True, encoding="utf-8", timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("You said: Tell me a story") and "\n---\ncollected " in done.stdout


def test_flask_command_serves_the_page_and_streams(tmp_path: Path) -> None:
    port = free_port()
    env, argv = argv_of(COMMANDS["flask_sse.py"].split(",")[0])
    with server([*argv, "--port", str(port)], user_env(**env), r"Running on http://127\.0\.0\.1"):
        base = f"http://127.0.0.1:{port}"
        assert "new EventSource(" in requests.get(base + "/", timeout=WAIT).text
        events = requests.get(base + "/stream", params={"prompt": "hello"}, timeout=WAIT).text
        assert events.startswith("data: ") and "event: done" in events and "You said: hello" in events
        bad_model = requests.get(base + "/stream", params={"prompt": "hi", "model": "gemini-9"}, timeout=WAIT)
        assert bad_model.status_code == 400 and "unknown model 'gemini-9'" in bad_model.json()["error"]
        empty = requests.get(base + "/stream", params={"prompt": " "}, timeout=WAIT)
        assert empty.status_code == 400 and "error" in empty.json()


def test_django_command_and_its_curl_commands() -> None:
    port = free_port()
    env, argv = argv_of(COMMANDS["django_view.py"], **{"8000": f"127.0.0.1:{port}"})
    with server(argv, user_env(**env), r"Starting development server at"):
        base = f"http://127.0.0.1:{port}"
        streamed = requests.get(base + "/stream", params={"prompt": "hello"}, timeout=WAIT)
        assert streamed.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert streamed.text.startswith("You said: hello")  # streaming itself: tests/docs/test_examples.py
        answer = requests.get(base + "/answer", params={"prompt": "hello"}, timeout=WAIT)
        assert answer.json()["text"] == streamed.text
        for view in ("/stream", "/answer"):
            bad = requests.get(base + view, params={"prompt": "hi", "model": "gemini-9"}, timeout=WAIT)
            assert bad.status_code == 400 and "unknown model" in bad.json()["error"]
            assert requests.get(base + view, timeout=WAIT).json() == {
                "error": f"give a prompt: {view}?prompt=..."
            }


_LIST_TK_APPS = (
    "import tkinter; probe = tkinter.Tk(); probe.withdraw(); "
    "print('\\n'.join(probe.tk.splitlist(probe.tk.call('winfo', 'interps')))); probe.destroy()"
)


def tk_applications(display: str) -> set[str]:
    """Names of the Tk applications on ``display`` (each registers one when it opens its window).

    Asked from a child process: a Tk connection in this process would outlive the test's
    X server, and Xlib ends a process whose display goes away.
    """
    done = subprocess.run(
        [sys.executable, "-c", _LIST_TK_APPS],
        env=user_env(DISPLAY=display),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    return set(done.stdout.split())


def test_tk_command_opens_its_window(display: str | None) -> None:
    env, argv = argv_of(COMMANDS["tk_chat.py"])
    if display is None:  # no X server: the test above checks what the command says then
        test_tk_command_without_a_display_says_so()
        return
    before = tk_applications(display)
    process = subprocess.Popen(
        argv, cwd=ROOT, env=user_env(DISPLAY=display, **env), stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + WAIT
        while not tk_applications(display) - before:  # bounded: WAIT, or the example exiting
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the Tk window never opened"
        assert process.poll() is None  # the window is up and the main loop runs
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=WAIT)
    assert "Traceback" not in errors


def test_tk_command_without_a_display_says_so() -> None:
    env, argv = argv_of(COMMANDS["tk_chat.py"])
    done = subprocess.run(argv, cwd=ROOT, env=user_env(**env), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "tk_chat needs a graphical display" in done.stderr and "Traceback" not in done.stderr
