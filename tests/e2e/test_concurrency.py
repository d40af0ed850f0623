"""One GeminiClient shared by many threads (a Django or Flask process), against the emulator.

Each thread must get exactly its own answer, whether it reads a generator or
uses ``start()`` callbacks; the app page is fetched once for all of them and
every request carries its own ``_reqid``. Concurrent chats each get their own
conversation id and keep their turns apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.answers import default_answer

pytestmark = [
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
    pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning"),
]

THREADS = 32
WAIT = 30.0


# one emulator for the module, reset before each test (tests/conftest.py)
pytestmark = [
    pytest.mark.gemini_emulator(pace=0.005, shared=True),
    pytest.mark.gemini_client(timeout=20.0, stall_timeout=20.0),
]


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` on ``count`` threads released at once; results in order, failures re-raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(WAIT)
            results[i] = target(i)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"user-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if failures:
        raise failures[0]
    return results


class InFlight:
    """Counts streams that are between their first chunk and their end, and the maximum seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_32_threads_share_one_client_and_each_gets_its_own_answer(
    emu: Emulator, client: GeminiClient
) -> None:
    expected: dict[int, str] = {}
    for i in range(THREADS):
        prompt = f"prompt {i}"
        if i % 2:  # the default echo answer, which quotes the prompt
            expected[i] = default_answer(prompt).text
        else:
            expected[i] = f"answer {i}: " + " ".join(f"w{i}.{n}" for n in range(40))
            emu.script(prompt.__eq__, text=expected[i], chunks=8)  # exact: not "prompt 21"
    inflight = InFlight()

    def user(i: int) -> tuple[str, str, str, str]:
        prompt = f"prompt {i}"
        # the plain generator
        stream = client.stream(prompt)
        deltas: list[str] = []
        with stream:
            for n, chunk in enumerate(stream):
                if n == 0:
                    inflight.enter()
                deltas.append(chunk.delta_text)
            inflight.leave()
        generator_text = "".join(deltas)
        collected = stream.collect().text
        # callbacks on a worker thread
        texts: list[str] = []
        ended = threading.Event()
        worker = client.stream(prompt).start(on_text=texts.append, on_done=lambda _o: ended.set())
        result = worker.result(timeout=WAIT)
        assert ended.is_set()
        return generator_text, collected, "".join(texts), result.text

    results = run_threads(THREADS, user)

    for i, texts in enumerate(results):
        assert texts == (expected[i],) * 4, f"thread {i} got someone else's answer"
    assert inflight.peak > 1  # the streams really overlapped
    assert len(emu.requests_to("/app")) == 1  # the token was fetched once, for everybody
    generate = emu.generate_requests
    assert len(generate) == 2 * THREADS
    reqids = [r.query["_reqid"] for r in generate]
    assert len(set(reqids)) == len(reqids)
    prompts = sorted(r.prompt or "" for r in generate)
    assert prompts == sorted(f"prompt {i}" for i in range(THREADS) for _ in range(2))


def test_concurrent_chats_each_keep_their_own_conversation(emu: Emulator, client: GeminiClient) -> None:
    chats = 6

    def user(i: int) -> tuple[str, str, str, str]:
        chat = client.start_chat()
        first = chat.send_message(f"chat {i} hello")
        cid_after_first = chat.cid
        texts: list[str] = []
        # the second turn through callbacks, the way a GUI would send it
        second = chat.send_message_stream(f"chat {i} again").start(on_text=texts.append).result(timeout=WAIT)
        assert "".join(texts) == second.text
        return cid_after_first, chat.cid, first.text, second.text

    results = run_threads(chats, user)

    cids = [cid for cid, _, _, _ in results]
    assert all(cids) and len(set(cids)) == chats
    for i, (cid, cid_later, first, second) in enumerate(results):
        assert cid_later == cid  # the second turn stayed in the same conversation
        assert f"You said: chat {i} hello" in first and "turn 1." in first
        assert f"You said: chat {i} again" in second and "turn 2." in second
        conversation = emu.conversation(cid)
        assert conversation is not None
        assert [turn.prompt for turn in conversation.turns] == [f"chat {i} hello", f"chat {i} again"]
    assert len(emu.requests_to("/app")) == 1
