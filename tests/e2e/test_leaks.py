"""No leaks: 500 streams of every kind through one client leave no thread, socket or memory behind.

A long-lived process (a Django worker, a GUI) shares one client for hours; every
way a stream can end (normally, with an error code, cancelled from another
thread, closed mid-stream, stalled, cut, healed by recovery, retried) must
release its worker thread, its socket and its parser state.

The emulator runs in a child process, so the threads, sockets and memory
measured here are the client's alone. Faults are chosen by the prompt (rules
installed once in the child), so no test-side control channel is needed.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient, RetryPolicy, errors

STREAMS = 500
FIRST_MEASURE = 100
MEMORY_BOUND = 2 * 1024 * 1024
POOL_ALLOWANCE = 10
STALL = 0.1  # the watchdog of the stalled streams
WAIT = 10.0  # bounded waits (never reached when things work)

CHILD = r"""
import json, sys
from gemini_sync.emulator import Emulator, Fault

TEXT = "Leak check: naïve café, 日本語, 😀🚀, and code:\n```py\nprint('hi')\n```\nThe end. " * 3
with Emulator(pace=0.002) as emu:
    emu.script(lambda p: p.startswith("leak"), text=TEXT, chunks=10)
    rules = {
        "leak code": Fault(code=1037, after_frames=3),
        "leak early": Fault(code=1013),
        "leak stall": Fault(stall=30.0, after_frames=3),
        "leak cut": Fault(disconnect_after_bytes=900),
        "leak heal": Fault(disconnect_after_bytes=900, finish_server_side=True),
        "leak 500": Fault(status=500),
        "leak 429": Fault(status=429, headers={"Retry-After": "0"}),
    }
    for prefix, fault in rules.items():
        emu.add_fault(fault, times=None, match=lambda p, prefix=prefix: p.startswith(prefix + " "))
    print(json.dumps({"url": emu.url, "cookies": emu.cookies, "text": TEXT}), flush=True)
    sys.stdin.read()
"""


class ChildEmulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.url: str = info["url"]
        self.cookies: dict[str, str] = info["cookies"]
        self.text: str = info["text"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)


@pytest.fixture(scope="module")
def child() -> Iterator[ChildEmulator]:
    emulator = ChildEmulator()
    try:
        yield emulator
    finally:
        emulator.close()


# --- what is measured -------------------------------------------------------------------------


def socket_fds() -> set[str]:
    """This process's open socket file descriptors (as ``socket:[inode]`` targets)."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed meanwhile (e.g. the fd of listdir itself)
        if target.startswith("socket:"):
            found.add(f"{name}->{target}")
    return found


def settle_threads(baseline: set[threading.Thread]) -> list[threading.Thread]:
    """Join every thread started since ``baseline`` (bounded); return those still alive."""
    deadline = time.monotonic() + WAIT
    for thread in threading.enumerate():
        if thread not in baseline and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threading.enumerate() if t not in baseline]


def traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


# --- the kinds of streams -----------------------------------------------------------------------


def _consume(client: GeminiClient, prompt: str, **kwargs: Any) -> str:
    stream = client.stream(prompt, **kwargs)
    deltas = [chunk.delta_text for chunk in stream]
    assert stream.output is not None and "".join(deltas) == stream.output.text
    return "ok"


def kind_ok(client: GeminiClient, n: int) -> str:
    return _consume(client, f"leak ok {n}")


def kind_collect(client: GeminiClient, n: int) -> str:
    assert client.generate_content(f"leak collect {n}").text
    return "ok"


def kind_worker(client: GeminiClient, n: int) -> str:
    texts: list[str] = []
    worker = client.stream(f"leak worker {n}").start(on_text=texts.append)
    output = worker.result(timeout=WAIT)
    assert "".join(texts) == output.text
    return "ok"


def _expect(error: type[BaseException], fn: Callable[[], Any]) -> str:
    try:
        fn()
    except error as exc:
        assert isinstance(exc, errors.GeminiError) and exc.partial is not None
        return type(exc).__name__
    raise AssertionError(f"expected {error.__name__}")


def kind_code(client: GeminiClient, n: int) -> str:
    return _expect(errors.UsageLimitExceeded, lambda: _consume(client, f"leak code {n}", recover=False))


def kind_early(client: GeminiClient, n: int) -> str:
    return _expect(errors.APIError, lambda: _consume(client, f"leak early {n}"))


def kind_5xx(client: GeminiClient, n: int) -> str:
    return _expect(errors.APIError, lambda: _consume(client, f"leak 500 {n}"))


def kind_429(client: GeminiClient, n: int) -> str:
    return _expect(errors.RateLimited, lambda: _consume(client, f"leak 429 {n}"))


def kind_cut(client: GeminiClient, n: int) -> str:
    return _expect(errors.StreamInterrupted, lambda: _consume(client, f"leak cut {n}", recover=False))


def kind_heal(client: GeminiClient, n: int) -> str:
    return _consume(client, f"leak heal {n}")


def kind_stall(client: GeminiClient, n: int) -> str:
    saved = client.stall_timeout
    client.stall_timeout = STALL  # read when the stream is created: this stream only
    try:
        stream = client.stream(f"leak stall {n}", recover=False)
    finally:
        client.stall_timeout = saved
    return _expect(errors.TimeoutError, lambda: list(stream))


def kind_cancel(client: GeminiClient, n: int) -> str:
    first = threading.Event()
    worker = client.stream(f"leak cancel {n}").start(on_text=lambda _text: first.set())
    assert first.wait(WAIT)
    worker.cancel()
    assert worker.join(WAIT)
    error = worker.exception(timeout=0)
    assert error is None or isinstance(error, errors.Cancelled)  # the answer may have won the race
    return "cancelled" if error else "ok"


def kind_close(client: GeminiClient, n: int) -> str:
    stream = client.stream(f"leak close {n}")
    iterator = iter(stream)
    assert next(iterator).delta_text
    stream.close()
    return "closed"


def kind_break(client: GeminiClient, n: int) -> str:
    with client.stream(f"leak break {n}") as stream:
        for _chunk in stream:
            break
    return "closed"


def kind_abandon(client: GeminiClient, n: int) -> str:
    """Read one chunk and drop the stream without closing it (garbage collection must free it)."""
    stream = client.stream(f"leak abandon {n}")
    next(iter(stream))
    del stream
    return "abandoned"


KINDS = [
    kind_ok,
    kind_collect,
    kind_worker,
    kind_code,
    kind_early,
    kind_5xx,
    kind_429,
    kind_cut,
    kind_heal,
    kind_stall,
    kind_cancel,
    kind_close,
    kind_break,
    kind_abandon,
]


def test_500_streams_leave_no_thread_socket_or_memory_behind(child: ChildEmulator) -> None:
    gc.collect()
    threads_before = set(threading.enumerate())
    sockets_before = socket_fds()
    outcomes: Counter[str] = Counter()
    client = GeminiClient(
        cookies=child.cookies,
        base_url=child.url,
        auto_refresh=False,
        cookie_cache=False,
        stall_timeout=5.0,
        retry=RetryPolicy(2, initial=0.001, maximum=0.005),
    )
    started = time.monotonic()
    try:
        # warm up (imports, compiled regexes, the token, the pool) before measuring memory
        for n in range(len(KINDS)):
            KINDS[n](client, -n - 1)
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
        try:
            for n in range(STREAMS):
                kind = KINDS[n % len(KINDS)]
                outcomes[f"{kind.__name__[5:]}:{kind(client, n)}"] += 1
                if n + 1 == FIRST_MEASURE:
                    memory_at_first = traced_now()
            memory_at_end = traced_now()
        finally:
            if not tracing:
                tracemalloc.stop()
        elapsed = time.monotonic() - started

        leaked_threads = settle_threads(threads_before)
        sockets_open = socket_fds()
    finally:
        client.close()
    assert sum(outcomes.values()) == STREAMS
    assert not leaked_threads, f"threads left running: {[t.name for t in leaked_threads]}"
    assert len(sockets_open) <= len(sockets_before) + POOL_ALLOWANCE, (
        f"{len(sockets_open) - len(sockets_before)} more sockets open after {STREAMS} streams"
    )
    growth = memory_at_end - memory_at_first
    assert growth < MEMORY_BOUND, f"memory grew by {growth} bytes from stream {FIRST_MEASURE} to {STREAMS}"
    # closing the client closes its pool: back to the baseline
    assert len(socket_fds()) <= len(sockets_before)
    assert not settle_threads(threads_before)
    print(
        f"\n{STREAMS} streams in {elapsed:.1f}s; sockets {len(sockets_before)} -> {len(sockets_open)}; "
        f"memory growth {growth} bytes (stream {FIRST_MEASURE} to {STREAMS}); outcomes {dict(outcomes)}"
    )
