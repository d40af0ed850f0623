"""``gemini-sync capture`` and ``gemini-sync emulator --replay``, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemini_sync.capture.file import Capture
from gemini_sync.emulator import Emulator

TIMEOUT = 90
REAL = Path(__file__).resolve().parents[1] / "captures" / "real-2026-08-flash-lite.json"

pytestmark = pytest.mark.gemini_emulator(pace=0.001)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gemini_sync", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        input="",
        env=env,
        timeout=TIMEOUT,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    environment["GEMINI_COOKIE_PATH"] = str(tmp_path / "cookies")
    environment["PYTHONIOENCODING"] = "utf-8"
    return environment


def test_capture_writes_a_redacted_file_and_says_what_it_removed(
    emu: Emulator, env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "capture.json"
    user = {
        **env,
        "GEMINI_BASE_URL": emu.url,
        "GEMINI_SECURE_1PSID": emu.cookies["__Secure-1PSID"],
        "GEMINI_SECURE_1PSIDTS": emu.cookies["__Secure-1PSIDTS"],
    }
    result = run("capture", "Hello there", "-o", str(target), "--name", "Emulated User", env=user)
    assert result.returncode == 0, result.stderr
    assert f"wrote {target}" in result.stderr and "redacted access token" in result.stderr
    text = target.read_text(encoding="utf-8")
    for secret in (*emu.cookies.values(), emu.access_token, emu.second_token):
        assert secret not in text
    capture = Capture.load(target)
    assert capture.generate is not None and capture.generate.prompt == "Hello there"
    assert capture.result is not None and capture.result["text"].startswith("You said: Hello there")


def test_capture_with_compare_against_the_emulator_itself_reports_no_difference(
    env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "capture.json"
    result = run("capture", "--emulator", "--pace", "0", "Hello", "-o", str(target), "--compare", env=env)
    assert result.returncode == 0, result.stderr
    assert "No difference" in result.stdout


def test_compare_of_a_stored_real_capture_names_its_differences(env: dict[str, str]) -> None:
    result = run("capture", "--compare", str(REAL), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "No difference" not in result.stdout
    assert "c_a32db7a62d1648e0" not in result.stdout  # shapes, never values


def test_capture_needs_an_output_file_and_compare_of_a_file_takes_no_prompt(env: dict[str, str]) -> None:
    missing = run("capture", "--emulator", "Hello", env=env)
    assert missing.returncode == 2 and "-o capture.json" in missing.stderr
    both = run("capture", "Hello", "--compare", str(REAL), env=env)
    assert both.returncode == 2 and "no prompt" in both.stderr
    absent = run("capture", "--compare", "no-such-file.json", env=env)
    assert absent.returncode != 0 and "cannot read the capture" in absent.stderr
    assert "Traceback" not in absent.stderr


def test_the_emulator_command_replays_a_capture(env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gemini_sync",
            "emulator",
            "--port",
            "0",
            "--replay",
            str(REAL),
            "--replay-speed",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        answered = run(
            "--json", "Hi, I am Alice", env={**env, "GEMINI_BASE_URL": url, "GEMINI_SECURE_1PSID": "any"}
        )
        assert answered.returncode == 0, answered.stderr
        final = [json.loads(line) for line in answered.stdout.splitlines() if line.strip()][-1]
        assert "I've made a note of your name, Alice!" in json.dumps(final)
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT)


def test_the_emulator_command_refuses_a_file_that_is_not_a_capture(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    result = run("emulator", "--port", "0", "--replay", str(bad), env=env)
    assert result.returncode == 2 and "not a capture" in result.stderr
