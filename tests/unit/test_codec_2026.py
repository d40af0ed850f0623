"""One codec: every wire shape the emulator writes, parsed back by the client's readers.

Part 1 replays bodies written by hand from the captures described in
docs/protocol.md 5 (not with the library's encoders), split at every byte.
Part 2 builds every shape with the ``protocol`` encoders the emulator uses and
parses it with the readers the client uses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gemini_sync import errors
from gemini_sync.models import SESSION_UUID, Model, header_level, model_header_value
from gemini_sync.protocol.app import read_app_page, render_app_page, scrape_tokens
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import FrameDecoder, encode_body
from gemini_sync.protocol.payload import (
    BatchResult,
    EndMarker,
    Rejection,
    StatusCode,
    parse_batch_frames,
    parse_frame,
    parse_payload,
)
from gemini_sync.protocol.request import AppTokens, BatchCall, batch_request, generate_request
from gemini_sync.protocol.rpcs import parse_account
from gemini_sync.protocol.service import (
    activity_field,
    batch_envelope,
    build_account,
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    parse_batch_freq,
    parse_generate_freq,
    rejection_envelope,
    sparse_payload,
    tail_frames,
)
from gemini_sync.types.account import CatalogEntry
from gemini_sync.types.output import ModelOutput

CID, RID, RCID, CTX = "c_0123456789abcdef", "r_fedcba9876543210", "rc_00112233445566aa", "ctx!Token_26"
TEXT = "Hello, **world** 😀 日本"


def _e(text: str, *, done: bool, name: str | None, model_id: str | None = None) -> str:
    """A full content payload ``E`` of 48 slots, as captured (docs/protocol.md 5.2)."""
    cand: list[Any] = [RCID, [text], None, None, None, None, None, None, [2 if done else 1]]
    e: list[Any] = [None] * 48
    e[1], e[4], e[14], e[43] = [CID, RID], [cand], done, True
    e[39], e[42] = model_id, name
    return json.dumps(e, ensure_ascii=False)


def _wrb(inner: str) -> str:
    return json.dumps([["wrb.fr", None, inner]], ensure_ascii=False)


def _captured_body(*, thinking: bool = False) -> bytes:
    """A fresh chat in the order of the capture: sparse first frame, content, "26", last frame."""
    inners = [f'[null,[null,"{RID}"],{{"18":"{RID}","21":["{"x" * 43}"],"44":true}}]']
    if thinking:
        inners.append(
            f'[null,[null,"{RID}"],{{"7":[null,null,null,null,null,["Comparing Images"]],"44":true}}]'
        )
    pro = "e6fa609c3fa255c0" if thinking else None
    inners += [
        _e(TEXT[:7], done=False, name="3.1 Pro" if thinking else None, model_id=pro),
        _e(TEXT[:15], done=False, name="3.1 Pro" if thinking else None, model_id=pro),
        _e(TEXT, done=True, name="3.1 Pro" if thinking else "3.5 Flash-Lite", model_id=pro),
        f'[null,["{CID}","{RID}"],{{"26":"{CTX}","44":true}}]',
        f'[null,["{CID}","{RID}"],{{"44":true,"46":["{CID}",""],"52":[]}}]',
    ]
    frames = [_wrb(inner) for inner in inners]
    frames += ['[["di",57],["af.httprm",56,"-1",7]]', '[["e",9,null,null,7092]]']
    return encode_body(frames).encode()


def _replay(pieces: list[bytes]) -> tuple[ModelOutput, list[str]]:
    decoder, assembler, deltas = FrameDecoder(), StreamAssembler(), []
    for piece in pieces:
        for frame in decoder.feed(piece):
            for event in parse_frame(frame):
                chunk = assembler.feed_event(event)
                if chunk is not None:
                    deltas.append(chunk.delta_text)
    assert decoder.close() == []
    final = assembler.finish()
    deltas.append(final.delta_text)
    output = ModelOutput(
        final.metadata, final.candidates, model_name=final.model_name, model_id=final.model_id
    )
    return output, deltas


@pytest.mark.parametrize("thinking", [False, True], ids=["fresh-flash-lite", "thinking-pro"])
def test_a_captured_body_split_at_every_byte_gives_text_ids_token_and_model(thinking: bool) -> None:
    body = _captured_body(thinking=thinking)
    for cut in range(len(body) + 1):
        output, deltas = _replay([body[:cut], body[cut:]])
        assert "".join(deltas) == output.text == TEXT, cut
        assert output.metadata[:3] == [CID, RID, RCID] and output.metadata[9] == CTX, cut
        assert output.model_name == ("3.1 Pro" if thinking else "3.5 Flash-Lite")
        assert output.model_id == ("e6fa609c3fa255c0" if thinking else None)


def test_a_captured_body_byte_by_byte() -> None:
    body = _captured_body(thinking=True)
    output, _ = _replay([body[i : i + 1] for i in range(len(body))])
    assert output.text == TEXT and output.metadata[9] == CTX


def test_sparse_only_frames_are_neither_content_nor_errors() -> None:
    for inner in (
        f'[null,[null,"{RID}"],{{"18":"{RID}","44":true}}]',
        f'[null,["{CID}","{RID}"],{{"44":true,"46":["{CID}",""],"52":[]}}]',
        f'[null,["{CID}","{RID}"],{{"7":[null,["data_analysis_tool"]],"44":true}}]',
    ):
        [event] = parse_frame(json.loads(_wrb(inner)))
        assert type(event).__name__ == "Payload" and event.candidates == []  # type: ignore[union-attr]


def test_the_rid_of_the_first_frame_is_read_from_key_18_alone() -> None:
    payload = parse_payload(json.loads(f'[null,null,{{"18":"{RID}","44":true}}]'))
    assert payload.rid == RID and payload.cid is None


# --- part 2: build -> parse, every shape ----------------------------------------------------


def test_payload_shapes_round_trip() -> None:
    cand = build_candidate(RCID, TEXT, thoughts="hmm", done=True)
    for built in (
        build_payload(CID, RID, [cand], context_token=CTX),
        build_payload(
            CID, RID, [cand], context_token=CTX, model_name="3.1 Pro", model_id="ab", complete=True
        ),
    ):
        payload = parse_payload(json.loads(data_envelope(built)[2]))
        assert (payload.cid, payload.rid, payload.context_token) == (CID, RID, CTX)
        assert payload.candidates[0].text == TEXT and payload.candidates[0].thoughts == "hmm"
    modern = parse_payload(
        build_payload(CID, RID, [cand], model_name="3.1 Pro", model_id="ab", complete=True)
    )
    assert (modern.model_name, modern.model_id) == ("3.1 Pro", "ab")
    status = parse_payload(sparse_payload(CID, RID, {6: activity_field("Comparing Images"), 43: True}))
    assert status.activity == "Comparing Images" and status.busy and not status.candidates
    saved = parse_payload(sparse_payload(CID, RID, {25: CTX}))
    assert saved.context_token == CTX


def test_envelope_shapes_round_trip() -> None:
    frame = [error_envelope(1097), rejection_envelope(400, 1096), *tail_frames(123)[1]]
    events = parse_frame(frame)
    assert events == [StatusCode(1097, 13), Rejection(400, 1096), EndMarker(123)]
    refused = error_envelope(None, 7, rpcid="CNgdBe", identifier="custom")
    answered = batch_envelope("otAQ7b", [1, 2], "generic")
    assert parse_batch_frames([[refused], [answered]]) == [
        BatchResult("CNgdBe", None, identifier="custom", grpc_status=7),
        BatchResult("otAQ7b", [1, 2], identifier="generic"),
    ]


def test_the_rejection_error_keeps_code_and_status() -> None:
    error = errors.rejection_error(1096, 400)
    assert isinstance(error, errors.RequestRejected) and (error.code, error.status_code) == (1096, 400)


def test_account_catalogue_round_trips_into_17_element_headers() -> None:
    entries = [CatalogEntry("cf41b0e0dd7d53e5", "Flash-Lite", "light", "3.5 Flash-Lite", 6)]
    info = parse_account(build_account(1000, entries, tiers=[], caps=[115]))
    assert info.status == 1000 and info.catalogue == entries and info.tier == 4
    [model] = info.models
    assert model.name == "3.5 Flash-Lite"
    value = json.loads(model.header_value or "")
    assert len(value) == 17 and value[4] == "cf41b0e0dd7d53e5" and value[11] == 4 and value[14] == 6
    assert value[8] == [4, 5, 6, 8] and value[16] == SESSION_UUID
    assert header_level(model.header_value) == 1 and header_level(Model.G_3_FLASH_THINKING.header_value) == 2
    assert header_level(model_header_value("ab")) is None


TOKENS = AppTokens("AJvLN6M:1", "boq_x", "-42", "fr", "feeds/abc")


@pytest.mark.parametrize("modern", [True, False], ids=["2026-page", "2025-page"])
def test_app_pages_round_trip(modern: bool) -> None:
    assert scrape_tokens(render_app_page(TOKENS, modern=modern)) == TOKENS
    assert scrape_tokens(render_app_page(TOKENS, signed_in=False, modern=modern)) is None
    assert scrape_tokens(render_app_page(None, modern=modern)) is None


def test_a_2026_page_without_snlm0e_gives_thykhd_and_a_signed_out_page_nothing() -> None:
    page = render_app_page(TOKENS, second_token="AFHm:2", with_snlm0e=False)
    tokens = scrape_tokens(page)
    assert tokens is not None and tokens.access_token == "AFHm:2" and tokens.build_label == "boq_x"
    signed_out = render_app_page(TOKENS, signed_in=False)
    assert '"cfb2h": "boq_x"' in signed_out and '"SNlM0e": null' in signed_out  # same label, no token
    assert scrape_tokens(signed_out) is None


def test_a_page_from_another_host_never_yields_its_token() -> None:
    page = render_app_page(TOKENS)
    assert read_app_page(page, "https://gemini.google.com/app", "https://gemini.google.com/app") == TOKENS
    with pytest.raises(errors.AuthError, match=r"redirected to accounts\.google\.com"):
        read_app_page(
            page, "https://accounts.google.com/v3/signin/identifier", "https://gemini.google.com/app"
        )
    with pytest.raises(errors.AuthError, match="signed out"):
        read_app_page(render_app_page(TOKENS, signed_in=False), "https://g/app", "https://g/app")


def test_a_page_whose_config_is_not_json_falls_back_to_key_patterns() -> None:
    page = '<script>window.WIZ_global_data = {"SNlM0e":"tok:1","cfb2h":"bl_1","S06Grb":"9", x: y};</script>'
    tokens = scrape_tokens(page)
    assert tokens is not None and (tokens.access_token, tokens.build_label) == ("tok:1", "bl_1")


def test_f_req_round_trips() -> None:
    prepared = generate_request(
        "hi 😀", TOKENS, 1, model=Model.G_3_PRO, files=[("/contrib/x", "a.png")], gem_id="g1"
    )
    inner = parse_generate_freq(prepared.data)
    assert inner[0][0] == "hi 😀" and inner[19] == "g1" and inner[0][3][0][0][0] == "/contrib/x"
    calls = parse_batch_freq(batch_request([BatchCall("MaZiqc", [13, None, [1]], "pinned")], TOKENS, 1).data)
    assert [(c.rpcid, c.payload, c.identifier) for c in calls] == [("MaZiqc", [13, None, [1]], "pinned")]


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe1", "image/jpeg"),
        (b"GIF89a..", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7", "application/pdf"),
        (b"hello", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_attachment_types_are_sniffed_from_content(head: bytes, mime: str) -> None:
    from gemini_sync.protocol.media import mime_type, sniff_mime

    assert sniff_mime(head) == mime
    assert mime_type("x.png", head) == "image/png"  # a name that tells the type wins
    assert mime_type("noext", head) == mime


FOLLOW_UP_TEXT = (
    "Answer.\n\n```python?code_reference&code_event_index=2\nprint(1)\n```\n"
    "Done. <FollowUp label=\"More > x\" query='tell me more'/>\n"
)


def test_follow_up_elements_and_fence_suffixes_are_never_emitted_then_taken_back() -> None:
    from gemini_sync.protocol.text import final_text, stable_text

    final = final_text(FOLLOW_UP_TEXT)
    assert final == "Answer.\n\n```python\nprint(1)\n```\nDone. "
    for cut in range(len(FOLLOW_UP_TEXT) + 1):
        stable = stable_text(FOLLOW_UP_TEXT[:cut])
        assert final.startswith(stable), cut  # held back, never emitted and withdrawn
        assert "?code" not in stable and "<F" not in stable
    assert final_text("a <FollowUp/> b") == "a <FollowUp/> b"  # only a trailing element goes
    assert stable_text("a < b") == "a < b" and stable_text("x <Fol") == "x "
    assert stable_text("inline ``` marks") == "inline ``` marks"  # only an opening fence line waits


def test_a_stream_of_such_snapshots_gives_the_clean_text_in_order() -> None:
    assembler = StreamAssembler()
    deltas = []
    for end in range(5, len(FOLLOW_UP_TEXT) + 1, 3):
        done = end >= len(FOLLOW_UP_TEXT) - 2
        text = FOLLOW_UP_TEXT if done else FOLLOW_UP_TEXT[:end]
        payload = build_payload(CID, RID, [build_candidate(RCID, text, done=done)])
        chunk = assembler.feed_event(parse_payload(payload))
        if chunk is not None:
            deltas.append(chunk.delta_text)
        if done:
            break
    deltas.append(assembler.finish().delta_text)
    assert "".join(deltas) == "Answer.\n\n```python\nprint(1)\n```\nDone. "


def test_history_and_gem_results_round_trip() -> None:
    from gemini_sync.protocol.rpcs import find_turn, parse_chat_turns, parse_chats, parse_gems
    from gemini_sync.protocol.service import build_chat_turn, build_chats, build_gems

    [chat] = parse_chats(build_chats([(CID, "A title", True, 1700000000.5, RID)]))
    assert (chat.cid, chat.title, chat.pinned, chat.timestamp) == (CID, "A title", True, 1700000000.5)
    cand = build_candidate(RCID, TEXT, thoughts="hmm", done=True)
    history = [[build_chat_turn((CID, RID, RCID), "the prompt", None, cand, 1700000000.0)]]
    [turn] = parse_chat_turns(history)
    assert (turn.rid, turn.prompt, turn.text, turn.candidates[0].thoughts) == (RID, "the prompt", TEXT, "hmm")
    found = find_turn(history, RID)
    assert found is not None and found[1] and found[0][0].rcid == RCID
    [gem] = parse_gems(build_gems([("g_1", "Coach", "helps", "Be kind.")]), predefined=False)
    assert (gem.id, gem.name, gem.description, gem.prompt, gem.predefined) == (
        "g_1",
        "Coach",
        "helps",
        "Be kind.",
        False,
    )


def test_account_info_with_its_catalogue_round_trips_through_json() -> None:
    from gemini_sync import AccountInfo

    entries = [CatalogEntry("fbb127bbb056c959", "Fast", "quick", "3.6 Flash", 1)]
    info = parse_account(build_account(1000, entries, tiers=[8]))
    restored = AccountInfo.from_json(info.to_json())
    assert restored == info and restored.catalogue == entries and restored.tier == 2
