"""The service as it is now (2026), end to end against the emulator's 2026 shapes.

Bootstrap (the 2026 page, ``thykhd``, signed-out pages, a redirect to a
sign-in page), the served model's name, chat continuity through the ``"26"``
context-token frame, stale page values after a deploy, compressed streams,
and the typed errors of 2026: each with the exact number of requests sent.
"""

from __future__ import annotations

import json

import pytest
import requests

from gemini_sync import GeminiClient, Model, errors
from gemini_sync._constants import APP_PATH, BATCH_EXEC_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.payload import Payload
from gemini_sync.protocol.request import generate_request
from tests._support.browser import Browser, read_reply
from tests._wire import make_client

TEXT = "The **answer** is 42. 日本語 and 😀 too, with enough words to cut into several snapshots."


# --- bootstrap ---------------------------------------------------------------------------


def test_page_with_snlm0e_gives_that_token(emu: Emulator, client: GeminiClient) -> None:
    client.generate_content("hi")
    assert emu.generate_requests[-1].form["at"] == emu.access_token


def test_page_without_snlm0e_uses_thykhd_and_the_chat_keeps_its_context(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.app_page = "without_snlm0e"
    chat = client.start_chat()
    chat.send_message("one")
    chat.send_message("two")
    first, second = emu.generate_requests
    assert first.form["at"] == second.form["at"] == emu.second_token
    assert second.metadata is not None and second.metadata[9] == emu.conversations[0].turns[0].context_token


def test_signed_out_page_is_an_auth_error_before_any_prompt_is_sent(emu: Emulator) -> None:
    cookies = emu.cookies
    emu.expire_cookies()
    with make_client(emu, cookies=cookies) as client:
        with pytest.raises(errors.AuthError, match="expired") as info:
            client.generate_content("hi")
    assert "fresh __Secure-1PSID" in str(info.value)
    assert emu.generate_requests == []


def test_a_redirect_to_a_sign_in_page_never_yields_its_token(emu: Emulator, client: GeminiClient) -> None:
    emu.app_page = "sign_in_redirect"
    with pytest.raises(errors.AuthError, match="expired") as info:
        client.generate_content("hi")
    assert "redirected" in str(info.value)
    assert emu.generate_requests == []
    # the sign-in page did carry a token of its own: it was served, and refused by host
    assert any(r.path == "/v3/signin/identifier" for r in emu.requests)


# --- the served model --------------------------------------------------------------------


def test_default_model_reports_the_model_that_served_it(emu: Emulator, client: GeminiClient) -> None:
    chunks = list(client.stream("hi"))
    assert chunks[-1].is_final and chunks[-1].model_name == "3.5 Flash-Lite"
    assert all(c.model_name is None for c in chunks[:-1])
    output = client.generate_content("again")
    assert output.model_name == "3.5 Flash-Lite" and output.model_id is None


def test_a_requested_model_reports_its_name_and_id(emu: Emulator, client: GeminiClient) -> None:
    output = client.generate_content("hi", model=Model.G_3_PRO)
    assert (output.model_name, output.model_id) == ("3.1 Pro", Model.G_3_PRO.model_id)
    assert output.to_dict()["model_name"] == "3.1 Pro"


def test_thinking_models_send_status_headlines_and_thoughts(emu: Emulator) -> None:
    reply = Browser(emu).generate("Why?", model=Model.G_3_FLASH_THINKING)
    headlines = [p.activity for p in reply.payloads if p.activity]
    assert headlines and all(isinstance(h, str) and h for h in headlines)
    assert reply.final.thoughts


# --- the 2026 order of frames ------------------------------------------------------------


def test_frames_arrive_in_the_captured_order(emu: Emulator) -> None:
    reply = Browser(emu).generate("Hello there")
    payloads: list[Payload] = reply.payloads
    first, *content, saved, last = payloads
    assert first.cid is None and first.rid and not first.candidates  # the rid before the cid
    assert all(p.cid and p.rid == first.rid and p.candidates for p in content)
    assert [p.model_name for p in content] == [None] * (len(content) - 1) + ["3.5 Flash-Lite"]
    assert saved.context_token and not saved.candidates
    assert last.context_token is None and not last.candidates and last.cid == content[0].cid
    assert reply.end is not None and reply.end.total == len(reply.body)


def test_a_chat_of_three_turns_sends_each_previous_context_token_in_slot_9(
    emu: Emulator, client: GeminiClient
) -> None:
    chat = client.start_chat(model=Model.G_3_FLASH)
    outputs = [chat.send_message(f"turn {n}") for n in range(3)]
    sent = [r.metadata for r in emu.generate_requests]
    assert sent[0] is not None and sent[0][9] == ""
    tokens = [t.context_token for t in emu.conversations[0].turns]
    assert [m[9] for m in sent[1:] if m is not None] == tokens[:2]
    assert [o.metadata[9] for o in outputs] == tokens


# --- stale page values after a deploy ----------------------------------------------------


@pytest.mark.parametrize(("new_tokens", "status"), [(False, 405), (True, 400)], ids=["stale-bl", "stale-at"])
def test_a_deploy_is_survived_by_reading_the_page_again_once(
    emu: Emulator, client: GeminiClient, new_tokens: bool, status: int
) -> None:
    client.generate_content("before")
    emu.deploy(tokens=new_tokens)
    assert client.generate_content("after").text.startswith("You said: after")
    assert [r.status for r in emu.generate_requests] == [200, status, 200]
    assert len(emu.requests_to(APP_PATH)) == 2
    emu.deploy(tokens=new_tokens)  # a process up for days meets several releases
    assert client.list_chats() is not None
    assert [r.status for r in emu.requests_to(BATCH_EXEC_PATH)] == [status, 200]


def test_a_stale_page_status_is_resent_once_only(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(5, status=405)
    with pytest.raises(errors.APIError) as info:
        client.generate_content("hi")
    assert info.value.status_code == 405 and len(emu.generate_requests) == 2


def test_nothing_is_resent_once_content_arrived(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(code=1097, after_frames=3)
    with pytest.raises(errors.FollowUpLimit) as info:
        list(client.stream("hi"))
    assert info.value.code == 1097 and info.value.partial is not None and info.value.partial.text
    assert len(emu.generate_requests) == 1


# --- typed errors, one request each -------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        ({"code": 1097}, errors.FollowUpLimit, 1097),
        ({"code": 1100}, errors.AttachmentRejected, 1100),
        ({"code": 1096}, errors.RequestRejected, 1096),
        ({"reject": 1096}, errors.RequestRejected, 1096),
    ],
    ids=["1097", "1100", "1096-alone", "er-frame"],
)
def test_each_error_has_its_type_and_is_sent_once(
    emu: Emulator, client: GeminiClient, fault: dict[str, int], kind: type[errors.APIError], code: int
) -> None:
    emu.fail_next(**fault)  # type: ignore[arg-type]
    with pytest.raises(kind) as info:
        client.generate_content("hi")
    assert type(info.value) is kind and info.value.code == code
    assert info.value.partial is not None and info.value.partial.text == ""
    assert len(emu.generate_requests) == 1


def test_batchexecute_status_7_is_an_auth_error(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(path=BATCH_EXEC_PATH, grpc=7)
    with pytest.raises(errors.AuthError, match="expired") as info:
        client.list_gems()
    assert info.value.code == 7 and len(emu.requests_to(BATCH_EXEC_PATH)) == 1


# --- compressed streams -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_the_emulator_compresses_when_asked(emu: Emulator, encoding: str) -> None:
    browser = Browser(emu)
    prepared = generate_request("hi", browser.tokens, 1, model=Model.UNSPECIFIED)
    response = browser.session.post(
        emu.url + prepared.path,
        params=prepared.params,
        headers={**prepared.headers, "Accept-Encoding": encoding},
        data=prepared.data,
        stream=True,
        timeout=5,
    )
    assert response.headers["Content-Encoding"] == encoding
    reply = read_reply(response)  # requests decodes it
    assert reply.final.text.startswith("You said: hi") and reply.end is not None
    assert reply.end.total == len(reply.body)  # the total counts the uncompressed body


def _deltas(emu: Emulator, encoding: str) -> list[str]:
    emu.script(f"compressed {encoding}", text=TEXT, chunks=8)
    with make_client(emu) as client:
        client.session.headers["Accept-Encoding"] = encoding
        return [c.delta_text for c in client.stream(f"compressed {encoding}")]


def test_compressed_streams_in_tiny_pieces_give_the_same_chunks(emu: Emulator) -> None:
    emu.chunk_size = 2  # compressed bytes cut into 2-byte network chunks
    plain = _deltas(emu, "identity")
    assert "".join(plain) == TEXT and len(plain) > 4
    assert _deltas(emu, "gzip") == plain
    assert _deltas(emu, "deflate") == plain


def test_the_2025_shapes_are_still_spoken_on_request() -> None:
    with Emulator(pace=0, shapes="2025") as emu:
        reply = Browser(emu).generate("hi")
        first = reply.payloads[0]
        assert first.cid and first.rid and reply.payloads[-1].context_token  # old order, no sparse frames
        assert all(p.model_name is None for p in reply.payloads)
        response = requests.get(emu.url + APP_PATH, cookies=emu.cookies, timeout=5)
        assert "S06Grb" not in response.text
    with pytest.raises(ValueError, match="shapes"):
        Emulator(shapes="1999")


# --- the stall watchdog -------------------------------------------------------------------


@pytest.mark.parametrize(("after_frames", "survives"), [(2, True), (3, False)], ids=["thinking", "writing"])
def test_a_silence_is_allowed_longer_while_the_service_says_it_is_thinking(
    emu: Emulator, after_frames: int, survives: bool
) -> None:
    # frames of a thinking model: ids, a "7" headline, thoughts, ...; the stall follows frame 2 or 3
    emu.fail_next(stall=1.5, after_frames=after_frames)
    with make_client(emu, stall_timeout=0.5, busy_stall_timeout=10) as client:
        if survives:
            assert client.generate_content("think", model=Model.G_3_FLASH_THINKING).thoughts
        else:
            with pytest.raises(errors.TimeoutError, match=r"no frame for 0\.5s"):
                client.generate_content("think", model=Model.G_3_FLASH_THINKING, recover=False)


# --- the model catalogue ------------------------------------------------------------------


def test_the_catalogue_resolves_members_to_the_accounts_header() -> None:
    from gemini_sync.catalogue import Catalogue
    from gemini_sync.protocol.rpcs import parse_account
    from gemini_sync.protocol.service import build_account
    from gemini_sync.types.account import CatalogEntry

    catalogue = Catalogue()
    assert catalogue.resolve(Model.G_3_FLASH_THINKING) is Model.G_3_FLASH_THINKING  # nothing listed yet
    flash = CatalogEntry(Model.G_3_FLASH.model_id or "", "Fast", "", "3.6 Flash", 1)
    catalogue.update(parse_account(build_account(1000, [flash], caps=[115])))  # a tier-4 account
    resolved = catalogue.resolve(Model.G_3_FLASH_THINKING)
    value = json.loads(resolved.header_value or "")
    assert (value[4], value[11], value[14], value[15]) == (flash.model_id, 4, 1, 2)  # tier 4, level kept
    assert resolved.name == "gemini-3-flash-thinking" and resolved.thinking
    assert catalogue.resolve(Model.G_2_5_PRO) is Model.G_2_5_PRO  # not listed: its last known header
    assert "'3.6 Flash' (fbb127bbb056c959)" in catalogue.describe()


def test_a_rejected_model_id_refreshes_the_catalogue_once_and_names_the_accounts_models(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.retire_model(Model.G_3_PRO)
    with pytest.raises(errors.ModelInvalid) as info:
        client.generate_content("hi", model=Model.G_3_PRO)
    assert info.value.code == 1052 and "this account offers: '3.6 Flash'" in str(info.value)
    assert "9d8ca3786ebdfbea" not in str(info.value)
    assert len(emu.generate_requests) == 1
    assert [r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH)] == [["otAQ7b"]]


def test_listed_models_are_sent_with_the_listed_header(emu: Emulator, client: GeminiClient) -> None:
    models = {m.id: m for m in client.list_models()}
    client.generate_content("hi", model=Model.G_3_PRO)
    sent = emu.generate_requests[-1].headers["x-goog-ext-525001261-jspb"]
    assert sent == models[Model.G_3_PRO.model_id or ""].as_model().header_value


def test_a_paid_account_gets_its_tier_once_the_catalogue_was_read(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.plan = "plus"
    # the member's last known header carries the free tier: the service silently serves a lesser model
    assert client.generate_content("before", model=Model.G_3_PRO).model_name == "3.5 Flash-Lite"
    listed = {m.id for m in client.list_models()}
    assert {"56fdd199312815e2", "e6fa609c3fa255c0"} <= listed  # the paid models are listed too
    assert client.generate_content("after", model=Model.G_3_PRO).model_name == "3.1 Pro"
    value = json.loads(emu.generate_requests[-1].headers["x-goog-ext-525001261-jspb"])
    assert value[11] == 4 and value[14] == 3
