"""Cost per frame against candidates and images already seen (issue 13).

    python bench/candidates.py [--candidates 20000] [--images 40000] [--json]

Every answer goes through the real ``Stream`` pipeline (bytes -> frames ->
payloads -> chunks) from an in-process byte source, in 64 KiB reads:

1. wide: one frame with ``--candidates`` candidates, then 2,000 frames in
   which the chosen one grows by a word;
2. growing: ``--candidates`` frames, each bringing one more candidate and a
   new image of the chosen one;
3. images: ``--images`` frames, each bringing a new web image,
   run at 1/4, 1/2 and all of ``--images`` frames: linear cost doubles with
   the frame count, quadratic cost quadruples.

Each row gives the seconds to read the answer (best of 3), per chunk, and
the peak traced memory (tracemalloc, another run), and checks that the output holds every
candidate and image.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import emit_json, print_table
from gemini_sync import RetryPolicy
from gemini_sync.protocol.framing import XSSI_PREFIX, encode_frame
from gemini_sync.protocol.payload import RawImage
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames
from gemini_sync.streaming.stream import Stream, StreamOptions
from gemini_sync.types.output import ModelOutput

CID, RID = "c_bench", "r_bench"
READ = 64 * 1024
REPEAT = 3  # best of: the machine is shared
_COLUMNS = [
    "answer",
    "size",
    "chunks",
    "candidates",
    "images",
    "body_mb",
    "seconds",
    "us_per_chunk",
    "peak_mb",
]
WIDE_FRAMES = 2_000


class _Raw:
    """A byte source with the ``read1`` of a urllib3 response."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._pos = 0
        self.connection = None

    def read1(self, amt: int, decode_content: bool = False) -> bytes:
        piece = self._body[self._pos : self._pos + min(amt, READ)]
        self._pos += len(piece)
        return piece


class _Response:
    def __init__(self, body: bytes) -> None:
        self.raw = _Raw(body)
        self.headers: dict[str, str] = {}  # no Content-Encoding

    def close(self) -> None:
        pass


def _body(frames: Iterator[list[Any]]) -> bytes:
    parts = [XSSI_PREFIX + "\n\n"]
    parts.extend(encode_frame([data_envelope(payload)]) for payload in frames)
    parts.extend(encode_frame(frame) for frame in tail_frames(0))
    return "".join(parts).encode()


def wide(candidates: int) -> Iterator[list[Any]]:
    others = [build_candidate(f"rc_{n:06d}", f"draft {n}", done=True) for n in range(1, candidates)]
    yield build_payload(CID, RID, [build_candidate("rc_000000", "Hello"), *others])
    text = "Hello"
    for n in range(WIDE_FRAMES):
        text += f" w{n}"
        last = n == WIDE_FRAMES - 1
        cand = build_candidate("rc_000000", text, done=last)
        yield build_payload(CID, RID, [cand], context_token="ctx" if last else None)


def growing(candidates: int) -> Iterator[list[Any]]:
    for n in range(1, candidates):
        last = n == candidates - 1
        image = RawImage(f"https://example.com/{n}.png", alt=f"pic {n}")  # what is new for the caller
        chosen = build_candidate("rc_000000", "Hello", done=last, web_images=[image])
        other = build_candidate(f"rc_{n:06d}", f"draft {n}", done=True)
        yield build_payload(CID, RID, [chosen, other], context_token="ctx" if last else None)


def images(count: int) -> Iterator[list[Any]]:
    for n in range(count):
        last = n == count - 1
        image = RawImage(f"https://example.com/{n}.png", alt=f"pic {n}")
        cand = build_candidate("rc_0", "Pictures:", done=last, web_images=[image])
        yield build_payload(CID, RID, [cand], context_token="ctx" if last else None)


def _read(body: bytes) -> tuple[int, ModelOutput]:
    options = StreamOptions(RetryPolicy(0), stall_timeout=None)
    stream = Stream(lambda _time_left: _Response(body), options)  # type: ignore[arg-type,return-value]
    chunks = sum(1 for _chunk in stream)
    assert stream.output is not None
    return chunks, stream.output


def measure(name: str, make: Callable[[int], Iterator[list[Any]]], size: int) -> dict[str, Any]:
    body = _body(make(size))
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        chunks, output = _read(body)
        times.append(time.perf_counter() - started)
    seconds = min(times)
    tracemalloc.start()
    _read(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "answer": name,
        "size": size,
        "chunks": chunks,
        "candidates": len(output.candidates),
        "images": len(output.web_images),
        "body_mb": len(body) / 1e6,
        "seconds": seconds,
        "us_per_chunk": seconds / chunks * 1e6,
        "peak_mb": peak / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--images", type=int, default=40_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [
        measure("wide", wide, args.candidates),
        measure("growing", growing, args.candidates),
        *(measure("images", images, args.images * k // 4) for k in (1, 2, 4)),
    ]
    assert rows[0]["candidates"] == rows[1]["candidates"] == args.candidates
    assert rows[-1]["images"] == args.images
    if args.json:
        emit_json("candidates", {"rows": rows})
        return
    print_table(
        "answers with many candidates or images (Stream pipeline, 64 KiB reads)",
        [
            "answer",
            "size",
            "chunks",
            "candidates",
            "images",
            "body MB",
            "s (best of 3)",
            "µs/chunk",
            "peak MB",
        ],
        [[r[key] for key in _COLUMNS] for r in rows],
    )


if __name__ == "__main__":
    main()
