"""Four processes as four hosts (each its own cookie cache) sharing one real Redis and two accounts.

Each account is an emulator that checks ``__Secure-1PSIDTS`` strictly (the
current value and the one before the last rotation), so a host that did not
take a cookie rotated elsewhere is refused within two rotations. Rotation runs
at a short interval; the bounds allow one rotation per interval of wall time
plus one, per account, where hosts rotating on their own would make four.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gemini_sync._constants import PSIDTS
from gemini_sync.emulator import Emulator, Fault
from tests._support.pool_host import psid_of
from tests._support.redis import RedisServer, serve

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.5
HOSTS = 4
LOCK_TIMEOUT = 1.5


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from serve()


@pytest.fixture
def accounts() -> Iterator[list[Emulator]]:
    emus = [Emulator(pace=0.001, psid=psid_of(i), psidts=Emulator.PSIDTS).start() for i in range(2)]
    yield emus
    for emu in emus:
        emu.stop()


def _wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


class Host:
    """One host process and its output lines, read by a thread as they come."""

    def __init__(self, redis_url: str, urls: list[str], cache_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
        env.update(GEMINI_COOKIE_PATH=str(cache_dir), PYTHONPATH=str(ROOT))
        args = [redis_url, str(INTERVAL), "0.03", str(LOCK_TIMEOUT), *urls]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests._support.pool_host", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def count(self, prefix: str) -> int:
        return sum(1 for line in list(self.lines) if line.startswith(prefix))

    def errors(self) -> list[str]:
        return [line for line in list(self.lines) if line.startswith("error")]

    def stop(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def start_hosts(tmp_path: Path) -> Iterator[Any]:
    hosts: list[Host] = []

    def start(redis_url: str, urls: list[str]) -> list[Host]:
        hosts.extend(Host(redis_url, urls, tmp_path / f"host-{i}") for i in range(HOSTS))
        _wait_until(lambda: all(h.count("ok") for h in hosts), 30, "every host's first answer")
        return hosts

    yield start
    for host in hosts:
        host.stop()


def _answering(hosts: list[Host], more: int, timeout: float, what: str) -> None:
    before = [h.count("ok") for h in hosts]
    try:
        _wait_until(
            lambda: all(h.count("ok") >= n + more for h, n in zip(hosts, before, strict=True)), timeout, what
        )
    except pytest.fail.Exception:
        now = [h.count("ok") for h in hosts]
        last = [h.lines[-3:] for h in hosts]
        pytest.fail(f"{what}: answers per host before {before}, now {now}; last lines {last}")


def test_four_hosts_rotate_each_account_once_per_interval_and_survive_a_killed_lock_holder(
    redis_server: RedisServer, accounts: list[Emulator], start_hosts: Any
) -> None:
    started = time.time()
    hosts = start_hosts(redis_server.url, [emu.url for emu in accounts])
    _wait_until(lambda: all(emu.rotations >= 3 for emu in accounts), 30, "three rotations of each account")
    _answering(hosts, 3, 15, "answers after the rotations")
    for emu in accounts:  # hosts rotating on their own would make four per interval
        assert emu.rotations <= (time.time() - started) / INTERVAL + 1, emu.rotations
    for emu in accounts:
        _assert_cookies_shared(emu)

    # a host gets stuck inside a rotation of account 0, holding its locks; then it is killed
    first = accounts[0]
    first.add_fault(Fault(path="/RotateCookies", stall=60))
    _wait_until(lambda: any(r.fault for r in first.requests_to("/RotateCookies")), 10, "a stuck rotation")
    (stuck,) = [r for r in first.requests_to("/RotateCookies") if r.fault]
    holder = next(h for h in hosts if str(h.process.pid) == stuck.headers["X-Worker-Pid"])
    others = [h for h in hosts if h is not holder]
    rotations = first.rotations
    holder.process.kill()
    holder.process.wait(10)
    _wait_until(lambda: first.rotations >= rotations + 2, 15, "rotations after the holder was killed")
    _answering(others, 3, 15, "answers with the cookies rotated after the kill")
    for emu in accounts:
        assert emu.rotations <= (time.time() - started) / INTERVAL + 1, emu.rotations
    for host in others:
        host.stop()
    assert [e for h in others for e in h.errors()] == []
    _assert_refusals_rare(accounts)


def test_redis_stopped_mid_run_and_restarted_fails_no_stream(
    redis_server: RedisServer, accounts: list[Emulator], start_hosts: Any
) -> None:
    hosts = start_hosts(redis_server.url, [emu.url for emu in accounts])
    _wait_until(lambda: all(emu.rotations >= 2 for emu in accounts), 30, "two rotations of each account")
    _hold_rotation_locks(redis_server.url, len(accounts))  # no rotation is in flight at the stop
    redis_server.stop()
    during = [emu.rotations for emu in accounts]
    _answering(hosts, 5, 15, "answers while Redis is down")
    redis_server.start()  # on the same port, empty: the hosts write their state back
    after = [emu.rotations for emu in accounts]
    assert [a - d for a, d in zip(after, during, strict=True)] == [0, 0]  # nobody rotated alone meanwhile
    _wait_until(
        lambda: all(emu.rotations >= n + 2 for emu, n in zip(accounts, after, strict=True)),
        15,
        "rotations once Redis is back",
    )
    _answering(hosts, 3, 15, "answers once Redis is back")
    for host in hosts:
        host.stop()
    assert [e for h in hosts for e in h.errors()] == []
    _assert_refusals_rare(accounts)


def _hold_rotation_locks(redis_url: str, count: int) -> None:
    """Take each account's rotation lock in Redis as the hosts do, waiting (bounded) for a rotation in flight.

    A rotation holds the lock until it is published, so once the test holds
    them all, a rotation counted later was made without Redis (the lock's key
    is the coordinator's: ``<prefix>:rot:<sha256(psid)[:24]>:lock``).
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for index in range(count):
            account = hashlib.sha256(psid_of(index).encode()).hexdigest()[:24]
            lock = client.lock(f"gemini_sync:rot:{account}:lock", timeout=60, sleep=0.01)
            assert lock.acquire(blocking_timeout=10), "a rotation lock held for 10 s"
    finally:
        client.close()


def _assert_cookies_shared(emu: Emulator) -> None:
    """Most rotated ``__Secure-1PSIDTS`` values were sent by several hosts: taken from Redis.

    Each host has its own cookie cache, so a value one host rotated reaches
    another only through Redis (hosts that rotated on their own would each use
    values no other host ever sent).
    """
    users: dict[str, set[str]] = {}
    for request in emu.generate_requests:
        value = request.cookies.get(PSIDTS, "")
        if request.status == 200 and value != Emulator.PSIDTS:
            users.setdefault(value, set()).add(request.headers["X-Worker-Pid"])
    shared = [value for value, pids in users.items() if len(pids) > 1]
    assert users and len(shared) * 2 >= len(users), {v[:8]: len(p) for v, p in users.items()}


def _assert_refusals_rare(accounts: list[Emulator]) -> None:
    """The hosts used cookies the accounts accepted (rare, recovered refusals aside: see test_deployment)."""
    for emu in accounts:
        refused = [r for r in emu.requests if r.status in (401, 403)]
        assert len(refused) <= max(2, len(emu.generate_requests) // 10), [(r.path, r.status) for r in refused]
