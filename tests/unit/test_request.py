"""Request building (PROTOCOL.md 3, 8.1) and the app page (2.2): request.py, app.py.

What a user relies on: the service understands what was asked (the prompt,
the chat to continue, the files, the gem, a temporary chat, the model), which
is checked by sending built requests to the emulator and looking at what it
did, not by restating request.py slot for slot; the few byte-exact details
the real service insists on (the compact ``f.req``, the UUID header) are
checked as bytes; and the tokens of the app page are found.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from gemini_sync._constants import BATCH_EXEC_PATH, GENERATE_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.models import Model
from gemini_sync.protocol.app import render_app_page, scrape_tokens
from gemini_sync.protocol.request import (
    AppTokens,
    BatchCall,
    base_headers,
    batch_request,
    generate_request,
)
from tests._support.browser import Browser

TOKENS = AppTokens("AJvLN6M-token:1713000000000", "boq_assistant-bard-web-server_20260410.07_p0", "-42")
NEW_CHAT = ["", "", "", None, None, None, None, None, None, ""]
UUID_HEADER = "x-goog-ext-525005358-jspb"
MODEL_HEADERS = {"x-goog-ext-525001261-jspb", "x-goog-ext-73010989-jspb", "x-goog-ext-73010990-jspb"}


def inner_of(data: dict[str, str]) -> list[Any]:
    """Decode ``f.req`` the way the server does, after a form round trip."""
    form = parse_qs(urlencode(data), strict_parsing=True)
    outer = json.loads(form["f.req"][0])
    assert isinstance(outer, list) and len(outer) == 2
    assert outer[0] is None and isinstance(outer[1], str)
    inner = json.loads(outer[1])
    assert isinstance(inner, list)
    return inner


def test_generate_request_carries_the_token_and_the_prompt_exactly(emu: Emulator, browser: Browser) -> None:
    prompt = 'Hello 😀 \u2028 "q" \\ 中文'
    req = generate_request(prompt, TOKENS, 154321, model=Model.UNSPECIFIED)
    assert req.path == GENERATE_PATH and set(req.data) == {"at", "f.req"}
    assert req.data["at"] == TOKENS.access_token
    reply = browser.generate(prompt)
    assert reply.status == 200 and reply.codes == [] and reply.cid is not None
    (record,) = emu.generate_requests
    assert record.prompt == prompt and record.files == [] and record.gem_id is None and not record.temporary
    conv = emu.conversation(reply.cid)
    assert conv is not None and [turn.prompt for turn in conv.turns] == [prompt]


def test_chat_metadata_continues_the_conversation(emu: Emulator, browser: Browser) -> None:
    first = browser.generate("remember 42")
    second = browser.generate("what was it?", metadata=first.metadata())
    assert second.codes == [] and second.cid == first.cid and second.rid != first.rid
    conv = emu.conversation(first.cid or "")
    assert conv is not None and [t.prompt for t in conv.turns] == ["remember 42", "what was it?"]
    fresh = browser.generate("new chat", metadata=NEW_CHAT)
    assert fresh.cid != first.cid


def test_files_reach_the_service_with_their_names(emu: Emulator, browser: Browser) -> None:
    ids = [browser.upload("photo.png", b"png bytes", "image/png"), browser.upload("a b.txt", b"text")]
    reply = browser.generate("look", files=[(ids[0], "photo.png"), (ids[1], "a b.txt")])
    assert reply.codes == [] and reply.cid is not None
    assert emu.generate_requests[-1].files == [(ids[0], "photo.png"), (ids[1], "a b.txt")]
    conv = emu.conversation(reply.cid)
    assert conv is not None and conv.turns[-1].files == [(ids[0], "photo.png"), (ids[1], "a b.txt")]


def test_gem_and_temporary_chat_are_understood(emu: Emulator, browser: Browser) -> None:
    gem = emu.add_gem("Pirate", prompt="talk like a pirate")
    with_gem = browser.generate("ahoy", gem_id=gem.id)
    conv = emu.conversation(with_gem.cid or "")
    assert with_gem.codes == [] and conv is not None and conv.gem_id == gem.id and not conv.temporary
    temporary = browser.generate("forget me", temporary=True)
    conv = emu.conversation(temporary.cid or "")
    assert temporary.codes == [] and conv is not None and conv.temporary and conv.gem_id is None
    plain = browser.generate("plain")
    conv = emu.conversation(plain.cid or "")
    assert conv is not None and conv.gem_id is None and not conv.temporary


@pytest.mark.parametrize("model", [Model.G_3_FLASH, Model.G_3_PRO, Model.G_2_5_FLASH], ids=str)
def test_the_model_headers_select_the_model(emu: Emulator, browser: Browser, model: Model) -> None:
    reply = browser.generate("which model?", model=model)
    conv = emu.conversation(reply.cid or "")
    assert reply.codes == [] and conv is not None and conv.model_id == model.model_id


def test_f_req_is_compact_json_with_raw_unicode() -> None:
    req = generate_request("中文 😀", TOKENS, 1, model=Model.UNSPECIFIED)
    assert req.data["f.req"].startswith('[null,"[[\\"中文 😀\\",0,null,null,null,null,0],[\\"en\\"]')
    assert ", " not in req.data["f.req"].replace("中文 😀", "")


def test_uuid_is_upper_case_and_the_same_in_header_and_slot_59() -> None:
    req = generate_request("hi", TOKENS, 1, model=Model.UNSPECIFIED)
    request_uuid = inner_of(req.data)[59]
    assert json.loads(req.headers[UUID_HEADER]) == [request_uuid, 1]
    assert request_uuid == request_uuid.upper()
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}", request_uuid)
    assert uuid.UUID(request_uuid).version == 4
    again = generate_request("hi", TOKENS, 1, model=Model.UNSPECIFIED)
    assert inner_of(again.data)[59] != request_uuid  # fresh per request


def test_uuid_header_is_byte_exact_as_the_web_app_sends_it() -> None:
    """PROTOCOL.md 3.2: ``["<UUID>",1]``, compact like every other ``-jspb`` header value."""
    req = generate_request(
        "hi", TOKENS, 1, model=Model.UNSPECIFIED, request_uuid="0F6C0000-AAAA-4BBB-8CCC-DDDDEEEEFFFF"
    )
    assert req.headers[UUID_HEADER] == '["0F6C0000-AAAA-4BBB-8CCC-DDDDEEEEFFFF",1]'
    assert inner_of(req.data)[59] == "0F6C0000-AAAA-4BBB-8CCC-DDDDEEEEFFFF"


def test_language_goes_to_inner_1_and_query() -> None:
    tokens = AppTokens("t", language="de")
    req = generate_request("x", tokens, 1, model=Model.UNSPECIFIED)
    assert inner_of(req.data)[1] == ["de"]
    assert req.params["hl"] == "de"


def test_base_headers_are_present() -> None:
    req = generate_request("x", TOKENS, 1, model=Model.UNSPECIFIED)
    for name, value in base_headers().items():
        assert req.headers[name] == value
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded;charset=utf-8"
    assert req.headers["X-Same-Domain"] == "1"
    assert req.headers["Origin"] == "https://gemini.google.com"
    assert req.headers["Referer"] == "https://gemini.google.com/"


def test_unspecified_model_sends_no_model_headers() -> None:
    req = generate_request("x", TOKENS, 1, model=Model.UNSPECIFIED)
    assert MODEL_HEADERS.isdisjoint(req.headers)
    assert UUID_HEADER in req.headers


@pytest.mark.parametrize("model", [m for m in Model.known() if m is not Model.UNSPECIFIED], ids=str)
def test_every_other_model_sends_its_model_headers(model: Model) -> None:
    req = generate_request("x", TOKENS, 1, model=model)
    assert req.headers["x-goog-ext-525001261-jspb"] == model.header_value
    assert req.headers["x-goog-ext-73010989-jspb"] == "[0]"
    assert req.headers["x-goog-ext-73010990-jspb"] == "[0,0,0]"


def test_custom_model_header_is_sent_verbatim() -> None:
    value = '[1,null,null,null,"abcdef0123456789",null,null,0,[4],null,null,null,3]'
    req = generate_request("x", TOKENS, 1, model=Model.custom("next-model", value))
    assert req.headers["x-goog-ext-525001261-jspb"] == value


def test_query_has_hl_reqid_rt_and_known_tokens() -> None:
    req = generate_request("x", TOKENS, 154321, model=Model.UNSPECIFIED)
    assert req.params == {
        "hl": "en",
        "_reqid": "154321",
        "rt": "c",
        "bl": "boq_assistant-bard-web-server_20260410.07_p0",
        "f.sid": "-42",
    }


def test_query_omits_bl_and_fsid_when_unknown() -> None:
    req = generate_request("x", AppTokens("tok"), 7, model=Model.UNSPECIFIED)
    assert req.params == {"hl": "en", "_reqid": "7", "rt": "c"}


# --- batchexecute ----------------------------------------------------------------------------------


def test_batch_request_shape() -> None:
    calls = [
        BatchCall("otAQ7b", []),
        BatchCall("ESY5D", [[["bard_activity_enabled"]]], identifier="id-2"),
        BatchCall("CNgdBe", None, raw_payload="[4,['en'],0]"),
    ]
    req = batch_request(calls, TOKENS, 99)
    assert req.path == BATCH_EXEC_PATH
    assert req.params == {
        "rpcids": "otAQ7b,ESY5D,CNgdBe",
        "source-path": "/app",
        "hl": "en",
        "_reqid": "99",
        "rt": "c",
        "bl": TOKENS.build_label,
        "f.sid": "-42",
    }
    assert req.headers["x-goog-ext-525001261-jspb"] == "[1,null,null,null,null,null,null,null,[4]]"
    assert req.headers["x-goog-ext-73010989-jspb"] == "[0]"
    assert UUID_HEADER not in req.headers
    assert req.headers["X-Same-Domain"] == "1"
    assert req.data["at"] == TOKENS.access_token
    form = parse_qs(urlencode(req.data))
    freq = json.loads(form["f.req"][0])
    assert freq == [
        [
            ["otAQ7b", "[]", None, "generic"],
            ["ESY5D", '[[["bard_activity_enabled"]]]', None, "id-2"],
            ["CNgdBe", "[4,['en'],0]", None, "generic"],
        ]
    ]


def test_batch_raw_payload_is_sent_literally_even_if_not_json() -> None:
    req = batch_request([BatchCall("CNgdBe", [1], raw_payload="[2,['en'],0]")], AppTokens("t"), 1)
    assert "[2,['en'],0]" in json.loads(req.data["f.req"])[0][0][1]
    assert json.loads(req.data["f.req"])[0][0][1] == "[2,['en'],0]"
    assert req.params == {"rpcids": "CNgdBe", "source-path": "/app", "hl": "en", "_reqid": "1", "rt": "c"}


def test_batch_request_needs_a_call() -> None:
    with pytest.raises(ValueError):
        batch_request([], TOKENS, 1)


# --- app page ----------------------------------------------------------------------------------------


def test_app_tokens_repr_hides_the_access_token_and_session() -> None:
    text = repr(TOKENS)
    assert TOKENS.access_token not in text
    assert "-42" not in text
    assert "<redacted>" in text


def test_rendered_app_page_round_trips_through_scrape() -> None:
    tokens = AppTokens("AJvLN6M:17", "boq_x", "-123", "fr", "feeds/abc")
    assert scrape_tokens(render_app_page(tokens)) == tokens


def test_logged_out_page_has_no_tokens() -> None:
    assert scrape_tokens(render_app_page(None)) is None
    assert scrape_tokens("<html>Sign in</html>") is None
    assert scrape_tokens('<script>{"SNlM0e":""}</script>') is None


def test_scrape_defaults_when_optional_keys_are_missing() -> None:
    tokens = scrape_tokens('<script>{"SNlM0e": "tok"}</script>')
    assert tokens == AppTokens("tok", None, None, "en", "feeds/mcudyrk2a4khkz")


def test_scrape_takes_the_first_match_non_greedy() -> None:
    html = (
        '<script>window.WIZ_global_data = {"SNlM0e":"first","cfb2h":"bl1","FdrFJe":"-9",'
        '"TuX5cc":"ja","qKIAYe":"feeds/x"};</script><script>{"SNlM0e":"second"}</script>'
    )
    assert scrape_tokens(html) == AppTokens("first", "bl1", "-9", "ja", "feeds/x")
