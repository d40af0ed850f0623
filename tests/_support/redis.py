"""A real ``redis-server`` for the tests: started on a free loopback port, stopped (and restarted) at will.

No persistence (``--save ''``, no AOF): a restart starts empty, as a Redis
that lost its data would. Where no ``redis-server`` binary exists the tests
that need one are skipped with the reason, except in CI (``CI=true``), where
a missing binary fails them: ``.ci/run`` installs Debian's ``redis-server``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

__all__ = ["RedisServer", "redis_binary", "serve"]

_START_TIMEOUT = 10.0


def redis_binary() -> str:
    """The ``redis-server`` to run; skips the test (fails it in CI) when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        message = "no redis-server binary (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}: CI must run the Redis tests", pytrace=False)
        pytest.skip(message)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:<port>``; :meth:`stop` and :meth:`start` again."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.directory = tempfile.mkdtemp(prefix="gemini-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait (bounded) until it answers PING."""
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        command += ["no", "--dir", self.directory, "--daemonize", "no", "--protected-mode", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + _START_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def ping(self) -> bool:
        """True if the server answers PING now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGKILL: as abrupt as a crash) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def flush(self) -> None:
        """Empty every database (between tests sharing one server)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)


def serve() -> Iterator[RedisServer]:
    """A started server for a fixture's ``yield from``; stopped after."""
    server = RedisServer(redis_binary()).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
