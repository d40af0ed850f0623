"""The command's status line (on a terminal only), its JSON status events, ``usage``, and a 1037's reset time.

Each test (but the last, in-process) runs ``python -m gemini_sync`` as a subprocess against the test's
emulator; a queued phase comes from ``emu.queue_seconds`` (kept well under a
second), thinking headlines from a thinking model. The status line is checked
on a pseudo-terminal as stderr, with stdout a pipe, so what reaches each
stream is seen apart.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import json
import logging
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gemini_sync.cli.output import local_time
from gemini_sync.emulator import Emulator

from .test_cli import run

pytestmark = pytest.mark.gemini_emulator(pace=0.001)

QUEUED = 0.3  # seconds the emulator keeps an answer queued
WAIT = 30.0  # a bound that only catches a hang
THINKING = ("-m", "gemini-3-flash-thinking")
ERASE = "\r" + " " * len("Thinking: Echo Some Markdown") + "\r"  # the thinking answer's last headline
JST = timezone(timedelta(hours=9))  # TZ="JST-9": a local time that is not UTC, without tzdata


@pytest.fixture
def env(emu: Emulator, tmp_path: Path) -> dict[str, str]:
    """A user's environment pointing the command at ``emu``, in Tokyo's time zone."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    return {
        **environment,
        "GEMINI_COOKIE_PATH": str(tmp_path / "cookies"),
        "PYTHONIOENCODING": "utf-8",
        "GEMINI_BASE_URL": emu.url,
        "GEMINI_SECURE_1PSID": emu.cookies["__Secure-1PSID"],
        "TZ": "JST-9",
    }


def on_terminal(
    *args: str, env: dict[str, str], columns: int = 0, merged: bool = False
) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal (``columns`` wide; 0: unset) and stdout a pipe.

    ``merged``: stdout on the terminal too, as a user sees both. Returns the
    exit status, stdout and what the terminal received.
    """
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_sync", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if merged else subprocess.PIPE,
        stderr=slave,
        env={**env, "TERM": "dumb", "COLUMNS": ""},
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + WAIT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            try:
                data = os.read(master, 4096) if ready else b""
            except OSError:  # every end of the terminal is closed: the command exited
                break
            if not data and ready:
                break
            screen += data
        out = process.stdout.read().decode("utf-8") if process.stdout is not None else ""
        status = process.wait(timeout=WAIT)
    finally:
        process.kill()
        os.close(master)
        if process.stdout is not None:
            process.stdout.close()
    return status, out, screen.decode("utf-8", "replace")


# --- the status line --------------------------------------------------------------------------------


def test_status_line_shows_queued_then_headlines_and_is_erased_before_the_answer(
    emu: Emulator, env: dict[str, str]
) -> None:
    emu.queue_seconds = QUEUED
    status, out, screen = on_terminal(*THINKING, "hello", env=env)
    assert status == 0
    assert out.startswith("You said: hello") and "\r" not in out and "Queued" not in out
    queued = screen.index("\rQueued...")
    thinking = screen.index("\rThinking: Reading The Request")
    assert queued < thinking < screen.index("\rThinking: Echo Some Markdown")
    assert screen.count("Queued...") == 1  # one line per change, not per frame
    assert screen.endswith(ERASE)  # erased once the answer starts: nothing is left on stderr


def test_status_line_never_wraps(emu: Emulator, env: dict[str, str]) -> None:
    _, _, screen = on_terminal(*THINKING, "hello", env=env, columns=20)
    lines = [line for line in screen.split("\r") if line.strip()]
    assert "Thinking: Readin..." in lines
    assert all(len(line) < 20 for line in lines), lines


def test_status_line_shares_the_terminal_with_the_answer_and_errors(
    emu: Emulator, env: dict[str, str]
) -> None:
    _, _, answer = on_terminal(*THINKING, "hello", env=env, merged=True)
    assert ERASE + "You said: hello" in answer
    emu.fail_next(code=1037, after_frames=2)  # an error while a headline is shown
    status, _, failed = on_terminal(*THINKING, "hi", env=env, merged=True)
    assert status == 4
    before, _, message = failed.partition("gemini-sync: ")
    assert "\rThinking: " in before and before.endswith(" \r") and "1037" in message


def test_no_status_line_when_piped_or_quiet(emu: Emulator, env: dict[str, str]) -> None:
    emu.queue_seconds = QUEUED
    piped = run(*THINKING, "hello", env=env)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.startswith("You said: hello")
    status, out, screen = on_terminal("--quiet", *THINKING, "hello", env=env)
    assert status == 0 and screen == "" and out == piped.stdout


def test_json_carries_status_events_instead(emu: Emulator, env: dict[str, str]) -> None:
    emu.queue_seconds = QUEUED
    status, out, screen = on_terminal("--json", *THINKING, "hello", env=env)
    assert status == 0 and screen == ""  # no status line: the events say it
    events = [json.loads(line) for line in out.splitlines()]
    statuses = [(e["kind"], e["headline"]) for e in events if e["event"] == "status"]
    assert statuses[0] == ("queued", None) and statuses[-1] == (None, None)
    assert ("thinking", "Reading The Request") in statuses
    assert all(a != b for a, b in itertools.pairwise(statuses))  # changes only
    first_text = next(i for i, e in enumerate(events) if e["event"] == "text")
    assert events[first_text - 1] == {"event": "status", "kind": None, "headline": None}
    final = events[-1]["output"]["candidates"][0]["text"]
    assert "".join(e["delta"] for e in events if e["event"] == "text") == final


# --- usage and 1037 ---------------------------------------------------------------------------------


def _quotas(env: dict[str, str]) -> dict[str, dict[str, float]]:
    result = run("usage", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_usage_before_and_after_answers(emu: Emulator, env: dict[str, str]) -> None:
    emu.set_quota("flash", total=10, used=1)
    before = _quotas(env)
    assert set(before) == {"pro", "flash", "extended thinking"}
    assert before["flash"]["remaining"] == 9 and before["flash"]["total"] == 10
    assert run("one", env=env).returncode == 0 and run("two", env=env).returncode == 0
    after = _quotas(env)
    assert after["flash"]["remaining"] == 7 and after["flash"]["used_percent"] == pytest.approx(30)
    assert after["pro"]["remaining"] == before["pro"]["remaining"]
    table = run("usage", env=env)
    [flash] = [line for line in table.stdout.splitlines() if line.startswith("flash ")]
    resets = datetime.fromtimestamp(after["flash"]["resets_at"], JST).strftime("%Y-%m-%d %H:%M")
    assert "30.0% used" in flash and "7 of 10 left" in flash and f"resets {resets} JST (in " in flash


def test_a_1037_says_when_the_quota_resets_in_local_time(emu: Emulator, env: dict[str, str]) -> None:
    bucket = emu.set_quota("flash", total=1, period=3600)
    assert run("first", env=env).returncode == 0
    started = time.time()
    result = run("second", env=env)
    ended = time.time()
    assert result.returncode == 4 and result.stdout == ""
    resets_at = _quotas(env)["flash"]["resets_at"]
    assert bucket.resets_at == pytest.approx(resets_at, abs=1)
    local = datetime.fromtimestamp(resets_at, JST).strftime("%Y-%m-%d %H:%M")
    # the countdown is rounded when the CLI prints it, some time between these two instants
    spans = {local_time(resets_at, now).split(" (", 1)[1] for now in (started, ended)}
    assert spans <= {"in 59 min)", "in 1 h 0 min)"}
    assert "1037" in result.stderr and any(f"{local} JST ({span}" in result.stderr for span in spans)
    assert "gemini-sync usage" in result.stderr
    as_json = run("--json", "third", env=env)
    error = json.loads(as_json.stdout.splitlines()[-1])
    assert error["event"] == "error" and error["resets_at"] == pytest.approx(resets_at)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_record_erases_the_status_line_first() -> None:
    from gemini_sync.cli.commands import _LogHandler
    from gemini_sync.cli.output import Screen

    err = _Terminal()
    screen = Screen(out=io.StringIO(), err=err)
    screen.status("Queued...")
    _LogHandler(screen).emit(logging.makeLogRecord({"msg": "retrying", "levelno": logging.WARNING}))
    assert err.getvalue() == "\rQueued...\r         \rretrying\n"
