"""Envelopes and payloads (PROTOCOL.md 4.2, 5, 7, 8.2): parse_frame, parse_payload, dig, build_*.

What a user relies on: every documented field is read from its documented
path; bookkeeping envelopes are ignored; a status envelope yields its code;
and a payload of any odd shape is read as "missing" rather than crashing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_sync.errors import GeminiError, ProtocolError
from gemini_sync.protocol.framing import FrameDecoder, dumps
from gemini_sync.protocol.jspb import dig, field_of, with_sparse
from gemini_sync.protocol.payload import (
    ERROR_INFO_TYPE,
    BatchResult,
    EndMarker,
    Payload,
    RawImage,
    StatusCode,
    parse_batch_frames,
    parse_frame,
    parse_payload,
)
from gemini_sync.protocol.service import (
    batch_envelope,
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    tail_frames,
)
from tests._support.paths import CANDIDATE_PATHS, PAYLOAD_PATHS, Path, set_path

from .test_framing import EXAMPLE_BODY


def cand_with(**slots: Any) -> list[Any]:
    """A candidate list with ``rcid`` and the given slots (``s12=...``) set."""
    cand: list[Any] = [None] * 40
    cand[0] = "rc_1"
    cand[1] = ["text"]
    cand[8] = [2]
    for key, value in slots.items():
        cand[int(key[1:])] = value
    return cand


def only_candidate(cand: list[Any]) -> Any:
    payload = parse_payload([None, ["c_1", "r_1"], None, None, [cand]])
    assert len(payload.candidates) == 1
    return payload.candidates[0]


# --- dig ---------------------------------------------------------------------------


def test_dig_follows_lists_and_dicts() -> None:
    data = [0, [1, {"8": [["deep"]]}]]
    # field 7 of data[1] sits under key "8" of its trailing object (the sparse form)
    assert dig(data, 1, 7, 0, 0) == "deep"
    assert dig([0, [1, None, None, None, None, None, None, [["deep"]]]], 1, 7, 0, 0) == "deep"
    assert dig(data, 0) == 0
    assert dig(data) is data
    assert dig({"8": [1]}, "8", 0) == 1


def test_field_of_reads_both_forms_and_never_returns_the_sparse_object() -> None:
    assert field_of([None, [1, 2], {"26": "tok", "44": True}], 25) == "tok"
    assert field_of([None, [1, 2], {"26": "tok"}], 2) is None  # the object is not field 2
    assert field_of(["a", None, {"2": "b"}], 1) == "b"  # a null slot falls back to the object
    assert field_of(["a", "dense", {"2": "sparse"}], 1) == "dense"
    assert field_of([], 0) is None
    assert field_of([1, 2, 3], -1) == 3


def test_with_sparse_is_the_inverse_of_field_of() -> None:
    array = with_sparse([None, ["c", "r"]], {17: "r", 25: "tok", 43: True})
    assert array[-1] == {"18": "r", "26": "tok", "44": True}
    assert [field_of(array, n) for n in (17, 25, 43, 1)] == ["r", "tok", True, ["c", "r"]]
    assert with_sparse([1], {}) == [1]


@pytest.mark.parametrize(
    "path",
    [(5,), (1, 5), (0, 0), (1, 1, "9"), (1, 1, 0), (1, "8"), ("x",), (1, 7, 0, 0, 0)],
)
def test_dig_returns_none_for_missing_or_wrong_type(path: tuple[Any, ...]) -> None:
    assert dig([0, [1, {"8": [["deep"]]}]], *path) is None


def test_dig_does_not_index_into_strings_or_tuples() -> None:
    assert dig("abc", 0) is None
    assert dig((1, 2), 0) is None
    assert dig(None, 0) is None


# --- parse_frame: the 4.3 example and envelope kinds ------------------------------------


def test_protocol_example_4_3_parses_to_ids_and_a_finished_candidate() -> None:
    decoder = FrameDecoder()
    frames = decoder.feed(EXAMPLE_BODY) + decoder.close()
    events = [event for frame in frames for event in parse_frame(frame)]
    assert len(events) == 2  # di / af.httprm are ignored
    payload, end = events
    assert isinstance(payload, Payload)
    assert (payload.cid, payload.rid) == ("c_1a2b3c", "r_4d5e6f")
    assert len(payload.candidates) == 1
    cand = payload.candidates[0]
    assert (cand.rcid, cand.index, cand.text, cand.thoughts, cand.done) == ("rc_7a8b9c", 0, "Hi!", "", True)
    assert cand.web_images == [] and cand.generated_images == []
    assert payload.context_token is None and payload.busy is False
    assert end == EndMarker(221)


@pytest.mark.parametrize("code", [1013, 1037, 1050, 1052, 1060, 1096, 4242])
def test_error_envelope_yields_its_status_code(code: int) -> None:
    assert parse_frame([error_envelope(code)]) == [StatusCode(code, 13)]


def test_error_envelope_with_other_grpc_status() -> None:
    env = ["wrb.fr", None, None, None, None, [9, None, [[ERROR_INFO_TYPE, [1060]]]]]
    assert parse_frame([env]) == [StatusCode(1060, 9)]


def test_status_envelope_without_code_is_a_status_with_code_none() -> None:
    assert parse_frame([error_envelope(None)]) == [StatusCode(None, 13)]
    assert parse_frame([["wrb.fr", None, None, None, None, []]]) == [StatusCode(None, None)]


def test_status_code_of_wrong_type_is_none() -> None:
    env = ["wrb.fr", None, None, None, None, ["13", None, [[ERROR_INFO_TYPE, ["1037"]]]]]
    assert parse_frame([env]) == [StatusCode(None, None)]
    env = ["wrb.fr", None, None, None, None, [13, None, [[ERROR_INFO_TYPE, [True]]]]]
    assert parse_frame([env]) == [StatusCode(None, 13)]


def test_end_marker() -> None:
    assert parse_frame([["e", 4, None, None, 221]]) == [EndMarker(221)]
    assert parse_frame([["e", 4]]) == [EndMarker(None)]
    assert parse_frame([["e", 4, None, None, "221"]]) == [EndMarker(None)]


def test_bookkeeping_envelopes_are_ignored() -> None:
    assert parse_frame(tail_frames(0)[0]) == []
    assert parse_frame([["di", 57], ["af.httprm", 56, "-1", 7], [], "x", 5, None, {"a": 1}]) == []
    assert parse_frame([]) == []


def test_a_frame_with_several_envelopes_yields_them_in_order() -> None:
    frame = [
        data_envelope(build_payload("c_1", "r_1", None)),
        ["di", 3],
        error_envelope(1096),
        ["e", 4, None, None, 10],
    ]
    events = parse_frame(frame)
    assert [type(e) for e in events] == [Payload, StatusCode, EndMarker]


def test_wrb_fr_without_payload_or_status_is_ignored() -> None:
    assert parse_frame([["wrb.fr"], ["wrb.fr", None], ["wrb.fr", None, None]]) == []


@pytest.mark.parametrize("frame", [{}, "text", 5, None, True])
def test_frame_that_is_not_a_list_is_a_protocol_error(frame: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_frame(frame)


@pytest.mark.parametrize("inner", ["not json", "[1,", "", "[" * 100_000])
def test_data_envelope_with_invalid_payload_json_is_a_protocol_error(inner: str) -> None:
    with pytest.raises(ProtocolError):
        parse_frame([["wrb.fr", None, inner]])


# --- payload fields -----------------------------------------------------------------------


def test_meta_may_arrive_before_any_candidate() -> None:
    payload = parse_payload([None, ["c_x", "r_y", "ignored"]])
    assert (payload.cid, payload.rid, payload.candidates) == ("c_x", "r_y", [])


def test_context_token_and_busy_flag() -> None:
    payload = parse_payload(build_payload("c_1", "r_1", None, context_token="ctx", busy=True))
    assert payload.context_token == "ctx"
    assert payload.busy is True
    assert parse_payload(build_payload(None, None, None)).busy is False


def test_candidate_without_rcid_is_skipped_and_index_is_kept() -> None:
    payload = parse_payload([None, None, None, None, [[None, ["a"]], "junk", ["rc_2", ["b"]]]])
    assert [(c.rcid, c.index, c.text) for c in payload.candidates] == [("rc_2", 2, "b")]


def test_completion_flag() -> None:
    assert only_candidate(cand_with(s8=[2])).done is True
    assert only_candidate(cand_with(s8=[1])).done is False
    assert only_candidate(cand_with(s8=None)).done is False


def test_card_text_replaces_a_card_placeholder() -> None:
    card = "http://googleusercontent.com/card_content/0"
    snap = only_candidate(cand_with(s1=[card], s22=["The **card** text"]))
    assert snap.text == "The **card** text"


def test_card_placeholder_without_card_text_is_kept() -> None:
    card = "http://googleusercontent.com/card_content/0"
    assert only_candidate(cand_with(s1=[card])).text == card


def test_card_text_is_ignored_for_ordinary_text() -> None:
    assert only_candidate(cand_with(s1=["plain"], s22=["card"])).text == "plain"


def test_thoughts_are_read_from_cand_37_0_0() -> None:
    assert only_candidate(cand_with(s37=[["I think..."]])).thoughts == "I think..."
    assert only_candidate(cand_with(s37=["not nested"])).thoughts == ""


def test_web_images_are_read_from_cand_12_1() -> None:
    media = [
        None,
        [
            [[["https://example.com/a.png"], None, None, None, "A cat"]],
            [[["https://example.com/b.png"]]],  # no alt
            [[[None]]],  # no URL: skipped
        ],
    ]
    snap = only_candidate(cand_with(s12=media))
    assert snap.web_images == [
        RawImage("https://example.com/a.png", title="A cat", alt="A cat"),
        RawImage("https://example.com/b.png", title="[Image]", alt=""),
    ]
    assert snap.generated_images == []


def _gen_item(url: str | None, alt: str | None = None, image_id: str | None = None) -> list[Any]:
    return [[None, None, None, [None, None, alt, url]], [image_id] if image_id is not None else None]


def test_generated_images_are_read_from_cand_12_7_0_with_fallback_id() -> None:
    media: list[Any] = [None] * 8
    media[7] = [
        [
            _gen_item(
                "https://lh3.googleusercontent.com/g0",
                "a dog",
                "http://googleusercontent.com/image_generation_content/0",
            ),
            _gen_item("https://lh3.googleusercontent.com/g1"),  # no id: fallback from its position
            _gen_item(None, "skipped"),
        ]
    ]
    snap = only_candidate(cand_with(s12=media))
    assert snap.generated_images == [
        RawImage(
            "https://lh3.googleusercontent.com/g0",
            title="[Generated Image 0]",
            alt="a dog",
            image_id="http://googleusercontent.com/image_generation_content/0",
        ),
        RawImage(
            "https://lh3.googleusercontent.com/g1",
            title="[Generated Image 1]",
            alt="",
            image_id="http://googleusercontent.com/image_generation_content/1",
        ),
    ]
    assert snap.web_images == []


def test_edited_images_are_read_from_object_key_8() -> None:
    media: list[Any] = [{"8": [[_gen_item("https://lh3.googleusercontent.com/e0", "edited", "id-e0")]]}]
    snap = only_candidate(cand_with(s12=media))
    assert [(i.url, i.alt, i.image_id) for i in snap.generated_images] == [
        ("https://lh3.googleusercontent.com/e0", "edited", "id-e0")
    ]


def test_generated_and_edited_images_together() -> None:
    media: list[Any] = [None] * 8
    media[0] = {"8": [[_gen_item("https://x/e")]]}
    media[7] = [[_gen_item("https://x/g")]]
    snap = only_candidate(cand_with(s12=media))
    assert [i.url for i in snap.generated_images] == ["https://x/g", "https://x/e"]
    assert len({i.image_id for i in snap.generated_images}) == 2  # fallback ids stay distinct


def test_edited_images_under_an_integer_key_are_not_read() -> None:
    media: list[Any] = [[None] * 9]
    media[0][8] = [[_gen_item("https://x/e")]]
    assert only_candidate(cand_with(s12=media)).generated_images == []


# --- odd shapes never crash ------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    0,
    5,
    -1,
    2.5,
    True,
    False,
    "",
    "str",
    [],
    [None],
    [[]],
    {},
    {"8": 5},
    [5, 5, 5],
]


def _full_candidate() -> list[Any]:
    media: list[Any] = [None] * 8
    media[0] = {"8": [[_gen_item("https://x/e", "e", "id-e")]]}
    media[1] = [[[["https://x/w"], None, None, None, "w"]]]
    media[6] = [None]
    media[7] = [[_gen_item("https://x/g", "g", "id-g")]]
    return cand_with(
        s1=["http://googleusercontent.com/card_content/1"], s12=media, s22=["card"], s37=[["thinking"]]
    )


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """Copy of ``obj`` with the value at ``path`` replaced (missing steps are not created: a mutation)."""
    obj = copy.deepcopy(obj)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


@pytest.mark.parametrize("path", CANDIDATE_PATHS, ids=lambda p: "cand" + "".join(f"[{k!r}]" for k in p))
def test_odd_value_at_any_documented_candidate_path_never_crashes(path: Path) -> None:
    for value in ODD_VALUES:
        cand = set_path(_full_candidate(), path, value)
        payload = parse_payload([None, ["c_1", "r_1"], None, None, [cand]])
        assert isinstance(payload, Payload), (path, value)


@pytest.mark.parametrize("path", PAYLOAD_PATHS, ids=lambda p: "payload" + "".join(f"[{k!r}]" for k in p))
def test_odd_value_at_any_documented_payload_path_never_crashes(path: Path) -> None:
    base = build_payload("c_1", "r_1", [_full_candidate()], context_token="ctx", busy=True)
    for value in ODD_VALUES:
        assert isinstance(parse_payload(set_path(base, path, value)), Payload), (path, value)


@pytest.mark.parametrize("length", range(0, 40))
def test_short_candidates_never_crash(length: int) -> None:
    cand = _full_candidate()[:length]
    payload = parse_payload([None, None, None, None, [cand]])
    assert len(payload.candidates) == (1 if length >= 1 else 0)


@pytest.mark.parametrize("length", range(0, 28))
def test_short_payloads_never_crash(length: int) -> None:
    payload = build_payload("c_1", "r_1", [_full_candidate()], context_token="ctx")[:length]
    assert isinstance(parse_payload(payload), Payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.sampled_from(["8", "a"]), children),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_random_json_payloads_never_raise(data: Any) -> None:
    assert isinstance(parse_payload(data), Payload)
    assert isinstance(parse_payload([None, None, None, None, [data]]), Payload)
    assert isinstance(parse_payload([None, None, None, None, [["rc_1", *([data] * 13)]]]), Payload)


def _all_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            paths += _all_paths(item, (*prefix, i))
    elif isinstance(obj, dict):
        for key, item in obj.items():
            paths += _all_paths(item, (*prefix, key))
    return paths


FULL_PAYLOAD = build_payload(
    "c_1", "r_1", [_full_candidate(), _full_candidate()], context_token="ctx", busy=True
)
FULL_PAYLOAD_PATHS = _all_paths(FULL_PAYLOAD)


@given(st.lists(st.tuples(st.sampled_from(FULL_PAYLOAD_PATHS), json_values), min_size=1, max_size=4))
@settings(max_examples=400, deadline=None)
def test_mutated_realistic_payloads_never_raise(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    payload = FULL_PAYLOAD
    for path, value in mutations:
        try:
            payload = _replace(payload, path, value)
        except (IndexError, KeyError, TypeError):
            continue  # an earlier mutation removed this path
    assert isinstance(parse_payload(payload), Payload)


@given(st.lists(json_values, max_size=4))
@settings(max_examples=200, deadline=None)
def test_parse_frame_raises_only_gemini_errors(frame: list[Any]) -> None:
    envelopes = [["wrb.fr", None, dumps(v)] if i % 2 else v for i, v in enumerate(frame)]
    envelopes += [["wrb.fr", None, None, None, None, v] for v in frame]
    try:
        parse_frame(envelopes)
        parse_batch_frames([envelopes])
    except GeminiError:
        pass


# --- build_* round trips ---------------------------------------------------------------------


@given(
    text=st.text(),
    thoughts=st.none() | st.text(min_size=1),
    done=st.booleans(),
    cid=st.none() | st.just("c_abc"),
    token=st.none() | st.text(min_size=1),
    busy=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_build_payload_round_trips_through_parse_frame(
    text: str, thoughts: str | None, done: bool, cid: str | None, token: str | None, busy: bool
) -> None:
    web = [RawImage("https://x/w0", title="alt0", alt="alt0"), RawImage("https://x/w1", title="[Image]")]
    gen = [
        RawImage("https://x/g0", title="[Generated Image 0]", alt="a", image_id="gid0"),
        RawImage("https://x/g1", title="[Generated Image 1]", alt="", image_id="gid1"),
    ]
    cand = build_candidate("rc_1", text, thoughts=thoughts, done=done, web_images=web, generated_images=gen)
    frame = [data_envelope(build_payload(cid, "r_1", [cand], context_token=token, busy=busy))]
    (payload,) = parse_frame(json.loads(dumps(frame)))
    assert isinstance(payload, Payload)
    assert payload.cid == cid
    assert payload.rid == ("r_1" if cid else None)
    assert payload.context_token == token
    assert payload.busy is busy
    (snap,) = payload.candidates
    assert (snap.rcid, snap.text, snap.done, snap.thoughts) == ("rc_1", text, done, thoughts or "")
    assert snap.web_images == web
    assert snap.generated_images == gen


def test_build_candidate_puts_generated_images_at_cand_12_7_0() -> None:
    """PROTOCOL.md 5: the list of generated images is ``cand[12][7][0]``, each URL at ``[0][3][3]``."""
    image = RawImage("https://x/g0", title="[Generated Image 0]", alt="a", image_id="gid0")
    cand = build_candidate("rc_1", "x", generated_images=[image])
    assert dig(cand, 12, 7, 0, 0, 0, 3, 3) == "https://x/g0"
    assert dig(cand, 12, 7, 0, 0, 1, 0) == "gid0"
    assert only_candidate(cand).generated_images == [image]


def test_build_candidate_without_images_has_no_media_slot() -> None:
    cand = build_candidate("rc_1", "x")
    assert cand[12] is None and cand[37] is None
    assert only_candidate(cand).web_images == []


def test_error_envelope_shape_matches_protocol() -> None:
    assert error_envelope(1037) == ["wrb.fr", None, None, None, None, [13, None, [[ERROR_INFO_TYPE, [1037]]]]]


def test_tail_frames_carry_the_total() -> None:
    assert parse_frame(tail_frames(99)[1]) == [EndMarker(99)]


# --- batchexecute ---------------------------------------------------------------------------


def test_batch_results_round_trip() -> None:
    frames = [
        [batch_envelope("otAQ7b", [None, [1, 2]], identifier="generic"), ["di", 4]],
        [batch_envelope("MaZiqc", {"k": "中\U0001f600"}, identifier="id-2")],
        [["wrb.fr", "hNvQHb", None, None, None, [13, None, [[ERROR_INFO_TYPE, [1052]]]], "generic"]],
        tail_frames(0)[1],
    ]
    results = parse_batch_frames(json.loads(dumps(frames)))
    assert results == [
        BatchResult("otAQ7b", [None, [1, 2]], identifier="generic"),
        BatchResult("MaZiqc", {"k": "中\U0001f600"}, identifier="id-2"),
        BatchResult("hNvQHb", None, code=1052, identifier="generic", grpc_status=13),
    ]
    assert [r.failed for r in results] == [False, False, True]


def test_batch_call_refused_by_a_status_without_code_has_failed() -> None:
    frames = [[["wrb.fr", "hNvQHb", None, None, None, [7], "generic"]]]
    (result,) = parse_batch_frames(frames)
    assert result.failed and result.code is None and result.grpc_status == 7


def test_batch_frame_that_is_not_a_list_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_batch_frames([{"not": "a list"}])


def test_batch_result_with_invalid_json_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_batch_frames([[["wrb.fr", "otAQ7b", "{bad", None, None, None, "generic"]]])


def test_batch_ignores_non_result_envelopes() -> None:
    assert (
        parse_batch_frames([[["di", 1], ["af.httprm", 1, "-1", 2], "x", [], ["e", 4, None, None, 5]]]) == []
    )
