"""Cookie rotations per interval seen by one account when 1, 4 and 8 processes share it.

Each process makes one ``GeminiClient`` (cookie cache on, rotation every
``--interval`` seconds, one shared ``GEMINI_COOKIE_PATH``) and asks the
bundled emulator a question every 50 ms, as a busy web worker would. Once
every process has had its first answer, the emulator's rotation counter is
read over ``--duration`` seconds; the figure is rotations per interval for the
whole account (1.0 is the goal; uncoordinated processes give about N).

    python bench/rotation_processes.py [--interval 1] [--duration 8] [--processes 1 4 8]

To measure another checkout (e.g. ``main`` before the change), put it first
on ``PYTHONPATH``; the emulator and the workers then both come from there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from gemini_sync.emulator import Emulator

_WORKER = """
import sys, threading
from gemini_sync import GeminiClient
url, interval = sys.argv[1], float(sys.argv[2])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
cookies = {"__Secure-1PSID": "emulator-psid", "__Secure-1PSIDTS": "emulator-psidts"}
client = GeminiClient(cookies=cookies, base_url=url, refresh_interval=interval)
first = True
while not stop.is_set():
    client.generate_content("ping")
    if first:
        print("ready", flush=True)
        first = False
    stop.wait(0.05)
client.close()
"""


def measure(processes: int, interval: float, duration: float) -> float:
    """Rotations per interval of the account, with ``processes`` workers on one cookie cache."""
    with Emulator(pace=0.0) as emu, tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "GEMINI_COOKIE_PATH": cache_dir}
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, emu.url, str(interval)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=cache_dir,  # not the checkout: ``-c`` puts the working directory first on sys.path
            )
            for _ in range(processes)
        ]
        try:
            for worker in workers:
                assert worker.stdout is not None
                if worker.stdout.readline().strip() != "ready":
                    raise RuntimeError("a worker failed to start")
            before = emu.rotations
            time.sleep(duration)  # the measuring window itself, not synchronisation
            rotations = emu.rotations - before
        finally:
            for worker in workers:
                if worker.stdin is not None:
                    worker.stdin.close()
            for worker in workers:
                worker.wait(30)
    return rotations / (duration / interval)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0, help="refresh interval (s)")
    parser.add_argument("--duration", type=float, default=8.0, help="measuring window (s)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args(argv)
    print(f"interval {args.interval:g} s, window {args.duration:g} s")
    print("| processes | rotations per interval |")
    print("|---|---|")
    for count in args.processes:
        print(f"| {count} | {measure(count, args.interval, args.duration):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
