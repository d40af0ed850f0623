"""Many processes on one account, for real: plain worker processes and gunicorn serving the Flask example.

Every process has its own client and rotation thread; they share only the
cookie cache directory. The emulator checks ``__Secure-1PSIDTS`` strictly
(the current value and the one before the last rotation), so a process that
did not take the rotated cookie from the cache is refused within two
intervals. Rotation runs at a short interval; the bounds are tolerant in the
safe direction: at most one rotation per interval of wall time plus one,
where one rotation per process and interval would be several times more.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gemini_sync.emulator import Emulator, Fault
from gemini_sync.emulator.answers import default_answer

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.5  # seconds between rotations: short, so a test sees several


def _wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (bounded); fail the test with ``what`` if it never holds."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


class _Output:
    """The stdout lines of a child process, collected by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.strip())

    def count(self, prefix: str) -> int:
        return sum(1 for line in list(self.lines) if line.startswith(prefix))


def _env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    env.update(GEMINI_COOKIE_PATH=str(cache_dir), PYTHONPATH=str(ROOT), **extra)
    return env


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(pace=0.001, psidts=Emulator.PSIDTS) as emulator:
        yield emulator


def test_eight_processes_rotate_once_per_interval_and_survive_a_killed_lock_holder(
    emu: Emulator, tmp_path: Path
) -> None:
    env = _env(tmp_path / "cache")
    started = time.time()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._rotation_worker", emu.url, str(INTERVAL), "0.05"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(8)
    ]
    outputs = [_Output(worker) for worker in workers]
    try:
        _wait_until(lambda: all(o.count("ok") for o in outputs), 30, "every worker's first answer")
        _wait_until(lambda: emu.rotations >= 4, 30, "four rotations")
        elapsed = time.time() - started
        # uncoordinated, each of the 8 would rotate once per interval
        assert emu.rotations <= elapsed / INTERVAL + 1, (emu.rotations, elapsed)

        # one worker gets stuck inside its rotation, holding the lock; the others keep answering
        emu.add_fault(Fault(path="/RotateCookies", stall=60))
        _wait_until(lambda: any(r.fault for r in emu.requests_to("/RotateCookies")), 10, "a stuck rotation")
        (stuck,) = [r for r in emu.requests_to("/RotateCookies") if r.fault]
        holder = next(w for w in workers if str(w.pid) == stuck.headers["X-Worker-Pid"])
        others = [o for o in outputs if o.process is not holder]
        before = [o.count("ok") for o in others]
        _wait_until(
            lambda: all(o.count("ok") >= n + 2 for o, n in zip(others, before, strict=True)),
            15,
            "answers while the lock is held",
        )
        rotations = emu.rotations
        holder.kill()  # SIGKILL: no cleanup, the lock is released by the kernel alone
        holder.wait(10)
        _wait_until(lambda: emu.rotations >= rotations + 2, 15, "rotations after the holder was killed")
        before = [o.count("ok") for o in others]
        _wait_until(
            lambda: all(o.count("ok") >= n + 2 for o, n in zip(others, before, strict=True)),
            15,
            "answers with the cookies rotated after the kill",
        )
        elapsed = time.time() - started
        assert emu.rotations <= elapsed / INTERVAL + 1, (emu.rotations, elapsed)
    finally:
        for worker in workers:
            if worker.poll() is None and worker.stdin is not None:
                worker.stdin.close()
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
    errors = [line for o in outputs for line in o.lines if line.startswith("error")]
    assert errors == []
    assert all(w.returncode == 0 for w in workers if w is not holder)
    _assert_refusals_rare(emu)


def _assert_refusals_rare(emu: Emulator) -> None:
    """The processes used a cookie the service still accepted, but for rare, recovered exceptions.

    A request that waits longer than two intervals (1 s here) between taking
    the cookie and being checked by the emulator, on a loaded machine (seen:
    3% of requests with three copies of this file running at once), meets a
    cookie two rotations old; it is refused once and sent again with the
    cookie from the cache, so the callers above saw no failure. With the
    default interval of 10 minutes that wait does not happen. Processes that
    do not take the rotated cookie are refused on most requests.
    """
    generate = emu.generate_requests
    refused = [r for r in emu.requests if r.status in (401, 403)]
    assert len(refused) <= max(2, len(generate) // 10), [(r.path, r.status) for r in refused]


def _sse_events(response: requests.Response) -> Iterator[tuple[str, Any]]:
    """``(event, data)`` of a ``text/event-stream`` response, as they arrive."""
    event, data = "message", ""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif not line and data:
            yield event, json.loads(data)
            event, data = "message", ""


def _stream_once(base: str, prompt: str) -> str | None:
    """One SSE request as a browser would make it; an error description, or ``None`` if all was right."""
    with requests.get(base + "/stream", params={"prompt": prompt}, stream=True, timeout=30) as response:
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        text, done = "", None
        for event, data in _sse_events(response):
            if event == "message":
                text += data["text"]
            elif event == "done":
                done = data
            else:
                return f"{event}: {data}"
    expected = default_answer(prompt).text
    if done is None or done["text"] != expected or text != expected:
        return f"wrong or incomplete answer to {prompt!r}"
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn does not run on Windows")
def test_gunicorn_with_four_workers_streams_while_rotating_once_per_interval(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.pace = 0.02  # answers take a while, so rotations happen while streams are open
    listener = socket.create_server(("127.0.0.1", 0))
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    env = _env(tmp_path / "cache", GEMINI_BASE_URL=emu.url, GEMINI_REFRESH_INTERVAL=str(INTERVAL))
    command = [sys.executable, "-m", "gunicorn", "--workers", "4", "--worker-class", "gthread"]
    command += ["--threads", "8", "--bind", f"fd://{listener.fileno()}", "--timeout", "60"]
    command += ["--chdir", str(ROOT / "examples"), "flask_sse:create_app()"]
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(command, env=env, pass_fds=[listener.fileno()], stderr=log)
    listener.close()
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    try:

        def up() -> bool:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                return requests.get(base + "/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        _wait_until(up, 30, "gunicorn to answer")
        started = time.time()
        until = time.monotonic() + 6 * INTERVAL

        def browser(i: int) -> None:
            n = 0
            while n < 2 or time.monotonic() < until:  # at least two streams each, for several intervals
                problem = _stream_once(base, f"browser {i} stream {n}")
                if problem:
                    problems.append(problem)
                n += 1

        browsers = [threading.Thread(target=browser, args=(i,)) for i in range(32)]
        for thread in browsers:
            thread.start()
        for thread in browsers:
            thread.join(45)
        assert not any(thread.is_alive() for thread in browsers)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()
    elapsed = time.time() - started
    assert problems == []
    streams = emu.generate_requests
    assert len(streams) >= 64
    _assert_refusals_rare(emu)
    # rotation ran, about once per interval for the account; uncoordinated, 4 workers would make ~4x
    assert 2 <= emu.rotations <= elapsed / INTERVAL + 1, (emu.rotations, elapsed)
