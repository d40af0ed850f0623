"""Property tests: what the emulator encodes, the client's decoder reads back, however it is cut.

Arbitrary snapshot texts (non-BMP characters, CJK, U+2028, quotes,
backslashes, newlines) are encoded with the shared protocol encoders and the
emulator's body writer, split at arbitrary byte boundaries, and decoded with
:class:`~gemini_sync.protocol.framing.FrameDecoder` and
:func:`~gemini_sync.protocol.payload.parse_frame`.
"""

from __future__ import annotations

import itertools
import socket
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_sync.emulator.wire import BodyWriter, framed_body
from gemini_sync.protocol.framing import FrameDecoder, encode_body
from gemini_sync.protocol.payload import EndMarker, Payload, RawImage, parse_frame
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames

_TRICKY = ["😀", "🚀", "日本語", "\u2028", "\u2029", '"', "\\", '\\\\"', "\n", "```", "&amp;", "\x00", "é"]

texts = st.lists(
    st.one_of(st.text(st.characters(codec="utf-8"), max_size=12), st.sampled_from(_TRICKY)), max_size=8
).map("".join)
snapshot_lists = st.lists(texts, min_size=1, max_size=6)


def _frames(snapshots: list[str], thoughts: list[str]) -> list[list[object]]:
    last = len(snapshots) - 1
    frames: list[list[object]] = [[data_envelope(build_payload("c_1", "r_1", None))]]
    for index, text in enumerate(snapshots):
        thought = thoughts[index % len(thoughts)] if thoughts else None
        cand = build_candidate("rc_1", text, thoughts=thought, done=index == last)
        token = "ctx" if index == last else None
        frames.append([data_envelope(build_payload("c_1", "r_1", [cand], context_token=token))])
    return frames


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _decode(pieces: list[bytes]) -> list[object]:
    decoder = FrameDecoder()
    frames = [frame for piece in pieces for frame in decoder.feed(piece)] + decoder.close()
    return [event for frame in frames for event in parse_frame(frame)]


def _texts(events: list[object]) -> tuple[list[str], list[str]]:
    snaps = [c for e in events if isinstance(e, Payload) for c in e.candidates]
    return [c.text for c in snaps], [c.thoughts for c in snaps]


@settings(max_examples=150, deadline=None)
@given(snapshot_lists, st.lists(texts, max_size=3), st.lists(st.integers(min_value=0), max_size=40))
def test_snapshots_survive_any_split(snapshots: list[str], thoughts: list[str], cuts: list[int]) -> None:
    body = encode_body([*_frames(snapshots, thoughts), *tail_frames(0)]).encode()
    events = _decode(_split(body, cuts))
    got_texts, got_thoughts = _texts(events)
    assert got_texts == snapshots
    assert got_thoughts == [thoughts[i % len(thoughts)] if thoughts else "" for i in range(len(snapshots))]
    assert [p.cid for p in events if isinstance(p, Payload)] == ["c_1"] * (len(snapshots) + 1)


@settings(max_examples=100, deadline=None)
@given(snapshot_lists, st.lists(st.integers(min_value=0), max_size=20))
def test_framed_body_end_total_is_its_byte_length(snapshots: list[str], cuts: list[int]) -> None:
    body = framed_body(_frames(snapshots, []))
    events = _decode(_split(body, cuts))
    [end] = [e for e in events if isinstance(e, EndMarker)]
    assert end.total == len(body)
    assert _texts(events)[0] == snapshots


@settings(max_examples=60, deadline=None)
@given(snapshot_lists, st.integers(min_value=1, max_value=64), texts)
def test_body_writer_chunks_decode_back(snapshots: list[str], chunk_size: int, alt: str) -> None:
    server, client = socket.socketpair()
    received: list[bytes] = []

    def read_all() -> None:
        with client.makefile("rb") as stream:
            while True:
                line = stream.readline()
                size = int(line.strip(), 16)
                if size == 0:
                    return
                received.append(stream.read(size))
                assert stream.readline() == b"\r\n"

    reader = threading.Thread(target=read_all)
    reader.start()
    with server, server.makefile("wb", buffering=0) as wfile:
        writer = BodyWriter(server, wfile, stop=threading.Event(), chunk_size=chunk_size)
        writer.write(")]}'\n\n")
        image = RawImage("http://x/i.png", alt=alt, image_id="img-1")
        frames = _frames(snapshots, [])
        last = build_candidate("rc_1", snapshots[-1], done=True, web_images=[image], generated_images=[image])
        frames[-1] = [data_envelope(build_payload("c_1", "r_1", [last]))]
        for frame in frames:
            writer.frame(frame, data=True)
        writer.tail()
        writer.end()
    reader.join(5)
    client.close()
    assert all(len(piece) <= chunk_size for piece in received)
    events = _decode(received)
    assert _texts(events)[0] == snapshots
    final = [c for e in events if isinstance(e, Payload) for c in e.candidates][-1]
    assert final.done and [i.alt for i in final.web_images] == [alt]
    assert [(i.url, i.alt, i.image_id) for i in final.generated_images] == [("http://x/i.png", alt, "img-1")]
    [end] = [e for e in events if isinstance(e, EndMarker)]
    assert end.total == writer.bytes_sent == sum(map(len, received))
