"""Thinking levels and the account's models (issue 15): what is sent, how names resolve, what is refused.

Against the emulator's 2026 shapes (its August catalogue: Pro offers standard,
extended and deep; Flash standard and extended; Flash-Lite standard), plus
the pure request builder and the catalogue alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient, Model, ModelInfo, errors
from gemini_sync._constants import BATCH_EXEC_PATH
from gemini_sync.catalogue import Catalogue
from gemini_sync.emulator import Emulator
from gemini_sync.models import MODEL_HEADER, SESSION_UUID
from gemini_sync.protocol.request import INNER_SLOTS, AppTokens, generate_request
from gemini_sync.protocol.rpcs import parse_account
from gemini_sync.protocol.service import build_account
from gemini_sync.types.account import CatalogEntry
from tests._wire import make_client

pytestmark = pytest.mark.gemini_emulator(pace=0.001)

PRO, FLASH, LITE = "9d8ca3786ebdfbea", "fbb127bbb056c959", "cf41b0e0dd7d53e5"
PAID_PRO, PAID_FLASH = "e6fa609c3fa255c0", "56fdd199312815e2"
LEVEL_NUMBERS = {None: None, "standard": 1, "extended": 2, "deep": 3}


def _sent(emu: Emulator) -> tuple[list[Any], list[Any]]:
    """(inner, model header) of the last StreamGenerate request."""
    request = emu.generate_requests[-1]
    return request.inner, json.loads(request.headers[MODEL_HEADER])


def _batch_rpcs(emu: Emulator) -> list[list[str]]:
    return [r.rpcids for r in emu.requests_to(BATCH_EXEC_PATH)]


# --- what is sent ---------------------------------------------------------------------------


@pytest.mark.parametrize("thinking", [None, "standard", "extended", "deep"])
def test_each_level_goes_to_slot_80_and_header_15_with_the_accounts_tier(
    emu: Emulator, client: GeminiClient, thinking: Any
) -> None:
    emu.plan = "pro"  # tier 2
    output = client.generate_content("hi", model=PRO, thinking=thinking)
    inner, header = _sent(emu)
    assert len(header) == 17 and header[4] == PRO and header[16] == SESSION_UUID
    assert (header[11], header[14]) == (2, 3)  # the tier from the catalogue, Pro's model number
    if thinking is None:  # the service's default: no slot 80, the header as the browser sends it
        assert len(inner) == INNER_SLOTS and header[15] == 1
    else:
        assert inner[80] == header[15] == LEVEL_NUMBERS[thinking]
    assert output.model_name == "3.1 Pro"
    assert bool(output.thoughts) == (thinking in ("extended", "deep"))  # the emulator thinks aloud above 1


def test_the_request_builder_writes_slot_80_only_for_a_level() -> None:
    tokens = AppTokens("at:1")
    plain = json.loads(json.loads(generate_request("p", tokens, 1, model=Model.G_3_PRO).data["f.req"])[1])
    deep = generate_request("p", tokens, 1, model=Model.G_3_PRO.at_level("deep"), thinking="deep")
    inner = json.loads(json.loads(deep.data["f.req"])[1])
    assert len(plain) == INNER_SLOTS and len(inner) == 81 and inner[80] == 3
    assert json.loads(deep.headers[MODEL_HEADER])[15] == 3
    assert Model.G_2_5_PRO.at_level("deep") is Model.G_2_5_PRO  # a short 2025 header has no level slot


@pytest.mark.parametrize(
    "model",
    [Model.G_3_PRO, "gemini-3-pro", "3.1 Pro", "pro", "PRO", PRO, "Pro"],
    ids=["member", "release-name", "display", "nickname", "nickname-upper", "id", "catalogue-name"],
)
def test_every_way_of_naming_pro_sends_the_same_header(
    emu: Emulator, client: GeminiClient, model: Any
) -> None:
    client.generate_content("hi", model=model, thinking="extended")
    _, header = _sent(emu)
    assert (header[4], header[11], header[14], header[15]) == (PRO, 1, 3, 2)


def test_a_listed_model_info_and_a_custom_model_are_sent_as_given(
    emu: Emulator, client: GeminiClient
) -> None:
    [lite] = [m for m in client.list_models() if m.id == LITE]
    assert client.generate_content("hi", model=lite).model_name == "3.5 Flash-Lite"
    assert _sent(emu)[1][4] == LITE and _sent(emu)[1][14] == 6
    custom = Model.custom("next", '[1,null,null,null,"0123456789abcdef"]')  # an id the account does not list
    emu.models["0123456789abcdef"] = custom  # ... but the service serves
    client.generate_content("hi", model=custom)
    assert emu.generate_requests[-1].headers[MODEL_HEADER] == custom.header_value  # sent verbatim
    listed_id = Model.custom("my flash", f'[1,null,null,null,"{FLASH}"]')
    client.generate_content("hi", model=listed_id)
    header = _sent(emu)[1]
    assert header[4] == FLASH and len(header) == 17  # a listed id is sent with the account's header


def test_thinking_members_are_their_family_at_the_extended_level_unless_told(
    emu: Emulator, client: GeminiClient
) -> None:
    assert Model.G_3_FLASH_THINKING.default_thinking == "extended"
    assert Model.G_3_FLASH.default_thinking is None
    client.generate_content("hi", model=Model.G_3_FLASH_THINKING)
    inner, header = _sent(emu)
    assert header[4] == FLASH and header[15] == 2 and inner[80] == 2
    client.generate_content("hi", model=Model.G_3_FLASH_THINKING, thinking="standard")  # explicit wins
    inner, header = _sent(emu)
    assert header[15] == 1 and inner[80] == 1


# --- levels a model does not offer -----------------------------------------------------------


def test_a_level_the_model_lacks_is_refused_at_the_call_listing_what_it_offers(
    emu: Emulator, client: GeminiClient
) -> None:
    with pytest.raises(ValueError, match=r"3\.5 Flash-Lite .* does not offer thinking='extended'") as info:
        client.stream("hi", model="flash-lite", thinking="extended")
    assert "it offers 'standard'" in str(info.value)
    with pytest.raises(ValueError, match="'standard', 'extended'"):
        client.start_chat(model="flash", thinking="deep")
    with pytest.raises(ValueError, match=r"thinking must be None .* 'deep'"):
        client.stream("hi", thinking="max")  # type: ignore[arg-type]
    assert emu.generate_requests == [] and _batch_rpcs(emu) == [["otAQ7b"]]


def test_the_emulator_refuses_a_level_the_model_lacks_with_1052(emu: Emulator) -> None:
    # a client that does not check (here: the catalogue no longer says, so nothing is checked first)
    with make_client(emu) as client:
        client._catalogue.update(parse_account(build_account(1000, [])))
        with pytest.raises(errors.ModelInvalid) as info:
            client.generate_content("hi", model=Model.G_3_FLASH, thinking="deep")
    assert info.value.code == 1052 and emu.generate_requests[-1].thinking_level == 3


def test_a_model_member_the_catalogue_lacks_keeps_its_own_header_and_is_not_checked(
    emu: Emulator, client: GeminiClient
) -> None:
    assert client.generate_content("hi", model=Model.G_2_5_PRO, thinking="deep").text
    request = emu.generate_requests[-1]
    assert request.headers[MODEL_HEADER] == Model.G_2_5_PRO.header_value and request.inner[80] == 3


# --- name resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("pro", PRO),
        ("flash", FLASH),
        ("flash-lite", LITE),
        ("Flash Lite", LITE),
        (" FLASH-LITE ", LITE),
        ("3.1 pro", PRO),
        ("3.6 Flash", FLASH),
        ("3.5 Flash-Lite", LITE),
        ("Fast", FLASH),
        (LITE.upper(), LITE),
    ],
)
def test_names_and_nicknames_resolve_through_the_catalogue(name: str, model_id: str) -> None:
    catalogue, fetches = _catalogue_of(FREE)
    assert catalogue.choose(name, fetches.fetch).model_id == model_id
    assert fetches.count == 1


def test_release_names_and_members_need_no_catalogue() -> None:
    catalogue, fetches = _catalogue_of(FREE)
    assert catalogue.choose("Gemini-3-Flash", fetches.fetch) is Model.G_3_FLASH
    assert catalogue.choose(Model.G_3_PRO, fetches.fetch) is Model.G_3_PRO
    assert catalogue.choose(None, fetches.fetch) is Model.UNSPECIFIED
    assert fetches.count == 0


@pytest.mark.parametrize("name", ["pro", "flash", "3.1 Pro", "PRO"])
def test_a_name_two_listed_models_share_is_ambiguous(name: str) -> None:
    catalogue, fetches = _catalogue_of(FREE + PAID)
    with pytest.raises(ValueError, match="ambiguous on this account") as info:
        catalogue.choose(name, fetches.fetch)
    assert "pass one of the ids" in str(info.value)
    assert catalogue.choose("flash-lite", fetches.fetch).model_id == LITE  # one Flash-Lite: not ambiguous
    assert catalogue.choose(PAID_PRO, fetches.fetch).model_id == PAID_PRO


def test_an_unknown_name_lists_the_accounts_models() -> None:
    catalogue, fetches = _catalogue_of(FREE)
    with pytest.raises(ValueError, match="unknown model 'ultra'") as info:
        catalogue.choose("ultra", fetches.fetch)
    message = str(info.value)
    assert f"'3.6 Flash' ({FLASH})" in message and f"'3.1 Pro' ({PRO})" in message
    assert "gemini-3-pro" in message
    with pytest.raises(ValueError, match="empty"):
        catalogue.choose("  ", fetches.fetch)


def test_an_ambiguous_name_is_refused_by_the_client_before_any_prompt(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.plan = "plus"
    with pytest.raises(ValueError, match=f"'3.6 Flash' \\({FLASH}\\), '3.8 Flash' \\({PAID_FLASH}\\)"):
        client.stream("hi", model="flash")
    assert emu.generate_requests == []


# --- the catalogue: once per client, shared by threads, refreshed on 1052 ----------------------


def test_the_catalogue_is_fetched_once_when_16_threads_ask_at_once(emu: Emulator) -> None:
    emu.fail_next(path=BATCH_EXEC_PATH, stall=0.3)  # the first listing is slow: the others must wait
    barrier = threading.Barrier(16)
    results: list[list[ModelInfo]] = []
    failures: list[Exception] = []

    def ask(client: GeminiClient) -> None:
        barrier.wait(5)
        try:
            results.append(client.list_models())
        except Exception as exc:  # reported by the assertion below
            failures.append(exc)

    with make_client(emu) as client:
        client.init()
        threads = [threading.Thread(target=ask, args=(client,)) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert not failures and len(results) == 16
        assert all(r == results[0] for r in results) and {m.id for m in results[0]} == {PRO, FLASH, LITE}
        assert client.generate_content("hi", model="pro", thinking="deep").text  # no second listing
    assert _batch_rpcs(emu) == [["otAQ7b"]]


def test_a_1052_refreshes_the_listing_that_list_models_returns(emu: Emulator, client: GeminiClient) -> None:
    assert {m.id for m in client.list_models()} == {PRO, FLASH, LITE}
    emu.retire_model(PRO)
    with pytest.raises(errors.ModelInvalid):
        client.generate_content("hi", model="pro")
    assert {m.id for m in client.list_models()} == {FLASH, LITE}
    assert _batch_rpcs(emu) == [["otAQ7b"], ["otAQ7b"]]
    with pytest.raises(ValueError, match="unknown model 'pro'"):
        client.stream("hi", model="pro")


def test_list_models_gives_ids_names_versions_numbers_tier_and_levels(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.plan = "plus"
    by_id = {m.id: m for m in client.list_models()}
    pro = by_id[PRO]
    assert (pro.name, pro.display_version, pro.number, pro.tier) == ("Pro", "3.1 Pro", 3, 4)
    assert pro.thinking_levels == ("standard", "extended", "deep")
    assert by_id[LITE].thinking_levels == ("standard",) and PAID_FLASH in by_id
    assert ModelInfo.from_json(pro.to_json()) == pro
    assert client.list_models(refresh=True) == list(by_id.values())
    assert len(_batch_rpcs(emu)) == 2
    assert client.account_info().tier == 4  # still there, and reads the listing again


# --- chats ---------------------------------------------------------------------------------------


def test_a_chat_keeps_its_model_and_level_and_refuses_a_switch(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat(model="flash", thinking="extended")
    assert chat.send_message("one").model_name == "3.6 Flash"
    assert _sent(emu)[0][80] == 2
    chat.send_message("two", thinking="standard")  # a level for one turn
    assert _sent(emu)[0][80] == 1 and _sent(emu)[1][4] == FLASH
    chat.send_message("three", model=FLASH)  # its own model, by another name: fine
    assert _sent(emu)[0][80] == 2
    before = chat.metadata
    with pytest.raises(ValueError, match=r"a chat keeps its model .*error 1050"):
        chat.send_message("four", model="pro")
    with pytest.raises(ValueError, match="a chat keeps its model"):
        client.stream("four", chat=chat, model=Model.G_3_PRO)
    with pytest.raises(AttributeError):
        chat.model = Model.G_3_PRO  # type: ignore[misc]
    assert chat.metadata == before and len(emu.generate_requests) == 3


def test_a_chat_given_to_stream_without_a_model_uses_the_chats(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat(model=Model.G_3_PRO)
    chat.send_message("one")
    assert client.generate_content("two", chat=chat).model_name == "3.1 Pro"
    assert _sent(emu)[1][4] == PRO


# --- helpers ---------------------------------------------------------------------------------------

FREE = [
    CatalogEntry(FLASH, "Fast", "", "3.6 Flash", 1, ("standard", "extended")),
    CatalogEntry(PRO, "Pro", "", "3.1 Pro", 3, ("standard", "extended", "deep")),
    CatalogEntry(LITE, "Flash-Lite", "", "3.5 Flash-Lite", 6, ("standard",)),
]
PAID = [
    CatalogEntry(PAID_FLASH, "Flash", "", "3.8 Flash", 1),
    CatalogEntry(PAID_PRO, "Pro", "", "3.1 Pro", 3),
]


class _Fetches:
    def __init__(self, entries: list[CatalogEntry]) -> None:
        self.entries = entries
        self.count = 0

    def fetch(self) -> Any:
        self.count += 1
        return parse_account(build_account(1000, self.entries))


def _catalogue_of(entries: list[CatalogEntry]) -> tuple[Catalogue, _Fetches]:
    return Catalogue(), _Fetches(entries)


# --- the command line ------------------------------------------------------------------------------


def _cli(emu: Emulator, cache: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    environment.update(
        GEMINI_BASE_URL=emu.url,
        GEMINI_SECURE_1PSID=emu.cookies["__Secure-1PSID"],
        GEMINI_SECURE_1PSIDTS=emu.cookies["__Secure-1PSIDTS"],
        GEMINI_COOKIE_PATH=str(cache),
        PYTHONIOENCODING="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "gemini_sync", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=stdin,
        env=environment,
        timeout=60,
    )


def test_cli_ask_and_chat_take_thinking_and_any_model_name(emu: Emulator, tmp_path: Path) -> None:
    done = _cli(emu, tmp_path, "ask", "--model", "3.1 pro", "--thinking", "deep", "hi")
    assert done.returncode == 0 and done.stdout.startswith("You said: hi"), done.stderr
    inner, header = _sent(emu)
    assert inner[80] == header[15] == 3 and header[4] == PRO
    done = _cli(emu, tmp_path, "chat", "--model", "flash", "--thinking", "extended", stdin="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    assert [r.inner[80] for r in emu.generate_requests[1:]] == [2, 2]
    assert sorted(len(c.turns) for c in emu.conversations) == [1, 2]  # the chat's two turns in one


def test_cli_refuses_a_level_the_model_lacks_and_an_unknown_level(emu: Emulator, tmp_path: Path) -> None:
    done = _cli(emu, tmp_path, "ask", "--model", "flash-lite", "--thinking", "extended", "hi")
    assert done.returncode == 2 and "does not offer thinking='extended'; it offers 'standard'" in done.stderr
    assert _cli(emu, tmp_path, "ask", "--thinking", "max", "hi").returncode == 2
    assert emu.generate_requests == []


def test_cli_models_shows_each_models_names_and_levels(emu: Emulator, tmp_path: Path) -> None:
    text = _cli(emu, tmp_path, "models").stdout
    assert f"3.1 Pro  {PRO}  (--model pro, gemini-3-pro)  thinking: standard, extended, deep\n" in text
    assert f"3.5 Flash-Lite  {LITE}  (--model flash-lite)  thinking: standard\n" in text
    rows = {
        row["id"]: row for row in map(json.loads, _cli(emu, tmp_path, "models", "--json").stdout.splitlines())
    }
    assert rows[FLASH]["thinking_levels"] == ["standard", "extended"] and rows[FLASH]["nickname"] == "flash"
    assert (rows[PRO]["number"], rows[PRO]["tier"], rows[PRO]["name"]) == (3, 1, "3.1 Pro")
