"""Many threads through one client, and memory of a very long stream.

    python bench/scale.py [--threads 64] [--streams 4] [--json]

1. Threads: ``--threads`` threads share one ``GeminiClient`` and each reads
   ``--streams`` answers (50 snapshots, 10 ms apart, from a child-process
   server); compared with 1 thread: aggregate frames/s and time to first chunk.
2. Memory: one stream of 20,000 cumulative snapshots (final text 20,000
   characters, ~200 MB of body) through the real ``Stream`` pipeline; peak
   traced memory (tracemalloc) compared with the size of the final text, in
   UTF-8 and as Python holds it (4 bytes a character once an emoji is in it).
   The body is made by a child process and read from a pipe in 64 KiB reads,
   so only the reader's memory is traced, not the copies the producer makes.
   It stays flat: nothing grows with the frame count.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LONG_PROMPT, EmulatorProcess, emit_json, percentile, print_table
from gemini_sync import GeminiClient, RetryPolicy
from gemini_sync.protocol.framing import XSSI_PREFIX, encode_frame
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames
from gemini_sync.streaming.stream import Stream, StreamOptions

SNAPSHOTS = 50


def run_threads(client: GeminiClient, threads: int, streams: int) -> dict[str, float]:
    first_chunk: list[float] = []
    frames = [0]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(streams):
                started = time.perf_counter()
                count = 0
                for _chunk in client.stream(LONG_PROMPT):
                    if count == 0:
                        with lock:
                            first_chunk.append(time.perf_counter() - started)
                    count += 1
                with lock:
                    frames[0] += count
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} streams failed, e.g. {errors[0]!r}")
    return {
        "threads": threads,
        "streams": threads * streams,
        "seconds": elapsed,
        "frames_per_s": frames[0] / elapsed,
        "ttfc_p50_ms": percentile(first_chunk, 50) * 1000,
        "ttfc_p99_ms": percentile(first_chunk, 99) * 1000,
    }


class _Raw:
    """A pipe with the ``read1`` of a urllib3 response."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self.connection = None

    def read1(self, amt: int, decode_content: bool = False) -> bytes:
        return self._pipe.read(amt)  # whole reads of amt bytes: the same blocks every run


class _Response:
    def __init__(self, pipe: IO[bytes]) -> None:
        self.raw = _Raw(pipe)
        self.headers: dict[str, str] = {}  # no Content-Encoding

    def close(self) -> None:
        pass


def long_body(snapshots: int) -> Iterator[bytes]:
    """The body of a ``snapshots``-frame answer growing by one character per frame, made on the fly."""
    letters = "abcdefghij klmnopqrst 日本語 😀 "
    text = ""
    yield (XSSI_PREFIX + "\n\n").encode()
    yield encode_frame([data_envelope(build_payload("c_mem", "r_mem", None))]).encode()
    for n in range(snapshots):
        text += letters[n % len(letters)]
        done = n == snapshots - 1
        cand = build_candidate("rc_mem", text, done=done)
        yield encode_frame([data_envelope(build_payload("c_mem", "r_mem", [cand]))]).encode()
    for frame in tail_frames(0):
        yield encode_frame(frame).encode()


def _piped_stream(snapshots: int) -> tuple[Stream, subprocess.Popen[bytes]]:
    """A ``Stream`` reading the body of ``long_body(snapshots)`` from a child process's pipe."""
    producer = subprocess.Popen(
        [sys.executable, __file__, "--emit-body", str(snapshots)], stdout=subprocess.PIPE
    )
    assert producer.stdout is not None
    pipe = producer.stdout
    options = StreamOptions(RetryPolicy(0), stall_timeout=None)
    stream = Stream(lambda _time_left: _Response(pipe), options)  # type: ignore[arg-type,return-value]
    return stream, producer


def memory(snapshots: int) -> dict[str, Any]:
    warm, warm_producer = _piped_stream(10)  # modules imported on first use are not the stream's memory
    for _chunk in warm:
        pass
    warm_producer.wait()
    stream, producer = _piped_stream(snapshots)
    tracemalloc.start()
    chunks = 0
    final_text = ""
    for chunk in stream:
        chunks += 1
        final_text = chunk.text
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    producer.wait()
    text_bytes = len(final_text.encode("utf-8"))
    text_in_memory = sys.getsizeof(final_text)
    return {
        "snapshots": snapshots,
        "chunks": chunks,
        "final_text_chars": len(final_text),
        "final_text_utf8_bytes": text_bytes,
        "final_text_str_bytes": text_in_memory,
        "peak_traced_bytes": peak,
        "peak_over_text": peak / text_bytes,
        "peak_over_str": peak / text_in_memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--snapshots", type=int, default=20_000, help="frames of the memory test")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--emit-body", type=int, help=argparse.SUPPRESS)  # the child of the memory test
    parser.add_argument("--memory-only", action="store_true", help="skip the threads test")
    args = parser.parse_args()
    if args.emit_body is not None:
        for block in long_body(args.emit_body):
            sys.stdout.buffer.write(block)
        return
    if args.memory_only:
        mem = memory(args.snapshots)
        print_table(*_memory_table(mem))
        return
    server_args = ["--snapshots", str(SNAPSHOTS), "--chars", "4000", "--pace", "0.01"]
    with EmulatorProcess(*server_args, script_name="_bodyserver.py") as server:
        client = GeminiClient(
            cookies=server.cookies, base_url=server.url, auto_refresh=False, cookie_cache=False
        )
        client.init()
        one = run_threads(client, 1, args.streams)
        many = run_threads(client, args.threads, args.streams)
        client.close()
    mem = memory(args.snapshots)
    results = {"one_thread": one, "many_threads": many, "memory": mem}
    if args.json:
        emit_json("scale", results)
        return
    print_table(
        f"one client, {SNAPSHOTS}-snapshot answers 10 ms apart, {args.streams} streams per thread",
        ["threads", "streams", "seconds", "frames/s", "TTFC p50 ms", "TTFC p99 ms"],
        [
            [r["threads"], r["streams"], r["seconds"], r["frames_per_s"], r["ttfc_p50_ms"], r["ttfc_p99_ms"]]
            for r in (one, many)
        ],
    )
    print_table(*_memory_table(mem))


def _memory_table(mem: dict[str, Any]) -> tuple[str, list[str], list[list[Any]]]:
    return (
        "memory of one long stream (tracemalloc peak)",
        ["snapshots", "text UTF-8 bytes", "text as str", "peak traced bytes", "peak / UTF-8", "peak / str"],
        [
            [
                mem["snapshots"],
                mem["final_text_utf8_bytes"],
                mem["final_text_str_bytes"],
                mem["peak_traced_bytes"],
                mem["peak_over_text"],
                mem["peak_over_str"],
            ]
        ],
    )


if __name__ == "__main__":
    main()
