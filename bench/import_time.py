"""Cold import time of ``gemini_sync``, what it is made of, and ``GeminiClient()`` to first chunk.

    python bench/import_time.py [--runs 15] [--no-bytecode] [--json]

1. ``from gemini_sync import GeminiClient`` (the package itself imports its
   names lazily, so this is what a program that streams imports) in a fresh
   interpreter timing its own import, median
   and best of ``--runs``, wall clock and CPU time. Interleaved with those, as
   many fresh interpreters that import ``requests`` first and then
   ``gemini_sync``: ``requests``' own share and what ``gemini_sync`` adds on
   top, measured in the same runs so machine load weighs on both alike.
2. What remains on top of ``requests``: the modules it does not import, median
   self time of each over ``-X importtime`` runs, largest first.
3. What first use pays instead: the first ``to_json()`` (imports dataclasses-json).
4. From constructing a client to holding the first chunk, against the bundled
   emulator in a child process (``pace 0``): bootstrap (app page), the
   StreamGenerate request and the first frame (each with a new client); and a
   whole script in a fresh interpreter (import, client, first chunk), which
   pays what the import deferred to the first stream.

Bytecode is cached as in an installed package (compiled once into a private
``PYTHONPYCACHEPREFIX`` before timing, even when ``PYTHONDONTWRITEBYTECODE`` is
set); ``--no-bytecode`` times compiling every module from source instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EmulatorProcess, emit_json, print_table
from gemini_sync import GeminiClient

_ROOT = Path(__file__).resolve().parent.parent
_IMPORT = "from gemini_sync import GeminiClient"
_DEFERRED = (
    "dataclasses_json",
    "marshmallow",
    "tenacity",
    "filelock",
    "gemini_sync.emulator",
    "gemini_sync.cli",
)
_TOP_REMAINING = 12


def _python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a fresh interpreter in the checkout, so it imports this checkout's ``gemini_sync``."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env, cwd=_ROOT
    )


def _environment(bytecode: bool, cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def _probe(env: dict[str, str], *statements: str) -> list[tuple[float, float]]:
    """Run ``statements`` in one fresh interpreter: ``(wall ms, CPU ms)`` of each.

    CPU time (``time.process_time``) is the steadier figure on a shared machine:
    it leaves out the time the process waits for a core.
    """
    lines = ["import time", "_m = [(time.perf_counter(), time.process_time())]"]
    for statement in statements:
        lines += [statement, "_m.append((time.perf_counter(), time.process_time()))"]
    lines.append("print(*((b[i] - a[i]) * 1000 for a, b in zip(_m, _m[1:]) for i in (0, 1)))")
    values = [float(v) for v in _python(env, "-c", "\n".join(lines)).stdout.split()]
    return [(values[i], values[i + 1]) for i in range(0, len(values), 2)]


def import_times(env: dict[str, str], runs: int) -> dict[str, list[tuple[float, float]]]:
    """The client's import alone, and split into ``requests`` then the rest, interleaved."""
    out: dict[str, list[tuple[float, float]]] = {"alone": [], "requests": [], "rest": []}
    for _ in range(runs):
        out["alone"] += _probe(env, _IMPORT)
        first, rest = _probe(env, "import requests", _IMPORT)
        out["requests"].append(first)
        out["rest"].append(rest)
    return out


def _importtime(env: dict[str, str], statement: str) -> list[tuple[str, float]]:
    """``(module, self ms)`` of every import ``statement`` attempts (``-X importtime``)."""
    rows = []
    for line in _python(env, "-X", "importtime", "-c", statement).stderr.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and fields[0].startswith("import time:") and "self" not in fields[0]:
            rows.append((fields[2].strip(), int(fields[0].split(":")[1]) / 1000))
    return rows


def remaining_modules(env: dict[str, str], runs: int) -> tuple[list[tuple[str, float]], list[str]]:
    """Median self time (ms) of each module the client's import adds to ``requests``, and the
    deferred modules that were imported anyway (should be none)."""
    shared = {name for name, _ in _importtime(env, "import requests")}
    selfs: dict[str, list[float]] = defaultdict(list)
    loaded: set[str] = set()
    for _ in range(runs):
        for name, self_ms in _importtime(env, _IMPORT):
            loaded.add(name)
            if name not in shared:
                selfs[name].append(self_ms)
    medians = sorted(((name, statistics.median(v)) for name, v in selfs.items()), key=lambda r: -r[1])
    leaked = sorted(m for m in loaded if any(m == d or m.startswith(d + ".") for d in _DEFERRED))
    return medians, leaked


def first_json_times(env: dict[str, str], runs: int) -> list[tuple[float, float]]:
    """The first ``to_json()`` of a process that imported ``gemini_sync`` (it loads dataclasses-json)."""
    setup = f"{_IMPORT}; from gemini_sync import StreamChunk; chunk = StreamChunk('hi')"
    return [_probe(env, setup, "chunk.to_json()")[1] for _ in range(runs)]


def first_chunk_times(env: dict[str, str], runs: int) -> tuple[list[float], list[tuple[float, float]]]:
    """``GeminiClient()`` to first chunk in this (warm) process, and a whole cold script.

    The cold script is a fresh interpreter that imports ``gemini_sync``, builds a
    client and takes the first chunk: it pays whatever the import deferred and a
    stream needs (tenacity), and nothing it does not (dataclasses-json, filelock).
    """
    warm: list[float] = []
    cold: list[tuple[float, float]] = []
    with EmulatorProcess("--pace", "0") as emu:
        script = (
            f"client = GeminiClient(cookies={emu.cookies!r}, base_url={emu.url!r}, "
            "auto_refresh=False, cookie_cache=False); stream = client.stream('Hello'); "
            "next(iter(stream)); stream.close(); client.close()"
        )
        for _ in range(runs):
            started = time.perf_counter()
            client = GeminiClient(
                cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False
            )
            stream = client.stream("Hello")
            next(iter(stream))
            warm.append((time.perf_counter() - started) * 1000)
            stream.close()
            client.close()
            (iw, ic), (sw, sc) = _probe(env, _IMPORT, script)
            cold.append((iw + sw, ic + sc))
    return warm, cold


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "best": min(values)}


def _row(label: str, samples: Sequence[tuple[float, float]]) -> list[object]:
    wall, cpu = [w for w, _ in samples], [c for _, c in samples]
    return [label, statistics.median(wall), min(wall), statistics.median(cpu)]


def _json(samples: Sequence[tuple[float, float]]) -> dict[str, dict[str, float]]:
    return {"wall": _stats([w for w, _ in samples]), "cpu": _stats([c for _, c in samples])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module from source")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gemini-sync-pyc-") as cache_dir:
        env = _environment(not args.no_bytecode, cache_dir)
        # fill the bytecode cache, what first use imports included
        _python(env, "-c", f"{_IMPORT}; import requests, dataclasses_json, tenacity, filelock")
        imports = import_times(env, args.runs)
        remaining, leaked = remaining_modules(env, max(5, args.runs // 2))
        first_json = first_json_times(env, max(5, args.runs // 2))
        firsts, cold_scripts = first_chunk_times(env, args.runs)
    rest_total = sum(ms for _, ms in remaining)
    if args.json:
        emit_json(
            "import_time",
            {
                "bytecode_cached": not args.no_bytecode,
                "import_ms": _json(imports["alone"]),
                "requests_share_ms": _json(imports["requests"]),
                "on_top_of_requests_ms": _json(imports["rest"]),
                "remaining_self_ms": dict(remaining[:_TOP_REMAINING]),
                "deferred_but_imported": leaked,
                "first_to_json_ms": _json(first_json),
                "client_to_first_chunk_ms": _stats(firsts),
                "cold_script_to_first_chunk_ms": _json(cold_scripts),
            },
        )
        return
    cached = "bytecode cached" if not args.no_bytecode else "compiled from source"
    print_table(
        f"start-up ({args.runs} runs each, fresh interpreters, {cached})",
        ["measure", "median ms", "best ms", "median CPU ms"],
        [
            _row("from gemini_sync import GeminiClient (cold, new process)", imports["alone"]),
            _row("  of which: import requests (same runs)", imports["requests"]),
            _row("  of which: gemini_sync on top of requests", imports["rest"]),
            _row("first to_json() after import (loads dataclasses-json)", first_json),
            ["GeminiClient() -> first chunk (emulator)", statistics.median(firsts), min(firsts), "-"],
            _row("new process: import, GeminiClient(), first chunk", cold_scripts),
        ],
    )
    print_table(
        f"on top of requests: largest modules by median self time (-X importtime, all: {rest_total:.1f} ms)",
        ["module", "self ms"],
        remaining[:_TOP_REMAINING],
    )
    print(f"\ndeferred to first use, imported anyway: {', '.join(leaked) or 'none'}")


if __name__ == "__main__":
    main()
