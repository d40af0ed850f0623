"""The silence a user of the ``gemini-sync`` command sees before its first sign of life.

    python bench/cli_first_sign.py [--wait 2.0] [--runs 3] [--checkout DIR]

Runs ``python -m gemini_sync "prompt"`` the way a person does, with stdout
and stderr each on a pseudo-terminal, against an in-process emulator (this
checkout's) that keeps the user waiting ``--wait`` seconds in one of two ways:

* queued: every answer stays "queued" that long first (``queue_seconds``);
* thinking: a thinking model whose service goes quiet that long after its
  first ``"7"`` headline frame (``Fault(stall=...)``), as in
  ``bench/first_sign.py``;
* none: no wait, the command's own start-up and round trip (the floor).

Printed per case, median of ``--runs``, in seconds from starting the command:
the first byte on either terminal (the first sign of life), the first byte of
the answer on stdout, and what the first sign was. ``--checkout DIR`` runs
the command of another checkout (e.g. ``git archive main gemini_sync | tar -x
-C /tmp/before``), against the same emulator, to measure before/after.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gemini_sync.emulator import Emulator
from gemini_sync.emulator.faults import Fault

PACE = 0.05  # seconds between the emulator's frames
BOUND = 60.0  # seconds after which a run is a hang


def _first_bytes(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run ``command`` on two terminals; seconds to the first byte on either, to stdout's, and that byte."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=out_slave,
        stderr=err_slave,
        env=env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(out_slave)
    os.close(err_slave)
    first = first_out = 0.0
    what = ""
    open_ends = [out_master, err_master]
    try:
        while open_ends and not first_out and time.monotonic() - started < BOUND:
            ready, _, _ = select.select(open_ends, [], [], BOUND)
            for end in ready:
                try:
                    data = os.read(end, 4096)
                except OSError:  # the command exited
                    data = b""
                if not data:
                    open_ends.remove(end)
                    continue
                now = time.monotonic() - started
                if not first:
                    first = now
                    stream = "stdout" if end == out_master else "stderr"
                    what = f"{stream}: {data.decode('utf-8', 'replace').strip()[:40]!r}"
                if end == out_master and not first_out:
                    first_out = now
    finally:
        process.kill()
        process.wait()
        os.close(out_master)
        os.close(err_master)
    return first, first_out, what


def run(wait: float, runs: int, checkout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    env.update(PYTHONPATH=str(checkout), TERM="dumb", GEMINI_COOKIE_PATH=os.devnull)
    command = [sys.executable, "-m", "gemini_sync"]
    probe = subprocess.run(
        [sys.executable, "-c", "import gemini_sync; print(gemini_sync.__file__)"],
        env=env,
        cwd=checkout,  # python -m puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"the command of {Path(probe.stdout.strip()).parent.parent}; wait {wait:g}s, median of {runs}")
    print(f"{'case':<10} {'first sign':>11} {'first text':>11}  first sign was")
    with Emulator(pace=PACE) as emu:
        env.update(GEMINI_BASE_URL=emu.url, GEMINI_SECURE_1PSID=emu.cookies["__Secure-1PSID"])
        for name in ("none", "queued", "thinking"):
            firsts, texts, what = [], [], ""
            for n in range(runs):
                emu.queue_seconds = wait if name == "queued" else 0.0
                model: list[str] = []
                if name == "thinking":
                    emu.add_fault(Fault(stall=wait, after_frames=2))
                    model = ["-m", "gemini-3-flash-thinking"]
                first, text, what = _first_bytes([*command, *model, f"{name} {n}"], env, checkout)
                firsts.append(first)
                texts.append(text)
            first, text = statistics.median(firsts), statistics.median(texts)
            print(f"{name:<10} {first:>10.3f}s {text:>10.3f}s  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=2.0, help="seconds the service keeps the user waiting")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--checkout",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose gemini_sync command to run (default: this one)",
    )
    args = parser.parse_args()
    run(args.wait, args.runs, args.checkout.resolve())


if __name__ == "__main__":
    main()
