"""Live status (queued, thinking headlines, a tool at work) and the text/thought streams."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from gemini_sync import GeminiClient, Model, Status, StreamChunk
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.wire import BODY_PREFIX
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import dumps, encode_frame
from gemini_sync.protocol.payload import parse_frame, parse_payload
from gemini_sync.protocol.service import (
    activity_field,
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    sparse_payload,
)
from gemini_sync.protocol.status import payload_status
from tests._support.waits import assert_disconnected

CID, RID, RCID = "c_1", "r_1", "rc_1"


def status_payload(cid: str, rid: str, headline: str | None = None, *, tool: str | None = None) -> list[Any]:
    """A status-only payload as captured: ``[null, [cid, rid], {"7": E[6], "44": true}]``."""
    return sparse_payload(cid, rid, {6: activity_field(headline, tool=tool), 43: True})


def _status_of(data: Any) -> Status | None:
    return payload_status(parse_payload(data))


def _feed(asm: StreamAssembler, envelope: list[Any]) -> list[StreamChunk]:
    return asm.feed(parse_frame(json.loads(dumps([envelope]))))


def _content(text: str, *, thoughts: str | None = None, done: bool = False) -> list[Any]:
    cand = build_candidate(RCID, text, thoughts=thoughts, done=done)
    return data_envelope(build_payload(CID, RID, [cand], context_token="ctx" if done else None))


def assert_status_contracts(chunks: list[StreamChunk], final_text: str) -> None:
    """Joined deltas are the final text; is_final once, last; every other chunk brings something new."""
    assert "".join(c.delta_text for c in chunks) == final_text
    assert [c.is_final for c in chunks].count(True) == 1 and chunks[-1].is_final
    previous: Status | None = None
    for chunk in chunks[:-1]:
        assert chunk.delta_text or chunk.delta_thoughts or chunk.new_images or chunk.status != previous, chunk
        previous = chunk.status
    assert chunks[-1].status is None


def _changes(chunks: list[StreamChunk]) -> list[Status | None]:
    """The statuses in the order they changed (starting from ``None``)."""
    changes: list[Status | None] = []
    current: Status | None = None
    for chunk in chunks:
        if chunk.status != current:
            current = chunk.status
            changes.append(current)
    return changes


# --- reading the frames ------------------------------------------------------------------------


def test_status_is_read_from_the_dense_and_the_sparse_form() -> None:
    dense: list[Any] = [None, [CID, RID], None, None, None, None, activity_field("Comparing Images")]
    assert _status_of(dense) == Status("thinking", "Comparing Images")
    assert _status_of(status_payload(CID, RID, "Comparing Images")) == Status("thinking", "Comparing Images")
    assert _status_of(status_payload(CID, RID, tool="data_analysis_tool")) == Status("tool", None)
    assert _status_of(status_payload(CID, RID, "Plotting", tool="data_analysis_tool")) == Status(
        "tool", "Plotting"
    )
    assert _status_of(build_payload(CID, RID, None)) is None
    assert _status_of([None, [CID, RID], {"7": [None, None, None, None, None, None]}]) == Status("thinking")
    assert _status_of([None, [CID, RID], {"7": "odd"}]) is None
    assert _status_of("odd") is None


def test_queued_then_thinking_headline_then_text_one_chunk_per_change() -> None:
    asm = StreamAssembler()
    chunks: list[StreamChunk] = []
    for envelope in (
        error_envelope(None),
        error_envelope(None),  # still queued: nothing new
        data_envelope(build_payload(CID, RID, None)),  # the ids: still queued, nothing to hand out
        data_envelope(status_payload(CID, RID, "Reading the prompt")),
        _content("", thoughts="Let me see"),
        data_envelope(status_payload(CID, RID, "Comparing Images")),
        data_envelope(status_payload(CID, RID, "Comparing Images")),  # the same headline: nothing new
        _content("", thoughts="Let me see. Both"),
        _content("Hello", thoughts="Let me see. Both"),
        _content("Hello, world", thoughts="Let me see. Both"),
        _content("Hello, world!", thoughts="Let me see. Both", done=True),
    ):
        chunks += _feed(asm, envelope)
    chunks.append(asm.finish())
    assert [c.status for c in chunks] == [
        Status("queued"),
        Status("thinking", "Reading the prompt"),
        Status("thinking", "Reading the prompt"),  # the thoughts
        Status("thinking", "Comparing Images"),
        Status("thinking", "Comparing Images"),  # more thoughts
        None,  # text started
        None,
        None,
        None,  # the final chunk
    ]
    assert chunks[0].text == chunks[1].text == "" and not chunks[1].delta_thoughts
    assert_status_contracts(chunks, "Hello, world!")
    assert "".join(c.delta_thoughts for c in chunks) == "Let me see. Both"


def test_thoughts_without_a_headline_mean_thinking_and_queued_is_only_before_content() -> None:
    asm = StreamAssembler()
    chunks = _feed(asm, error_envelope(None))
    chunks += _feed(asm, _content("", thoughts="Hmm"))
    chunks += _feed(asm, _content("Hi"))
    chunks += _feed(asm, error_envelope(None))  # after content: not "queued"
    chunks += _feed(asm, data_envelope(status_payload(CID, RID, tool="data_analysis_tool")))
    chunks += _feed(asm, _content("Hi there", done=True))
    chunks.append(asm.finish())
    assert _changes(chunks) == [Status("queued"), Status("thinking"), None, Status("tool"), None]
    assert_status_contracts(chunks, "Hi there")


def test_status_round_trips_through_json() -> None:
    chunk = StreamChunk(text="a", delta_text="a", status=Status("thinking", "Comparing Images"))
    again = StreamChunk.from_json(chunk.to_json())
    assert again.status == Status("thinking", "Comparing Images") and again == chunk
    assert Status.from_json(Status("queued").to_json()) == Status("queued")
    assert StreamChunk.from_json(StreamChunk().to_json()).status is None
    assert str(Status("thinking", "Comparing Images")) == "Thinking: Comparing Images"
    assert "status=Queued..." in repr(StreamChunk(status=Status("queued")))


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.gemini_emulator(pace=0.005)
def test_queued_thinking_and_text_reach_the_caller_in_order(emu: Emulator, client: GeminiClient) -> None:
    emu.queue_seconds = 0.1
    stream = client.stream("Think it over", model=Model.G_3_FLASH_THINKING)
    chunks = list(stream)
    output = stream.collect()
    changes = _changes(chunks)
    assert changes[0] == Status("queued")
    assert chunks[0].status == Status("queued") and not chunks[0].text and not chunks[0].thoughts
    headlines = [s for s in changes if s is not None and s.kind == "thinking"]
    assert len(headlines) >= 2 and all(s.headline for s in headlines)
    assert changes[-1] is None
    first_text = next(i for i, c in enumerate(chunks) if c.delta_text)
    assert all(c.status is None for c in chunks[first_text:])
    assert all(c.status is not None for c in chunks[:first_text])
    assert_status_contracts(chunks, output.text)
    assert "".join(c.delta_thoughts for c in chunks) == output.thoughts


def test_the_queued_status_is_handed_out_before_the_queue_ends(emu: Emulator, client: GeminiClient) -> None:
    emu.queue_seconds = 30.0  # far longer than the bound below: only an early chunk passes
    prompt = "queued for long"
    started = time.monotonic()
    with client.stream(prompt) as stream:
        first = next(iter(stream))
        waited = time.monotonic() - started
    assert first.status == Status("queued") and not first.text and not first.is_final
    assert waited < 10
    assert_disconnected(emu, prompt, timeout=5)  # leaving the queue closed the connection


def test_a_retry_after_the_queued_status_does_not_repeat_it(emu: Emulator, client: GeminiClient) -> None:
    emu.queue_seconds = 0.01  # one "queued" envelope before every answer
    queued = len(BODY_PREFIX.encode()) + len(encode_frame([error_envelope(None)]).encode())
    emu.fail_next(disconnect_after_bytes=queued + 3)  # cut after it, before the first data frame
    stream = client.stream("queued twice")
    chunks = list(stream)
    assert len(emu.generate_requests) == 2  # the cut came before any content: retried
    assert [c.status for c in chunks].count(Status("queued")) == 1
    assert chunks[0].status == Status("queued")
    assert_status_contracts(chunks, stream.collect().text)


def test_on_status_is_called_on_each_change_in_order(emu: Emulator, client: GeminiClient) -> None:
    emu.queue_seconds = 0.05
    events: list[tuple[str, Any]] = []
    chunks: list[StreamChunk] = []
    dispatched: list[str] = []

    def dispatch(fn: Any) -> None:
        dispatched.append(threading.current_thread().name)
        fn()

    worker = client.stream("Think", model=Model.G_3_FLASH_THINKING).start(
        on_status=lambda status: events.append(("status", status)),
        on_text=lambda text: events.append(("text", text)),
        on_chunk=chunks.append,
        dispatch=dispatch,
    )
    output = worker.result(timeout=10)
    statuses = [value for kind, value in events if kind == "status"]
    assert statuses == _changes(chunks)
    assert statuses[0] == Status("queued") and statuses[-1] is None
    first_text = next(i for i, (kind, _) in enumerate(events) if kind == "text")
    assert events[first_text - 1] == ("status", None)  # told the status is over before the text
    assert "".join(value for kind, value in events if kind == "text") == output.text
    assert dispatched


def test_on_status_must_be_callable(client: GeminiClient) -> None:
    with pytest.raises(TypeError, match="on_status"):
        client.stream("hi").start(on_status="nope")  # type: ignore[arg-type]


# --- text_stream / thought_stream -------------------------------------------------------------


def test_text_stream_equals_the_deltas(client: GeminiClient) -> None:
    chunks = list(client.stream("Tell me something"))
    pieces = list(client.stream("Tell me something").text_stream)
    assert pieces == [c.delta_text for c in chunks if c.delta_text]
    assert all(pieces) and "".join(pieces) == chunks[-1].text


def test_thought_stream_equals_the_thought_deltas(client: GeminiClient) -> None:
    stream = client.stream("Think", model=Model.G_3_FLASH_THINKING)
    thoughts = list(stream.thought_stream)
    output = stream.collect()
    assert thoughts and all(thoughts) and "".join(thoughts) == output.thoughts
    assert output.text  # the stream was read to its end


def test_text_stream_closes_the_socket_on_break(emu: Emulator, client: GeminiClient) -> None:
    emu.pace = 0.05
    prompt = "a long answer to leave early"
    stream = client.stream(prompt)
    for piece in stream.text_stream:
        assert piece
        break
    assert_disconnected(emu, prompt, timeout=5)
    assert stream.output is None


def test_a_stream_gives_its_text_stream_once(client: GeminiClient) -> None:
    stream = client.stream("hi")
    list(stream.text_stream)
    with pytest.raises(RuntimeError, match="already iterated"):
        stream.text_stream  # noqa: B018 - the property refuses at once


def test_queue_seconds_must_not_be_negative(emu: Emulator) -> None:
    from gemini_sync.emulator.cli import build_parser, main

    with pytest.raises(ValueError, match="queue_seconds"):
        Emulator(queue_seconds=-1)
    with pytest.raises(ValueError, match="queue_seconds"):
        emu.queue_seconds = -0.5
    assert build_parser().parse_args(["--queue-seconds", "2.5"]).queue_seconds == 2.5
    assert main(["--port", "0", "--queue-seconds", "-1"]) == 2
