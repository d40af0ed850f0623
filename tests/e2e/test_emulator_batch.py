"""batchexecute RPCs of the emulator (PROTOCOL.md 8), over a real socket."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync.emulator import Emulator
from gemini_sync.models import Model
from gemini_sync.protocol.framing import FrameDecoder
from gemini_sync.protocol.payload import parse_batch_frames
from gemini_sync.protocol.request import BatchCall, batch_request
from tests._support.browser import TIMEOUT, Browser

pytestmark = pytest.mark.gemini_emulator(pace=0)


def test_account_status_and_models(emu: Emulator, browser: Browser) -> None:
    result = browser.call("otAQ7b", [])
    assert result[14] == 1000 and result[16] == [] and result[17] == []
    ids = [model[0] for model in result[15]]
    assert Model.G_3_FLASH.model_id in ids and Model.G_3_PRO.model_id in ids
    assert Model.G_3_PRO_PLUS.model_id not in ids  # a free account lists free models
    assert all(isinstance(entry[1], str) and entry[1] for entry in result[15])
    emu.account_status = 1016
    assert browser.call("otAQ7b", [])[14] == 1016


def test_settings_answer_every_name(browser: Browser) -> None:
    result = browser.call("ESY5D", [[["bard_activity_enabled", "other"]]])
    assert [entry[0] for entry in result[0]] == ["bard_activity_enabled", "other"]


def test_list_read_and_delete_chats(emu: Emulator, browser: Browser) -> None:
    first = browser.generate("Plan a trip to Kyoto")
    second = browser.generate("And what to eat?", metadata=first.metadata())
    browser.generate("A temporary question", temporary=True)
    other = browser.generate("Unrelated question")
    pinned = browser.call("MaZiqc", [13, None, [1, None, 1]])
    assert pinned[2] == []
    rows = browser.call("MaZiqc", [13, None, [0, None, 1]])[2]
    assert [row[0] for row in rows] == [other.cid, first.cid]  # newest first, temporary chats not listed
    assert rows[1][1] == "Plan a trip to Kyoto" and rows[1][2] is False
    assert isinstance(rows[1][5][0], int)
    assert browser.call("MaZiqc", [1, None, [0, None, 1]])[2][0][0] == other.cid  # count

    turns = browser.call("hNvQHb", [first.cid, 10, None, 1, [1], [4], None, 1])[0]
    assert [turn[0][1] for turn in turns] == [second.rid, first.rid]  # newest first
    assert [turn[2][0][0] for turn in turns] == ["And what to eat?", "Plan a trip to Kyoto"]
    newest = turns[0][3][0][0]
    assert newest[0] == second.final.rcid and newest[1][0] == second.final.text and newest[8] == [2]
    assert len(browser.call("hNvQHb", [first.cid, 1, None, 1, [1], [4], None, 1])[0]) == 1

    assert browser.call("GzXR5e", [first.cid]) == []
    assert browser.call("qWymEb", [first.cid, [1, None, 0, 1]]) == []
    assert [c.cid for c in emu.conversations if not c.temporary] == [other.cid]
    [missing] = browser.batch(BatchCall("hNvQHb", [first.cid, 10, None, 1, [1], [4], None, 1]))
    assert missing.data is None and missing.rpcid == "hNvQHb"


def test_gems_lifecycle_with_single_quoted_list_payloads(emu: Emulator, browser: Browser) -> None:
    system = browser.call("CNgdBe", raw="[3,['en'],0]")[2]
    with_hidden = browser.call("CNgdBe", raw="[4,['en'],0]")[2]
    assert len(with_hidden) == len(system) + 1
    assert all(isinstance(gem[0], str) and isinstance(gem[1][0], str) for gem in system)
    assert browser.call("CNgdBe", raw="[2,['en'],0]")[2] == []

    fields: list[Any] = ["Chef", "Cooks things", "You are a chef.", *[None] * 5, 0, None, 1, *[None] * 3, []]
    [gem_id] = browser.call("oMH3Zd", [fields])
    custom = browser.call("CNgdBe", raw="[2,['en'],0]")[2]
    assert custom == [[gem_id, ["Chef", "Cooks things"], ["You are a chef."]]]
    assert browser.generate("soup?", gem_id=gem_id).final.text.startswith("*Chef* here.")

    browser.call("kHv0Vd", [gem_id, ["Baker", "Bakes", "You bake.", *fields[3:], 0]])
    assert [g.name for g in emu.gems if g.id == gem_id] == ["Baker"]
    browser.call("UXcSJb", [gem_id])
    assert browser.call("CNgdBe", raw="[2,['en'],0]")[2] == []
    [failed] = browser.batch(BatchCall("UXcSJb", [gem_id]))
    assert failed.data is None
    [predefined] = browser.batch(BatchCall("UXcSJb", [system[0][0]]))
    assert predefined.data is None  # predefined gems cannot be deleted


def test_unknown_rpc_fails_only_that_call(browser: Browser) -> None:
    unknown, known = browser.batch(BatchCall("nOpE42", []), BatchCall("otAQ7b", [], identifier="second"))
    assert unknown.rpcid == "nOpE42" and unknown.data is None and unknown.identifier == "generic"
    assert known.data is not None and known.identifier == "second"


def test_full_size_image_of_an_unknown_id_fails(browser: Browser) -> None:
    [result] = browser.batch(BatchCall("c8o8Fe", [[[None], ["nope", 0]], [None, None, None], 1, 0, 1]))
    assert result.data is None and result.code is not None


def test_batch_checks_token_cookies_and_rpcids(emu: Emulator, browser: Browser) -> None:
    req = batch_request([BatchCall("otAQ7b", [])], browser.tokens, 1)
    url = emu.url + req.path
    post = browser.session.post
    assert post(url, params=req.params, data={**req.data, "at": "bad"}, timeout=TIMEOUT).status_code == 400
    assert post(url, params=req.params, data={"at": req.data["at"]}, timeout=TIMEOUT).status_code == 400
    wrong_ids = {**req.params, "rpcids": "ESY5D"}
    assert post(url, params=wrong_ids, data=req.data, timeout=TIMEOUT).status_code == 400
    assert Browser(emu, cookies={}).post_batch(BatchCall("otAQ7b", [])).status_code == 401
    response = post(url, params=req.params, data=req.data, timeout=TIMEOUT)
    frames = FrameDecoder().feed(response.content)
    assert frames[-1][0][0] == "e" and frames[-1][0][4] == len(response.content)
    assert [r.rpcid for r in parse_batch_frames(frames)] == ["otAQ7b"]
    assert [c.rpcid for c in emu.requests[-1].calls or []] == ["otAQ7b"]
