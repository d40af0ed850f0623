"""Cancel latency per phase, stall and deadline accuracy per framing, memory of hostile answers.

    python bench/transport_bounds.py [--runs 5]

Against the hostile raw-socket servers of ``tests/_hostile.py`` (in this
process; they only wait or send pre-built bytes):

* cancel latency: from ``stream.cancel()`` to ``collect()`` raising ``Cancelled``,
  with the call stopped while connecting (a listener whose backlog is full),
  sending an upload (32 MB, never read), waiting for headers, reading a
  chunked body, reading a close-delimited body; median and max over ``--runs``;
* stall accuracy: ``stall_timeout=1`` on a body that stops (chunked,
  close-delimited): elapsed time from the last frame to ``TimeoutError``,
  relative to the bound;
* deadline accuracy: ``deadline=1`` while waiting for headers, while a server
  trickles the app page or the headers byte by byte, and during each framing;
* memory: ``tests/_memprobe.py`` in a child process, an 800 MB page and
  batchexecute answer and a gzip bomb (1 GB of zeros in ~1 MB): peak RSS growth.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gemini_sync import GeminiClient, errors  # noqa: E402
from tests._hostile import HostileServer, client_of, stalling, trickling, wait_for  # noqa: E402


def _full_listener() -> tuple[socket.socket, list[socket.socket], str]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    return srv, fillers, f"http://127.0.0.1:{port}"


def _cancel_once(phase: str) -> float:
    """Seconds from cancel() to the stream's Cancelled, with the call stopped at ``phase``."""
    reached = threading.Event()
    ended: list[float] = []
    outcome: list[BaseException] = []

    def consume(stream: Any) -> None:
        try:
            stream.collect()
        except BaseException as exc:
            outcome.append(exc)
        ended.append(time.monotonic())

    if phase == "connect":
        srv, fillers, url = _full_listener()
        client = GeminiClient("psid", "ts", base_url=url, auto_refresh=False, cookie_cache=False)
        server = None
    else:
        server = HostileServer(stalling(phase, reached))
        client = client_of(server)
    try:
        files = [("big.bin", b"\0" * (32 * 1024 * 1024))] if phase == "upload" else None
        stream = client.stream("hi", files=files)
        thread = threading.Thread(target=consume, args=(stream,), daemon=True)
        thread.start()
        if phase == "connect":
            assert wait_for(lambda: bool(stream._reader._call._conns))
        else:
            assert reached.wait(10)
        start = time.monotonic()
        stream.cancel()
        thread.join(10)
        assert isinstance(outcome[0], errors.Cancelled), outcome
        return ended[0] - start
    finally:
        client.close()
        if server is not None:
            server.close()
        else:
            for filler in fillers:
                filler.close()
            srv.close()


def _bound_once(handler: Any, bound: str, seconds: float) -> float:
    """Elapsed seconds until the stream's TimeoutError, measured from the last frame (stall) or the call."""
    with (
        HostileServer(handler) as server,
        client_of(server, stall_timeout=seconds if bound == "stall" else 30) as client,
    ):
        options: dict[str, Any] = {"recover": False}
        if bound == "deadline":
            options["deadline"] = seconds
        stream = client.stream("hi", **options)
        start = time.monotonic()
        try:
            for _chunk in stream:
                start = time.monotonic() if bound == "stall" else start
        except errors.TimeoutError:
            return time.monotonic() - start
    raise AssertionError("no TimeoutError")


def _table(title: str, rows: list[tuple[str, list[float]]], unit: str, bound: float | None = None) -> None:
    print(f"\n{title}")
    for name, values in rows:
        median, worst = statistics.median(values), max(values)
        if bound is None:
            print(f"  {name:<28} median {median * 1000:7.1f} {unit}  max {worst * 1000:7.1f} {unit}")
        else:
            error = max(abs(v - bound) / bound for v in values) * 100
            print(f"  {name:<28} median {median:6.3f} s  max {worst:6.3f} s  worst error {error:4.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    phases = ["connect", "upload", "headers", "chunked", "close-delimited"]
    _table(
        "cancel(): latency to Cancelled, per phase",
        [(phase, [_cancel_once(phase) for _ in range(args.runs)]) for phase in phases],
        "ms",
    )
    stall = [
        (
            f"stall 1s, {f}",
            [_bound_once(stalling(f, threading.Event()), "stall", 1.0) for _ in range(args.runs)],
        )
        for f in ("chunked", "close-delimited")
    ]
    _table("stall_timeout=1: time from the last frame to TimeoutError", stall, "s", 1.0)
    deadline_rows = [
        (
            f"deadline 1s, {f}",
            [_bound_once(stalling(f, threading.Event()), "deadline", 1.0) for _ in range(args.runs)],
        )
        for f in ("headers", "chunked", "close-delimited")
    ]
    deadline_rows += [
        (f"deadline 1s, trickled {w}", [_bound_once(trickling(w), "deadline", 1.0) for _ in range(args.runs)])
        for w in ("page", "headers")
    ]
    _table("deadline=1: time from the call to TimeoutError", deadline_rows, "s", 1.0)
    print("\nmemory: peak RSS growth reading a hostile answer (child process)")
    for mode, label in (
        ("page", "800 MB app page"),
        ("rpc", "800 MB batchexecute answer"),
        ("gzip", "gzip bomb, 1 GB of zeros"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "tests._memprobe", mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        print(f"  {label:<28} +{figures['growth_mb']:6.1f} MB  -> {figures['error'].split(':')[0]}")


if __name__ == "__main__":
    main()
