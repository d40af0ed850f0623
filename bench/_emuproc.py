"""Run the bundled emulator in a child process, so it does not share the benchmark's GIL.

    python bench/_emuproc.py --pace 0 [--snapshots 400 --chars 16000]

Prints one JSON line ``{"url": ..., "cookies": {...}}`` and serves until stdin closes.
The long answer of :func:`bench._common.long_snapshots` is scripted for ``LONG_PROMPT``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LONG_PROMPT, long_snapshots
from gemini_sync.emulator import Emulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--snapshots", type=int, default=400)
    parser.add_argument("--chars", type=int, default=16_000)
    args = parser.parse_args()
    snapshots = long_snapshots(args.snapshots, args.chars)
    with Emulator(pace=args.pace) as emu:
        emu.script(LONG_PROMPT, text=snapshots[-1], chunks=snapshots)
        print(json.dumps({"url": emu.url, "cookies": emu.cookies}), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
