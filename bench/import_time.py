"""Cold import time of ``gemini_sync`` and time from ``GeminiClient()`` to the first chunk.

    python bench/import_time.py [--runs 15] [--json]

1. ``import gemini_sync`` in a fresh interpreter (``-X importtime`` is not used:
   each run is a new process timing its own import), median and best of ``--runs``.
2. From constructing a client to holding the first chunk, against the bundled
   emulator in a child process (``pace 0``): bootstrap (app page), the
   StreamGenerate request and the first frame, median and best of ``--runs``
   (each with a new client, so each pays the bootstrap).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EmulatorProcess, emit_json, print_table
from gemini_sync import GeminiClient

# the package imports its names lazily: time importing what a client needs, not the bare package
_SNIPPET = (
    "import time; t = time.perf_counter(); from gemini_sync import GeminiClient; "
    "print(time.perf_counter() - t)"
)


def import_times(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", _SNIPPET], capture_output=True, text=True, check=True)
        out.append(float(result.stdout) * 1000)
    return out


def first_chunk_times(runs: int) -> list[float]:
    out = []
    with EmulatorProcess("--pace", "0") as emu:
        for _ in range(runs):
            started = time.perf_counter()
            client = GeminiClient(
                cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False
            )
            stream = client.stream("Hello")
            next(iter(stream))
            out.append((time.perf_counter() - started) * 1000)
            stream.close()
            client.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    imports = import_times(args.runs)
    firsts = first_chunk_times(args.runs)
    results = {
        "import_ms": {"median": statistics.median(imports), "best": min(imports)},
        "client_to_first_chunk_ms": {"median": statistics.median(firsts), "best": min(firsts)},
    }
    if args.json:
        emit_json("import_time", results)
        return
    print_table(
        f"start-up ({args.runs} runs)",
        ["measure", "median ms", "best ms"],
        [
            ["import gemini_sync (cold, new process)", statistics.median(imports), min(imports)],
            ["GeminiClient() -> first chunk (emulator)", statistics.median(firsts), min(firsts)],
        ],
    )


if __name__ == "__main__":
    main()
