"""FrameDecoder, utf16_len, encode_frame, encode_body (PROTOCOL.md section 4).

What a user relies on: whatever way the network cuts the body, the frames come
out the same; the examples of PROTOCOL.md 4.3/4.4 decode byte for byte; and a
malformed, hostile or truncated body fails with a typed ``GeminiError``
(never ``IndexError``, ``JSONDecodeError``, ``UnicodeDecodeError`` ...), without
waiting for or allocating data it will refuse anyway.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemini_sync._constants import MAX_FRAME_UNITS, MAX_LENGTH_DIGITS
from gemini_sync.errors import GeminiError, ProtocolError, StreamInterrupted
from gemini_sync.protocol.framing import (
    XSSI_PREFIX,
    FrameDecoder,
    dumps,
    encode_body,
    encode_frame,
    utf16_len,
)

# --- the examples of PROTOCOL.md 4.3 and 4.4, typed in by hand ----------------

EXAMPLE_PAYLOAD = (
    '[null,["c_1a2b3c","r_4d5e6f"],null,null,[["rc_7a8b9c",["Hi!"],null,null,null,null,null,null,[2]]]]'
)
EXAMPLE_FRAME_1 = (
    '[["wrb.fr",null,"[null,[\\"c_1a2b3c\\",\\"r_4d5e6f\\"],null,null,'
    '[[\\"rc_7a8b9c\\",[\\"Hi!\\"],null,null,null,null,null,null,[2]]]]"]]'
)
EXAMPLE_FRAME_2 = '[["di",57],["af.httprm",56,"-1234567890123456789",7]]'
EXAMPLE_FRAME_3 = '[["e",4,null,null,221]]'
EXAMPLE_BODY = (f")]}}'\n\n128\n{EXAMPLE_FRAME_1}\n55\n{EXAMPLE_FRAME_2}\n25\n{EXAMPLE_FRAME_3}\n").encode()

EMOJI_FRAME = EXAMPLE_FRAME_1.replace("Hi!", "Hi \U0001f600")


def decode_all(body: bytes, cuts: list[int] | tuple[int, ...] = ()) -> list[Any]:
    """Feed ``body`` cut at the given byte offsets, then close; return every frame."""
    decoder = FrameDecoder()
    frames: list[Any] = []
    last = 0
    for cut in sorted(cuts):
        frames += decoder.feed(body[last:cut])
        last = cut
    frames += decoder.feed(body[last:])
    frames += decoder.close()
    return frames


def decode_bytewise(body: bytes) -> list[Any]:
    decoder = FrameDecoder()
    frames: list[Any] = []
    for i in range(len(body)):
        frames += decoder.feed(body[i : i + 1])
    return frames + decoder.close()


def raises_only_gemini_error(body: bytes, cuts: list[int] | tuple[int, ...] = ()) -> None:
    """Decode ``body``; any exception other than a GeminiError fails the test."""
    try:
        decode_all(body, cuts)
    except GeminiError:
        pass


# --- hypothesis strategies ------------------------------------------------------

# Characters that break naive framing: astral (2 UTF-16 units, 4 UTF-8 bytes),
# CJK (3 bytes), combining marks, JS line separators, JSON escapes, newlines.
TRICKY = [
    "\U0001f600",  # 😀
    "\U0001f469\u200d\U0001f4bb",  # 👩‍💻 (ZWJ sequence)
    "\U00020000",  # CJK extension B (astral)
    "中",
    "文",
    "e\u0301",  # e + combining acute
    "\u0308",
    "\u2028",
    "\u2029",
    "\\",
    '"',
    '\\"',
    "\n",
    "\r\n",
    "\t",
    "]",
    "[",
    "128\n",
    ")]}'",
    "\x00",
    "\ufeff",
    "\uffff",
    "a",
    " ",
]
tricky_text = st.lists(
    st.sampled_from(TRICKY) | st.text(st.characters(exclude_categories=("Cs",)), max_size=4),
    max_size=12,
).map("".join)

json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | tricky_text
json_value = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=12,
)


@st.composite
def envelope_frames(draw: st.DrawFn) -> list[Any]:
    """A frame as the service sends it: a list of envelopes, text double-encoded."""
    text = draw(tricky_text)
    payload = [None, ["c_1", "r_1"], None, None, [["rc_1", [text], None, None, None, None, None, None, [1]]]]
    frame: list[Any] = [["wrb.fr", None, dumps(payload)]]
    if draw(st.booleans()):
        frame.append(["di", draw(st.integers(0, 10**6))])
    return frame


frame_strategy = envelope_frames() | st.lists(json_value, min_size=0, max_size=4)
frames_strategy = st.lists(frame_strategy, min_size=1, max_size=5)


# --- encode_frame / utf16_len ----------------------------------------------------


def test_utf16_len_counts_javascript_string_length() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("中文") == 2  # BMP: one unit each, though 3 UTF-8 bytes each
    assert utf16_len("\U0001f600") == 2  # astral: a surrogate pair
    assert utf16_len("e\u0301") == 2  # combining mark is its own code unit
    assert utf16_len("Hi \U0001f600\u2028") == 6


@given(tricky_text)
@settings(max_examples=200, deadline=None)
def test_utf16_len_matches_utf16_encoding(text: str) -> None:
    assert utf16_len(text) == len(text.encode("utf-16-le")) // 2


def test_encode_frame_length_counts_both_newlines() -> None:
    assert encode_frame([["e", 4, None, None, 221]]) == f"25\n{EXAMPLE_FRAME_3}\n"
    assert encode_frame(EXAMPLE_FRAME_2) == f"55\n{EXAMPLE_FRAME_2}\n"  # already-serialised text


def test_encode_frame_keeps_non_ascii_raw() -> None:
    # ["中😀"] is 6 characters but 7 UTF-16 units (the emoji counts 2), framed as 7 + 2
    assert encode_frame(["中\U0001f600"]) == '9\n["中\U0001f600"]\n'


# --- PROTOCOL.md 4.3 / 4.4 examples ----------------------------------------------------


def test_protocol_example_4_3_is_reproduced_byte_for_byte() -> None:
    payload = json.loads(EXAMPLE_PAYLOAD)
    body = encode_body(
        [
            [["wrb.fr", None, dumps(payload)]],
            [["di", 57], ["af.httprm", 56, "-1234567890123456789", 7]],
            [["e", 4, None, None, 221]],
        ]
    ).encode()
    assert body == EXAMPLE_BODY
    assert len(body) == 221
    assert len(EXAMPLE_PAYLOAD) == 98
    assert [utf16_len(f) + 2 for f in (EXAMPLE_FRAME_1, EXAMPLE_FRAME_2, EXAMPLE_FRAME_3)] == [128, 55, 25]


def test_protocol_example_4_3_decodes_to_its_three_frames() -> None:
    frames = decode_all(EXAMPLE_BODY)
    assert frames == [json.loads(EXAMPLE_FRAME_1), json.loads(EXAMPLE_FRAME_2), json.loads(EXAMPLE_FRAME_3)]
    assert json.loads(frames[0][0][2]) == json.loads(EXAMPLE_PAYLOAD)


def test_protocol_example_4_3_decodes_when_cut_at_every_byte() -> None:
    expected = decode_all(EXAMPLE_BODY)
    for cut in range(len(EXAMPLE_BODY) + 1):
        assert decode_all(EXAMPLE_BODY, [cut]) == expected, cut
    assert decode_bytewise(EXAMPLE_BODY) == expected


def test_frames_are_released_as_soon_as_their_last_byte_arrives() -> None:
    """No frame waits for the next one: latency of a stream depends on it."""
    decoder = FrameDecoder()
    released_at: list[int] = []
    for i in range(len(EXAMPLE_BODY)):
        released_at += [i + 1] * len(decoder.feed(EXAMPLE_BODY[i : i + 1]))
    first_end = len(f")]}}'\n\n128\n{EXAMPLE_FRAME_1}\n")
    second_end = first_end + len(f"55\n{EXAMPLE_FRAME_2}\n")
    assert released_at == [first_end, second_end, len(EXAMPLE_BODY)]
    assert decoder.close() == []


def test_protocol_example_4_4_non_bmp_length_is_utf16_units() -> None:
    assert len(EMOJI_FRAME) + 2 == 129  # code points: wrong
    assert len(EMOJI_FRAME.encode()) + 2 == 132  # UTF-8 bytes: wrong
    assert utf16_len(EMOJI_FRAME) + 2 == 130  # UTF-16 units: right
    expected_frame = json.loads(EMOJI_FRAME)
    assert encode_frame(expected_frame) == f"130\n{EMOJI_FRAME}\n"

    body = f")]}}'\n\n130\n{EMOJI_FRAME}\n25\n{EXAMPLE_FRAME_3}\n".encode()
    expected = [expected_frame, json.loads(EXAMPLE_FRAME_3)]
    assert decode_all(body) == expected
    for cut in range(len(body) + 1):  # includes every cut inside the 4-byte emoji
        assert decode_all(body, [cut]) == expected, cut
    assert json.loads(expected[0][0][2])[4][0][1][0] == "Hi \U0001f600"


def test_byte_counted_length_is_rejected() -> None:
    """132 (UTF-8 bytes) swallows the start of the next length line: an error, not a wrong frame."""
    body = f")]}}'\n\n132\n{EMOJI_FRAME}\n25\n{EXAMPLE_FRAME_3}\n".encode()
    with pytest.raises(ProtocolError):
        decode_all(body)


def test_code_point_counted_length_is_rejected() -> None:
    """With two astral characters a code-point count falls inside the JSON: an error."""
    frame = EXAMPLE_FRAME_1.replace("Hi!", "\U0001f600\U0001f600")
    assert utf16_len(frame) == len(frame) + 2
    body = f")]}}'\n\n{len(frame) + 2}\n{frame}\n25\n{EXAMPLE_FRAME_3}\n".encode()
    with pytest.raises(ProtocolError):
        decode_all(body)
    # and at the very end of the body it can never complete
    body = f")]}}'\n\n{len(frame) + 2}\n{frame}".encode()
    with pytest.raises(ProtocolError):
        decode_all(body)


def test_code_point_length_of_4_4_equals_a_frame_without_its_trailing_newline() -> None:
    """129 for the 4.4 frame is exactly "\\n" + JSON: the tolerated no-trailing-newline form."""
    body = f")]}}'\n\n129\n{EMOJI_FRAME}\n25\n{EXAMPLE_FRAME_3}\n".encode()
    assert decode_all(body) == [json.loads(EMOJI_FRAME), json.loads(EXAMPLE_FRAME_3)]


# --- round trip property tests ------------------------------------------------------


@given(frames_strategy)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_small_bodies_decode_identically_at_every_byte_boundary(frames: list[Any]) -> None:
    body = encode_body(frames).encode()
    if len(body) > 600:
        body = encode_body(frames[:1]).encode()
        frames = frames[:1]
    expected = json.loads(json.dumps(frames))
    assert decode_all(body) == expected
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == expected
    assert decode_bytewise(body) == expected


@given(st.data(), frames_strategy)
@settings(max_examples=150, deadline=None)
def test_bodies_decode_identically_under_random_multiway_splits(
    data: st.DataObject, frames: list[Any]
) -> None:
    big = data.draw(st.integers(0, 3))
    frames = frames * (1 + big * 20)  # some bodies of several kB
    body = encode_body(frames).encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=40))
    assert decode_all(body, cuts) == json.loads(json.dumps(frames))


@given(st.lists(frame_strategy, min_size=1, max_size=4), st.data())
@settings(max_examples=100, deadline=None)
def test_body_without_xssi_prefix_is_accepted(frames: list[Any], data: st.DataObject) -> None:
    body = "".join(encode_frame(f) for f in frames).encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    assert decode_all(body, cuts) == json.loads(json.dumps(frames))


def test_body_without_prefix_but_with_blank_line_is_accepted() -> None:
    body = f"\n\n25\n{EXAMPLE_FRAME_3}\n".encode()
    assert decode_all(body) == [json.loads(EXAMPLE_FRAME_3)]


def test_prefix_without_blank_line_is_accepted() -> None:
    body = f")]}}'25\n{EXAMPLE_FRAME_3}\n".encode()
    assert decode_all(body) == [json.loads(EXAMPLE_FRAME_3)]


# --- tolerated variations -------------------------------------------------------------


def test_frame_whose_length_excludes_its_trailing_newline_is_tolerated() -> None:
    first = f"{utf16_len(EMOJI_FRAME) + 1}\n{EMOJI_FRAME}\n"  # length counts "\n" + JSON only
    last = f"{utf16_len(EXAMPLE_FRAME_3) + 1}\n{EXAMPLE_FRAME_3}"  # and the body ends without "\n"
    body = (XSSI_PREFIX + "\n\n" + first + last).encode()
    expected = [json.loads(EMOJI_FRAME), json.loads(EXAMPLE_FRAME_3)]
    for cut in range(len(body) + 1):
        assert decode_all(body, [cut]) == expected, cut


def test_extra_whitespace_between_frames_is_tolerated() -> None:
    body = f")]}}'\n\n\n  25\n{EXAMPLE_FRAME_3}\n\r\n\t\n25\n{EXAMPLE_FRAME_3}\n\n\n".encode()
    assert decode_all(body) == [json.loads(EXAMPLE_FRAME_3)] * 2


def test_empty_body_and_prefix_only_body_yield_no_frames() -> None:
    assert decode_all(b"") == []
    assert decode_all(b")]}'\n\n") == []


def test_decoder_counts_frames() -> None:
    decoder = FrameDecoder()
    decoder.feed(EXAMPLE_BODY)
    decoder.close()
    assert decoder.frames == 3


# --- malformed input: typed errors only ----------------------------------------------


def test_html_page_is_a_protocol_error_naming_html() -> None:
    page = b"<!DOCTYPE html><html><head><title>Sorry...</title></head><body>unusual traffic</body></html>"
    with pytest.raises(ProtocolError, match="HTML"):
        decode_all(page)
    with pytest.raises(ProtocolError, match="HTML"):
        decode_all(b")]}'\n\n" + page)


def test_invalid_utf8_is_a_protocol_error() -> None:
    body = b')]}\'\n\n5\n["\xff"]\n'
    with pytest.raises(ProtocolError):
        decode_all(body)
    with pytest.raises(ProtocolError):
        decode_all(b')]}\'\n\n6\n["\xed\xa0\x80"]\n')  # an encoded lone surrogate


def test_body_ending_inside_a_utf8_character_is_interrupted() -> None:
    body = f")]}}'\n\n130\n{EMOJI_FRAME}\n".encode()
    cut = body.index("\U0001f600".encode()) + 2
    decoder = FrameDecoder()
    assert decoder.feed(body[:cut]) == []
    with pytest.raises(StreamInterrupted):
        decoder.close()


@pytest.mark.parametrize(
    "cut",
    [1, 3, 7, 8, 9, 10, 50, len(EXAMPLE_BODY) - 30, len(EXAMPLE_BODY) - 26, len(EXAMPLE_BODY) - 1],
)
def test_truncated_body_raises_stream_interrupted_on_close(cut: int) -> None:
    decoder = FrameDecoder()
    decoder.feed(EXAMPLE_BODY[:cut])
    with pytest.raises(StreamInterrupted):
        decoder.close()


def test_truncation_right_after_a_frame_is_not_an_error_for_the_decoder() -> None:
    """The decoder cannot know more frames were due; the end marker is the assembler's business."""
    cut = len(EXAMPLE_BODY) - len(f"25\n{EXAMPLE_FRAME_3}\n")
    assert len(decode_all(EXAMPLE_BODY[:cut])) == 2


def test_length_too_short_is_a_protocol_error() -> None:
    body = f")]}}'\n\n{utf16_len(EXAMPLE_FRAME_3)}\n{EXAMPLE_FRAME_3}\n".encode()
    with pytest.raises(ProtocolError, match="not valid JSON"):
        decode_all(body)


def test_length_too_long_is_a_protocol_error_when_a_frame_follows() -> None:
    body = f")]}}'\n\n{utf16_len(EXAMPLE_FRAME_3) + 3}\n{EXAMPLE_FRAME_3}\n25\n{EXAMPLE_FRAME_3}\n".encode()
    with pytest.raises(ProtocolError):
        decode_all(body)


def test_length_too_long_at_end_of_body_is_interrupted() -> None:
    body = f")]}}'\n\n{utf16_len(EXAMPLE_FRAME_3) + 40}\n{EXAMPLE_FRAME_3}\n".encode()
    with pytest.raises(StreamInterrupted):
        decode_all(body)


def test_length_ending_inside_a_surrogate_pair_is_a_protocol_error() -> None:
    # '["😀"]': the JSON is 6 units; a length that stops after half the emoji
    body = ')]}\'\n\n4\n["\U0001f600"]\n'.encode()
    with pytest.raises(ProtocolError):
        decode_all(body)


def test_length_of_eleven_digits_is_refused_without_waiting_for_the_newline() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b")]}'\n\n" + b"1" * MAX_LENGTH_DIGITS) == []  # ten digits: may still be a length
    with pytest.raises(ProtocolError):
        decoder.feed(b"2")  # the eleventh digit


def test_length_with_leading_zeros_beyond_ten_digits_is_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_all(b")]}'\n\n00000000025\n" + EXAMPLE_FRAME_3.encode() + b"\n")


def test_length_beyond_max_frame_units_is_refused_immediately() -> None:
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError, match="exceeds"):
        decoder.feed(f")]}}'\n\n{MAX_FRAME_UNITS + 1}\n".encode())
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"9999999999\n[")


def test_zero_length_is_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_all(b")]}'\n\n0\n[]\n")


def test_huge_allowed_length_does_not_allocate_ahead() -> None:
    """A declared length within the limit waits for data; it must not reserve memory for it."""
    decoder = FrameDecoder()
    tracemalloc.start()
    try:
        assert decoder.feed(f")]}}'\n\n{MAX_FRAME_UNITS}\n[\"abc".encode()) == []
        for _ in range(50):
            assert decoder.feed(b"xxxxxxxxxx") == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    with pytest.raises(StreamInterrupted):
        decoder.close()


def test_trickling_large_frame_is_not_recopied_per_chunk() -> None:
    """A 600 kB frame fed in 64-byte pieces: linear work (~0.1 s), not quadratic (many seconds)."""
    text = "中文 \U0001f600 " * 50_000
    body = encode_body([[text]]).encode()
    decoder = FrameDecoder()
    frames: list[Any] = []
    started = time.perf_counter()
    for i in range(0, len(body), 64):
        frames += decoder.feed(body[i : i + 64])
    elapsed = time.perf_counter() - started
    assert frames == [[text]] and decoder.close() == []
    assert elapsed < 3.0


def test_non_json_frame_is_a_protocol_error() -> None:
    bad = "[not json!]"
    with pytest.raises(ProtocolError, match="not valid JSON"):
        decode_all(f")]}}'\n\n{len(bad) + 2}\n{bad}\n".encode())


def test_deeply_nested_frame_is_a_protocol_error_not_a_recursion_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ProtocolError):
        decode_all(f")]}}'\n\n{len(deep) + 2}\n{deep}\n".encode())


def test_huge_integer_frame_is_a_protocol_error() -> None:
    big = "[" + "9" * 5000 + "]"  # beyond Python's int digit limit
    raises_only_gemini_error(f")]}}'\n\n{len(big) + 2}\n{big}\n".encode())


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b")]}'\n\nabc\n[]\n",
        b")]}'\n\n-5\n[]\n",
        b")]}'\n\n5 \n[]\n",
        b")]}'\n\n5\r\n[1]\n",
        b")]}')]}'\n\n",
        b"\xef\xbb\xbf)]}'\n\n",  # a byte order mark
        b")]}'\n\n\xd9\xa3\n[1]\n",  # a non-ASCII digit
        b")]}'\n\n\xc2\xb2\n[1]\n",  # superscript two (isdigit() but not int())
        b"{}",
        b"null",
        b")]}'\n\n4\n{}\n",
        b"\x00\x00\x00",
    ],
)
def test_garbage_bodies_raise_only_gemini_errors(body: bytes) -> None:
    for cut in range(len(body) + 1):
        raises_only_gemini_error(body, [cut])


def _mutate(body: bytes, data: st.DataObject) -> bytes:
    buf = bytearray(body)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if not buf:
            break
        i = data.draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            buf[i:i] = data.draw(st.sampled_from([b"\n", b"9", b"\xf0\x9f", b"[", b'"', b"\\", b"\xff"]))
        elif op == "delete":
            del buf[i : i + data.draw(st.integers(1, 4))]
        elif op == "truncate":
            del buf[i:]
        else:
            buf[i:i] = buf[i : i + data.draw(st.integers(1, 16))]
    return bytes(buf)


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_fuzz_only_gemini_errors_escape_feed_and_close(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(["random", "mutated", "mutated", "mutated"]))
    if source == "random":
        body = data.draw(st.binary(max_size=300))
        if data.draw(st.booleans()):
            body = b")]}'\n\n" + body
    else:
        frames = data.draw(frames_strategy)
        body = _mutate(encode_body(frames).encode(), data)
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    raises_only_gemini_error(body, cuts)


def test_feed_after_error_keeps_raising_gemini_errors_only() -> None:
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"<html>")
    for more in (b"25\n", EXAMPLE_FRAME_3.encode(), b"\n"):
        try:
            decoder.feed(more)
        except GeminiError:
            pass
    try:
        decoder.close()
    except GeminiError:
        pass


def test_good_frames_before_garbage_come_with_the_error_and_the_decoder_stays_broken() -> None:
    body = (XSSI_PREFIX + "\n\n" + encode_frame([1]) + encode_frame([2]) + "zz garbage").encode()
    decoder = FrameDecoder()
    frames, error = decoder.decode(body)
    assert frames == [[1], [2]]
    assert isinstance(error, ProtocolError)
    with pytest.raises(ProtocolError):
        decoder.decode(b"5\n[3]\n")
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(body)  # the all-or-nothing form raises at once


def test_a_body_cut_inside_a_frame_delivers_the_frames_before_the_cut_then_raises() -> None:
    body = (XSSI_PREFIX + "\n\n" + encode_frame([1]) + "20\n[2,").encode()
    decoder = FrameDecoder()
    assert decoder.decode(body) == ([[1]], None)
    with pytest.raises(StreamInterrupted, match="inside a frame"):
        decoder.finish()
