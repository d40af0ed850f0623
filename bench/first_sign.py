"""The silence a user sees before the first sign of life: time to the first chunk of any kind.

    python bench/first_sign.py [--wait 2.0] [--runs 3]

Against the in-process emulator, two ways the service keeps a user waiting:

* queued: ``--wait`` seconds of "queued" envelopes (no payload, no error
  code) before the answer starts (``Fault(queue=...)``, one every ``PACE``);
* thinking: a thinking model whose service goes quiet for ``--wait`` seconds
  right before its first thought (``Fault(stall=...)``): after the ids, and
  after the first ``"7"`` headline frame where the emulator sends one.

Printed per case: the median seconds from asking for the first chunk to
getting it, and what that chunk carried. The same file runs against an older
checkout (copy it into that checkout's ``bench/``) to measure before/after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gemini_sync
from gemini_sync import GeminiClient, Model
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.faults import Fault
from gemini_sync.protocol import payload

PACE = 0.05  # seconds between the emulator's frames (and between "queued" envelopes)
HAS_HEADLINES = hasattr(payload, "activity_field")  # this checkout's emulator sends "7" headline frames


def _what(chunk: object) -> str:
    status = getattr(chunk, "status", None)
    if status is not None:
        return f"status {status}"
    for name in ("delta_thoughts", "delta_text"):
        if getattr(chunk, name, ""):
            return name
    return "empty"


def _first_chunk(client: GeminiClient, prompt: str, model: Model | None) -> tuple[float, str]:
    stream = client.stream(prompt, **({"model": model} if model is not None else {}))
    with stream:
        started = time.monotonic()
        first = next(iter(stream))
        return time.monotonic() - started, _what(first)


def run(wait: float, runs: int) -> None:
    thought_frame = 2 if HAS_HEADLINES else 1  # the index of the first thought's data frame
    cases = {
        "queued": (Fault(queue=max(1, round(wait / PACE))), None),
        "thinking": (Fault(stall=wait, after_frames=thought_frame), Model.G_3_FLASH_THINKING),
    }
    print(f"gemini_sync at {Path(gemini_sync.__file__).parent.parent}; wait {wait:g}s, median of {runs}")
    print(f"{'case':<10} {'first chunk after':>18}  first chunk")
    with Emulator(pace=PACE) as emu:
        client = GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False)
        with client:
            for name, (fault, model) in cases.items():
                times, what = [], ""
                for n in range(runs):
                    emu.add_fault(fault)
                    seconds, what = _first_chunk(client, f"{name} {n}", model)
                    times.append(seconds)
                print(f"{name:<10} {statistics.median(times):>17.3f}s  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=2.0, help="seconds the service keeps the user waiting")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(args.wait, args.runs)


if __name__ == "__main__":
    main()
