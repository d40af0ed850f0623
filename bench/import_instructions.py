"""Instructions executed by ``from gemini_sync import GeminiClient`` on top of ``import requests``.

    python bench/import_instructions.py [--against DIR]

A deterministic companion of ``import_time.py`` for a loaded machine: it
counts instructions under ``valgrind --tool=callgrind`` (the same count for
the same code, whatever else the machine does), with bytecode cached in a
private ``PYTHONPYCACHEPREFIX`` and ``PYTHONHASHSEED=0``. ``--against DIR``
also measures another checkout of the project (e.g. a ``git worktree`` of
an older commit) with the same interpreter, for a before/after figure.
Needs Debian's ``valgrind``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
_BASE = "import requests"
_FULL = "import requests; from gemini_sync import GeminiClient"


def _run(checkout: pathlib.Path, code: str, cache: str, *, valgrind: bool) -> int:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=cache, PYTHONHASHSEED="0", PYTHONPATH=str(checkout))
    command = [sys.executable, "-c", code]
    if valgrind:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.devnull, *command]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else 0


def measure(checkout: pathlib.Path) -> tuple[int, int]:
    """(instructions of ``import requests``, gemini_sync's on top of it) for ``checkout``."""
    cache = tempfile.mkdtemp(prefix="gemini-pyc-")
    try:
        _run(checkout, _FULL, cache, valgrind=False)  # compile once, as an installed package would
        base = _run(checkout, _BASE, cache, valgrind=True)
        return base, _run(checkout, _FULL, cache, valgrind=True) - base
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=pathlib.Path, help="another checkout to measure the same way")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    rows = [("this checkout", ROOT)] + (
        [("--against " + str(args.against), args.against)] if args.against else []
    )
    print(f"{'checkout':<40} {'requests':>14} {'gemini_sync on top':>20}")
    results = []
    for label, checkout in rows:
        base, ours = measure(checkout.resolve())
        results.append(ours)
        print(f"{label:<40} {base:>14,} {ours:>20,}")
    if len(results) == 2:
        print(f"ratio this / against: {results[0] / results[1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
