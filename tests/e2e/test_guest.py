"""Guest mode: a client without any Google account, against the emulator playing a signed-out visitor.

What a user relies on: a multi-turn chat works with no account cookie ever
sent (only the anonymous cookies the home and app pages set), ``at`` is sent
empty, what a guest cannot have is refused at the call with nothing sent, and
the emulator answers a guest as the service does (the default model whatever
was asked, permission denied on the history, 1100 on a file).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gemini_sync import GeminiClient, Model, errors
from gemini_sync._constants import APP_PATH, BATCH_EXEC_PATH, HOME_PATH, PSID
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.request import AppTokens, BatchCall
from tests._support.browser import Browser

ANONYMOUS = {"NID", "AEC"}  # what the emulator's home and app pages set


@pytest.fixture
def guest(gemini_client_factory: Callable[..., GeminiClient]) -> GeminiClient:
    return gemini_client_factory(guest=True)


def test_a_guest_chats_three_turns_without_any_account_cookie(emu: Emulator, guest: GeminiClient) -> None:
    chat = guest.start_chat()
    ids = []
    for n in range(3):
        output = chat.send_message(f"turn {n}")
        assert output.text.startswith(f"You said: turn {n}")
        assert output.model_name == "3.5 Flash-Lite"
        ids.append((chat.cid, chat.metadata[1]))
    assert len({cid for cid, _ in ids}) == 1 and len({rid for _, rid in ids}) == 3  # one chat, three turns
    conversation = emu.conversation(ids[0][0])
    assert conversation is not None and len(conversation.turns) == 3
    requests = emu.requests
    assert [r.path for r in requests[:2]] == [HOME_PATH, APP_PATH]  # the preflight, then the page
    assert not requests[0].cookies and len(emu.generate_requests) == 3
    for request in requests:
        assert set(request.cookies) <= ANONYMOUS, request.cookies  # never an account cookie
        assert "__Secure" not in request.headers.get("Cookie", "")
    for request in emu.generate_requests:
        assert request.form["at"] == ""  # sent, empty
        assert set(request.cookies) == ANONYMOUS


def test_a_guest_account_status_is_usable_and_says_guest(emu: Emulator, guest: GeminiClient) -> None:
    status = guest.account_status()
    assert (status.code, status.guest, status.usable) == (1016, True, True)
    assert status.abuse is not None and status.abuse.clean
    assert next(m.id for m in guest.list_models()) == "cf41b0e0dd7d53e5"  # the default first


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda c: c.generate_content("hi", model=Model.G_3_PRO), "only the default model"),
        (lambda c: c.generate_content("hi", model="pro"), "only the default model"),
        (lambda c: c.start_chat(model="flash"), "only the default model"),
        (lambda c: c.generate_content("hi", thinking="extended"), "thinking"),
        (lambda c: c.generate_content("hi", tool="image"), "image tool"),
        (lambda c: c.generate_content("hi", gem="some-gem"), "gems"),
        (lambda c: c.generate_content("hi", files=[b"data"]), "files"),
    ],
)
def test_what_a_guest_cannot_ask_is_refused_at_the_call(
    emu: Emulator, guest: GeminiClient, call: Callable[[GeminiClient], object], why: str
) -> None:
    with pytest.raises(ValueError, match=why) as info:
        call(guest)
    assert "guest" in str(info.value)
    assert emu.requests == []  # nothing sent


def test_the_default_model_may_be_named(emu: Emulator, guest: GeminiClient) -> None:
    for model in ("flash-lite", "3.5 Flash-Lite", "cf41b0e0dd7d53e5"):
        assert guest.generate_content("hi", model=model).model_name == "3.5 Flash-Lite"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list_chats(),
        lambda c: c.read_chat("c_1"),
        lambda c: c.delete_chat("c_1"),
        lambda c: c.list_gems(),
        lambda c: c.create_gem("g", "p"),
        lambda c: c.usage(),
        lambda c: c.deep_research("tides"),
    ],
)
def test_a_guest_has_no_history(
    emu: Emulator, guest: GeminiClient, call: Callable[[GeminiClient], object]
) -> None:
    with pytest.raises(errors.AuthError, match=r"a guest .* has no history"):
        call(guest)
    assert emu.requests == []


def test_a_guest_stream_is_never_read_back(emu: Emulator, guest: GeminiClient) -> None:
    emu.fail_next(disconnect_after_bytes=400)
    with pytest.raises(errors.GeminiError):
        guest.generate_content("a long answer please " * 5)
    assert not emu.requests_to(BATCH_EXEC_PATH)  # no history read-back


def test_no_cookies_anywhere_offers_guest_mode_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GEMINI_SECURE_1PSID", "GEMINI_SECURE_1PSIDTS", "GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path))
    monkeypatch.setattr("gemini_sync.transport.sources.browser_cookies", lambda: None)
    with pytest.raises(errors.AuthError) as info:
        GeminiClient()
    message = str(info.value)
    assert message.index("guest=True") < message.index("sign in at")
    with pytest.raises(ValueError, match="guest=True uses no cookies"):
        GeminiClient("psid", guest=True)


# --- the emulator's side, through a raw browser -------------------------------------------------


@pytest.fixture
def visitor(emu: Emulator) -> Browser:
    browser = Browser(emu, cookies={})
    tokens = emu.tokens
    browser.tokens = AppTokens("", tokens.build_label, tokens.session_id, tokens.language, tokens.push_id)
    return browser


def test_the_emulator_serves_a_guest_any_model_as_the_default(emu: Emulator, visitor: Browser) -> None:
    reply = visitor.generate("hello", model=Model.G_3_PRO)
    assert reply.status == 200
    served = [(p.model_id, p.model_name) for p in reply.payloads if p.model_name]
    assert served and set(served) == {("cf41b0e0dd7d53e5", "3.5 Flash-Lite")}
    assert PSID not in emu.generate_requests[-1].cookies


def test_the_emulator_refuses_a_guest_history_and_files(emu: Emulator, visitor: Browser) -> None:
    (chats,) = visitor.batch(BatchCall("MaZiqc", [13, None, [0, None, 1]]))
    assert chats.grpc_status == 7 and chats.data is None
    account, abuse = visitor.batch(BatchCall("otAQ7b", []), BatchCall("GPRiHf", []))
    assert account.data[14] == 1016 and abuse.data == []
    identifier = visitor.upload("a.txt", b"text")
    reply = visitor.generate("read it", files=[(identifier, "a.txt")])
    assert [s.code for s in reply.statuses] == [1100]


def test_a_guest_tool_request_gets_a_sign_in_answer(emu: Emulator, visitor: Browser) -> None:
    reply = visitor.generate("a cat", gem_id="any-gem")
    texts = [c.text for p in reply.payloads for c in p.candidates]
    assert reply.status == 200 and texts and "Are you signed in?" in texts[-1]


def test_dead_cookies_are_refused_not_served_as_a_guest(emu: Emulator) -> None:
    browser = Browser(emu)
    emu.expire_cookies()
    assert browser.post_generate("hi").status_code == 401  # a PSID the emulator killed: not a guest
