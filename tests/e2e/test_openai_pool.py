"""The OpenAI app on an ``AccountPool``: a conversation stays on the account whose web chat it is."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from gemini_sync import GeminiClient, RetryPolicy
from gemini_sync.emulator import Emulator
from gemini_sync.openai import make_app
from gemini_sync.pool import AccountPool, LocalState, Member
from tests.e2e._openai_server import served

pytestmark = pytest.mark.timeout(60)


def _client(emu: Emulator) -> GeminiClient:
    return GeminiClient(
        cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False, retry=RetryPolicy(0)
    )


def test_conversations_through_a_pool_continue_on_their_own_account(tmp_path: Path) -> None:
    with Emulator(pace=0.001, psid="psid-a") as a, Emulator(pace=0.001, psid="psid-b") as b:
        pool = AccountPool(
            [Member(_client(a), name="a"), Member(_client(b), name="b")],
            strategy="round_robin",
            state=LocalState(tmp_path),
            usage_interval=None,
        )
        with served(make_app(pool)) as url:
            client = openai.OpenAI(base_url=url + "/v1", api_key="any", max_retries=0, timeout=20)
            histories: list[list[dict[str, str]]] = [
                [{"role": "user", "content": f"chat {n}"}] for n in range(2)
            ]
            for turn in (1, 2):
                for history in histories:
                    answer = client.chat.completions.create(model="gemini-3.6-flash", messages=history)  # type: ignore[arg-type]
                    history += [
                        {"role": "assistant", "content": answer.choices[0].message.content or ""},
                        {"role": "user", "content": f"turn {turn}"},
                    ]
        chats = [[t.prompt for t in chat.turns] for emu in (a, b) for chat in emu.conversations]
        # each conversation is one web chat on the account it started on (the pool resumes a chat
        # only with its account=, which the app stored with the chat)
        assert sorted(chats) == [["chat 0", "turn 1"], ["chat 1", "turn 1"]]
