"""The fast paths of the read path agree with the general ones (issue 17).

What a user relies on: the shortcuts taken for the common case (a frame found
at its newline, dense JSPB arrays read by index, streamed text shared with the
snapshot it came from) give exactly what the general code gives, for every
network cut and for the sparse form of every array, so speed never changes a
frame, a field or a chunk.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_sync.errors import ProtocolError, StreamInterrupted
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import XSSI_PREFIX, FrameDecoder, dumps, encode_body, json_decode, utf16_len
from gemini_sync.protocol.jspb import field_of, fields_of, with_sparse
from gemini_sync.protocol.payload import parse_frame, parse_payload
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope
from gemini_sync.protocol.text import _FENCE_WINDOW, _TAIL_RULES, _fence_line, volatile_start
from gemini_sync.types.output import StreamChunk

from .test_framing import decode_all, decode_bytewise

ASTRAL = "\U0001f600"


def frame_text(value: Any) -> str:
    return dumps(value)


# --- framing: the frame found at its newline ----------------------------------------


def test_indented_frames_with_raw_newlines_inside_decode_at_every_cut() -> None:
    """A newline inside a frame (JSON that is not compact) sends the decoder to the measured path."""
    frames = [[["wrb.fr", None, "x" + ASTRAL]], {"a": [1, 2, "中"]}, [[ASTRAL * 3, 1]]]
    texts = [json.dumps(f, indent=1, ensure_ascii=False) for f in frames]
    body = (XSSI_PREFIX + "\n\n" + "".join(f"{utf16_len(t) + 2}\n{t}\n" for t in texts)).encode()
    assert all("\n" in t for t in texts)
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == frames, cut
    assert decode_bytewise(body) == frames


def test_astral_frame_without_trailing_newline_at_the_end_of_the_body_decodes() -> None:
    """Fewer characters than declared units and no newline: complete only once the body ends."""
    last = frame_text([[ASTRAL * 5]])
    body = (XSSI_PREFIX + "\n\n" + f"{utf16_len(last) + 1}\n{last}").encode()
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == [[[ASTRAL * 5]]], cut


def test_astral_frame_without_trailing_newline_is_released_when_the_next_one_starts() -> None:
    first = frame_text([[ASTRAL * 5]])
    second = frame_text([["e", 4]])
    head = f"{XSSI_PREFIX}\n\n{utf16_len(first) + 1}\n{first}"
    body = (head + f"{len(second) + 2}\n{second}\n").encode()
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == [[[ASTRAL * 5]], [["e", 4]]], cut


@pytest.mark.parametrize("delta", [-3, -2, 1, 2])
def test_a_length_off_around_the_newline_is_never_accepted(delta: int) -> None:
    """Only the two exact lengths (with or without the trailing newline) take the fast path."""
    text = frame_text([["wrb.fr", None, ASTRAL + "中" + ASTRAL]])
    follow = frame_text([["e", 4]])
    body = f"{XSSI_PREFIX}\n\n{utf16_len(text) + 2 + delta}\n{text}\n{len(follow) + 2}\n{follow}\n".encode()
    with pytest.raises((ProtocolError, StreamInterrupted)):
        decode_all(body)


@given(
    st.lists(
        st.lists(st.text(st.sampled_from(["a", "é", "中", ASTRAL, "\\", '"', " "]), max_size=30), max_size=4),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
@settings(max_examples=40, deadline=None)
def test_frames_decode_identically_whatever_the_cuts(frames: list[list[str]], data: st.DataObject) -> None:
    body = encode_body(frames).encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    assert decode_all(body, cuts) == frames


def test_a_frame_that_trickles_in_waits_for_its_newline_without_reparsing() -> None:
    """Pieces without a newline are only kept: the frame comes out with the piece holding its newline."""
    text = frame_text([["中" * 40 + ASTRAL * 40]])
    body = f"{XSSI_PREFIX}\n\n{utf16_len(text) + 2}\n{text}\n".encode()
    decoder = FrameDecoder()
    released = []
    for i in range(len(body)):
        if decoder.feed(body[i : i + 1]):
            released.append(i + 1)
    assert released == [len(body)]


# --- payload: dense and sparse forms read alike --------------------------------------


@given(st.lists(st.none() | st.integers() | st.text(max_size=3), max_size=8), st.data())
def test_fields_of_reads_what_field_of_reads(array: list[Any], data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        keys = st.sampled_from(["1", "2", "5", "9", "x"])
        array = [*array, data.draw(st.dictionaries(keys, st.integers()))]
    fields = data.draw(st.lists(st.integers(0, 12), max_size=6))
    assert fields_of(array, *fields) == [field_of(array, n) for n in fields]


def _sparse(array: list[Any], moved: set[int]) -> list[Any]:
    """``array`` with the fields in ``moved`` taken out of their slots into a trailing object."""
    dense = [None if n in moved else value for n, value in enumerate(array)]
    while dense and dense[-1] is None:
        dense.pop()
    fields = {n: array[n] for n in moved if n < len(array) and array[n] is not None}
    return with_sparse(dense, fields) if fields else dense


def _sparse_candidate(cand: list[Any], moved: set[int]) -> list[Any]:
    inner = [_sparse(v, {0}) if n in (1, 8) and type(v) is list else v for n, v in enumerate(cand)]
    if type(inner[37]) is list:
        inner[37] = _sparse([_sparse(inner[37][0], {0})], {0})
    return _sparse(inner, moved)


@given(
    text=st.text(max_size=20),
    thoughts=st.none() | st.text(max_size=10),
    done=st.booleans(),
    token=st.none() | st.text(min_size=1, max_size=5),
    model=st.none() | st.text(min_size=1, max_size=5),
    moved_payload=st.sets(st.sampled_from([1, 4, 6, 25, 39, 42])),
    moved_cand=st.sets(st.sampled_from([0, 1, 8, 37])),
)
@settings(max_examples=60, deadline=None)
def test_dense_and_sparse_payloads_parse_alike(
    text: str,
    thoughts: str | None,
    done: bool,
    token: str | None,
    model: str | None,
    moved_payload: set[int],
    moved_cand: set[int],
) -> None:
    cand = build_candidate("rc_1", text, thoughts=thoughts, done=done)
    dense = build_payload("c_1", "r_1", [cand], context_token=token, model_name=model, busy=bool(token))
    sparse = _sparse(dense, moved_payload)
    if 4 not in moved_payload:
        sparse[4] = [_sparse_candidate(cand, moved_cand)]
    elif type(sparse[-1]) is dict:
        sparse[-1]["5"] = [_sparse_candidate(cand, moved_cand)]
    expected = parse_payload(dense)
    assert expected.candidates[0].text == text and expected.candidates[0].done == done
    assert parse_payload(json.loads(dumps(sparse))) == expected


@given(
    cut_payload=st.integers(0, 45),
    cut_cand=st.integers(0, 40),
    thoughts=st.none() | st.text(max_size=5),
    model=st.none() | st.text(min_size=1, max_size=5),
    busy=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_the_inline_field_reads_of_a_dense_payload_match_fields_of(
    cut_payload: int, cut_cand: int, thoughts: str | None, model: str | None, busy: bool
) -> None:
    # dense arrays of every length (shorter than the fields read, or long enough for one
    # itemgetter) against the same arrays ending with an empty object, which parse_payload
    # reads through fields_of: the general path
    cand = build_candidate("rc_1", "some text", thoughts=thoughts, done=True)[:cut_cand]
    dense = build_payload(
        "c_1", "r_1", [cand], context_token="tok", busy=busy, model_name=model, model_id=model
    )
    dense = [*dense, *([None] * 3), "x"][:cut_payload]  # also longer than field 42
    general = [*dense, {}]
    if len(dense) > 4:
        general[4] = [[*cand, {}]]
    if len(dense) > 1:
        general[1] = [*dense[1], {}]
    expected = parse_payload(general)
    assert parse_payload(dense) == expected
    if cut_payload > 42 and cut_cand > 1:
        assert expected.candidates[0].text == "some text" and expected.model_name == model
        assert (expected.cid, expected.rid) == ("c_1", "r_1")


JSON_PIECES = ["[", "]", "{", "}", '"a"', ":", ",", "1", " ", "\ufeff", "\n"]


@given(st.lists(st.sampled_from(JSON_PIECES), max_size=10))
@settings(max_examples=300, deadline=None)
def test_json_decode_is_json_loads(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            json_decode(text)
    else:
        assert json_decode(text) == expected


def test_sparse_rid_and_meta_are_read_like_the_dense_ones() -> None:
    sparse = with_sparse([None, [None, None]], {17: "r_9", 25: "tok"})
    payload = parse_payload(sparse)
    assert (payload.cid, payload.rid, payload.context_token) == (None, "r_9", "tok")
    assert parse_payload([None, with_sparse([None], {0: "c_1", 1: "r_1"})]).rid == "r_1"


# --- text: the scan that skips the tail rules ------------------------------------------


def _volatile_start_by_rules(raw: str, floor: int) -> int:
    """The rules applied until none moves the cut, without the shortcut."""
    cut = len(raw)
    while cut > floor:
        new = cut
        for rule in _TAIL_RULES:
            new = rule(raw, new, floor)
            if new <= floor:
                return floor
        if new == cut:
            return cut
        cut = new
    return floor


PIECES = ["a", "h", "ht", "http://", "http://googleusercontent.com/", "image_generation_content/", "3", "\n"]
PIECES += ["`", "```", "```python", "\\", "\\*", "&", "&amp", ";", "<", "<FollowUp", " a='x'", "/>", "\ud83d"]
PIECES += ["\U0001f600", "中", " "]


@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join), st.data())
@settings(max_examples=300, deadline=None)
def test_the_shortcut_cuts_where_the_rules_cut(raw: str, data: st.DataObject) -> None:
    floor = data.draw(st.integers(0, len(raw)))
    assert volatile_start(raw, floor) == _volatile_start_by_rules(raw, floor)


FENCE_PIECES = ["`", "```", "```py", "\n", "a", " ", "```\n", "a" * 150]
_FENCE_LINE_TAIL = re.compile(r"^`{3}[^\n`]*\Z", re.M)  # the rule as a regular expression


@given(
    st.lists(st.sampled_from(FENCE_PIECES), max_size=20).map("".join),
    st.data(),
)
@settings(max_examples=300, deadline=None)
def test_the_fence_line_rule_finds_what_its_regular_expression_finds(raw: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(1, len(raw))) if raw else 0
    floor = data.draw(st.integers(0, cut))
    start = max(floor, cut - _FENCE_WINDOW)
    match = _FENCE_LINE_TAIL.search(raw, start, cut)
    expected = match.start() if match and match.end() - match.start() > 3 else cut
    assert _fence_line(raw, cut, floor) == expected


# --- delta: text shared with the snapshot, then copied once clean-up changes it --------


def _stream(snapshots: list[str]) -> list[StreamChunk]:
    asm = StreamAssembler()
    chunks = []
    for n, text in enumerate(snapshots):
        last = n == len(snapshots) - 1
        frame = [data_envelope(build_payload("c", "r", [build_candidate("rc", text, done=last)]))]
        for event in parse_frame(json.loads(dumps(frame))):
            chunk = asm.feed_event(event)
            if chunk is not None:
                chunks.append(chunk)
    chunks.append(asm.finish())
    return chunks


def test_clean_up_after_verbatim_text_is_applied_to_the_rest() -> None:
    end = "plain text &amp; more &lt;b&gt; end"
    chunks = _stream(["plain ", "plain text &amp", "plain text &amp; more", end])
    final = "plain text & more <b> end"
    assert [c.text for c in chunks] == ["plain ", "plain text ", "plain text & more", final, final]
    assert "".join(c.delta_text for c in chunks) == chunks[-1].text


def test_verbatim_text_is_the_snapshot_not_a_copy() -> None:
    """Memory: text that needs no clean-up is the snapshot string itself (issue 17)."""
    asm = StreamAssembler()
    frame = json.loads(dumps([data_envelope(build_payload("c", "r", [build_candidate("rc", "x" * 1000)]))]))
    (payload,) = parse_frame(frame)
    chunk = asm.feed_event(payload)
    assert chunk is not None and chunk.text == "x" * 1000
    assert chunk.text is payload.candidates[0].text  # type: ignore[union-attr]
