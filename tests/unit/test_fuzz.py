"""Fuzzing the whole read pipeline: bytes -> FrameDecoder -> parse_frame -> StreamAssembler.

A user relies on one promise here: whatever the network or the service sends
(a truncated body, wrong lengths, wrong types at any documented path, huge
numbers, deep nesting, invalid UTF-8, plain noise), reading it ends in a
chunk sequence or in a typed :class:`~gemini_sync.errors.GeminiError`, never
``IndexError``, ``TypeError``, ``RecursionError``, ``MemoryError`` ... And a
frame or body far beyond the limits of ``_constants.py`` is refused at
once, without allocating it.

Every hypothesis test is bounded and derandomized (deterministic, no example
database written to disk).
"""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemini_sync._constants import MAX_BODY_CHARS, MAX_FRAME_UNITS, MAX_LENGTH_DIGITS
from gemini_sync.errors import GeminiError, ProtocolError, StreamDiverged, StreamInterrupted
from gemini_sync.protocol import framing, rpcs
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import FrameDecoder, dumps, encode_body, encode_frame
from gemini_sync.protocol.payload import ERROR_INFO_TYPE, RawImage, parse_batch_frames, parse_frame
from gemini_sync.protocol.service import (
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    tail_frames,
)
from gemini_sync.protocol.text import final_text
from gemini_sync.types.output import StreamChunk
from tests._support.paths import ALL_PAYLOAD_PATHS, CANDIDATE_PATHS, set_path


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the pipeline under test ------------------------------------------------------------------


@dataclass
class Run:
    chunks: list[StreamChunk] = field(default_factory=list)
    error: GeminiError | None = None
    frames: list[Any] = field(default_factory=list)

    @property
    def final(self) -> StreamChunk | None:
        return self.chunks[-1] if self.chunks and self.chunks[-1].is_final else None


def run_pipeline(body: bytes, cuts: list[int] | tuple[int, ...] = ()) -> Run:
    """Read ``body`` (network chunks cut at ``cuts``) as the stream does; only typed errors are caught."""
    decoder = FrameDecoder()
    assembler = StreamAssembler()
    run = Run()

    def consume(frames: list[Any]) -> None:
        for frame in frames:
            run.frames.append(frame)
            for event in parse_frame(frame):
                chunk = assembler.feed_event(event)
                if chunk is not None:
                    run.chunks.append(chunk)

    try:
        last = 0
        for cut in sorted({c for c in cuts if 0 < c < len(body)}):
            consume(decoder.feed(body[last:cut]))
            last = cut
        consume(decoder.feed(body[last:]))
        consume(decoder.close())
        run.chunks.append(assembler.finish())
    except GeminiError as exc:  # anything else escapes and fails the test
        run.error = exc.with_partial(assembler.partial())  # as the stream attaches it
    return run


def check_contracts(run: Run) -> None:
    """The DESIGN.md contracts of a stream that ended normally."""
    final = run.final
    assert final is not None
    assert [c.is_final for c in run.chunks].count(True) == 1
    assert "".join(c.delta_text for c in run.chunks) == final.text
    assert "".join(c.delta_thoughts for c in run.chunks) == final.thoughts
    text = thoughts = ""
    status = None
    for chunk in run.chunks[:-1]:
        assert chunk.delta_text or chunk.delta_thoughts or chunk.new_images or chunk.status != status
        status = chunk.status
        text += chunk.delta_text
        thoughts += chunk.delta_thoughts
        assert chunk.text == text and chunk.thoughts == thoughts


def check_failed_run(run: Run) -> None:
    """The contracts of a stream that failed: no final chunk, and ``.partial`` is what was delivered."""
    error = run.error
    assert error is not None and type(error) is not GeminiError  # a specific, typed error
    assert not any(chunk.is_final for chunk in run.chunks)
    partial = error.partial
    assert partial is not None
    assert partial.text == "".join(c.delta_text for c in run.chunks)
    assert partial.thoughts == "".join(c.delta_thoughts for c in run.chunks)


def check_run(run: Run) -> None:
    """The contracts of any run: :func:`check_contracts` or :func:`check_failed_run`."""
    if run.error is None:
        check_contracts(run)
    else:
        check_failed_run(run)


# --- building bodies --------------------------------------------------------------------------

CID, RID, RCID = "c_0123456789abcdef", "r_0123456789abcdef", "rc_0123456789abcdef"

#: material the text pipeline treats specially (flicker, entities, placeholders), and wide characters
_PIECES = [
    "a",
    "Z",
    " ",
    "\n",
    "é",
    "日本",
    "😀",
    "𝄞",
    "```",
    "`",
    "\\",
    "\\*",
    "*",
    "_",
    "~",
    "&",
    "&amp;",
    "&am",
    "&#128512;",
    ";",
    "http://googleusercontent.com/",
    "http://googleusercontent.com/image_generation_content/3",
    "http://googleusercontent.com/card_content/1",
    '"',
    "\\n",
]
texts = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@st.composite
def growing_snapshots(draw: st.DrawFn) -> list[str]:
    """Cumulative snapshots of one final text (the usual shape)."""
    final = draw(texts)
    cuts = sorted(draw(st.lists(st.integers(0, len(final)), max_size=6)))
    return [final[:c] for c in cuts] + [final]


@st.composite
def any_snapshots(draw: st.DrawFn) -> list[str]:
    """Snapshots that may take text back (flicker, drift) or contradict each other."""
    return draw(st.lists(texts, min_size=1, max_size=6))


def answer_frames(
    snapshots: list[str],
    thoughts: list[str] | None = None,
    *,
    images: bool = False,
    done: bool = True,
) -> list[Any]:
    frames: list[Any] = [[data_envelope(build_payload(CID, RID, None))]]
    for i, snap in enumerate(snapshots):
        last = i == len(snapshots) - 1
        web = [RawImage(f"https://example.com/{i}.png", alt=f"pic {i}")] if images else None
        gen = (
            [RawImage(f"https://example.com/g{i}.png", alt="gen", image_id=f"id{i}")]
            if images and last
            else None
        )
        cand = build_candidate(
            RCID,
            snap,
            thoughts=thoughts[i] if thoughts and i < len(thoughts) else None,
            done=done and last,
            web_images=web,
            generated_images=gen,
        )
        payload = build_payload(CID, RID, [cand], context_token="ctx" if last and done else None)
        frames.append([data_envelope(payload)])
    return frames


def body_of(frames: list[Any]) -> bytes:
    return encode_body([*frames, *tail_frames(0)]).encode("utf-8", "surrogatepass")


def cuts_for(size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, max(size, 1)), max_size=12)


# --- well-formed answers: the contracts hold, however the bytes are cut ---------------------


@fuzz_settings(400)
@given(st.data(), growing_snapshots(), st.one_of(st.none(), growing_snapshots()), st.booleans())
def test_growing_answers_stream_exactly_their_final_text(
    data: st.DataObject, snapshots: list[str], thoughts: list[str] | None, images: bool
) -> None:
    body = body_of(answer_frames(snapshots, thoughts, images=images))
    cuts = data.draw(cuts_for(len(body)))
    run = run_pipeline(body, cuts)
    assert run.error is None, repr(run.error)
    check_contracts(run)
    assert run.final is not None and run.final.text == final_text(snapshots[-1])
    assert run.frames == run_pipeline(body).frames  # the cuts change nothing


@fuzz_settings(400)
@given(st.data(), any_snapshots())
def test_contradicting_snapshots_never_splice(data: st.DataObject, snapshots: list[str]) -> None:
    body = body_of(answer_frames(snapshots))
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    if run.error is None:
        check_contracts(run)
        assert run.final is not None and run.final.text == final_text(snapshots[-1])
    else:
        assert isinstance(run.error, StreamDiverged), repr(run.error)
        assert run.error.output is not None and run.error.output.text == final_text(snapshots[-1])
        streamed = "".join(c.delta_text for c in run.chunks)
        assert not run.error.output.text.startswith(streamed)


#: tails the service appends to a non-final snapshot and takes back later (PROTOCOL.md 6)
VOLATILE_TAILS = [
    "\n```",
    "```",
    "`",
    "\\*",
    "\\_",
    "\\~",
    "\\`",
    "\\",
    "&am",
    "&#12",
    "http://googleusercontent.com/im",
]


@fuzz_settings(400)
@given(st.data(), growing_snapshots())
def test_flicker_tails_are_never_emitted_then_contradicted(data: st.DataObject, snapshots: list[str]) -> None:
    """Growing snapshots whose non-final ones carry a withdrawn tail stream exactly the final text."""
    flickering = [
        snap + data.draw(st.sampled_from(["", *VOLATILE_TAILS])) for snap in snapshots[:-1]
    ] + snapshots[-1:]
    body = body_of(answer_frames(flickering))
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    assert run.error is None, f"{run.error!r} for {flickering!r}"
    check_contracts(run)
    assert run.final is not None and run.final.text == final_text(snapshots[-1])


# --- truncated, wrong lengths, invalid UTF-8, noise --------------------------------------------


SAMPLE_FINAL = "Hé 日本 😀 ```py\nx\n``` done"
SAMPLE_BODY = body_of(answer_frames(["Hé", "Hé 日本", "Hé 日本 😀 ```py\nx\n```", SAMPLE_FINAL]))


SAMPLE_FIRST_FRAME_END = 6 + len(encode_frame(dumps(answer_frames(["x"])[0])).encode())


@fuzz_settings(200)
@given(st.integers(SAMPLE_FIRST_FRAME_END, len(SAMPLE_BODY)), st.data())
def test_truncated_body_is_interrupted(end: int, data: st.DataObject) -> None:
    body = SAMPLE_BODY[:end]
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    streamed = "".join(c.delta_text for c in run.chunks)
    assert SAMPLE_FINAL.startswith(streamed)
    if run.error is None:  # only if the body still holds the final data frame
        check_contracts(run)
        assert streamed == SAMPLE_FINAL
    else:
        assert isinstance(run.error, (StreamInterrupted, ProtocolError)), repr(run.error)
    if end == len(SAMPLE_BODY):
        assert run.error is None


@pytest.mark.parametrize("end", [0, 1, 3, 4, 5, 6, 7, 9, SAMPLE_FIRST_FRAME_END - 1])
def test_body_ending_before_any_frame_is_interrupted_not_a_rejection(end: int) -> None:
    """A body that stops before its first frame (no ``e`` marker either) was cut short.

    It must read as :class:`StreamInterrupted` (transient: retried before
    content), as it already does when the cut falls inside ``)]}'``; a
    rejection (``APIError``, not retried) is a complete body with no data
    frame (PROTOCOL.md 7.2: only the tail frames).
    """
    assert SAMPLE_BODY[SAMPLE_FIRST_FRAME_END - 1 : SAMPLE_FIRST_FRAME_END] == b"\n"
    run = run_pipeline(SAMPLE_BODY[:end])
    assert isinstance(run.error, StreamInterrupted), f"cut after {end} bytes: {run.error!r}"


def test_complete_body_without_data_frames_is_a_rejection() -> None:
    run = run_pipeline(body_of([]))
    assert type(run.error).__name__ == "APIError"


def _length_lines(body: bytes) -> list[tuple[int, int]]:
    """(start, end) byte spans of the length lines of a well-formed body."""
    spans = []
    text = body.decode("utf-8", "surrogatepass")
    pos = 6
    while pos < len(text):
        newline = text.index("\n", pos)
        units = int(text[pos:newline])
        start = len(text[:pos].encode("utf-8", "surrogatepass"))
        spans.append((start, start + newline - pos))
        end = newline
        while units > 0:
            units -= 2 if ord(text[end]) > 0xFFFF else 1
            end += 1
        pos = end
    return spans


@fuzz_settings(200)
@given(st.data())
def test_wrong_frame_lengths_are_typed_errors(data: st.DataObject) -> None:
    spans = _length_lines(SAMPLE_BODY)
    start, end = data.draw(st.sampled_from(spans))
    old = int(SAMPLE_BODY[start:end])
    new = data.draw(
        st.one_of(
            st.integers(0, old + 10),
            st.integers(-3, 3).map(lambda d: old + d),
            st.sampled_from([MAX_FRAME_UNITS, MAX_FRAME_UNITS + 1, 10**MAX_LENGTH_DIGITS - 1]),
        )
    )
    body = SAMPLE_BODY[:start] + str(max(new, 0)).encode() + SAMPLE_BODY[end:]
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    if new == old:
        check_contracts(run)


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 200)),
    st.tuples(
        st.just("insert"),
        st.integers(0, 10**6),
        st.sampled_from([b"\xff", b"\xc3", b"\xe6\x97", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\x00", b"\r\n"]),
    ),
)


def mutate(body: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    out = bytearray(body)
    for kind, where, arg in ops:
        at = where % (len(out) + 1)
        if kind == "flip" and at < len(out):
            out[at] ^= arg
        elif kind == "insert":
            out[at:at] = arg
        elif kind == "delete":
            del out[at : at + arg]
        elif kind == "duplicate":
            out[at:at] = out[at : at + arg]
    return bytes(out)


@fuzz_settings(800)
@given(st.lists(mutations, min_size=1, max_size=4), st.data())
def test_mutated_bodies_only_raise_typed_errors(ops: list[tuple[Any, ...]], data: st.DataObject) -> None:
    body = mutate(SAMPLE_BODY, ops)
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    check_run(run)


@fuzz_settings(200)
@given(st.binary(max_size=300), st.booleans(), st.data())
def test_random_bytes_only_raise_typed_errors(noise: bytes, prefixed: bool, data: st.DataObject) -> None:
    body = (b")]}'\n\n" if prefixed else b"") + noise
    check_run(run_pipeline(body, data.draw(cuts_for(len(body)))))


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.sampled_from(
            ["wrb.fr", "e", "di", RCID, CID, "rc_", "http://googleusercontent.com/card_content/1"]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.sampled_from(["8", "a", "0"]), children, max_size=3),
    ),
    max_leaves=20,
)


@fuzz_settings(200)
@given(st.lists(json_values, max_size=4), st.data())
def test_random_json_frames_only_raise_typed_errors(frames: list[Any], data: st.DataObject) -> None:
    body = encode_body(frames).encode("utf-8", "surrogatepass")
    check_run(run_pipeline(body, data.draw(cuts_for(len(body)))))


# --- wrong types at every documented path (tests/_support/paths.py) and status/end paths -------

ENVELOPE_PATHS: list[tuple[int | str, ...]] = [
    (0,),
    (1,),
    (2,),
    (5,),
    (5, 0),
    (5, 2),
    (5, 2, 0),
    (5, 2, 0, 1),
]
STATUS_PATHS: list[tuple[int | str, ...]] = [(5, 2, 0, 0), (5, 2, 0, 1, 0), (2,), (5,)]
END_PATHS: list[tuple[int | str, ...]] = [(0,), (4,)]

odd_values = st.one_of(
    json_values,
    st.sampled_from(
        [10**30, -(10**30), 2**63, 1e308, -0.0, "", [], {}, [[]], {"8": None}, [None] * 40, True]
    ),
)


def _answer_payloads() -> list[list[Any]]:
    web = [RawImage("https://example.com/w.png", alt="w")]
    gen = [RawImage("https://example.com/g.png", alt="g", image_id="gid")]
    payloads = [build_payload(CID, RID, None)]
    for text, done in (("Hel", False), ("Hello 😀", False), ("Hello 😀 wörld", True)):
        cand = build_candidate(RCID, text, thoughts="hm", done=done, web_images=web, generated_images=gen)
        payloads.append(build_payload(CID, RID, [cand], context_token="ctx" if done else None))
    return payloads


PAYLOADS = _answer_payloads()


@fuzz_settings(1000)
@given(
    st.sampled_from(range(len(PAYLOADS))),
    st.sampled_from(ALL_PAYLOAD_PATHS),
    odd_values,
    st.data(),
)
def test_wrong_types_at_payload_paths_only_raise_typed_errors(
    index: int, path: tuple[int | str, ...], value: Any, data: st.DataObject
) -> None:
    payloads = list(PAYLOADS)
    payloads[index] = set_path(payloads[index], path, value)
    try:
        frames = [[data_envelope(p)] for p in payloads]
    except ValueError:  # an int too long to print: put it in by hand
        return
    body = body_of(frames)
    run = run_pipeline(body, data.draw(cuts_for(len(body))))
    check_run(run)


@fuzz_settings(300)
@given(
    st.sampled_from(["data", "status", "end"]),
    st.data(),
    odd_values,
)
def test_wrong_types_at_envelope_paths_only_raise_typed_errors(
    kind: str, data: st.DataObject, value: Any
) -> None:
    frames = answer_frames(["Hi", "Hi 😀"])
    if kind == "data":
        path = data.draw(st.sampled_from(ENVELOPE_PATHS))
        frames[1] = [set_path(frames[1][0], path, value)]
    elif kind == "status":
        path = data.draw(st.sampled_from(STATUS_PATHS))
        frames.insert(2, [set_path(error_envelope(1013), path, value)])
    else:
        path = data.draw(st.sampled_from(END_PATHS))
        frames.append([set_path(["e", 4, None, None, 100], path, value)])
    try:
        body = body_of(frames)
    except ValueError:
        return
    check_run(run_pipeline(body, data.draw(cuts_for(len(body)))))


# --- recovery input: READ_CHAT results and batchexecute frames --------------------------------


def _read_chat_result() -> list[Any]:
    cand = build_candidate(RCID, "Hello 😀 wörld", thoughts="hm", done=True)
    turn = [[CID, RID], None, [["the prompt"]], [[cand]]]
    return [[turn]]


@fuzz_settings(300)
@given(
    st.sampled_from(
        [(0,), (0, 0), (0, 0, 0), (0, 0, 0, 1), (0, 0, 2), (0, 0, 2, 0, 0), (0, 0, 3), (0, 0, 3, 0)]
        + [(0, 0, 3, 0, 0, *p) for p in CANDIDATE_PATHS]
    ),
    odd_values,
)
def test_read_chat_results_of_any_shape_never_crash_recovery(path: tuple[int | str, ...], value: Any) -> None:
    """The stream's recovery reads turns back with ``find_turn``; only typed errors may escape it."""
    result = set_path(_read_chat_result(), path, value)
    found = rpcs.find_turn(result, RID)
    if found is not None:
        snaps, done = found
        assert isinstance(done, bool)
        for snap in snaps:
            assert isinstance(snap.text, str) and isinstance(snap.rcid, str)
    rpcs.parse_chat_turns(result)


@fuzz_settings(200)
@given(st.lists(json_values, max_size=4))
def test_batch_frames_of_any_shape_only_raise_typed_errors(frames: list[Any]) -> None:
    try:
        parse_batch_frames(frames)
    except GeminiError:
        pass


# --- deep nesting, huge numbers ---------------------------------------------------------------

DEPTH = 100_000


def _framed(json_text: str) -> bytes:
    return (")]}'\n\n" + encode_frame(json_text)).encode()


@pytest.mark.parametrize(
    "frame",
    [
        "[" * DEPTH + "]" * DEPTH,  # the frame itself
        '[["wrb.fr",null,' + "[" * DEPTH + "]" * DEPTH + "]]",  # an envelope slot
        '[["wrb.fr",null,"' + "[" * DEPTH + "]" * DEPTH + '"]]',  # the payload string
        '[["wrb.fr",null,null,null,null,' + "[" * DEPTH + "]" * DEPTH + "]]",  # the status slot
        "{" + '"a":{' * DEPTH + "}" * DEPTH + "}",  # objects
    ],
    ids=["frame", "envelope", "payload", "status", "objects"],
)
def test_deep_nesting_is_a_protocol_error_not_recursion_error(frame: str) -> None:
    run = run_pipeline(_framed(frame))
    assert isinstance(run.error, ProtocolError), repr(run.error)


def test_nesting_just_inside_the_parser_limits_is_walked_safely() -> None:
    """Deep but parseable values at every documented path are ignored, not walked recursively."""
    deep = json.loads("[" * 500 + "]" * 500)
    payloads = [set_path(p, path, deep) for p in PAYLOADS for path in ALL_PAYLOAD_PATHS[:12]]
    body = body_of([[data_envelope(p)] for p in payloads])
    run = run_pipeline(body)
    assert run.error is None or isinstance(run.error, GeminiError)


@pytest.mark.parametrize(
    "frame",
    [
        "[" + "9" * 5000 + "]",
        '[["wrb.fr",null,"[' + "9" * 5000 + ']"]]',
        '[["wrb.fr",null,null,null,null,[13,null,[["' + ERROR_INFO_TYPE + '",[' + "9" * 5000 + "]]]]]]",
        '[["e",4,null,null,' + "9" * 5000 + "]]",
        "[1e999999, -1e999999, 1e-999999]",
        '[["wrb.fr",null,null,null,null,[13,null,[["' + ERROR_INFO_TYPE + '",[1e400]]]]]]',
    ],
    ids=["frame", "payload", "code", "end-total", "floats", "float-code"],
)
def test_huge_numbers_are_typed_errors_or_ignored(frame: str) -> None:
    run = run_pipeline(_framed(frame))
    assert run.error is not None  # no data frame in any of them, at best


def test_lone_surrogates_in_json_text_are_handled() -> None:
    """``\\ud800`` is valid JSON (a lone surrogate), though not valid UTF-8 when raw."""
    inner = (
        '[null,["c_1","r_1"],null,null,[["rc_1",["a\\ud800b \\udfff"],null,null,null,null,null,null,[2]]]]'
    )
    body = body_of([[["wrb.fr", None, inner]]])
    run = run_pipeline(body, [7, 30, 31, 32])
    check_run(run)
    raw = (")]}'\n\n" + encode_frame('[["wrb.fr",null,"x\ud800"]]')).encode("utf-8", "surrogatepass")
    assert isinstance(run_pipeline(raw).error, ProtocolError)


def test_huge_error_code_is_an_api_error() -> None:
    body = body_of([[error_envelope(10**30)]])
    run = run_pipeline(body)
    assert run.error is not None and getattr(run.error, "code", None) == 10**30


# --- limits: refused at once, never allocated ---------------------------------------------------


def _peak_while(fn: Any) -> tuple[Any, int]:
    """``fn()`` (or the typed error it raised) and the peak of memory allocated meanwhile."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        try:
            result: Any = fn()
        except GeminiError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        if not tracing:
            tracemalloc.stop()


@pytest.mark.parametrize("length", [MAX_FRAME_UNITS + 1, 10**9, 10**MAX_LENGTH_DIGITS - 1])
def test_frame_length_beyond_the_limit_is_refused_at_once(length: int) -> None:
    decoder = FrameDecoder()
    result, peak = _peak_while(lambda: decoder.feed(b")]}'\n\n" + str(length).encode() + b"\n[["))
    assert isinstance(result, ProtocolError) and "limit" in str(result)
    assert peak < 256 * 1024, f"{peak} bytes allocated to refuse a frame"


def test_length_line_with_too_many_digits_is_refused_before_its_newline() -> None:
    decoder = FrameDecoder()
    result, peak = _peak_while(lambda: decoder.feed(b")]}'\n\n" + b"9" * (MAX_LENGTH_DIGITS + 1)))
    assert isinstance(result, ProtocolError)
    assert peak < 256 * 1024


def test_frame_at_the_limit_waits_without_allocating_it() -> None:
    """A frame announced at the maximum is awaited; nothing of its size is reserved."""
    decoder = FrameDecoder()
    result, peak = _peak_while(
        lambda: decoder.feed(b")]}'\n\n" + str(MAX_FRAME_UNITS).encode() + b'\n[["wrb')
    )
    assert result == []
    assert peak < 256 * 1024
    with pytest.raises(StreamInterrupted):
        decoder.close()


def test_body_beyond_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The body limit is checked on every feed (a small limit stands in for the 512 M default)."""
    assert MAX_BODY_CHARS >= MAX_FRAME_UNITS
    monkeypatch.setattr(framing, "MAX_BODY_CHARS", 4096)
    decoder = FrameDecoder()
    frame = encode_frame(dumps([["di", 1]])).encode()
    decoder.feed(b")]}'\n\n")
    fed = 6
    with pytest.raises(ProtocolError, match="limit"):
        while fed <= 4096 + len(frame):
            decoder.feed(frame)
            fed += len(frame)
    assert fed <= 4096 + len(frame)


def test_body_limit_counts_whitespace_and_pending_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(framing, "MAX_BODY_CHARS", 1000)
    decoder = FrameDecoder()
    decoder.feed(b")]}'\n\n900\n[")
    with pytest.raises(ProtocolError, match="limit"):
        decoder.feed(b" " * 2000)
