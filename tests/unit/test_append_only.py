"""Text that is only appended to streams exactly (issue 13, "Deltas").

Whatever a later character may still turn into something else (an entity of
any length, a placeholder of any length, an entity with a placeholder inside
it, half of a surrogate pair) is held back, so the joined deltas of any
append-only snapshot sequence are the final text and the stream never ends in
:class:`~gemini_sync.errors.StreamDiverged`. The existing guarantees stay:
service flicker is held back and a real contradiction still raises.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemini_sync.errors import StreamDiverged
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import dumps
from gemini_sync.protocol.payload import parse_frame
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames
from gemini_sync.protocol.text import final_text, stable_text, volatile_start
from gemini_sync.types.output import StreamChunk

HOST = "http://googleusercontent.com/"
PLACEHOLDER = HOST + "image_generation_content/1"


def stream(snapshots: list[str], *, field: str = "text") -> list[StreamChunk]:
    """Feed cumulative snapshots (the last one final) as they come off the wire; the chunks."""
    asm = StreamAssembler()
    chunks: list[StreamChunk] = []
    for i, snap in enumerate(snapshots):
        done = i == len(snapshots) - 1
        if field == "text":
            cand = build_candidate("rc_1", snap, done=done)
        else:
            cand = build_candidate("rc_1", "answer" if done else "", thoughts=snap, done=done)
        frame: list[Any] = [data_envelope(build_payload("c_1", "r_1", [cand], context_token="ctx"))]
        chunks += asm.feed(parse_frame(json.loads(dumps(frame))))
    for frame in tail_frames(0):
        chunks += asm.feed(parse_frame(frame))
    chunks.append(asm.finish())
    return chunks


def assert_streams_exactly(snapshots: list[str], *, field: str = "text") -> None:
    chunks = stream(snapshots, field=field)
    final = final_text(snapshots[-1])
    deltas = [c.delta_text if field == "text" else c.delta_thoughts for c in chunks]
    assert "".join(deltas) == final
    shown = ""
    for delta in deltas:
        shown += delta
        assert final.startswith(shown)  # never shown and then contradicted


def every_prefix(final: str) -> list[str]:
    return [final[:n] for n in range(1, len(final) + 1)]


# --- the cases of the issue ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "text"),
    [
        ("Tom &" + PLACEHOLDER + "amp; Jerry", "Tom & Jerry"),  # a placeholder between & and the name
        ("Tom &am" + PLACEHOLDER + "\np; Jerry", "Tom & Jerry"),
        ("A &#" + "0" * 40 + "65; B", "A A B"),  # a numeric entity longer than any window
        ("A &#x" + "0" * 40 + "41; B", "A A B"),
        ("See " + HOST + "w" * 200 + "/12345\n\nmore", "See more"),  # a placeholder of any length
        ("See " + HOST + "image/" + "7" * 100 + "\n" * 50 + "end", "See end"),
        ("smile \ud83d\ude00 done", "smile \ud83d\ude00 done"),  # a pair split by a cut
        ("&notin; &not &noti", "\u2209 \u00ac \u00aci"),  # legacy names without ";" and longer ones
    ],
)
def test_append_only_text_streams_exactly_whatever_the_cut(final: str, text: str) -> None:
    assert final_text(final) == text
    assert_streams_exactly(every_prefix(final))
    assert_streams_exactly(every_prefix(final), field="thoughts")


def test_a_snapshot_ending_in_a_high_surrogate_does_not_diverge() -> None:
    """The service cut a pair in half; the next snapshot holds the whole character."""
    assert stable_text("smile \ud83d") == "smile "
    chunks = stream(["smile \ud83d", "smile \U0001f600", "smile \U0001f600 done"])
    assert "".join(c.delta_text for c in chunks) == "smile \U0001f600 done"
    assert chunks[0].text == "smile "


@pytest.mark.parametrize(
    ("raw", "stable"),
    [
        ("Tom &" + PLACEHOLDER + "am", "Tom "),
        ("Tom &" + PLACEHOLDER + "amp;", "Tom &"),
        ("x &#" + "1" * 100, "x "),
        ("A&#66;C&#67 D&#6", "ABCC D"),  # only the last entity can be open
        ("x " + HOST + "w" * 300, "x "),
        ("x " + HOST + "w" * 300 + "/" + "9" * 300 + "\n" * 3, "x "),
        ("x " + HOST + "w/1 y", "x  y"),  # a closed placeholder is removed, not held
        ("x &amp", "x "),  # "&amp" + "le;" is something else
        ("x &ampé", "x &é"),  # a name ends at a character no name has
        ("x &" + "a" * 40, "x &" + "a" * 40),  # longer than any name: it is what it is
    ],
)
def test_what_is_held_back(raw: str, stable: str) -> None:
    assert stable_text(raw) == stable


def test_the_cut_never_moves_before_the_floor() -> None:
    """A floor is an earlier stable cut: the text before it is not examined again."""
    raw = "Tom &amp; Jerry &am"
    pending = raw.index("&am", 10)
    assert volatile_start(raw) == pending
    assert volatile_start(raw, floor=10) == pending
    assert volatile_start(raw, floor=pending) == pending
    assert volatile_start(raw, floor=len(raw)) == len(raw)


# --- the property ----------------------------------------------------------------------------

#: an alphabet rich in what the pipeline treats specially
PIECES = [
    "&",
    "#",
    ";",
    "x",
    "X",
    "0",
    "1",
    "6",
    "9",
    "a",
    "m",
    "p",
    "amp",
    "lt",
    "not",
    "in",
    "é",
    " ",
    "\\",
    "\\*",
    "`",
    "```",
    "\n",
    "*",
    "_",
    "h",
    "http://",
    "googleusercontent.com/",
    HOST,
    "image_generation_content",
    "/",
    PLACEHOLDER,
    "\U0001f600",
    "\u65e5",
    "\ud83d",  # lone surrogates: high, low
    "\ude00",
    "\udbff",
]


@st.composite
def append_only(draw: st.DrawFn) -> list[str]:
    """Cumulative snapshots of one final text, cut at any code point."""
    final = "".join(draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=30)))
    cuts = sorted(draw(st.sets(st.integers(1, len(final)), max_size=15)))
    return [final[:c] for c in cuts] + [final]


@given(append_only(), st.sampled_from(["text", "thoughts"]))
@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_append_only_snapshots_never_diverge(snapshots: list[str], field: str) -> None:
    try:
        assert_streams_exactly(snapshots, field=field)
    except StreamDiverged as exc:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{exc} for {snapshots!r}")


# --- what stays as it was ----------------------------------------------------------------------


def test_flicker_is_still_held_back() -> None:
    chunks = stream(["Code:\n```py\nx\n```", "Code:\n```py\nx\ny\n```", "Code:\n```py\nx\ny\n```\nok \\*"])
    assert [c.text for c in chunks[:2]] == ["Code:\n```py\nx", "Code:\n```py\nx\ny"]


def test_a_real_contradiction_still_raises_and_never_splices() -> None:
    with pytest.raises(StreamDiverged) as info:
        stream(["The answer is 41 and more", "The answer is 42."])
    assert info.value.output is not None and info.value.output.text == "The answer is 42."
