"""The gemini-sync command, run as a subprocess: output, flags and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gemini_sync.emulator import Emulator

TIMEOUT = 60


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gemini_sync", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=TIMEOUT,
    )


pytestmark = pytest.mark.emulator(pace=0.001)


@pytest.fixture
def env(emu: Emulator, tmp_path: Path) -> dict[str, str]:
    """Environment of a user pointing the CLI at a running emulator."""
    environment = dict(os.environ)
    environment["GEMINI_SECURE_1PSID"] = emu.cookies["__Secure-1PSID"]
    environment["GEMINI_SECURE_1PSIDTS"] = emu.cookies["__Secure-1PSIDTS"]
    environment["GEMINI_COOKIE_PATH"] = str(tmp_path / "cookies")
    return environment


def test_emulator_flag_streams_an_answer() -> None:
    result = run("--emulator", "--pace", "0.001", "Tell me about streams")
    assert result.returncode == 0, result.stderr
    assert "You said: Tell me about streams" in result.stdout
    assert "😀" in result.stdout
    assert result.stderr == ""


def test_json_prints_one_chunk_per_line(emu: Emulator, env: dict[str, str]) -> None:
    result = run("--base-url", emu.url, "--json", "hello", env=env)
    assert result.returncode == 0, result.stderr
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(chunks) > 2 and chunks[-1]["is_final"] is True
    assert sum(chunk["is_final"] for chunk in chunks) == 1
    assert "".join(chunk["delta_text"] for chunk in chunks) == chunks[-1]["text"]


def test_thoughts_are_prefixed_when_not_a_terminal(emu: Emulator, env: dict[str, str]) -> None:
    result = run("--base-url", emu.url, "--model", "gemini-3-flash-thinking", "--thoughts", "why?", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[thoughts] ")
    assert "[answer] You said: why?" in result.stdout
    plain = run("--base-url", emu.url, "--model", "gemini-3-flash-thinking", "why?", env=env)
    assert "[thoughts]" not in plain.stdout


def test_model_flag_sends_the_model_header(emu: Emulator, env: dict[str, str]) -> None:
    assert run("--base-url", emu.url, "--model", "gemini-3-pro", "hi", env=env).returncode == 0
    assert emu.generate_requests[-1].headers["x-goog-ext-525001261-jspb"].find("9d8ca3786ebdfbea") > 0


def test_chat_carries_the_conversation(emu: Emulator, env: dict[str, str]) -> None:
    result = run("--base-url", emu.url, "--chat", env=env, stdin="first question\nsecond question\n")
    assert result.returncode == 0, result.stderr
    assert "first question" in result.stdout and "second question" in result.stdout
    first, second = emu.generate_requests[-2:]
    assert second.inner[2][0] and second.inner[2][0] == emu.conversations[0].cid  # type: ignore[index]
    assert first.inner[2][0] == ""  # type: ignore[index]


def test_save_images(emu: Emulator, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "images"
    result = run("--base-url", emu.url, "--save-images", str(out), "Generate an image of a fox", env=env)
    assert result.returncode == 0, result.stderr
    files = list(out.iterdir())
    assert files and files[0].read_bytes().startswith(b"\x89PNG")
    assert "saved" in result.stderr


@pytest.mark.parametrize(
    "args", [[], ["--chat", "prompt"], ["--model", "no-such-model", "hi"], ["--bogus", "x"]]
)
def test_usage_errors_exit_2(args: list[str], env: dict[str, str]) -> None:
    result = run(*args, env=env)
    assert result.returncode == 2
    assert result.stdout == ""


def test_missing_cookies_exit_3(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    environment["GEMINI_COOKIE_PATH"] = str(tmp_path)
    result = run("--base-url", "http://127.0.0.1:9", "hi", env=environment)
    assert result.returncode == 3
    assert "__Secure-1PSID" in result.stderr


def test_expired_cookies_exit_3_without_leaking_them(emu: Emulator, env: dict[str, str]) -> None:
    emu.expire_cookies()
    result = run("--base-url", emu.url, "hi", env=env)
    assert result.returncode == 3
    assert env["GEMINI_SECURE_1PSID"] not in result.stderr + result.stdout


def test_api_error_exit_4(emu: Emulator, env: dict[str, str]) -> None:
    emu.fail_next(code=1037)
    result = run("--base-url", emu.url, "hi", env=env)
    assert result.returncode == 4
    assert "1037" in result.stderr


def test_stall_exit_5(emu: Emulator, env: dict[str, str]) -> None:
    emu.fail_next(stall=30, after_frames=0)
    result = run("--base-url", emu.url, "--stall-timeout", "0.3", "--retries", "0", "hi", env=env)
    assert result.returncode == 5
    assert "stalled" in result.stderr


def test_ctrl_c_exits_130_and_closes_the_stream(env: dict[str, str]) -> None:
    with Emulator(pace=0.5) as slow:
        process = subprocess.Popen(
            [sys.executable, "-m", "gemini_sync", "--base-url", slow.url, "a slow answer"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            first = process.stdout.read(5)  # blocks until the answer has started
            assert first
            process.send_signal(signal.SIGINT)
            process.wait(timeout=TIMEOUT)
        finally:
            process.kill()
        assert process.returncode == 130
        assert slow.wait_for_disconnect(timeout=5)


def test_emulator_subcommand_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_sync", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        import requests

        assert requests.get(url + "/app", timeout=5).status_code == 200
        process.send_signal(signal.SIGINT)
        process.wait(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode in (0, 130)
