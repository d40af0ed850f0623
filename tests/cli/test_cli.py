"""The gemini-sync command, run as a subprocess (and once on a pseudo-terminal): output, flags, exit codes."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemini_sync.emulator import Emulator

TIMEOUT = 60
WAIT = 15.0


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = "",
    merged: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``python -m gemini_sync ARGS``; stdin is empty (not a terminal) unless given."""
    return subprocess.run(
        [sys.executable, "-m", "gemini_sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        encoding="utf-8",
        input=stdin,
        env=env,
        timeout=TIMEOUT,
    )


@pytest.fixture(autouse=True)
def sigint_reaches_children() -> Iterator[None]:
    """Let the commands started here receive SIGINT, even when pytest runs as a background job.

    A shell starts a background job with SIGINT ignored, and an ignored signal stays
    ignored across exec, so Python would never turn it into KeyboardInterrupt; a signal
    with a handler is reset to its default on exec instead.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


pytestmark = pytest.mark.gemini_emulator(pace=0.001)  # the emu fixture of tests/conftest.py, one per test


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment with no Gemini settings and an empty cookie cache."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    environment["GEMINI_COOKIE_PATH"] = str(tmp_path / "cookies")
    environment["PYTHONIOENCODING"] = "utf-8"
    return environment


@pytest.fixture
def env(emu: Emulator, bare_env: dict[str, str]) -> dict[str, str]:
    """Environment of a user pointing the CLI at a running emulator (GEMINI_BASE_URL)."""
    return {
        **bare_env,
        "GEMINI_BASE_URL": emu.url,
        "GEMINI_SECURE_1PSID": emu.cookies["__Secure-1PSID"],
        "GEMINI_SECURE_1PSIDTS": emu.cookies["__Secure-1PSIDTS"],
    }


# --- asking ---------------------------------------------------------------------------------------


def test_emulator_flag_streams_an_answer(bare_env: dict[str, str]) -> None:
    result = run("--emulator", "--pace", "0.001", "Tell me about streams", env=bare_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("You said: Tell me about streams")
    assert "😀" in result.stdout and result.stdout.endswith("\n")
    assert result.stderr == ""


def test_ask_is_the_default_command_and_gemini_base_url_is_honoured(
    emu: Emulator, env: dict[str, str]
) -> None:
    emu.script("where", text="Here.", times=None)
    assert run("where am I", env=env).stdout == "Here.\n"
    assert run("ask", "where am I", env=env).stdout == "Here.\n"
    assert run("-v", "where am I", env=env).stdout == "Here.\n"
    assert [r.prompt for r in emu.generate_requests] == ["where am I"] * 3


def test_prompt_from_stdin(emu: Emulator, env: dict[str, str]) -> None:
    emu.script("", text="ok", times=None)
    assert run("-", env=env, stdin="a piped prompt\n").returncode == 0
    assert run(env=env, stdin="piped, no argument\n").returncode == 0
    assert run("ask", env=env, stdin="to ask\n").returncode == 0
    assert [r.prompt for r in emu.generate_requests] == ["a piped prompt", "piped, no argument", "to ask"]


def test_json_lines_carry_each_delta_once_and_the_final_output_once(
    emu: Emulator, env: dict[str, str]
) -> None:
    text = "word " * 200
    emu.script("long", text=text, chunks=40, web_images=["a cat"])
    result = run("--json", "long answer", env=env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [event["event"] for event in events]
    assert kinds[-1] == "final" and kinds.count("final") == 1
    assert set(kinds) == {"text", "image", "final"}
    assert "".join(e["delta"] for e in events if e["event"] == "text") == text
    assert events[-1]["output"]["candidates"][0]["text"] == text
    assert [e["alt"] for e in events if e["event"] == "image"] == ["a cat"]
    # linear, not quadratic: the deltas plus one copy of the final output, plus framing
    assert len(result.stdout) < 2 * len(text) + 60 * len(events) + 2000


def test_thoughts_go_to_stderr(emu: Emulator, env: dict[str, str]) -> None:
    result = run("--model", "gemini-3-flash-thinking", "--thoughts", "why?", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("You said: why?")
    assert result.stderr.startswith("[thinking] ") and "Reading the request" in result.stderr
    plain = run("--model", "gemini-3-flash-thinking", "why?", env=env)
    assert plain.stderr == "" and plain.stdout == result.stdout


def test_model_flag_sends_the_model_header(emu: Emulator, env: dict[str, str]) -> None:
    assert run("--model", "gemini-3-pro", "hi", env=env).returncode == 0
    assert "9d8ca3786ebdfbea" in emu.generate_requests[-1].headers["x-goog-ext-525001261-jspb"]


def test_save_images(emu: Emulator, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "images"
    result = run("--save-images", str(out), "Generate an image of a fox", env=env)
    assert result.returncode == 0, result.stderr
    files = list(out.iterdir())
    assert files and files[0].read_bytes().startswith(b"\x89PNG")
    assert f"saved {files[0]}" in result.stderr


def test_verbose_and_env_log_level_log_to_stderr_without_secrets(emu: Emulator, env: dict[str, str]) -> None:
    quiet = run("hi", env=env)
    info = run("-v", "hi", env=env)
    debug = run("-vv", "hi", env=env)
    by_env = run("hi", env={**env, "GEMINI_SYNC_LOG": "debug"})
    assert quiet.stderr == "" and "DEBUG" not in info.stderr
    for result in (debug, by_env):
        assert result.returncode == 0
        assert "DEBUG" in result.stderr and "bootstrapped" in result.stderr
        assert env["GEMINI_SECURE_1PSID"] not in result.stderr and emu.access_token not in result.stderr
        assert result.stdout == quiet.stdout


# --- chat -----------------------------------------------------------------------------------------


def test_chat_carries_the_conversation(emu: Emulator, env: dict[str, str]) -> None:
    result = run("chat", env=env, stdin="first question\n\nsecond question\nexit\nnever sent\n")
    assert result.returncode == 0, result.stderr
    assert "You said: first question" in result.stdout and "You said: second question" in result.stdout
    assert [r.prompt for r in emu.generate_requests] == ["first question", "second question"]
    first, second = emu.generate_requests
    assert second.metadata and second.metadata[0] == emu.conversations[0].cid
    assert first.metadata and first.metadata[0] == ""
    legacy = run("--chat", env=env, stdin="old flag\n")  # the flag of earlier releases still works
    assert legacy.returncode == 0 and "You said: old flag" in legacy.stdout


# --- other subcommands and help -------------------------------------------------------------------


def test_help_lists_the_subcommands_and_shows_defaults(bare_env: dict[str, str]) -> None:
    top = run("--help", env=bare_env).stdout
    assert re.search(r"usage: gemini-sync .*COMMAND", top)
    for command in ("ask", "chat", "models", "emulator"):
        assert re.search(rf"^    {command} ", top, re.MULTILINE), command
    ask = run("ask", "--help", env=bare_env).stdout
    assert "(default: 30.0)" in ask and "(default: 3)" in ask and "$GEMINI_BASE_URL" in ask
    emulator = run("emulator", "--help", env=bare_env).stdout
    assert emulator.startswith("usage: gemini-sync emulator ") and "(default: 8765)" in emulator


def test_models(emu: Emulator, env: dict[str, str]) -> None:
    offline = run("models", "--known", env=env)
    assert (
        offline.returncode == 0
        and "gemini-3-flash\n" in offline.stdout
        and "unspecified" not in offline.stdout
    )
    online = run("models", "--json", env=env)
    assert online.returncode == 0, online.stderr
    rows = [json.loads(line) for line in online.stdout.splitlines()]
    [flash] = [row for row in rows if row["id"] == "fbb127bbb056c959"]
    # the account's catalogue names it ("3.6 Flash" since 2026); --model takes the release's name
    assert flash["option"] == "gemini-3-flash"
    assert flash["name"] == ("3.6 Flash" if emu.shapes == "2026" else "Gemini 3 Flash")
    assert emu.requests_to("/_/BardChatUi/data/batchexecute")


def test_emulator_subcommand_serves_until_interrupted(bare_env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_sync", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=bare_env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        served = run("hello there", env={**bare_env, "GEMINI_BASE_URL": url, "GEMINI_SECURE_1PSID": "any"})
        assert served.returncode == 0 and served.stdout.startswith("You said: hello there")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 0
    assert process.stderr is not None and "Traceback" not in process.stderr.read()


# --- errors and what they say ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "the prompt is empty"),
        (["-"], "the prompt is empty"),
        (["--model", "no-such-model", "hi"], "unknown model 'no-such-model'"),
        (["--bogus", "x"], "unrecognized arguments: --bogus"),
        (["ask", "--timeout", "soon", "x"], "invalid float value: 'soon'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], says: str, env: dict[str, str]) -> None:
    result = run(*args, env=env)
    assert result.returncode == 2
    assert result.stdout == "" and says in result.stderr


def test_missing_cookies_say_what_to_do(bare_env: dict[str, str]) -> None:
    result = run("hi", env=bare_env)
    assert result.returncode == 3
    message = result.stderr
    assert "gemini-sync --emulator" in message
    assert "export GEMINI_SECURE_1PSID=" in message and "GEMINI_SECURE_1PSIDTS" in message
    assert "pip install 'gemini-sync[browser]'" in message  # quoted: zsh would glob the brackets
    assert "https://gemini.google.com" in message
    assert "GeminiClient" not in message and "Traceback" not in message


def test_a_base_url_without_cookies_says_any_value_works(emu: Emulator, bare_env: dict[str, str]) -> None:
    result = run("--base-url", emu.url, "hi", env=bare_env)
    assert result.returncode == 3
    assert "any value works" in result.stderr and "export GEMINI_SECURE_1PSID=test" in result.stderr
    assert run("--base-url", emu.url, "hi", env={**bare_env, "GEMINI_SECURE_1PSID": "test"}).returncode == 0


def test_expired_cookies_exit_3_without_leaking_them(emu: Emulator, env: dict[str, str]) -> None:
    emu.expire_cookies()
    result = run("hi", env=env)
    assert result.returncode == 3
    assert "fresh" in result.stderr and "gemini-sync --emulator" in result.stderr
    assert env["GEMINI_SECURE_1PSID"] not in result.stderr + result.stdout


def test_a_refused_connection_names_its_cause(bare_env: dict[str, str]) -> None:
    with Emulator() as stopped:
        url = stopped.url
    result = run("--base-url", url, "--retries", "0", "hi", env={**bare_env, "GEMINI_SECURE_1PSID": "x"})
    assert result.returncode == 5
    assert "refused the connection" in result.stderr and url.removeprefix("http://") in result.stderr


def test_api_error_exit_4(emu: Emulator, env: dict[str, str]) -> None:
    emu.fail_next(code=1037)
    result = run("hi", env=env)
    assert result.returncode == 4
    assert "1037" in result.stderr


def test_an_error_after_partial_text_starts_on_its_own_line(emu: Emulator, env: dict[str, str]) -> None:
    emu.script("cut", text="partial words that never finish", chunks=6)
    emu.fail_next(code=1037, after_frames=3)
    result = run("cut short", env=env, merged=True)
    assert result.returncode == 4
    before, _, after = result.stdout.partition("gemini-sync: ")
    assert before and "partial words that never finish".startswith(before[:-1]) and before.endswith("\n")
    assert "1037" in after
    emu.fail_next(code=1037, after_frames=3)
    as_json = run("--json", "cut short", env=env)
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert events[-1]["event"] == "error" and events[-1]["type"] == "UsageLimitExceeded"
    assert all(event["event"] != "final" for event in events)


def test_stall_exit_5(emu: Emulator, env: dict[str, str]) -> None:
    emu.fail_next(stall=30, after_frames=0)
    result = run("--stall-timeout", "0.3", "--retries", "0", "hi", env=env)
    assert result.returncode == 5
    assert "stalled" in result.stderr


# --- Ctrl-C ----------------------------------------------------------------------------------------


def test_ctrl_c_mid_stream_exits_130_and_closes_the_stream(env: dict[str, str]) -> None:
    with Emulator(pace=0.5) as slow:
        process = subprocess.Popen(
            [sys.executable, "-m", "gemini_sync", "--base-url", slow.url, "a slow answer"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None and process.stderr is not None
            assert process.stdout.read(5)  # blocks until the answer has started
            process.send_signal(signal.SIGINT)
            rest, errors = process.communicate(timeout=TIMEOUT)
        finally:
            process.kill()
        assert process.returncode == 130
        assert rest.endswith("\n") and "Traceback" not in errors
        assert slow.wait_for_disconnect(timeout=5)


INTERRUPTER = '''
import os, signal, sys

class _InterruptAt:
    """Sends this process SIGINT when the module named by $INTERRUPT_AT is first imported."""

    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("INTERRUPT_AT"):
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, _InterruptAt())
'''


@pytest.mark.parametrize("module", ["gemini_sync.cli.commands", "argparse", "requests"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(
    module: str, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPTER)
    interrupted = {**env, "PYTHONPATH": str(tmp_path), "INTERRUPT_AT": module}
    result = run("hi", env=interrupted)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "" and result.stdout == ""


# --- on a terminal -------------------------------------------------------------------------------


class Terminal:
    """A command running on a pseudo-terminal: type into it, wait (bounded) for what it shows."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "dumb"}, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never appeared; the screen shows {self.screen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode("utf-8", "replace")
                except OSError:  # the command exited and closed the terminal
                    break
        assert text in self.screen, self.screen
        return self.screen

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=WAIT)
        finally:
            self.process.kill()
            os.close(self.master)


def test_chat_on_a_terminal_shows_a_prompt_and_how_to_quit(emu: Emulator, env: dict[str, str]) -> None:
    terminal = Terminal([sys.executable, "-m", "gemini_sync", "chat"], env)
    try:
        terminal.wait_for("Ctrl-D or 'exit' quits")
        terminal.wait_for("> ")
        terminal.type("hello from a terminal\n")
        terminal.wait_for("That is all for turn 1.")
        terminal.wait_for("\n> ")
        terminal.type("\x04")  # Ctrl-D at the start of a line: end of input
    finally:
        status = terminal.close()
    assert status == 0
    assert "Traceback" not in terminal.screen
    assert emu.generate_requests[-1].prompt == "hello from a terminal"


def test_thoughts_are_dimmed_on_a_terminal(emu: Emulator, env: dict[str, str]) -> None:
    args = [sys.executable, "-m", "gemini_sync", "-m", "gemini-3-flash-thinking", "--thoughts", "why?"]
    terminal = Terminal(args, env)
    try:
        screen = terminal.wait_for("That is all for turn 1.")
    finally:
        status = terminal.close()
    assert status == 0
    assert "\x1b[2m**Reading the request" in screen and "[thinking]" not in screen
