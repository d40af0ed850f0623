"""``gemini-sync doctor`` against the emulator playing each bad state: the failing check, its fix, the exit.

Run in-process (``cli.commands.run``) for speed: the same code path as the
command, without a Python start-up per case. One case runs the real command.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gemini_sync._constants import ENV_PSID, ENV_PSIDTS, PSID, PSIDTS
from gemini_sync.cli.commands import run
from gemini_sync.cli.output import Screen
from gemini_sync.emulator import Emulator

OLD_LABEL = "boq_assistant-bard-web-server_20250101.00_p0"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in (ENV_PSID, ENV_PSIDTS, "GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "cookies"))
    monkeypatch.setattr("gemini_sync.transport.sources.browser_cookies", lambda: None)
    library = logging.getLogger("gemini_sync")
    handlers, level = list(library.handlers), library.level
    yield
    library.handlers[:], library.level = handlers, level  # run() adds a handler per call


def doctor(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run(["doctor", *args], Screen(out=out, err=err))
    return status, out.getvalue() + err.getvalue()


def with_cookies(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PSID, emu.cookies[PSID])
    monkeypatch.setenv(ENV_PSIDTS, emu.cookies[PSIDTS])


def _line(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if f" {check}:" in line)


def test_a_healthy_account_passes_every_check(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with_cookies(emu, monkeypatch)
    status, output = doctor("--base-url", emu.url)
    checks = ("network", "cookies", "clock", "build label", "device-bound", "account", "usage", "model")
    assert status == 0, output
    assert all(_line(output, check).startswith("ok") for check in checks)
    assert "FAIL" not in output and "3.6 Flash" in _line(output, "model")


BAD_STATES: dict[str, tuple[Callable[[Emulator], None], str, str]] = {
    "terms": (lambda e: setattr(e, "account_status", 1040), "account", "accept the terms"),
    "expired session": (lambda e: setattr(e, "account_status", 1016), "account", "guest"),
    "region": (lambda e: setattr(e, "account_status", 1060), "account", "supported country"),
    "abuse": (lambda e: setattr(e, "abuse", (1037, "burst")), "account", "flagged"),
    "downgrade": (lambda e: setattr(e, "downgrade", True), "model", "quota is used up"),
    "bound": (lambda e: e.bind_session(), "device-bound", "Firefox"),
    "bound, empty rotation": (lambda e: e.bind_session(rotation="empty"), "device-bound", "Firefox"),
    "clock": (lambda e: setattr(e, "clock_skew", 900), "clock", "NTP"),
    "old build": (lambda e: setattr(e, "build_label", OLD_LABEL), "build label", "stale copy"),
    "windows used up": (lambda e: setattr(e, "usage_used", 1.0), "usage", "wait until"),
    "quota blocked": (lambda e: setattr(e, "quota_blocked", True), "usage", "wait for the reset"),
    "expired cookies": (lambda e: e.expire_cookies(), "cookies", "--guest"),
}


@pytest.mark.parametrize("state", sorted(BAD_STATES))
def test_each_bad_state_fails_its_check_with_a_fix(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    play, check, fix = BAD_STATES[state]
    with_cookies(emu, monkeypatch)
    play(emu)
    status, output = doctor("--base-url", emu.url)
    assert status == 1, output
    line = _line(output, check)
    assert line.startswith("FAIL"), output
    fix_line = output.splitlines()[output.splitlines().index(line) + 1]
    assert fix_line.strip().startswith("fix:") and fix in fix_line, output


def test_json_lists_every_check(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with_cookies(emu, monkeypatch)
    emu.clock_skew = -900
    status, output = doctor("--base-url", emu.url, "--json")
    report = json.loads(output)
    assert status == 1 and report["ok"] is False
    by_name = {c["check"]: c for c in report["checks"]}
    assert by_name["clock"]["ok"] is False and "behind" not in by_name["clock"]["detail"]
    assert by_name["account"]["ok"] is True and len(by_name) == 8


def test_an_unreachable_service_is_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv(ENV_PSID, "test")
    status, output = doctor("--base-url", f"http://127.0.0.1:{port}", "--retries", "0", "--timeout", "5")
    assert status == 1
    assert _line(output, "network").startswith("FAIL") and "refused" in output
    assert "nothing listens there" in output and _line(output, "model").startswith("skip")


def test_no_cookies_offers_guest_mode(emu: Emulator) -> None:
    status, output = doctor("--base-url", emu.url)
    assert status == 1 and "--guest" in _line(output, "cookies") + output


def test_a_guest_passes(emu: Emulator) -> None:
    status, output = doctor("--base-url", emu.url, "--guest")
    assert status == 0, output
    assert "guest" in _line(output, "cookies") and "3.5 Flash-Lite" in _line(output, "model")


def test_the_command_itself(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gemini_sync", "doctor", "--emulator", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "GEMINI_COOKIE_PATH": str(tmp_path), "HOME": str(tmp_path)},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


@pytest.mark.parametrize(
    ("message", "fix"),
    [
        ("could not connect: DNS lookup of gemini.google.com failed", "DNS resolver"),
        ("could not connect: the proxy failed (refused)", "proxy="),
        ("could not connect: the TLS handshake with x failed (certificate verify failed)", "certifi"),
        ("could not connect: 127.0.0.1:9 refused the connection", "nothing listens"),
        ("something else", "-vv"),
    ],
)
def test_each_network_failure_gets_its_own_fix(message: str, fix: str) -> None:
    from gemini_sync.cli.doctor import Finding, _network_fix

    assert fix in _network_fix(message) and Finding("network", False, message).ok is False
