"""Cost of loading the pytest plugin: importing the module the ``pytest11`` entry point names.

    python bench/plugin_import.py [--runs 15]

Every pytest run in an environment where gemini-sync is installed imports the
plugin, so this is what the package costs projects that never use its
fixtures. Each run is a new interpreter that imports ``pytest`` first (pytest
has it loaded when it loads plugins), then times the import of the entry
point's module alone; prints the median and best, and what the fixtures cost
on first use (the emulator and the client imported when a fixture runs).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from importlib.metadata import entry_points

_TIMED = (
    "import time, importlib, pytest; t = time.perf_counter(); importlib.import_module({module!r}); "
    "print((time.perf_counter() - t) * 1000)"
)
_FIRST_USE = (
    "import time, pytest, {module}; t = time.perf_counter(); "
    "import gemini_sync.emulator, gemini_sync.client; print((time.perf_counter() - t) * 1000)"
)


def plugin_module() -> str:
    """The module named by gemini-sync's ``pytest11`` entry point."""
    for entry in entry_points(group="pytest11"):
        if entry.dist is not None and entry.dist.name == "gemini-sync":
            return entry.value.split(":")[0]
    raise SystemExit("gemini-sync's pytest11 entry point is not installed (pip install -e .)")


def timed(snippet: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, check=True)
        out.append(float(done.stdout))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    module = plugin_module()
    load = timed(_TIMED.format(module=module), args.runs)
    first = timed(_FIRST_USE.format(module=module), args.runs)
    print(f"pytest plugin {module} ({args.runs} runs, new interpreter each, pytest already imported)")
    rows = (("import the plugin module", load), ("first fixture use (emulator+client)", first))
    for label, figures in rows:
        print(f"  {label:37} median {statistics.median(figures):7.2f} ms  best {min(figures):7.2f} ms")


if __name__ == "__main__":
    main()
