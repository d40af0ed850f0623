"""Conversation stores (memory LRU/TTL, SQLite across processes) and turn planning by prefix hash."""

from __future__ import annotations

import multiprocessing
import pathlib

import pytest

from gemini_sync.openai.conversations import MemoryStore, SqliteStore, chain_hash, prefix_hashes
from gemini_sync.openai.errors import OpenAIError
from gemini_sync.openai.messages import Message, parse_messages, plan_turn, render_prompt

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_stores_are_bounded_lru_with_ttl(kind: str, tmp_path: pathlib.Path) -> None:
    clock = Clock()
    if kind == "memory":
        store: MemoryStore | SqliteStore = MemoryStore(max_entries=2, ttl=60, clock=clock)
    else:
        store = SqliteStore(str(tmp_path / "c.sqlite3"), max_entries=2, ttl=60, clock=clock)
    store.put("a", ["c_a"])
    clock.now += 1
    store.put("b", ["c_b"])
    clock.now += 1
    assert store.get("a") == ["c_a"]  # "a" is now the most recently used
    clock.now += 1
    store.put("c", ["c_c"])
    assert store.get("b") is None and store.get("a") == ["c_a"] and store.get("c") == ["c_c"]
    clock.now += 61
    assert store.get("a") is None  # expired


def _write(path: str, index: int) -> None:
    store = SqliteStore(path)
    for turn in range(20):
        store.put(f"{index}-{turn}", [f"c_{index}", turn])


def test_sqlite_store_is_shared_by_processes(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    SqliteStore(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write, args=(path, i)) for i in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    store = SqliteStore(path)
    assert len(store) == 60 and store.get("2-19") == ["c_2", 19]


def test_prefix_hashes_chain_and_differ_by_namespace() -> None:
    keys = prefix_hashes("k1", [["user", "a"], ["assistant", "b"]])
    assert keys[1] == chain_hash(keys[0], ["assistant", "b"])
    assert prefix_hashes("k2", [["user", "a"]])[0] != keys[0]


def _messages(*pairs: tuple[str, str]) -> list[Message]:
    return parse_messages([{"role": r, "content": c} for r, c in pairs])


def test_plan_resumes_the_longest_stored_prefix_and_sends_only_the_new_messages() -> None:
    messages = _messages(
        ("system", "Be kind"), ("user", "Hi"), ("assistant", "Hello"), ("user", "How are you?")
    )
    keys = prefix_hashes("ns", [m.canonical() for m in messages])
    stored = {keys[2]: ["c_1", "r_1", "rc_1"]}
    plan = plan_turn(messages, keys, stored.get)
    assert plan.metadata == ["c_1", "r_1", "rc_1"]
    prompt, images = render_prompt(plan, messages)
    assert prompt == "How are you?" and images == []


def test_a_new_chat_folds_the_system_preamble_and_history_into_the_first_prompt() -> None:
    messages = _messages(("system", "Be kind"), ("user", "Hi"), ("assistant", "Hello"), ("user", "Bye"))
    plan = plan_turn(messages, prefix_hashes("ns", [m.canonical() for m in messages]), {}.get)
    prompt, _ = render_prompt(plan, messages, tools_text="TOOLS", json_text="JSON ONLY")
    assert plan.metadata is None
    assert prompt.index("Be kind") < prompt.index("TOOLS") < prompt.index("User: Hi") < prompt.index("Bye")
    assert "Assistant: Hello" in prompt and prompt.endswith("JSON ONLY")


def test_whitespace_does_not_break_the_match() -> None:
    assert Message("assistant", "Hello\n").canonical() == Message("assistant", " Hello").canonical()


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("nope", "non-empty list"),
        ([{"role": "user", "content": ""}], "has no content"),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], "unsupported content part type"),
        ([{"role": "tool", "content": "x"}], "needs a tool_call_id"),
        ([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "last message"),
    ],
)
def test_bad_messages_are_named(raw: object, named: str) -> None:
    with pytest.raises(OpenAIError) as caught:
        parse_messages(raw)
    assert caught.value.status == 400 and named in caught.value.message
