"""Throughput on a long answer: a validating floor, gemini_sync, and (if installed) a peer's parser.

    python bench/throughput.py [--runs 7] [--json]

Two bodies of 400 cumulative snapshots growing to 16,000 characters, encoded
once with the project's own encoders and served on loopback as fast as
possible from a child process (``bench/_bodyserver.py``: the point is the
client's cost, so the server must cost nothing): ``long`` mixes ASCII with
accents, CJK and a few emoji; ``astral`` is rich in characters outside the
BMP (emoji, CJK Extension B), where UTF-16 lengths differ from ``len``.
Every reader is warmed the same way (one session, token fetched, connection
open) and timed over the POST and the whole body; the readers take turns in
each of ``--runs`` rounds (so load from other processes falls on all alike),
and each one's median is reported:

(a) floor: the irreducible work of a correct streaming reader, see ``floor``;
(a') lower bound, not a correct reader: frames found by JSON syntax with the
    declared lengths ignored;
(b) gemini_sync: iterating ``client.stream()`` to the end;
(c) gemini-webapi's ``StreamingFrameParser`` and ``get_delta_by_fp_len``
    driven by this script's loop (its client hard-codes Google's URLs, so it
    cannot be pointed at this server), when ``gemini-webapi`` is installed.
"""

from __future__ import annotations

import argparse
import codecs
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LONG_PROMPT, EmulatorProcess, emit_json, print_table
from gemini_sync import GeminiClient
from gemini_sync.models import Model
from gemini_sync.protocol.app import scrape_tokens
from gemini_sync.protocol.request import generate_request


class _Warm:
    """A ``requests`` session warmed like the client: token fetched, connection open.

    The floor and the lower bound post with it, so they pay for exactly what the
    pre-warmed client pays for on each stream: the POST and the body.
    """

    def __init__(self, emu: EmulatorProcess) -> None:
        self.session = requests.Session()
        self.session.cookies.update(emu.cookies)
        tokens = scrape_tokens(self.session.get(emu.url + "/app", timeout=10).text)
        assert tokens is not None
        self.prepared = generate_request(LONG_PROMPT, tokens, 1, model=Model.UNSPECIFIED)
        self.url = emu.url + self.prepared.path

    def post(self) -> requests.Response:
        prepared = self.prepared
        return self.session.post(
            self.url,
            params=prepared.params,
            headers=prepared.headers,
            data=prepared.data,
            stream=True,
            timeout=30,
        )


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def floor(warm: _Warm) -> tuple[int, int]:
    """Frames and bytes read by the cheapest reader that still validates every frame.

    A ``requests`` stream read with ``read1`` (so each frame could be handed out
    the moment it arrives), incremental UTF-8 decoding, each frame's end found at
    its newline (a raw newline never occurs inside compact JSON), the declared
    length checked exactly in UTF-16 units (against ``len(text) + 2`` first; the
    UTF-16 encoding is computed only when the two differ, i.e. for frames with
    characters outside the BMP), then ``json.loads`` of the frame and of each
    inner payload. Nothing else.
    """
    response = warm.post()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    text = ""
    frames = 0
    total = 0
    while True:
        block = response.raw.read1(65536)
        if not block:
            break
        total += len(block)
        text += utf8.decode(block)
        pos = 0
        if text.startswith(")]}'"):
            pos = 4
        while True:
            while pos < len(text) and text[pos] in " \r\n\t":
                pos += 1
            newline = text.find("\n", pos)
            if newline == -1:
                break
            end = text.find("\n", newline + 1)
            if end == -1:
                break  # the frame's last byte has not arrived
            declared = int(text[pos:newline])
            body = text[newline + 1 : end]
            if declared != len(body) + 2 and declared != _utf16_units(body) + 2:
                raise ValueError(f"frame {frames + 1}: declared length {declared} is wrong")
            frame = json.loads(body)
            for env in frame:
                if env[0] == "wrb.fr" and isinstance(env[2], str):
                    json.loads(env[2])
            frames += 1
            pos = end + 1
        text = text[pos:]
    response.close()
    return frames, total


def lower_bound(warm: _Warm) -> tuple[int, int]:
    """Not a correct reader: frames delimited by JSON syntax, declared lengths ignored.

    It shows the cost of reading and parsing alone (what is left when length
    checking is free), as a stricter yardstick than the floor.
    """
    response = warm.post()
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


def ours(client: GeminiClient) -> tuple[int, int]:
    chunks = 0
    for _chunk in client.stream(LONG_PROMPT):
        chunks += 1
    return chunks, 0


def async_client_pipeline(warm: _Warm) -> tuple[int, int] | None:
    """gemini-webapi's frame parser and delta function driven by our loop; ``None`` if not installed.

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
    response = warm.post()
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


def interleaved_medians(readers: dict[str, Any], runs: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Each reader's median wall time over ``runs`` rounds (and ``<name>/floor``: the median of
    its per-round ratios to the floor), and its last result.

    The readers take turns within each round (floor, lower bound, gemini_sync,
    peer, floor, ...), so a change of load on a shared machine falls on all of
    them alike instead of on whichever happened to run then.
    """
    times: dict[str, list[float]] = {name: [] for name in readers}
    results: dict[str, Any] = {}
    for _ in range(runs):
        for name, fn in readers.items():
            started = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(t) for name, t in times.items()}
    # each round's reader over that round's floor: a ratio taken a few ms apart, then its median
    for name, t in times.items():
        medians[f"{name}/floor"] = statistics.median(a / b for a, b in zip(t, times["floor"], strict=True))
    return medians, results


def measure(body: str, runs: int) -> dict[str, Any]:
    """Every reader on one body (``"long"`` or ``"astral"``), each warmed, median of ``runs``."""
    with EmulatorProcess("--body", body, script_name="_bodyserver.py") as emu:
        warm = _Warm(emu)
        client = GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False)
        client.init()
        readers: dict[str, Any] = {
            "floor": lambda: floor(warm),
            "lower": lambda: lower_bound(warm),
            "ours": lambda: ours(client),
        }
        if async_client_pipeline(warm) is not None:
            readers["peer"] = lambda: async_client_pipeline(warm)
        for _ in range(2):  # warm up every path: connections open, code paths hot
            for fn in readers.values():
                fn()
        medians, results = interleaved_medians(readers, runs)
        t_floor, t_lower, t_ours = medians["floor"], medians["lower"], medians["ours"]
        frames, body_bytes = results["floor"]
        chunks = results["ours"][0]
        assert results["lower"][0] == frames
        t_peer: float | None = medians.get("peer")
        client.close()
    return {
        "body": body,
        "frames": frames,
        "chunks": chunks,
        "body_bytes": body_bytes,
        "floor_s": t_floor,
        "lower_bound_s": t_lower,
        "gemini_sync_s": t_ours,
        "peer_s": t_peer,
        "ratio_b_over_a": medians["ours/floor"],
        "ratio_lower_bound_over_a": medians["lower/floor"],
        "ratio_b_over_lower_bound": t_ours / t_lower,
        "ratio_peer_over_a": medians.get("peer/floor"),
        "speedup_b_over_peer": (t_peer / t_ours) if t_peer else None,
    }


def _rows(r: dict[str, Any]) -> list[list[Any]]:
    mb = r["body_bytes"] / 1e6
    frames = r["frames"]

    def row(label: str, seconds: float, ratio: float) -> list[Any]:
        return [label, seconds * 1000, frames / seconds, mb / seconds, ratio]

    rows = [
        row("(a) floor: read1 + newline split + exact length + json.loads x2", r["floor_s"], 1.0),
        row(
            "(a') lower bound, not a correct reader: lengths ignored",
            r["lower_bound_s"],
            r["ratio_lower_bound_over_a"],
        ),
        row("(b) gemini_sync client.stream()", r["gemini_sync_s"], r["ratio_b_over_a"]),
    ]
    if r["peer_s"] is not None:
        label = "(c) gemini-webapi's frame parser + delta fn, our loop"
        rows.append(row(label, r["peer_s"], r["ratio_peer_over_a"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(body, args.runs) for body in ("long", "astral")]
    if args.json:
        emit_json("throughput", {"runs": args.runs, "bodies": results})
        return
    for r in results:
        print_table(
            f"throughput, {r['body']} body: {r['frames']} frames, {r['body_bytes'] / 1e6:.2f} MB "
            f"(median of {args.runs} interleaved rounds)",
            ["reader", "ms", "frames/s", "MB/s", "x floor (median of per-round ratios)"],
            _rows(r),
        )


if __name__ == "__main__":
    main()
