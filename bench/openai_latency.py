"""Streamed-token latency through the OpenAI-compatible app vs the client directly, and the app's cost.

    python bench/openai_latency.py [--runs 10] [--requests 30] [--json]

Three processes: the emulator (``_emuproc.py``), the app on waitress
(``_openai_app.py``, its client's chunks timed) and this one, the caller.
The answer is 50 snapshots, 20 ms apart.

* time to first token and per-token arrival, p50/p99: ``client.stream()``
  directly vs the ``openai`` package streaming from the app;
* per token, what the app adds: the time from the app's client handing a
  chunk to the app to the ``openai`` caller receiving that delta (same
  clock: ``time.monotonic_ns()`` is system-wide on Linux);
* per request, what the app adds: a non-streamed answer with the emulator
  at full speed (no pacing), through the app minus direct (medians), with
  the ``openai`` client and with plain ``requests`` (the SDK's own share).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai

from bench._common import LONG_PROMPT, EmulatorProcess, emit_json, percentile, print_table, summary
from gemini_sync import GeminiClient

SNAPSHOTS = 50
PACE = 0.02
MODEL = "gemini-3.6-flash"  # the app's id of the account's "3.6 Flash"
DIRECT_MODEL = "3.6 Flash"
_MS = 1e6


def _client(emu: EmulatorProcess) -> GeminiClient:
    return GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False)


def direct_stream(client: GeminiClient) -> tuple[float, list[int]]:
    start = time.monotonic_ns()
    arrivals = [
        time.monotonic_ns() for chunk in client.stream(LONG_PROMPT, model=DIRECT_MODEL) if chunk.delta_text
    ]
    return (arrivals[0] - start) / _MS, arrivals


def app_stream(oai: openai.OpenAI) -> tuple[float, list[int]]:
    start = time.monotonic_ns()
    stream = oai.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": LONG_PROMPT}], stream=True
    )
    arrivals = [time.monotonic_ns() for c in stream if c.choices and c.choices[0].delta.content]
    return (arrivals[0] - start) / _MS, arrivals


def gaps(arrivals: list[int]) -> list[float]:
    return [(b - a) / _MS for a, b in itertools.pairwise(arrivals)]


def per_request(call: Any, count: int) -> list[float]:
    call()  # warm: connections, the model list
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="streams per way")
    parser.add_argument("--requests", type=int, default=30, help="non-streamed requests per way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    paced = ("--pace", str(PACE), "--snapshots", str(SNAPSHOTS), "--chars", "2000")
    with EmulatorProcess(*paced) as emu:
        app_args = ("--url", emu.url, "--cookies", json.dumps(emu.cookies))
        with EmulatorProcess(*app_args, script_name="_openai_app.py") as app, _client(emu) as client:
            oai = openai.OpenAI(base_url=app.url + "/v1", api_key="bench", max_retries=0, timeout=60)
            direct_ttft, app_ttft, direct_gaps, app_gaps, added = [], [], [], [], []
            direct_stream(client), app_stream(oai)  # warm both ways
            for _ in range(args.runs):
                ttft, arrivals = direct_stream(client)
                direct_ttft.append(ttft)
                direct_gaps += gaps(arrivals)
                ttft, arrivals = app_stream(oai)
                app_ttft.append(ttft)
                app_gaps += gaps(arrivals)
                handed: list[int] = requests.get(app.url + "/times", timeout=10).json()
                if len(handed) == len(arrivals):  # one SSE delta per chunk (no tool parsing here)
                    added += [(got - gave) / _MS for gave, got in zip(handed, arrivals, strict=True)]
            results["time_to_first_token_ms"] = {"direct": summary(direct_ttft), "app": summary(app_ttft)}
            results["token_gap_ms"] = {"direct": summary(direct_gaps), "app": summary(app_gaps)}
            results["app_added_per_token_ms"] = summary(added)
    with EmulatorProcess("--pace", "0") as fast:
        app_args = ("--url", fast.url, "--cookies", json.dumps(fast.cookies))
        with EmulatorProcess(*app_args, script_name="_openai_app.py") as app, _client(fast) as client:
            oai = openai.OpenAI(base_url=app.url + "/v1", api_key="bench", max_retries=0, timeout=60)
            direct = per_request(lambda: client.generate_content("Hi", model=DIRECT_MODEL), args.requests)
            through = per_request(
                lambda: oai.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "Hi"}]
                ),
                args.requests,
            )
            session = requests.Session()
            body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
            raw = per_request(
                lambda: session.post(app.url + "/v1/chat/completions", json=body, timeout=60), args.requests
            )
            results["request_ms"] = {
                "direct": summary(direct),
                "app": summary(through),
                "app_raw_http": summary(raw),
            }
            results["app_added_per_request_raw_http_ms"] = percentile(raw, 50) - percentile(direct, 50)
            results["app_added_per_request_ms"] = percentile(through, 50) - percentile(direct, 50)
    if args.json:
        emit_json("openai_latency", results)
        return
    rows = [
        [f"time to first token, {way}", *(results["time_to_first_token_ms"][way][q] for q in ("p50", "p99"))]
        for way in ("direct", "app")
    ]
    rows += [
        [f"gap between tokens, {way}", *(results["token_gap_ms"][way][q] for q in ("p50", "p99"))]
        for way in ("direct", "app")
    ]
    rows.append(
        [
            "app adds per token",
            results["app_added_per_token_ms"]["p50"],
            results["app_added_per_token_ms"]["p99"],
        ]
    )
    rows += [
        [f"non-streamed request, {way}", *(results["request_ms"][way][q] for q in ("p50", "p99"))]
        for way in ("direct", "app", "app_raw_http")
    ]
    print_table(
        f"OpenAI app vs direct client ({args.runs} streams of {SNAPSHOTS} tokens {PACE * 1000:.0f} ms apart)",
        ["ms", "p50", "p99"],
        rows,
    )
    print(
        "\n  the app adds "
        f"{results['app_added_per_request_ms']:.2f} ms per request (p50, non-streamed, openai SDK);"
    )
    print(
        f"  {results['app_added_per_request_raw_http_ms']:.2f} ms of it with a plain HTTP client (requests)"
    )


if __name__ == "__main__":
    main()
