"""A pool's chat lives on one account: 16 threads, two accounts, every turn where its chat is."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gemini_sync import GeminiClient, RetryPolicy, errors
from gemini_sync.emulator import Emulator
from gemini_sync.pool import AccountPool, LocalState, Member

pytestmark = pytest.mark.timeout(60)

THREADS = 16
TURNS = 3


def _client(emu: Emulator) -> GeminiClient:
    return GeminiClient(
        cookies=emu.cookies,
        base_url=emu.url,
        auto_refresh=False,
        cookie_cache=False,
        retry=RetryPolicy(1, initial=0.01, maximum=0.02),
    )


def test_every_turn_of_a_chat_goes_to_its_account_under_16_threads(tmp_path: Path) -> None:
    with Emulator(pace=0.002, psid="psid-a") as a, Emulator(pace=0.002, psid="psid-b") as b:
        pool = AccountPool(
            [Member(_client(a), name="a"), Member(_client(b), name="b")],
            strategy="round_robin",
            state=LocalState(tmp_path),
            usage_interval=None,
        )
        chats = [pool.start_chat() for _ in range(THREADS)]
        assert {chat.account for chat in chats} == {"a", "b"}
        # B refuses one turn with 1037: that turn fails, and is not sent to A (nor is the chat moved)
        b.fail_next(code=1037, match="chat 1 turn 1")
        failures: list[str] = []
        barrier = threading.Barrier(THREADS)

        def talk(n: int) -> None:
            barrier.wait(10)
            for turn in range(TURNS):
                prompt = f"chat {n} turn {turn}"
                try:
                    chats[n].send_message(prompt)
                except errors.UsageLimitExceeded:
                    failures.append(prompt)

        threads = [threading.Thread(target=talk, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads)
        assert chats[1].account == "b" and failures == ["chat 1 turn 1"]
        emus = {"a": a, "b": b}
        for n, chat in enumerate(chats):
            own, other = emus[chat.account], emus["b" if chat.account == "a" else "a"]
            conversation = own.conversation(chat.cid)
            assert conversation is not None
            expected = [f"chat {n} turn {t}" for t in range(TURNS) if f"chat {n} turn {t}" not in failures]
            assert [turn.prompt for turn in conversation.turns] == expected
            assert other.conversation(chat.cid) is None
            assert not [r for r in other.generate_requests if (r.prompt or "").startswith(f"chat {n} turn")]
        pool.close()
