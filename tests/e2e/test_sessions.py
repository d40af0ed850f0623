"""Sessions that last: device-bound cookies that die, the ``cookies=`` callable, the hint in the error.

The emulator plays a device-bound session (``bind_session``): the exported
``__Secure-1PSIDTS`` dies and its rotation is refused, as working clients
report for Chrome's bound cookies. A ``cookies=`` callable is then asked for
fresh cookies once per refusal, however many threads were refused at once,
and, through the cookie cache, however many processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient, errors
from gemini_sync._constants import PSIDTS, ROTATE_COOKIES_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.transport import cache
from gemini_sync.transport.auth import BOUND_ADVICE

THREADS = 16


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cookie-cache"
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(directory))
    return directory


class Store:
    """A secret store: the cookies it holds now, and how often it was read."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.reads = 0
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        with self._lock:
            self.reads += 1
        return self.emu.cookies  # a fresh export: the emulator's current values


def test_bound_cookies_die_and_the_error_says_why(emu: Emulator) -> None:
    emu.bind_session(requests=3)
    with GeminiClient(
        cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False
    ) as client:
        client.generate_content("one")  # the page and one answer: two uses
        with pytest.raises(errors.AuthError) as info:
            for n in range(3):
                client.generate_content(f"more {n}")
    assert BOUND_ADVICE in str(info.value) and "Firefox" in str(info.value)
    assert "rotation was refused" in str(info.value)
    assert emu.bound_expiries == 1 and emu.rotations == 0
    assert emu.requests_to(ROTATE_COOKIES_PATH)[-1].status == 401


def test_a_rotation_without_a_new_value_is_a_sign_too(emu: Emulator) -> None:
    emu.bind_session(rotation="empty")
    with GeminiClient(
        cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False
    ) as client:
        client.init()
        emu.end_bound_session()
        with pytest.raises(errors.AuthError, match="without a new __Secure-1PSIDTS"):
            client.generate_content("hi")


def test_the_callable_is_called_once_per_refusal_under_16_threads(emu: Emulator, cache_dir: Path) -> None:
    emu.bind_session()
    store = Store(emu)
    with GeminiClient(cookies=store, base_url=emu.url, auto_refresh=False) as client:
        assert client.cookie_source == "cookies callable" and store.reads == 1
        client.init()
        emu.end_bound_session()  # every thread's first request is refused
        barrier = threading.Barrier(THREADS)
        results: list[str] = []

        def ask(n: int) -> None:
            barrier.wait(5)
            results.append(client.generate_content(f"thread {n}").text)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == THREADS
        assert store.reads == 2  # once at the start, once for the refusal
        assert client.api.refresher is not None and client.api.refresher.renewals == 1
        refused = [r for r in emu.generate_requests if r.status == 401]
        assert refused and emu.rotations == 0
        newest = cache.newest_cache(cache_dir)
        assert newest is not None and cache.load_cookies(newest)[PSIDTS] == emu.cookies[PSIDTS]
        emu.end_bound_session()  # a second refusal: a second call
        client.generate_content("again")
        assert store.reads == 3


@pytest.fixture
def workers(
    emu: Emulator, cache_dir: Path, tmp_path: Path
) -> Iterator[tuple[list[subprocess.Popen[str]], Path]]:
    store = tmp_path / "secret.json"
    store.write_text(json.dumps(emu.cookies))
    env = {**os.environ, "GEMINI_COOKIE_PATH": str(cache_dir)}
    env.pop("GEMINI_BASE_URL", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._renewal_worker", emu.url, str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(2)
    ]
    try:
        yield procs, store
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def test_two_processes_share_one_renewal_through_the_cache(
    emu: Emulator, workers: tuple[list[subprocess.Popen[str]], Path]
) -> None:
    procs, store = workers
    emu.bind_session()
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    emu.end_bound_session()
    store.write_text(json.dumps(emu.cookies))  # the store now holds a fresh export
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        outputs.append(out.strip())
    renewals = [int(line.split()[1]) for line in outputs]
    assert all(line.startswith("ok") for line in outputs), outputs
    assert sum(renewals) == 1, outputs  # one process asked its store; the other took the cache


def _heartbeats(emu: Emulator) -> list[object]:
    return [r for r in emu.requests if "ESY5D" in r.rpcids]


def test_no_heartbeat_by_default(emu: Emulator, gemini_client_factory: Any) -> None:
    client = gemini_client_factory()
    client.generate_content("hi")
    assert client.api.heartbeat is None and not _heartbeats(emu)


def test_a_heartbeat_is_sent_when_idle_and_stops_with_the_client(
    emu: Emulator, gemini_client_factory: Any
) -> None:
    client = gemini_client_factory(heartbeat=0.05)
    client.generate_content("hi")
    deadline = time.monotonic() + 5
    while not _heartbeats(emu) and time.monotonic() < deadline:
        emu.wait_for_requests(len(emu.requests) + 1, timeout=0.5)
    beats = _heartbeats(emu)
    assert beats and beats[0].calls[0].payload == [[["bard_activity_enabled"]]]  # type: ignore[attr-defined]
    client.close()
    after = len(_heartbeats(emu))
    assert not emu.wait_for_requests(len(emu.requests) + 1, timeout=0.2) and len(_heartbeats(emu)) == after
