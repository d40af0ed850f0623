"""Latency from a frame's flush by the server to the caller receiving its chunk.

    python bench/latency.py [--runs 3] [--json]

50 snapshots 20 ms apart are served from a child process (``_bodyserver.py``,
which records the ``time.monotonic_ns()`` of each flush; the clock is shared by
processes on Linux). Measured per chunk, p50 and p99 over ``--runs`` streams:

* generator: ``for chunk in client.stream(...)``;
* callbacks: ``stream.start(on_chunk=...)`` on the worker thread;
* callbacks + dispatch: ``dispatch`` hands each callback to another thread (a queue);
* naive: ``requests`` ``iter_lines()`` with its default 512-byte buffering.

Each is run with a chunked body, with a body ended by closing the connection,
and with a chunked gzip body flushed per frame (the client decodes it
incrementally; compare its figures with the plain chunked body's).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LONG_PROMPT, EmulatorProcess, emit_json, print_table, summary
from gemini_sync import GeminiClient
from gemini_sync.models import Model
from gemini_sync.protocol.app import scrape_tokens
from gemini_sync.protocol.request import generate_request

SNAPSHOTS = 50
PACE = 0.02


def flush_times(server: EmulatorProcess) -> list[int]:
    times: list[int] = requests.get(server.url + "/times", timeout=10).json()
    return times[2 : 2 + SNAPSHOTS]  # skip the prefix and the id frame


def via_generator(client: GeminiClient) -> list[int]:
    arrivals = []
    for chunk in client.stream(LONG_PROMPT):
        if not chunk.is_final:
            arrivals.append(time.monotonic_ns())
    return arrivals


def via_callbacks(client: GeminiClient, dispatch: bool) -> list[int]:
    arrivals: list[int] = []
    jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()

    def consume() -> None:
        while (job := jobs.get()) is not None:
            job()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()

    def on_chunk(chunk: Any) -> None:
        if not chunk.is_final:
            arrivals.append(time.monotonic_ns())

    worker = client.stream(LONG_PROMPT).start(on_chunk=on_chunk, dispatch=jobs.put if dispatch else None)
    worker.join(60)
    worker.result(0)
    jobs.put(None)
    consumer.join(10)
    return arrivals


def via_naive(server: EmulatorProcess) -> list[int]:
    session = requests.Session()
    session.cookies.update(server.cookies)
    tokens = scrape_tokens(session.get(server.url + "/app", timeout=10).text)
    assert tokens is not None
    prepared = generate_request(LONG_PROMPT, tokens, 1, model=Model.UNSPECIFIED)
    response = session.post(
        server.url + prepared.path,
        params=prepared.params,
        headers=prepared.headers,
        data=prepared.data,
        stream=True,
        timeout=30,
    )
    arrivals = []
    data_frames = 0
    for line in response.iter_lines():
        if line.startswith(b'[["wrb.fr"'):
            data_frames += 1
            if data_frames > 1:  # the first carries only the ids
                arrivals.append(time.monotonic_ns())
    return arrivals


def measure(server: EmulatorProcess, fn: Callable[[], list[int]], runs: int) -> list[float]:
    latencies: list[float] = []
    for _ in range(runs):
        arrivals = fn()
        flushed = flush_times(server)
        assert len(arrivals) == len(flushed) == SNAPSHOTS, (len(arrivals), len(flushed))
        latencies.extend((a - f) / 1e6 for a, f in zip(arrivals, flushed, strict=True))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    results: dict[str, Any] = {}
    for body in ("chunked", "close", "chunked gzip"):
        extra = {"chunked": [], "close": ["--close"], "chunked gzip": ["--gzip"]}[body]
        server_args = ["--snapshots", str(SNAPSHOTS), "--chars", "4000", "--pace", str(PACE), *extra]
        with EmulatorProcess(*server_args, script_name="_bodyserver.py") as server:
            client = GeminiClient(
                cookies=server.cookies, base_url=server.url, auto_refresh=False, cookie_cache=False
            )
            client.init()
            readers: dict[str, Callable[[], list[int]]] = {
                "generator": lambda c=client: via_generator(c),
                "callbacks": lambda c=client: via_callbacks(c, dispatch=False),
                "callbacks + dispatch": lambda c=client: via_callbacks(c, dispatch=True),
                "naive iter_lines()": lambda s=server: via_naive(s),
            }
            for name, fn in readers.items():
                stats = summary(measure(server, fn, args.runs))
                rows.append([name, body, stats["p50"], stats["p90"], stats["p99"], stats["mean"]])
                results[f"{name} / {body}"] = stats
            client.close()
    if args.json:
        emit_json("latency", {"snapshots": SNAPSHOTS, "pace_s": PACE, "runs": args.runs, "ms": results})
    else:
        print_table(
            f"latency from flush to caller, ms ({SNAPSHOTS} snapshots {PACE * 1000:.0f} ms apart, "
            f"{args.runs} runs)",
            ["reader", "body", "p50", "p90", "p99", "mean"],
            rows,
        )


if __name__ == "__main__":
    main()
