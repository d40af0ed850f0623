"""A minimal server of one pre-encoded StreamGenerate body, in a child process.

    python bench/_bodyserver.py [--snapshots 400 --chars 16000] [--body long|astral] [--close] [--pace 0.02]
        [--gzip]

For throughput, the server must cost nothing: the emulator encodes each frame
per request (as the real service would), which makes it, not the client, the
bottleneck at pace 0. This server encodes the long answer once, with the same
``gemini_sync.protocol`` encoders, and writes one HTTP chunk per frame (or,
with ``--close``, a body ended by closing the connection), ``--pace`` seconds
apart. ``GET /times`` returns the ``time.monotonic_ns()`` at which each frame of
the last answer was flushed (the clock is shared by processes on Linux).
With ``--gzip`` the body is gzip-compressed when the request accepts it, with
a sync flush after every frame, as the service and the emulator do.
Prints one JSON line ``{"url": ..., "cookies": {...}, "body_bytes": N}``; serves
until stdin closes.
"""

from __future__ import annotations

import argparse
import http.server
import json
import socketserver
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import long_snapshots
from gemini_sync.protocol.app import render_app_page
from gemini_sync.protocol.framing import XSSI_PREFIX, encode_frame
from gemini_sync.protocol.request import AppTokens
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames

TOKENS = AppTokens("bench-access-token", "boq_bench", "-1")


def encoded_frames(snapshots: list[str]) -> list[bytes]:
    cid, rid, rcid = "c_bench0000000000", "r_bench0000000000", "rc_bench000000000"
    frames = [[data_envelope(build_payload(cid, rid, None))]]
    for n, text in enumerate(snapshots):
        last = n == len(snapshots) - 1
        cand = build_candidate(rcid, text, done=last)
        frames.append([data_envelope(build_payload(cid, rid, [cand], context_token="ctx" if last else None))])
    frames.extend(tail_frames(0))
    out = [(XSSI_PREFIX + "\n\n").encode()]
    out.extend(encode_frame(frame).encode() for frame in frames)
    return out


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    frames: list[bytes]
    close_body: bool
    gzip: bool
    pace: float
    times: list[int]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # send each frame at once, as the emulator does
    server: _Server

    def do_GET(self) -> None:
        if self.path == "/times":
            body = json.dumps(self.server.times).encode()
        else:
            body = render_app_page(TOKENS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        close = self.server.close_body
        gzip = self.server.gzip and "gzip" in self.headers.get("Accept-Encoding", "")
        compressor = zlib.compressobj(wbits=31) if gzip else None
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.send_header(*(("Connection", "close") if close else ("Transfer-Encoding", "chunked")))
        self.end_headers()
        times: list[int] = []
        for n, frame in enumerate(self.server.frames):
            if self.server.pace and n > 1:  # prefix and id frame at once, then paced snapshots
                time.sleep(self.server.pace)
            if compressor is not None:  # compressed per frame, as the emulator does
                frame = compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH)
            self.wfile.write(frame if close else b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
            times.append(time.monotonic_ns())
        if compressor is not None:
            rest = compressor.flush()
            self.wfile.write(rest if close else b"%x\r\n%s\r\n" % (len(rest), rest))
        if close:
            self.close_connection = True
        else:
            self.wfile.write(b"0\r\n\r\n")
        self.server.times = times

    def log_message(self, *_args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshots", type=int, default=400)
    parser.add_argument("--chars", type=int, default=16_000)
    parser.add_argument("--body", choices=("long", "astral"), default="long", help="which text to serve")
    parser.add_argument("--close", action="store_true", help="end the body by closing the connection")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between snapshot frames")
    parser.add_argument("--gzip", action="store_true", help="gzip the body when the client accepts it")
    args = parser.parse_args()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.frames = encoded_frames(long_snapshots(args.snapshots, args.chars, astral=args.body == "astral"))
    server.close_body = args.close
    server.gzip = args.gzip
    server.pace = args.pace
    server.times = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cookies = {"__Secure-1PSID": "bench-psid", "__Secure-1PSIDTS": "bench-psidts"}
    body_bytes = sum(len(f) for f in server.frames)
    print(json.dumps({"url": url, "cookies": cookies, "body_bytes": body_bytes}), flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
