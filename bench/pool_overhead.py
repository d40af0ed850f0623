"""What an AccountPool adds to each request: picking, the slot taken and given back, the state read.

The same short answer is asked of the bundled emulator (``pace=0``, in a child
process) through a bare ``GeminiClient`` and through an ``AccountPool`` of two
such clients, with each store of the pool's state: ``MemoryState`` (one
process), ``LocalState`` (a file and its lock, the default) and ``RedisState``
(a ``redis-server`` started on a free loopback port, when the binary exists).
Rounds alternate between the variants; the figure is the median time per
request and its difference to the bare client.

    python bench/pool_overhead.py [--requests 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._common import EmulatorProcess
from bench.redis_rotation import start_redis
from gemini_sync import GeminiClient
from gemini_sync.pool import AccountPool, LocalState, Member, MemoryState


def _client(url: str, psid: str) -> GeminiClient:
    return GeminiClient(
        cookies={"__Secure-1PSID": psid}, base_url=url, auto_refresh=False, cookie_cache=False
    )


def _per_request(ask: Callable[[str], Any], requests: int) -> float:
    for n in range(5):  # warm the connections and the token
        ask(f"warm {n}")
    started = time.perf_counter()
    for n in range(requests):
        ask(f"bench {n}")
    return (time.perf_counter() - started) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with EmulatorProcess("--pace", "0") as emu, tempfile.TemporaryDirectory() as root:
        url = emu.url
        bare = _client(url, "bench-a")
        variants: dict[str, Callable[[str], Any]] = {"client": lambda p: bare.generate_content(p)}
        stores: dict[str, Any] = {
            "MemoryState": MemoryState(),
            "LocalState": LocalState(Path(root) / "state"),
        }
        server = None
        if shutil.which("redis-server"):
            from gemini_sync.pool import RedisState

            server, redis_url = start_redis()
            stores["RedisState"] = RedisState(redis_url, fallback=LocalState(Path(root) / "fallback"))
        for name, store in stores.items():
            members = [Member(_client(url, "bench-a"), name="a"), Member(_client(url, "bench-b"), name="b")]
            pool = AccountPool(members, state=store, usage_interval=None)
            variants[f"pool, {name}"] = lambda p, pool=pool: pool.generate_content(p)
        times: dict[str, list[float]] = {name: [] for name in variants}
        try:
            for _ in range(args.rounds):
                for name, ask in variants.items():
                    times[name].append(_per_request(ask, args.requests))
        finally:
            if server is not None:
                server.kill()
                server.wait(10)
    base = statistics.median(times["client"])
    print(f"{args.requests} requests x {args.rounds} rounds, emulator pace 0 (median per request)")
    print("| variant | ms per request | added by the pool (ms) |")
    print("|---|---|---|")
    for name, values in times.items():
        value = statistics.median(values)
        added = "" if name == "client" else f"{(value - base) * 1000:+.3f}"
        print(f"| {name} | {value * 1000:.3f} | {added} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
