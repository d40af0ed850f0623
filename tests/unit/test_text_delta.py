"""Snapshots -> chunks: text.stable_text / final_text and delta.StreamAssembler (PROTOCOL.md 5, 6).

What a user relies on (DESIGN.md, "Contracts every part keeps"):

* ``"".join(chunk.delta_text) == final text`` (and the same for thoughts);
* text once delivered is never contradicted: every accumulated text is a
  prefix of the final text, flicker tails are held back;
* exactly one chunk is final and it is the last; every other chunk carries
  something new;
* a stream that cannot finish raises a typed error;
* each image is announced in ``new_images`` exactly once.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemini_sync.errors import (
    APIError,
    ModelInvalid,
    StreamDiverged,
    StreamInterrupted,
    TemporarilyBlocked,
    UsageLimitExceeded,
)
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import dumps
from gemini_sync.protocol.payload import RawImage, parse_frame
from gemini_sync.protocol.request import new_metadata
from gemini_sync.protocol.service import (
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    tail_frames,
)
from gemini_sync.protocol.text import ESCAPE_WINDOW, final_text, stable_text
from gemini_sync.types.images import GeneratedImage, WebImage
from gemini_sync.types.output import Status, StreamChunk

PLACEHOLDER = "http://googleusercontent.com/image_generation_content/1"
CID, RID, RCID = "c_1111111111111111", "r_2222222222222222", "rc_3333333333333333"


# --- helpers ---------------------------------------------------------------------------------


def with_generated(cand: list[Any], images: list[RawImage]) -> list[Any]:
    """Put generated images at the documented path ``cand[12][7][0]`` (PROTOCOL.md 5)."""
    if images:
        media = cand[12] if cand[12] is not None else [None] * 8
        media[7] = [[[[None, None, None, [None, None, i.alt, i.url]], [i.image_id]] for i in images]]
        cand[12] = media
    return cand


def frame_for(
    text: str,
    *,
    thoughts: str | None = None,
    done: bool = False,
    web: list[RawImage] | None = None,
    generated: list[RawImage] | None = None,
    context_token: str | None = None,
    extra_candidates: list[list[Any]] | None = None,
) -> list[Any]:
    cand = with_generated(
        build_candidate(RCID, text, thoughts=thoughts, done=done, web_images=web), generated or []
    )
    payload = build_payload(CID, RID, [cand, *(extra_candidates or [])], context_token=context_token)
    return [data_envelope(payload)]


def feed(asm: StreamAssembler, frame: list[Any]) -> list[StreamChunk]:
    """Feed one frame as it would come off the wire (JSON round trip, parse_frame)."""
    return asm.feed(parse_frame(json.loads(dumps(frame))))


def run(
    texts: list[str], thoughts: list[str | None] | None = None, *, done_last: bool = True
) -> tuple[list[StreamChunk], StreamAssembler]:
    asm = StreamAssembler()
    chunks: list[StreamChunk] = []
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        chunks += feed(
            asm, frame_for(text, thoughts=thoughts[i] if thoughts else None, done=done_last and last)
        )
    for frame in tail_frames(0):
        chunks += feed(asm, frame)
    chunks.append(asm.finish())
    return chunks, asm


def assert_contracts(chunks: list[StreamChunk], final: str, final_thoughts: str = "") -> None:
    """The DESIGN.md stream contracts for a stream that ended normally."""
    assert "".join(c.delta_text for c in chunks) == final
    assert "".join(c.delta_thoughts for c in chunks) == final_thoughts
    assert [c.is_final for c in chunks].count(True) == 1
    assert chunks[-1].is_final
    text = thoughts = ""
    seen_images = 0
    status = None
    for chunk in chunks:
        changed, status = chunk.status != status, chunk.status
        text += chunk.delta_text
        thoughts += chunk.delta_thoughts
        assert chunk.text == text  # accumulated text is the sum of the deltas so far
        assert chunk.thoughts == thoughts
        assert final.startswith(chunk.text)  # never contradicted later
        assert final_thoughts.startswith(chunk.thoughts)
        if not chunk.is_final:
            assert chunk.delta_text or chunk.delta_thoughts or chunk.new_images or changed, chunk
        seen_images += len(chunk.new_images)
    assert chunks[-1].text == final and chunks[-1].thoughts == final_thoughts
    assert seen_images == len(chunks[-1].web_images) + len(chunks[-1].generated_images)


# --- text.py: volatile tails -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stable"),
    [
        ("Hello", "Hello"),
        ("The math", "The mat"),  # "h" may start a placeholder host: held until the next character
        ("", ""),
        ("This is \\*", "This is "),
        ("This is \\*\\*bo", "This is "),
        ("snake\\_", "snake"),
        ("code \\`", "code "),
        ("strike \\~", "strike "),
        ("trailing backslash \\", "trailing backslash "),
        ("```python\nprint(1)\n```", "```python\nprint(1)"),
        ("text ``", "text "),
        ("Tom &am", "Tom "),
        ("Tom &", "Tom "),
        ("Tom &#3", "Tom "),
        ("Tom &#x1F60", "Tom "),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("See " + PLACEHOLDER, "See "),
        ("See " + PLACEHOLDER + "\n\n", "See "),
        ("See http://googleusercontent.com/image_gen", "See "),
        ("See http://googleuser", "See "),
        ("See " + PLACEHOLDER + "\nmore", "See more"),
        ("x \\* " + "y" * ESCAPE_WINDOW, "x \\* " + "y" * ESCAPE_WINDOW),  # far from the end: kept
    ],
)
def test_stable_text_holds_back_volatile_tails(raw: str, stable: str) -> None:
    assert stable_text(raw) == stable


@pytest.mark.parametrize(
    ("raw", "final"),
    [
        ("This is \\*", "This is \\*"),
        ("```python\nprint(1)\n```", "```python\nprint(1)\n```"),
        ("Tom &amp; Jerry &lt;3 &#39;", "Tom & Jerry <3 '"),
        ("See " + PLACEHOLDER + "\n\nmore", "See more"),
        ("A http://googleusercontent.com/youtube_content/12 B", "A  B"),
        ("Tom &am", "Tom &am"),
    ],
)
def test_final_text_releases_everything_and_cleans_up(raw: str, final: str) -> None:
    assert final_text(raw) == final


# --- StreamAssembler: flicker scenarios -------------------------------------------------------


def test_plain_growing_snapshots() -> None:
    chunks, asm = run(["Hel", "Hello, ", "Hello, world"])
    assert_contracts(chunks, "Hello, world")
    assert [c.delta_text for c in chunks] == ["Hel", "lo, ", "world", ""]
    assert asm.complete and asm.ended


def test_escape_flicker_is_never_emitted() -> None:
    texts = [
        "This is \\*\\*bo",
        "This is **bold** and \\_",
        "This is **bold** and _it_",
        "This is **bold** and _it_.",
    ]
    chunks, _ = run(texts)
    assert_contracts(chunks, "This is **bold** and _it_.")
    assert all("\\" not in c.delta_text for c in chunks)


def test_fence_flicker_is_never_emitted() -> None:
    texts = [
        "Code:\n```python\nprint(1)\n```",
        "Code:\n```python\nprint(1)\nprint(2)\n```",
        "Code:\n```python\nprint(1)\nprint(2)\n```\nDone.",
    ]
    chunks, _ = run(texts)
    assert_contracts(chunks, texts[-1])
    # the temporary closing fence is held back while the block is open
    assert [c.text for c in chunks[:2]] == [
        "Code:\n```python\nprint(1)",
        "Code:\n```python\nprint(1)\nprint(2)",
    ]


def test_partial_placeholder_is_never_emitted() -> None:
    texts = [
        "Here: http://googleuser",
        "Here: http://googleusercontent.com/image_generation_con",
        "Here: " + PLACEHOLDER,
        "Here: " + PLACEHOLDER + "\n\nA cat.",
    ]
    chunks, _ = run(texts)
    assert_contracts(chunks, "Here: A cat.")
    assert all("http" not in c.text for c in chunks)


def test_incomplete_entity_is_held_until_complete() -> None:
    chunks, _ = run(["Tom &am", "Tom &amp; Jer", "Tom &amp; Jerry"])
    assert_contracts(chunks, "Tom & Jerry")
    assert chunks[0].delta_text == "Tom "
    assert "&am" not in "".join(c.text for c in chunks)


def test_all_flicker_kinds_together_with_thoughts() -> None:
    texts = [
        "A \\*",
        "A *b* &am",
        "A *b* &amp; c\n```",
        "A *b* &amp; c\n```py\nx = 1\n```",
        "A *b* &amp; c\n```py\nx = 1\n```\n" + PLACEHOLDER[:30],
        "A *b* &amp; c\n```py\nx = 1\n```\n" + PLACEHOLDER + "\nEnd",
    ]
    thoughts = ["Let me \\_", "Let me _think_ &l", "Let me _think_ &lt;3", "Let me _think_ &lt;3", None, None]
    chunks, _ = run(texts, thoughts)
    assert_contracts(chunks, "A *b* & c\n```py\nx = 1\n```\nEnd", "Let me _think_ <3")


def test_final_snapshot_may_omit_thoughts() -> None:
    chunks, _ = run(["a", "ab"], ["thinking.", None])
    assert_contracts(chunks, "ab", "thinking.")


def test_snapshot_that_is_not_an_extension_is_not_spliced() -> None:
    """Drift in the middle: nothing contradicting is emitted; the final text is released at the end."""
    texts = [
        "Use `a*b` here and there",
        "Use `a\\*b` here and there, now",  # escaping of earlier content drifted
        "Use `a*b` here and there, now more",
        "Use `a*b` here and there, now more text.",
    ]
    chunks, _ = run(texts)
    assert_contracts(chunks, texts[-1])
    assert "\\" not in "".join(c.delta_text for c in chunks)


def test_shorter_snapshot_does_not_emit_or_break_the_stream() -> None:
    chunks, _ = run(["Hello world", "Hello", "Hello world!"])
    assert_contracts(chunks, "Hello world!")


def test_repeated_identical_snapshots_emit_no_empty_chunks() -> None:
    chunks, _ = run(["Hi", "Hi", "Hi", "Hi there", "Hi there"])
    assert_contracts(chunks, "Hi there")
    assert len(chunks) == 3


def test_contradicting_final_raises_stream_diverged_with_the_final_answer() -> None:
    asm = StreamAssembler()
    chunks = feed(asm, frame_for("The answer is 41 and"))
    assert chunks[0].delta_text == "The answer is 41 and"
    feed(asm, frame_for("The answer is 42.", done=True, context_token="ctx"))
    with pytest.raises(StreamDiverged) as info:
        asm.finish()
    assert info.value.output is not None
    assert info.value.output.text == "The answer is 42."
    assert info.value.output.metadata[0] == CID
    assert "text" in str(info.value)


def test_contradicting_final_thoughts_raise_stream_diverged() -> None:
    asm = StreamAssembler()
    feed(asm, frame_for("", thoughts="Plan A first"))
    feed(asm, frame_for("ok", thoughts="Plan B", done=True))
    with pytest.raises(StreamDiverged) as info:
        asm.finish()
    assert info.value.output is not None and info.value.output.thoughts == "Plan B"


def test_final_chunk_carries_metadata_and_candidates() -> None:
    asm = StreamAssembler()
    feed(asm, [data_envelope(build_payload(CID, RID, None))])
    assert asm.cid == CID and asm.metadata[:2] == [CID, RID]
    feed(asm, frame_for("Hi", done=True, context_token="ctx-token"))
    final = asm.finish()
    assert final.is_final
    assert final.metadata == [CID, RID, RCID, None, None, None, None, None, None, "ctx-token"]
    assert len(final.metadata) == len(new_metadata())
    assert [c.rcid for c in final.candidates] == [RCID]
    assert final.candidates[0].text == "Hi"
    assert asm.partial().text == "Hi"


def test_other_candidates_do_not_leak_into_deltas() -> None:
    other = build_candidate("rc_other", "Other answer", done=True)
    asm = StreamAssembler()
    chunks = feed(asm, frame_for("Chosen", extra_candidates=[other]))
    chunks += feed(asm, frame_for("Chosen answer", done=True, extra_candidates=[other]))
    chunks.append(asm.finish())
    assert_contracts(chunks, "Chosen answer")
    assert [c.rcid for c in chunks[-1].candidates] == [RCID, "rc_other"]
    assert chunks[-1].candidates[1].text == "Other answer"


# --- errors and completion ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exc"),
    [(1037, UsageLimitExceeded), (1050, ModelInvalid), (1052, ModelInvalid), (1060, TemporarilyBlocked)],
)
def test_status_before_completion_raises_typed_error(code: int, exc: type[APIError]) -> None:
    asm = StreamAssembler()
    feed(asm, frame_for("partial"))
    with pytest.raises(exc) as info:
        feed(asm, [error_envelope(code)])
    assert info.value.code == code


def test_unknown_status_before_any_data_is_an_api_error() -> None:
    asm = StreamAssembler()
    with pytest.raises(APIError) as info:
        feed(asm, [error_envelope(1096)])
    assert info.value.code == 1096


def test_status_after_a_complete_candidate_is_only_recorded() -> None:
    asm = StreamAssembler()
    chunks = feed(asm, frame_for("Done.", done=True, context_token="ctx"))
    chunks += feed(asm, [error_envelope(1096)])
    chunks.append(asm.finish())
    assert asm.late_status == 1096
    assert_contracts(chunks, "Done.")


def test_status_without_code_marks_queueing_and_is_not_an_error() -> None:
    asm = StreamAssembler()
    (queued,) = feed(asm, [error_envelope(None)])
    assert queued.status == Status("queued") and not queued.delta_text and not queued.is_final
    assert feed(asm, [error_envelope(None)]) == []  # the same status again: nothing new
    assert asm.busy
    chunks = [queued, *feed(asm, frame_for("Hi", done=True))]
    chunks.append(asm.finish())
    assert chunks[-1].text == "Hi" and chunks[-1].status is None
    assert_contracts(chunks, "Hi")


def test_no_data_payload_at_all_is_an_api_error() -> None:
    asm = StreamAssembler()
    for frame in tail_frames(0):
        feed(asm, frame)
    with pytest.raises(APIError) as info:
        asm.finish()
    assert type(info.value) is APIError


def test_ended_before_done_is_interrupted() -> None:
    asm = StreamAssembler()
    feed(asm, frame_for("Half an ans"))
    for frame in tail_frames(0):
        feed(asm, frame)
    with pytest.raises(StreamInterrupted):
        asm.finish()
    assert asm.partial().text == "Half an ans"


def test_ids_only_then_end_is_interrupted() -> None:
    asm = StreamAssembler()
    feed(asm, [data_envelope(build_payload(CID, RID, None))])
    with pytest.raises(StreamInterrupted):
        asm.finish()


# --- images --------------------------------------------------------------------------------------

WEB_A = RawImage("https://example.com/a.png", title="a", alt="a")
WEB_B = RawImage("https://example.com/b.png", title="b", alt="b")
GEN_1 = RawImage(
    "https://lh3.googleusercontent.com/g1", title="[Generated Image 0]", alt="cat", image_id="g1"
)


def test_each_image_is_new_exactly_once_and_lists_accumulate() -> None:
    asm = StreamAssembler()
    steps = [
        ("Look", [], []),
        ("Look", [WEB_A], []),  # image only: still a chunk
        ("Look at", [WEB_A], [GEN_1]),
        ("Look at this", [WEB_A, WEB_B], [GEN_1]),
        ("Look at this.", [WEB_A, WEB_B], [GEN_1]),
    ]
    chunks: list[StreamChunk] = []
    for i, (text, web, gen) in enumerate(steps):
        chunks += feed(asm, frame_for(text, web=web, generated=gen, done=i == len(steps) - 1))
    chunks.append(asm.finish())
    assert_contracts(chunks, "Look at this.")
    assert [[img.url for img in c.new_images] for c in chunks] == [
        [],
        [WEB_A.url],
        [GEN_1.url],
        [WEB_B.url],
        [],
        [],
    ]
    assert [[i.url for i in c.web_images] for c in chunks] == [
        [],
        [WEB_A.url],
        [WEB_A.url],
        [WEB_A.url, WEB_B.url],
        [WEB_A.url, WEB_B.url],
        [WEB_A.url, WEB_B.url],
    ]
    assert [len(c.generated_images) for c in chunks] == [0, 0, 1, 1, 1, 1]
    gen = chunks[-1].generated_images[0]
    assert isinstance(gen, GeneratedImage)
    assert (gen.url, gen.alt, gen.image_id) == (GEN_1.url, "cat", "g1")
    assert all(type(i) is WebImage for i in chunks[-1].web_images)
    assert chunks[-1].candidates[0].generated_images == chunks[-1].generated_images


def test_images_are_attached_to_the_saver() -> None:
    saver = object()
    asm = StreamAssembler(saver=saver)
    chunks = feed(asm, frame_for("x", web=[WEB_A], done=True))
    assert chunks[0].new_images[0]._saver is saver


# --- property test: flicker-laden cumulative snapshots ------------------------------------------------

FRAGMENTS = [
    "Hello",
    " ",
    "world",
    ", ",
    ".",
    "\n",
    "\n\n",
    "中文",
    "😀",
    "\U0001f469\u200d\U0001f4bb",
    "e\u0301",
    "\u2028",
    "**bold**",
    "*",
    "_it_",
    "`x`",
    "a_b",
    "\n```python\nprint('hi')\n```\n",
    "~~s~~",
    "&amp;",
    "&lt;",
    "&#39;",
    "&quot;x&quot;",
    " & ",
    "AT&T",
    "http://example.com/x",
    "h",
    "http",
    PLACEHOLDER + "\n",
    "\nhttp://googleusercontent.com/youtube_content/7\n",
    "\\",
    '"',
]

# Flicker tails the service appends to a non-final snapshot and takes back later
# (PROTOCOL.md 6): temporary markdown escapes and a temporary closing fence.
SERVICE_FLICKER = ["\\*", "\\_", "\\*\\*", "\\`", "\\~", "\n```"]
# Tails that are volatile because they cannot be processed yet: a partial placeholder,
# an incomplete entity. In a real stream they arise as cuts of the final text (the
# FRAGMENTS hold placeholders and entities); appended here they vanish again later.
PENDING_TAILS = ["http://googleusercontent.com/image_gen", PLACEHOLDER, "&am", "&"]


def _escape_trailing_markers(text: str) -> str:
    """The service shows trailing markdown markers escaped until they are resolved: `**` -> `\\*\\*`."""
    match = re.search(r"[*_~`]+\Z", text)
    if not match:
        return text
    return text[: match.start()] + "".join("\\" + c for c in match.group())


@st.composite
def flickering_stream(draw: st.DrawFn, tails: list[str]) -> tuple[list[str], str]:
    """(snapshots, final raw text): growing prefixes of the final text, non-final ones with flicker."""
    final = "".join(draw(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), min_size=1, max_size=25)))
    cuts = sorted(draw(st.sets(st.integers(0, len(final)), max_size=12)))
    snapshots = []
    for cut in cuts:
        snap = final[:cut]
        if draw(st.booleans()):
            snap = _escape_trailing_markers(snap)
        if draw(st.booleans()):
            snap += draw(st.sampled_from(tails))
        snapshots.append(snap)
        if draw(st.integers(0, 9)) == 0:
            snapshots.append(snap)  # the same snapshot twice
    snapshots.append(final)
    return snapshots, final


def _check_streams(text_stream: tuple[list[str], str], thought_stream: tuple[list[str], str]) -> None:
    texts, final = text_stream
    thoughts, final_thoughts = thought_stream
    # align the two streams: the shorter one repeats its last non-final snapshot
    n = max(len(texts), len(thoughts))
    texts = texts[:-1] + [texts[-2] if len(texts) > 1 else ""] * (n - len(texts)) + texts[-1:]
    thoughts = (
        thoughts[:-1] + [thoughts[-2] if len(thoughts) > 1 else ""] * (n - len(thoughts)) + thoughts[-1:]
    )
    if not final_thoughts:
        # an empty final thoughts field reads as "omitted" (the last thoughts stand): no thoughts at all here
        thoughts = [""] * n
    chunks, _ = run(texts, list(thoughts))
    assert_contracts(chunks, final_text(final), final_text(final_thoughts))


@given(flickering_stream(SERVICE_FLICKER), flickering_stream(SERVICE_FLICKER))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_service_flicker_keeps_the_stream_contracts(
    text_stream: tuple[list[str], str], thought_stream: tuple[list[str], str]
) -> None:
    _check_streams(text_stream, thought_stream)


@given(flickering_stream(SERVICE_FLICKER + PENDING_TAILS), flickering_stream(SERVICE_FLICKER + PENDING_TAILS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_flicker_tail_keeps_the_stream_contracts(
    text_stream: tuple[list[str], str], thought_stream: tuple[list[str], str]
) -> None:
    _check_streams(text_stream, thought_stream)


@given(flickering_stream(SERVICE_FLICKER + PENDING_TAILS))
@settings(max_examples=300, deadline=None)
def test_stable_text_of_any_flickering_snapshot_is_a_prefix_of_the_final_text(
    stream: tuple[list[str], str],
) -> None:
    snapshots, final = stream
    processed = final_text(final)
    for snap in snapshots[:-1]:
        assert processed.startswith(stable_text(snap)), snap


@pytest.mark.parametrize(
    ("raw", "stable"),
    [
        ("Tom &am" + PLACEHOLDER, "Tom "),  # an incomplete entity before a placeholder
        ("See h" + "http://googleusercontent.com/image_gen", "See "),  # a partial host before one
        ("Note \\*" + PLACEHOLDER, "Note "),  # a markdown escape before one
    ],
)
def test_volatile_tail_exposed_by_cutting_a_placeholder_is_held_back_too(raw: str, stable: str) -> None:
    """Cutting one volatile tail must not leave another one at the new end.

    Each of these snapshots may continue so that the text before the placeholder
    changes meaning: ``"Tom &am" + placeholder + "\\np;"`` is finally ``"Tom &"``.
    """
    assert stable_text(raw) == stable
    assert final_text("Tom &am" + PLACEHOLDER + "\np; Jerry") == "Tom & Jerry"


def test_an_answer_without_completion_field_is_complete_at_a_clean_end() -> None:
    """PROTOCOL.md 6: a missing ``cand[8]`` counts as final; the end marker and context token confirm it."""
    from gemini_sync.protocol.payload import EndMarker

    def snapshot(text: str, token: str | None = None) -> Any:
        cand = build_candidate("rc_1", text)
        cand[8] = None  # no completion field at all
        return parse_frame([data_envelope(build_payload("c_1", "r_1", [cand], context_token=token))])

    complete = StreamAssembler()
    chunks = complete.feed(snapshot("Hello \\\\*")) + complete.feed(snapshot("Hello *world*", "ctx"))
    complete.feed([EndMarker(0)])
    final = complete.finish()
    assert "".join(c.delta_text for c in [*chunks, final]) == final.text == "Hello *world*"

    cut = StreamAssembler()  # the same without the end marker: the body was cut
    cut.feed(snapshot("Hello *world*", "ctx"))
    with pytest.raises(StreamInterrupted):
        cut.finish()
