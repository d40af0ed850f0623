"""A chat advances only when a completed turn reaches the caller; never on a turn reported as failed."""

from __future__ import annotations

import queue
from collections.abc import Callable

import pytest

from gemini_sync import GeminiClient, errors


def test_breaking_before_the_final_chunk_leaves_the_chat_unchanged(client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata
    with chat.send_message_stream("second") as stream:
        for chunk in stream:
            if not chunk.is_final:
                break
    assert chat.metadata == before


def test_the_final_chunk_commits_the_turn(client: GeminiClient) -> None:
    chat = client.start_chat()
    seen_rids = []
    for chunk in chat.send_message_stream("first"):
        seen_rids.append((chunk.is_final, chat.rid))
    # the chat moved exactly when the final chunk was handed out, not before
    assert all(rid == "" for final, rid in seen_rids if not final)
    assert seen_rids[-1][1].startswith("r_")


def test_on_done_raising_leaves_the_chat_unchanged(client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata

    def on_done(_output: object) -> None:
        raise RuntimeError("the app failed to store the answer")

    worker = chat.send_message_stream("second").start(on_done=on_done)
    with pytest.raises(RuntimeError):
        worker.result(timeout=10)
    assert chat.metadata == before


def test_cancel_while_dispatched_callbacks_lag_leaves_the_chat_unchanged(client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata
    jobs: queue.Queue[Callable[[], None]] = queue.Queue()
    worker = chat.send_message_stream("second").start(dispatch=jobs.put)
    # the reader finishes (its last job is queued) before the "GUI" has run any callback
    worker._thread.join(10)
    assert not worker._thread.is_alive() and worker._stream.output is not None
    worker.cancel()
    while not worker.done():
        jobs.get(timeout=5)()
    with pytest.raises(errors.Cancelled) as info:
        worker.result(timeout=1)
    assert chat.metadata == before
    # no callback had run: nothing was delivered, whatever the reader had read
    assert info.value.partial is not None and info.value.partial.text == ""


def test_a_stream_made_before_the_previous_turn_ends_continues_from_it(client: GeminiClient) -> None:
    """Streams are lazy: a turn uses the chat's state when it is sent, not when it was created."""
    chat = client.start_chat()
    first = chat.send_message_stream("first")
    second = chat.send_message_stream("second")
    first.collect()
    after_first = chat.metadata
    second.collect()
    assert chat.cid == after_first[0]
    assert chat.rid != after_first[1]


def test_a_worker_tells_the_chat_only_after_on_done_returned(client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata
    seen_in_on_done: list[list[object]] = []
    stream = chat.send_message_stream("second")
    worker = stream.start(on_done=lambda _out: seen_in_on_done.append(chat.metadata))
    output = worker.result(timeout=10)
    assert seen_in_on_done == [before]  # not yet advanced while on_done ran
    assert chat.rid == output.rid != before[1] and chat.last_output is output


def test_a_worker_without_on_done_advances_the_chat_before_result_returns(client: GeminiClient) -> None:
    chat = client.start_chat()
    output = chat.send_message_stream("first").start().result(timeout=10)
    assert chat.cid == output.cid and chat.rid == output.rid and chat.last_output is output


def test_a_refused_start_leaves_the_stream_able_to_advance_the_chat(client: GeminiClient) -> None:
    chat = client.start_chat()
    stream = chat.send_message_stream("first")
    with pytest.raises(TypeError):
        stream.start(on_text="not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        stream.start(on_done="not callable")  # type: ignore[arg-type]
    output = stream.collect()
    assert chat.rid == output.rid and chat.last_output is output
