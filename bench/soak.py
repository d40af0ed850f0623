"""Soak test: many threads streaming through one shared client while faults rain down.

    python bench/soak.py [--threads 64] [--seconds 60] [--json]

N threads share one :class:`~gemini_sync.GeminiClient` and stream answers from
the bundled emulator (run in a child process, so it does not share this
process's GIL) for T seconds. Each stream draws a fault at random:

===========  ===============================================  ==================
kind         injected                                         expected outcome
===========  ===============================================  ==================
none         nothing                                          the answer
1013         error 1013 before data, first attempt only       the answer (retry)
429          HTTP 429 + Retry-After: 0, first attempt only    the answer (retry)
500          HTTP 500, first attempt only                     the answer (retry)
stall-short  a pause shorter than the watchdog, after data    the answer
stall-long   a stall longer than the watchdog, before data    the answer (retry)
cut          disconnect after content, turn saved server-side the answer (recovery)
flicker      withdrawn volatile tails                         the answer
1037         error 1037 after data                            UsageLimitExceeded
===========  ===============================================  ==================

Every answer is checked (joined deltas == final text == the scripted text;
an error's ``.partial`` is what was streamed), and the emulator counts the
StreamGenerate requests each prompt caused (a retry after content, or a
duplicated turn, is an unexpected outcome). Prints streams completed, errors
by type (expected or not), p50/p99 time to first chunk, p50/p99 stream time
and peak RSS; exits 1 if anything unexpected happened.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, percentile, print_table
from gemini_sync import GeminiClient, RetryPolicy, errors

TEXT = (
    "Soak answer: naïve café, 日本語のテキスト, emoji 😀🚀 outside the BMP.\n\n"
    "```python\ndef soak(n: int) -> int:\n    return n * 2  # 👍\n```\n\n"
    "Ελληνικά, русский, 한국어, and a **bold** ending. "
) * 2
CHUNKS = 10
PREFIX = "soak"
STALL_TIMEOUT = 1.0
STALL_SHORT = 0.2
STALL_LONG = 2.0 * STALL_TIMEOUT
CUT_AFTER = 1500  # bytes: well after the first text frame, before the end

#: kind -> (exceptions expected, StreamGenerate requests the emulator must have accepted)
KINDS: dict[str, tuple[tuple[str, ...], int]] = {
    "none": ((), 1),
    "1013": ((), 2),
    "429": ((), 1),  # the refused attempt is answered before the request is accepted
    "500": ((), 1),
    "stall-short": ((), 1),
    "stall-long": ((), 2),
    "cut": ((), 1),
    "flicker": ((), 1),
    "1037": (("UsageLimitExceeded",), 1),
}


# --- the emulator side (child process) ------------------------------------------------------------


def serve(pace: float) -> None:
    """Run the emulator with prompt-selected faults; print stats when stdin closes."""
    from gemini_sync.emulator import Emulator, Fault

    lock = threading.Lock()
    accepted: Counter[str] = Counter()
    first_seen: set[str] = set()

    def answer(prompt: str) -> bool:
        with lock:
            accepted[prompt] += 1
        return prompt.startswith(PREFIX)

    def first_attempt_of(kind: str) -> Any:
        def match(prompt: str) -> bool:
            if not prompt.startswith(f"{PREFIX} {kind} "):
                return False
            with lock:
                if prompt in first_seen:
                    return False
                first_seen.add(prompt)
                return True

        return match

    def every(kind: str) -> Any:
        return lambda prompt: prompt.startswith(f"{PREFIX} {kind} ")

    with Emulator(pace=pace) as emu:
        emu.script(answer, text=TEXT, chunks=CHUNKS)
        emu.add_fault(Fault(code=1013), times=None, match=first_attempt_of("1013"))
        emu.add_fault(
            Fault(status=429, headers={"Retry-After": "0"}), times=None, match=first_attempt_of("429")
        )
        emu.add_fault(Fault(status=500), times=None, match=first_attempt_of("500"))
        emu.add_fault(Fault(stall=STALL_SHORT, after_frames=2), times=None, match=every("stall-short"))
        emu.add_fault(Fault(stall=STALL_LONG), times=None, match=first_attempt_of("stall-long"))
        emu.add_fault(
            Fault(disconnect_after_bytes=CUT_AFTER, finish_server_side=True), times=None, match=every("cut")
        )
        emu.add_fault(Fault(flicker=True), times=None, match=every("flicker"))
        emu.add_fault(Fault(code=1037, after_frames=3), times=None, match=every("1037"))
        print(json.dumps({"url": emu.url, "cookies": emu.cookies}), flush=True)

        stop = threading.Event()

        def forget_requests() -> None:  # the journal would grow for the whole run
            while not stop.wait(2.0):
                emu.clear_requests()

        janitor = threading.Thread(target=forget_requests, daemon=True)
        janitor.start()
        sys.stdin.read()
        stop.set()
        saved: Counter[str] = Counter()
        conversations = emu.conversations
        for conv in conversations:
            if conv.turns:
                saved[conv.title] += 1
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            json.dumps(
                {
                    "accepted": dict(accepted),
                    "conversations": len(conversations),
                    "duplicated_turns": sorted(p for p, n in saved.items() if n > 1),
                    "peak_rss_mb": usage.ru_maxrss / 1024,
                }
            ),
            flush=True,
        )


class EmulatorChild:
    def __init__(self, pace: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--pace", str(pace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.url: str = info["url"]
        self.cookies: dict[str, str] = info["cookies"]

    def finish(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        stats: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.process.wait(30)
        return stats


# --- the client side ------------------------------------------------------------------------------------


@dataclass
class Record:
    kind: str
    prompt: str
    outcome: str  # "ok" or the exception's class name
    expected: bool
    problem: str = ""
    first_chunk: float | None = None
    duration: float = 0.0


@dataclass
class Results:
    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


def one_stream(client: GeminiClient, kind: str, prompt: str) -> Record:
    expected_errors, _ = KINDS[kind]
    deltas: list[str] = []
    first: float | None = None
    started = time.monotonic()
    try:
        stream = client.stream(prompt)
        for chunk in stream:
            if first is None:
                first = time.monotonic() - started
            deltas.append(chunk.delta_text)
        output = stream.output
        joined = "".join(deltas)
        problem = ""
        if output is None or output.text != TEXT or joined != TEXT:
            problem = f"wrong answer ({len(joined)} characters streamed)"
        return Record(
            kind,
            prompt,
            "ok",
            not problem and not expected_errors,
            problem,
            first,
            time.monotonic() - started,
        )
    except Exception as exc:  # every outcome is recorded and judged
        name = type(exc).__name__
        joined = "".join(deltas)
        problem = ""
        if not isinstance(exc, errors.GeminiError):
            problem = f"untyped {exc!r}"
        elif exc.partial is None or exc.partial.text != joined or not TEXT.startswith(joined):
            problem = "partial differs from what was streamed"
        elif name not in expected_errors:
            problem = str(exc)[:120]
        return Record(kind, prompt, name, not problem, problem, first, time.monotonic() - started)


def worker(client: GeminiClient, index: int, until: float, seed: int, results: Results) -> None:
    rng = random.Random(seed * 1000 + index)
    kinds = list(KINDS)
    n = 0
    while time.monotonic() < until:
        kind = rng.choice(kinds)
        results.add(one_stream(client, kind, f"{PREFIX} {kind} {index}-{n}"))
        n += 1


def run(threads: int, seconds: float, pace: float, seed: int) -> dict[str, Any]:
    child = EmulatorChild(pace)
    results = Results()
    client = GeminiClient(
        cookies=child.cookies,
        base_url=child.url,
        auto_refresh=False,
        cookie_cache=False,
        stall_timeout=STALL_TIMEOUT,
        retry=RetryPolicy(3, initial=0.01, maximum=0.2),
    )
    try:
        client.init()
        started = time.monotonic()
        pool = [
            threading.Thread(
                target=worker,
                args=(client, i, started + seconds, seed, results),
                name=f"soak-{i}",
                daemon=True,
            )
            for i in range(threads)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        client.close()
        server = child.finish()
    return summarize(results.records, server, threads=threads, seconds=seconds, elapsed=elapsed)


def summarize(
    records: list[Record], server: dict[str, Any], *, threads: int, seconds: float, elapsed: float
) -> dict[str, Any]:
    accepted: dict[str, int] = server["accepted"]
    for record in records:
        wanted = KINDS[record.kind][1]
        got = accepted.get(record.prompt, 0)
        if got != wanted and record.expected:
            record.expected = False
            record.problem = f"{got} StreamGenerate requests accepted, expected {wanted}"
    by_kind: dict[str, dict[str, Any]] = {}
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[record.kind].append(record)
    for kind in KINDS:
        group = grouped.get(kind, [])
        ttfc = [r.first_chunk for r in group if r.first_chunk is not None]
        by_kind[kind] = {
            "streams": len(group),
            "ok": sum(r.outcome == "ok" for r in group),
            "errors": dict(Counter(r.outcome for r in group if r.outcome != "ok")),
            "unexpected": sum(not r.expected for r in group),
            "ttfc_p50_ms": percentile(ttfc, 50) * 1000,
            "ttfc_p99_ms": percentile(ttfc, 99) * 1000,
        }
    errors_by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"expected": 0, "unexpected": 0})
    for record in records:
        if record.outcome != "ok":
            errors_by_type[record.outcome]["expected" if record.expected else "unexpected"] += 1
    unexpected = [r for r in records if not r.expected]
    ttfc_all = [r.first_chunk for r in records if r.first_chunk is not None]
    durations = [r.duration for r in records]
    return {
        "threads": threads,
        "seconds": seconds,
        "elapsed": elapsed,
        "streams": len(records),
        "streams_per_second": len(records) / elapsed if elapsed else 0.0,
        "ok": sum(r.outcome == "ok" for r in records),
        "errors_by_type": dict(errors_by_type),
        "unexpected": len(unexpected),
        "unexpected_samples": [
            {"kind": r.kind, "prompt": r.prompt, "outcome": r.outcome, "problem": r.problem}
            for r in unexpected[:10]
        ],
        "ttfc_ms": {"p50": percentile(ttfc_all, 50) * 1000, "p99": percentile(ttfc_all, 99) * 1000},
        "duration_ms": {"p50": percentile(durations, 50) * 1000, "p99": percentile(durations, 99) * 1000},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "emulator": {
            "conversations": server["conversations"],
            "duplicated_turns": len(server["duplicated_turns"]),
            "peak_rss_mb": server["peak_rss_mb"],
        },
        "by_kind": by_kind,
        "machine": machine(),
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"soak: {result['threads']} threads, {result['elapsed']:.1f}s, {result['streams']} streams "
        f"({result['streams_per_second']:.1f}/s), {result['ok']} answers, "
        f"{result['unexpected']} unexpected outcomes"
    )
    rows = []
    for kind, row in result["by_kind"].items():
        errs = ", ".join(f"{name} {count}" for name, count in sorted(row["errors"].items())) or "-"
        rows.append(
            [kind, row["streams"], row["ok"], errs, row["unexpected"], row["ttfc_p50_ms"], row["ttfc_p99_ms"]]
        )
    print_table(
        "Streams by injected fault",
        ["fault", "streams", "answers", "errors", "unexpected", "ttfc p50 ms", "ttfc p99 ms"],
        rows,
    )
    err_rows = [
        [name, c["expected"], c["unexpected"]] for name, c in sorted(result["errors_by_type"].items())
    ]
    print_table("Errors by type", ["error", "expected", "unexpected"], err_rows or [["-", 0, 0]])
    emulator = result["emulator"]
    print_table(
        "Totals",
        ["measure", "value"],
        [
            ["time to first chunk p50 (ms)", result["ttfc_ms"]["p50"]],
            ["time to first chunk p99 (ms)", result["ttfc_ms"]["p99"]],
            ["stream duration p50 (ms)", result["duration_ms"]["p50"]],
            ["stream duration p99 (ms)", result["duration_ms"]["p99"]],
            ["peak RSS, client process (MB)", result["peak_rss_mb"]],
            ["peak RSS, emulator process (MB)", emulator["peak_rss_mb"]],
            ["conversations created", emulator["conversations"]],
            ["turns saved twice", emulator["duplicated_turns"]],
        ],
    )
    for sample in result["unexpected_samples"]:
        print(f"  unexpected: {sample}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=64, help="streaming threads (default 64)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to stream (default 60)")
    parser.add_argument("--pace", type=float, default=0.005, help="emulator pause between frames (s)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault draw")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the emulator child
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.pace)
        return 0
    if args.threads < 1 or args.seconds <= 0:
        parser.error("--threads must be >= 1 and --seconds > 0")
    result = run(args.threads, args.seconds, args.pace, args.seed)
    if args.json:
        print(json.dumps({"benchmark": "soak", **result}, ensure_ascii=False))
    else:
        report(result)
    return 1 if result["unexpected"] or result["emulator"]["duplicated_turns"] else 0


if __name__ == "__main__":
    sys.exit(main())
