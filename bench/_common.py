"""Shared helpers of the benchmarks: the long answer, a started emulator, a table printer."""

from __future__ import annotations

import json
import platform
import statistics
import sys
from collections.abc import Sequence
from typing import Any

LONG_PROMPT = "bench: long answer"
_WORDS = [
    "stream",
    "frame",
    "snapshot",
    "delta",
    "naïve",
    "café",
    "日本語",
    "テキスト",
    "😀",
    "🚀",
    "Grüße",
    "ünïcödé",
    "λόγος",
    "данные",
    "```",
    "**bold**",
    "\\n",
]


#: words outside the BMP (emoji, CJK Extensions B-D): 2 UTF-16 units per character
_ASTRAL_WORDS = ["😀🚀", "𠀀𠀁𠀂", "🎉✨🎉", "𩸽定食", "🧪data", "𠮷野家", "🙂🙃", "𪚲𫝀"]


def long_snapshots(count: int = 400, final_chars: int = 16_000, *, astral: bool = False) -> list[str]:
    """``count`` cumulative snapshots growing to about ``final_chars`` characters.

    Non-ASCII text is mixed in; with ``astral`` most words are outside the BMP.
    """
    vocabulary = _ASTRAL_WORDS if astral else _WORDS
    words: list[str] = []
    size = 0
    i = 0
    while size < final_chars:
        word = vocabulary[i % len(vocabulary)] if i % 3 else f"word{i}"
        words.append(word)
        size += len(word) + 1
        i += 1
    text = " ".join(words)[:final_chars]
    step = len(text) / count
    return [text[: max(1, round(step * (n + 1)))] for n in range(count)]


class EmulatorProcess:
    """A server in a child process (``bench/_emuproc.py`` by default); a context manager."""

    def __init__(self, *args: str, script_name: str = "_emuproc.py") -> None:
        import subprocess
        from pathlib import Path

        script = Path(__file__).with_name(script_name)
        self._process = subprocess.Popen(
            [sys.executable, str(script), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        info = json.loads(self._process.stdout.readline())
        self.url: str = info["url"]
        self.cookies: dict[str, str] = info["cookies"]
        self.info: dict[str, Any] = info

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(10)


def machine() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row))
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def emit_json(name: str, results: dict[str, Any]) -> None:
    print(json.dumps({"benchmark": name, "machine": machine(), **results}, ensure_ascii=False))
