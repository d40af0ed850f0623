"""Cookie rotations per interval of one account when 1, 4 and 8 hosts share it through Redis.

Each "host" is a process with its own cookie cache directory (so no file lock
is shared between them) and one ``GeminiClient`` whose rotation goes through
``RedisState(url, secret_key=...).rotation``; it asks the bundled emulator
(which checks ``__Secure-1PSIDTS`` strictly) a question every 50 ms. Once every
host had its first answer, the emulator's rotation counter is read over
``--duration`` seconds: rotations per interval for the whole account (1.0 is
the goal; hosts rotating on their own give about N, and refuse each other's
cookies). Failed answers are counted too. A ``redis-server`` binary is
started on a free loopback port for the run (Debian: ``apt-get install redis-server``).

    python bench/redis_rotation.py [--interval 1] [--duration 8] [--hosts 1 4 8] [--uncoordinated]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from gemini_sync.emulator import Emulator

_HOST = """
import sys, threading
from gemini_sync import GeminiClient, errors
from gemini_sync.pool import RedisState
from gemini_sync.transport import cache
url, redis_url, interval, coordinated = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
cookies = {"__Secure-1PSID": "emulator-psid", "__Secure-1PSIDTS": "emulator-psidts"}
state = RedisState(redis_url, secret_key="bench secret key, 16+ bytes", sync_interval=0.05)
options = {"rotation": state.rotation} if coordinated else {}
client = GeminiClient(cookies=cookies, base_url=url, refresh_interval=interval, **options)
first, failed = True, 0
while not stop.is_set():
    try:
        client.generate_content("ping")
    except errors.GeminiError:
        failed += 1
    if first:
        print("ready", flush=True)
        first = False
    stop.wait(0.05)
client.close()
print(f"failed {failed}", flush=True)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A ``redis-server`` on a free loopback port, answering; and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server binary: apt-get install redis-server")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return server, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        if time.monotonic() > end:
            server.kill()
            raise SystemExit("redis-server did not start")
        time.sleep(0.02)


def _flush(redis_url: str) -> None:
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"FLUSHALL\r\n")
        conn.recv(16)


def measure(
    hosts: int, interval: float, duration: float, redis_url: str, coordinated: bool
) -> tuple[float, int]:
    """Rotations per interval of the account with ``hosts`` hosts, and the answers that failed."""
    with Emulator(pace=0.0, psidts=Emulator.PSIDTS) as emu, tempfile.TemporaryDirectory() as root:
        workers = []
        for n in range(hosts):
            env = {**os.environ, "GEMINI_COOKIE_PATH": os.path.join(root, f"host-{n}")}
            args = [emu.url, redis_url, str(interval), "1" if coordinated else "0"]
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", _HOST, *args],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=root,
                )
            )
        failed = 0
        try:
            for worker in workers:
                assert worker.stdout is not None
                if worker.stdout.readline().strip() != "ready":
                    raise RuntimeError("a host failed to start")
            before = emu.rotations
            time.sleep(duration)  # the measuring window itself, not synchronisation
            rotations = emu.rotations - before
        finally:
            for worker in workers:
                if worker.stdin is not None:
                    worker.stdin.close()
            for worker in workers:
                assert worker.stdout is not None
                out = worker.stdout.read()
                worker.wait(30)
                failed += sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("failed"))
    return rotations / (duration / interval), failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0, help="refresh interval (s)")
    parser.add_argument("--duration", type=float, default=8.0, help="measuring window (s)")
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--uncoordinated", action="store_true", help="hosts rotate on their own (the baseline)"
    )
    args = parser.parse_args(argv)
    server, redis_url = start_redis()
    try:
        kind = "uncoordinated" if args.uncoordinated else "through Redis"
        print(f"interval {args.interval:g} s, window {args.duration:g} s, hosts {kind}")
        print("| hosts | rotations per interval | failed answers |")
        print("|---|---|---|")
        for count in args.hosts:
            _flush(redis_url)  # each run is a new account: nothing of the last one may be adopted
            rate, failed = measure(count, args.interval, args.duration, redis_url, not args.uncoordinated)
            print(f"| {count} | {rate:.2f} | {failed} |", flush=True)
    finally:
        server.kill()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
