"""End to end over real sockets: models, the account RPCs, chat history and gems.

A :class:`GeminiClient` talks to the bundled emulator; each test checks what
a user relies on against what the emulator recorded and what its state says.
"""

from __future__ import annotations

import json

import pytest

from gemini_sync import GeminiClient, Model, errors
from gemini_sync._constants import BATCH_EXEC_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.models import MODEL_HEADER
from gemini_sync.types.account import ChatInfo, Gem

UNKNOWN_CHAT = 1022  # the emulator's code for a conversation id it does not know
UNKNOWN_GEM = 1023  # the emulator's code for a gem id it does not know


def _batch_requests(emu: Emulator, rpcid: str) -> list[object]:
    return [r for r in emu.requests_to(BATCH_EXEC_PATH) if rpcid in r.rpcids]


# --- account and models ------------------------------------------------------------


def test_account_info_reports_the_status_and_models(emu: Emulator, client: GeminiClient) -> None:
    info = client.account_info()
    assert info.status == 1000
    assert info.models and all(isinstance(m, Model) for m in info.models)
    emu.account_status = 1016
    assert client.account_info().status == 1016


def test_listed_models_can_be_passed_back_as_model(emu: Emulator, client: GeminiClient) -> None:
    models = client.list_models()
    assert len(models) >= 2
    assert len({m.id for m in models}) == len(models)
    for model in models:
        header = model.as_model().header_value
        assert header and model.id in emu.models and json.loads(header)[4] == model.id
        output = client.generate_content(f"hello {model.label}", model=model)
        request = emu.generate_requests[-1]
        assert request.headers[MODEL_HEADER] == header and request.model_id == model.id
        assert output.text.startswith(f"You said: hello {model.label}")
    # thinking is a level of a model since 2026, not a listed model of its own
    assert client.generate_content("think", model=Model.G_3_FLASH_THINKING).thoughts


@pytest.mark.parametrize(
    "model",
    [
        Model.G_3_FLASH,
        "gemini-3-flash",
        "  Gemini-3-Flash ",
        Model.custom("my flash", Model.G_3_FLASH.header_value or ""),
    ],
    ids=["member", "name", "name-loose", "custom"],
)
def test_model_can_be_a_member_a_name_or_custom(emu: Emulator, client: GeminiClient, model: object) -> None:
    output = client.generate_content("which model?", model=model)  # type: ignore[arg-type]
    request = emu.generate_requests[-1]
    assert request.headers[MODEL_HEADER] == Model.G_3_FLASH.header_value
    assert request.headers["x-goog-ext-73010989-jspb"] == "[0]"
    assert output.text and emu.conversations[0].model_id == "fbb127bbb056c959"


def test_unspecified_model_sends_no_model_header(emu: Emulator, client: GeminiClient) -> None:
    client.generate_content("default", model=Model.UNSPECIFIED)
    assert MODEL_HEADER not in emu.generate_requests[-1].headers


def test_an_unknown_model_name_is_refused_before_any_request(emu: Emulator, client: GeminiClient) -> None:
    with pytest.raises(ValueError, match="unknown model 'gemini-9-ultra'") as info:
        client.stream("hi", model="gemini-9-ultra")
    assert "gemini-3-flash" in str(info.value) and "gemini-3-pro" in str(info.value)
    with pytest.raises(ValueError, match="gemini-3-flash"):
        client.start_chat(model="gemini-9-ultra")
    # a name this release does not know is looked up in the account's catalogue: read once
    assert emu.generate_requests == []
    assert [r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH)] == [["otAQ7b"]]


def test_a_stale_model_id_is_model_invalid(emu: Emulator, client: GeminiClient) -> None:
    emu.retire_model(Model.G_3_PRO)
    with pytest.raises(errors.ModelInvalid) as info:
        client.generate_content("hi", model=Model.G_3_PRO)
    assert info.value.code == 1052
    assert len(emu.generate_requests) == 1  # not retried
    assert client.generate_content("hi", model=Model.G_3_FLASH).text  # other models still work


def test_switching_model_inside_a_chat_is_model_invalid(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat(model=Model.G_3_FLASH)
    chat.send_message("first")
    before = chat.metadata
    switched = client.start_chat(model=Model.G_3_PRO, metadata=before)
    with pytest.raises(errors.ModelInvalid) as info:
        switched.send_message("second")
    assert info.value.code == 1050
    assert switched.metadata == before and len(emu.generate_requests) == 2
    with pytest.raises(ValueError, match=r"a chat keeps its model .*1050"):  # refused at the call
        client.generate_content("second", chat=chat, model=Model.G_3_PRO)
    assert chat.metadata == before and len(emu.generate_requests) == 2
    assert chat.send_message("second").text  # the chat's own model still works


# --- chat history --------------------------------------------------------------------


def test_list_chats_shows_both_conversations_newest_first(emu: Emulator, client: GeminiClient) -> None:
    first = client.start_chat()
    first.send_message("The first conversation")
    second = client.start_chat()
    second.send_message("The second conversation")
    chats = client.list_chats()
    assert [c.cid for c in chats] == [second.cid, first.cid]
    assert [c.title for c in chats] == ["The second conversation", "The first conversation"]
    assert all(isinstance(c, ChatInfo) and not c.pinned and c.timestamp for c in chats)
    assert chats[0].timestamp >= chats[1].timestamp  # type: ignore[operator]
    first.send_message("bump the first one")
    assert [c.cid for c in client.list_chats()] == [first.cid, second.cid]


def test_read_chat_returns_the_turns_oldest_first_as_streamed(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    streamed = []
    for prompt in ("Tell me about tea", "And coffee?", "Which is better?"):
        deltas = [chunk.delta_text for chunk in chat.send_message_stream(prompt)]
        streamed.append((prompt, "".join(deltas), chat.rid, chat.rcid))
    turns = client.read_chat(chat.cid)
    assert [(t.prompt, t.text, t.rid, t.candidates[0].rcid) for t in turns] == streamed
    assert all(t.done for t in turns)
    latest = client.read_chat(chat.cid, limit=1)
    assert [t.prompt for t in latest] == ["Which is better?"]


def test_read_chat_keeps_images_and_thoughts(client: GeminiClient) -> None:
    output = client.generate_content("Generate an image of a lighthouse", model=Model.G_3_FLASH_THINKING)
    (turn,) = client.read_chat(output.cid or "")
    candidate = turn.candidates[0]
    assert candidate.text == output.text and candidate.thoughts == output.thoughts
    assert [i.url for i in candidate.generated_images] == [i.url for i in output.generated_images]


def test_delete_chat_removes_it(emu: Emulator, client: GeminiClient) -> None:
    keep = client.generate_content("keep me").cid
    chat = client.start_chat()
    chat.send_message("delete me")
    client.delete_chat(chat.cid)
    assert emu.conversation(chat.cid) is None
    assert [c.cid for c in client.list_chats()] == [keep]
    assert [r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH)][-3:-1] == [["GzXR5e"], ["qWymEb"]]
    with pytest.raises(errors.APIError) as info:
        chat.send_message("are you there?")
    assert info.value.code == UNKNOWN_CHAT


def test_reading_an_unknown_chat_is_an_error(emu: Emulator, client: GeminiClient) -> None:
    # The emulator refuses the call with gRPC status 7 and no BardErrorInfo code; the
    # client must not turn that refusal into an empty history.
    with pytest.raises(errors.GeminiError):
        client.read_chat("c_0000000000000000")


def test_chat_ids_are_checked_before_any_request(emu: Emulator, client: GeminiClient) -> None:
    for call in (client.read_chat, client.delete_chat):
        with pytest.raises(ValueError, match="cid"):
            call("")
    assert emu.requests == []


# --- errors of the RPCs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [(1037, errors.UsageLimitExceeded), (1052, errors.ModelInvalid), (1060, errors.TemporarilyBlocked)],
)
def test_rpc_error_codes_raise_typed_errors_without_retry(
    emu: Emulator, client: GeminiClient, code: int, exc_type: type[errors.APIError]
) -> None:
    client.init()
    emu.fail_next(3, path=BATCH_EXEC_PATH, code=code)
    with pytest.raises(exc_type) as info:
        client.list_chats()
    assert info.value.code == code
    assert len(emu.requests_to(BATCH_EXEC_PATH)) == 1


def test_rpc_transient_code_is_retried(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(path=BATCH_EXEC_PATH, code=1013)
    assert client.account_info().status == 1000
    assert len(_batch_requests(emu, "otAQ7b")) == 2


def test_rpc_http_500_after_retries_is_an_api_error(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(3, path=BATCH_EXEC_PATH, status=500)
    with pytest.raises(errors.APIError) as info:
        client.list_gems()
    assert info.value.status_code == 500 and "3 attempts" in str(info.value)
    assert len(emu.requests_to(BATCH_EXEC_PATH)) == 3


def test_rpc_http_429_after_retries_is_rate_limited(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(3, path=BATCH_EXEC_PATH, status=429, headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimited):
        client.account_info()


def test_rpcs_that_change_state_are_not_retried(emu: Emulator, client: GeminiClient) -> None:
    cid = client.generate_content("still here").cid or ""
    emu.fail_next(path=BATCH_EXEC_PATH, status=503)
    with pytest.raises(errors.APIError) as info:
        client.delete_chat(cid)
    assert info.value.status_code == 503
    assert len(_batch_requests(emu, "GzXR5e")) == 1
    emu.fail_next(path=BATCH_EXEC_PATH, status=503)
    with pytest.raises(errors.APIError):
        client.create_gem("Not twice", "prompt")
    assert len(_batch_requests(emu, "oMH3Zd")) == 1 and not [g for g in emu.gems if g.name == "Not twice"]


def test_rpc_with_expired_cookies_is_an_auth_error(emu: Emulator) -> None:
    cookies = emu.cookies
    emu.expire_cookies()
    with GeminiClient(cookies=cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False) as client:
        with pytest.raises(errors.AuthError):
            client.list_chats()


# --- gems ---------------------------------------------------------------------------


def test_list_gems_gives_predefined_and_custom_gems(emu: Emulator, client: GeminiClient) -> None:
    mine = emu.add_gem("Poet", description="Writes verse", prompt="Answer in rhyme")
    gems = client.list_gems()
    predefined = [g for g in gems if g.predefined]
    assert [g.id for g in predefined] == ["brainstormer", "coding-partner"]
    assert (
        predefined[0].name == "Brainstormer" and predefined[0].description == "Helps you come up with ideas"
    )
    assert [g for g in gems if not g.predefined] == [Gem(mine.id, "Poet", "Writes verse", "Answer in rhyme")]
    hidden = {g.id for g in client.list_gems(include_hidden=True)} - {g.id for g in gems}
    assert hidden == {"storybook"}


def test_gem_create_update_delete_round_trip(emu: Emulator, client: GeminiClient) -> None:
    gem = client.create_gem("Chef", "You are a chef.", description="Cooking help")
    assert gem.id and not gem.predefined
    (stored,) = [g for g in emu.gems if g.id == gem.id]
    assert (stored.name, stored.description, stored.prompt) == ("Chef", "Cooking help", "You are a chef.")
    assert gem in client.list_gems()

    updated = client.update_gem(gem, name="Head chef")
    assert updated == Gem(gem.id, "Head chef", "Cooking help", "You are a chef.")
    (stored,) = [g for g in emu.gems if g.id == gem.id]
    assert (stored.name, stored.description, stored.prompt) == (
        "Head chef",
        "Cooking help",
        "You are a chef.",
    )
    assert updated in client.list_gems()

    client.delete_gem(updated)
    assert all(g.id != gem.id for g in emu.gems)
    assert all(g.id != gem.id for g in client.list_gems())


def test_update_gem_by_id_keeps_the_fields_not_given(emu: Emulator, client: GeminiClient) -> None:
    gem = client.create_gem("Tutor", "Explain simply.", description="Teaches")
    updated = client.update_gem(gem.id, prompt="Explain very simply.")
    assert updated == Gem(gem.id, "Tutor", "Teaches", "Explain very simply.")
    (stored,) = [g for g in emu.gems if g.id == gem.id]
    assert (stored.name, stored.description, stored.prompt) == ("Tutor", "Teaches", "Explain very simply.")


def test_builtin_gems_cannot_be_changed(emu: Emulator, client: GeminiClient) -> None:
    builtin = next(g for g in client.list_gems() if g.predefined)
    with pytest.raises(ValueError, match="built-in"):
        client.update_gem(builtin, name="Mine now")
    with pytest.raises(ValueError, match="built-in"):
        client.update_gem(builtin.id, name="Mine now")
    with pytest.raises(ValueError, match="built-in"):
        client.delete_gem(builtin)
    assert [g.name for g in emu.gems if g.id == builtin.id] == [builtin.name]


def test_updating_an_unknown_gem_id_is_refused(emu: Emulator, client: GeminiClient) -> None:
    with pytest.raises(ValueError, match="no gem with id '0123456789ab'"):
        client.update_gem("0123456789ab", name="Ghost", prompt="Boo")
    assert not _batch_requests(emu, "kHv0Vd")


def test_changing_a_gem_the_service_does_not_know_is_an_error(emu: Emulator, client: GeminiClient) -> None:
    # The emulator refuses these calls with gRPC status 5 (not found) and no BardErrorInfo
    # code; the client must not report success for a change that did not happen.
    with pytest.raises(errors.GeminiError):
        client.update_gem(Gem("0123456789ab", "Ghost", "", "Boo"), name="Ghost 2")
    with pytest.raises(errors.GeminiError):
        client.delete_gem("0123456789ab")


@pytest.mark.parametrize("by", ["id", "object"])
def test_gem_reaches_the_request_and_shapes_the_answer(emu: Emulator, client: GeminiClient, by: str) -> None:
    gem = next(g for g in client.list_gems() if g.id == "coding-partner")
    output = client.generate_content("help me", gem=gem.id if by == "id" else gem)
    assert emu.generate_requests[-1].inner[19] == "coding-partner"
    assert output.text.startswith("*Coding partner* here.")
    assert emu.conversations[0].gem_id == "coding-partner"


def test_a_custom_gem_in_a_chat_is_sent_every_turn(emu: Emulator, client: GeminiClient) -> None:
    gem = client.create_gem("Pirate", "Talk like a pirate.")
    chat = client.start_chat(gem=gem)
    assert chat.send_message("ahoy").text.startswith("*Pirate* here.")
    assert chat.send_message("again").text.startswith("*Pirate* here.")
    assert [r.inner[19] for r in emu.generate_requests] == [gem.id, gem.id]
    client.generate_content("no gem")
    assert emu.generate_requests[-1].inner[19] is None


def test_an_unknown_gem_is_a_typed_error(emu: Emulator, client: GeminiClient) -> None:
    with pytest.raises(errors.APIError) as info:
        client.generate_content("hi", gem="no-such-gem")
    assert info.value.code == UNKNOWN_GEM
    assert len(emu.generate_requests) == 1
    with pytest.raises(TypeError):
        client.stream("hi", gem=42)  # type: ignore[arg-type]


# --- JSON ---------------------------------------------------------------------------


def test_gems_and_chat_infos_round_trip_through_json(emu: Emulator, client: GeminiClient) -> None:
    emu.add_gem("Poet", description="Writes verse", prompt="Answer in rhyme")
    client.generate_content("a chat to list")
    for gem in client.list_gems(include_hidden=True):
        assert Gem.from_json(gem.to_json()) == gem
    (info,) = client.list_chats()
    again = ChatInfo.from_json(info.to_json())
    assert again == info and again.timestamp == info.timestamp
