"""Throughput on a long answer: the floor, gemini_sync, and (if installed) the async client.

    python bench/throughput.py [--runs 5] [--json]

A long answer of 400 cumulative snapshots growing to ~16 kB of text with
non-ASCII characters (~4 MB of body), encoded once with the emulator's own
encoders, is served on loopback as fast as possible from a child process
(``bench/_bodyserver.py``: the point is the client's cost, so the server must
cost nothing). Compared, best of ``--runs``:

(a) floor: a plain ``requests`` stream read, length-splitting (in UTF-16, where
    a length is a byte count), ``json.loads`` of each frame and of its inner
    payload, nothing else;
(a') lower bound, not a correct reader: frames found by JSON syntax with the
    declared lengths ignored, so the cost of counting UTF-16 units is left out;
(b) gemini_sync: iterating ``client.stream()`` to the end;
(c) gemini-webapi (the async client), when installed (``pip install
    gemini-webapi``): its streaming pipeline on the same body, see
    ``async_client_pipeline``; left out when not installed.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LONG_PROMPT, EmulatorProcess, emit_json, long_snapshots, print_table
from gemini_sync import GeminiClient
from gemini_sync.models import Model
from gemini_sync.protocol.app import scrape_tokens
from gemini_sync.protocol.request import generate_request


def floor(emu: EmulatorProcess) -> tuple[int, int]:
    """Frames and bytes read by the simplest correct length-splitting reader.

    Lengths count UTF-16 units, so the floor works in UTF-16: each network block
    is decoded from UTF-8 (incrementally) and re-encoded to UTF-16-LE, where a
    frame of ``L`` units is exactly ``2 * L`` bytes; each frame is decoded back
    and parsed with ``json.loads``, and so is its inner payload. Nothing else.
    """
    response = _post(emu)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf = bytearray()
    pos = 0
    frames = 0
    total = 0
    started = False
    while True:
        block = response.raw.read1(65536)
        if not block:
            break
        total += len(block)
        buf += utf8.decode(block).encode("utf-16-le")
        if not started:
            if len(buf) < 12:
                continue
            pos = 12  # ")]}'\n\n" is 6 units
            started = True
        while True:
            newline = buf.find(b"\n\x00", pos)
            if newline == -1:
                break
            digits = buf[pos:newline].decode("utf-16-le").strip()
            if not digits:
                pos = newline + 2
                continue
            end = newline + 2 * int(digits)
            if end > len(buf):
                break
            frame = json.loads(buf[newline:end].decode("utf-16-le"))
            for env in frame:
                if env[0] == "wrb.fr" and isinstance(env[2], str):
                    json.loads(env[2])
            frames += 1
            pos = end
        del buf[:pos]
        pos = 0
    return frames, total


def lower_bound(emu: EmulatorProcess) -> tuple[int, int]:
    """Not a correct reader: frames delimited by JSON syntax, declared lengths ignored.

    It shows the cost of reading and parsing alone (what is left when length
    checking is free), as a stricter yardstick than the floor.
    """
    response = _post(emu)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    decoder = json.JSONDecoder()
    text = ""
    frames = 0
    total = 0
    while True:
        block = response.raw.read1(65536)
        if not block:
            break
        total += len(block)
        text += utf8.decode(block)
        pos = 6 if text.startswith(")]}'") else 0
        while True:
            newline = text.find("\n", pos)
            while newline != -1 and not text[pos:newline].strip():
                pos = newline + 1
                newline = text.find("\n", pos)
            if newline == -1:
                break
            try:
                frame, end = decoder.raw_decode(text, newline + 1)
            except ValueError:
                break  # incomplete: wait for more
            for env in frame:
                if env[0] == "wrb.fr" and isinstance(env[2], str):
                    json.loads(env[2])
            frames += 1
            pos = end
        text = text[pos:]
    return frames, total


def _post(emu: EmulatorProcess) -> requests.Response:
    session = requests.Session()
    session.cookies.update(emu.cookies)
    tokens = scrape_tokens(session.get(emu.url + "/app", timeout=10).text)
    assert tokens is not None
    prepared = generate_request(LONG_PROMPT, tokens, 1, model=Model.UNSPECIFIED)
    return session.post(
        emu.url + prepared.path,
        params=prepared.params,
        headers=prepared.headers,
        data=prepared.data,
        stream=True,
        timeout=30,
    )


def ours(client: GeminiClient) -> tuple[int, int]:
    chunks = 0
    for _chunk in client.stream(LONG_PROMPT):
        chunks += 1
    return chunks, 0


def async_client_pipeline(emu: EmulatorProcess) -> tuple[int, int] | None:
    """gemini-webapi's streaming pipeline on the same body; ``None`` if it is not installed.

    Its ``GeminiClient`` hard-codes Google's URLs (``gemini_webapi.constants.Endpoint``)
    and talks through curl_cffi, so it cannot simply be given a base URL. What is
    timed is the work its client does per stream, with its own functions: a
    ``requests`` stream read from the same server, incremental UTF-8 decoding, its
    ``utils.parsing.StreamingFrameParser`` (UTF-16 length splitting), ``json.loads``
    of each inner payload, and its ``get_delta_by_fp_len`` delta rule on the text.
    """
    try:
        from gemini_webapi.utils.parsing import StreamingFrameParser, get_delta_by_fp_len
    except ImportError:
        return None
    response = _post(emu)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    parser = StreamingFrameParser()
    frames = 0
    total = 0
    sent = ""
    while True:
        block = response.raw.read1(65536)
        if not block:
            break
        total += len(block)
        for frame in parser.feed(utf8.decode(block)):
            frames += 1
            envelopes = frame if isinstance(frame[0], list) else [frame]
            for env in envelopes:
                if env[0] == "wrb.fr" and isinstance(env[2], str):
                    payload = json.loads(env[2])
                    cands = payload[4] if len(payload) > 4 and payload[4] else []
                    for cand in cands:
                        done = isinstance(cand[8], list) and cand[8][0] == 2
                        _delta, sent = get_delta_by_fp_len(cand[1][0], sent, done)
    return frames, total


def best(fn: Any, runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    snapshots = long_snapshots()
    with EmulatorProcess(script_name="_bodyserver.py") as emu:
        client = GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False)
        client.init()
        best(lambda: floor(emu), 1)  # warm up both paths
        best(lambda: ours(client), 1)
        t_floor, (frames, body) = best(lambda: floor(emu), args.runs)
        t_lower, (lower_frames, _) = best(lambda: lower_bound(emu), args.runs)
        t_ours, (chunks, _) = best(lambda: ours(client), args.runs)
        assert lower_frames == frames
        t_async: float | None = None
        if async_client_pipeline(emu) is not None:
            t_async, _ = best(lambda: async_client_pipeline(emu), args.runs)
        client.close()
    mb = body / 1e6
    rows = [
        ["(a) floor: requests + split + json.loads", t_floor * 1000, frames / t_floor, mb / t_floor, 1.0],
        [
            "(a') lower bound: lengths ignored",
            t_lower * 1000,
            frames / t_lower,
            mb / t_lower,
            t_lower / t_floor,
        ],
        ["(b) gemini_sync client.stream()", t_ours * 1000, frames / t_ours, mb / t_ours, t_ours / t_floor],
    ]
    if t_async is not None:
        rows.append(
            ["(c) gemini-webapi pipeline", t_async * 1000, frames / t_async, mb / t_async, t_async / t_floor]
        )
    results = {
        "frames": frames,
        "chunks": chunks,
        "body_bytes": body,
        "final_text_chars": len(snapshots[-1]),
        "floor_s": t_floor,
        "gemini_sync_s": t_ours,
        "lower_bound_s": t_lower,
        "ratio_b_over_a": t_ours / t_floor,
        "ratio_b_over_lower_bound": t_ours / t_lower,
        "async_client_s": t_async,
        "speedup_b_over_c": (t_async / t_ours) if t_async else None,
    }
    if args.json:
        emit_json("throughput", results)
    else:
        print_table(
            f"throughput: {frames} frames, {mb:.2f} MB body, {len(snapshots[-1])} chars of final text "
            f"(best of {args.runs})",
            ["reader", "ms", "frames/s", "MB/s", "x floor"],
            rows,
        )


if __name__ == "__main__":
    main()
