"""Throughput of the response decoder: FrameDecoder alone, and FrameDecoder + parse_frame.

The body imitates a long StreamGenerate answer: 400 cumulative snapshots whose
text grows to about 16 kB (UTF-8) of mixed ASCII, CJK and emoji, framed as the
service frames it (about 3 MB in all). It is fed in 16 KiB network chunks, as
a socket read would deliver it. Each measurement is the best of several runs.

    python bench/decoder_throughput.py            # a small table
    python bench/decoder_throughput.py --json     # the same figures as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gemini_sync.protocol.framing import FrameDecoder, encode_body
from gemini_sync.protocol.payload import parse_frame
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames

CHUNK = 16 * 1024
SNAPSHOTS = 400
TARGET_TEXT_BYTES = 16 * 1024
PIECES = [
    "Streaming ",
    "text ",
    "中文字符",
    "😀",
    "では",
    "**bold** ",
    "`code` ",
    "\n",
    "データ ",
    "🚀 ",
    "&amp; ",
]


def build_body(snapshots: int = SNAPSHOTS, target: int = TARGET_TEXT_BYTES) -> tuple[bytes, int, int]:
    """(body, number of frames, UTF-8 size of the final text)."""
    text = ""
    i = 0
    while len(text.encode()) < target:
        text += PIECES[i % len(PIECES)]
        i += 1
    frames: list[Any] = [[data_envelope(build_payload("c_1a2b3c4d5e6f7a8b", "r_1a2b3c4d5e6f7a8b", None))]]
    for n in range(1, snapshots + 1):
        cut = len(text) * n // snapshots
        last = n == snapshots
        cand = build_candidate("rc_1a2b3c4d5e6f7a8b", text[:cut], done=last)
        payload = build_payload(
            "c_1a2b3c4d5e6f7a8b", "r_1a2b3c4d5e6f7a8b", [cand], context_token="ctx" if last else None
        )
        frames.append([data_envelope(payload)])
    frames += tail_frames(0)
    return encode_body(frames).encode(), len(frames), len(text.encode())


def _chunks(body: bytes) -> list[bytes]:
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


def run_framing(chunks: list[bytes]) -> int:
    decoder = FrameDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count + len(decoder.close())


def run_parse(chunks: list[bytes]) -> int:
    decoder = FrameDecoder()
    events = 0
    frames = 0
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            frames += 1
            events += len(parse_frame(frame))
    for frame in decoder.close():
        frames += 1
        events += len(parse_frame(frame))
    assert events >= SNAPSHOTS
    return frames


def best_of(fn: Any, chunks: list[bytes], runs: int) -> tuple[float, int]:
    best = float("inf")
    frames = 0
    for _ in range(runs):
        started = time.perf_counter()
        frames = fn(chunks)
        best = min(best, time.perf_counter() - started)
    return best, frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--runs", type=int, default=5, help="best of this many runs (default 5)")
    args = parser.parse_args(argv)

    body, n_frames, text_bytes = build_body()
    chunks = _chunks(body)
    results = {}
    for name, fn in (("framing", run_framing), ("framing+parse_frame", run_parse)):
        seconds, frames = best_of(fn, chunks, args.runs)
        assert frames == n_frames, (frames, n_frames)
        results[name] = {
            "seconds": round(seconds, 6),
            "frames_per_s": round(frames / seconds),
            "mb_per_s": round(len(body) / seconds / 1e6, 1),
        }
    report = {
        "python": sys.version.split()[0],
        "body_bytes": len(body),
        "frames": n_frames,
        "final_text_bytes": text_bytes,
        "chunk_bytes": CHUNK,
        "runs": args.runs,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"body {len(body) / 1e6:.2f} MB, {n_frames} frames, final text {text_bytes} B UTF-8, "
        f"{CHUNK // 1024} KiB chunks, best of {args.runs} (Python {report['python']})"
    )
    print(f"{'stage':<22}{'time (ms)':>12}{'frames/s':>12}{'MB/s':>10}")
    for name, row in results.items():
        print(f"{name:<22}{row['seconds'] * 1000:>12.1f}{row['frames_per_s']:>12,}{row['mb_per_s']:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
