"""``gemini-sync serve`` and its server (waitress): events are not buffered, the command serves a client.

The buffering test holds the answer open upstream (a gate the test opens) and
reads the first event from a raw socket: a server that buffered the response
would deliver nothing until the stream ended, and the read would time out.
"""

from __future__ import annotations

import argparse
import io
import re
import socket
import threading
from collections.abc import Iterator

import openai
import pytest

from gemini_sync.openai import make_app
from gemini_sync.openai.serve import add_arguments, run
from tests.e2e._openai_server import served
from tests.unit._openai_fakes import FakeBackend

pytestmark = pytest.mark.timeout(60)


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        piece = conn.recv(65536)
        if not piece:
            break
        data += piece
    return data


def test_the_first_event_reaches_the_client_before_the_stream_ends() -> None:
    backend = FakeBackend(["first words", " and the rest"])
    backend.gate = threading.Event()  # the second piece waits until the test has the first
    with served(make_app(backend)) as url:
        port = int(url.rsplit(":", 1)[1])
        body = (
            b'{"model": "gemini-3.6-flash", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}'
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            early = _read_until(conn, b"first words")  # times out (fails) if the server buffered it
            assert b"first words" in early and b"and the rest" not in early and b"[DONE]" not in early
            backend.gate.set()
            rest = _read_until(conn, b"[DONE]")
            assert b"and the rest" in rest and b"data: [DONE]" in rest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serving(request: pytest.FixtureRequest) -> Iterator[str]:
    """``gemini-sync serve --emulator`` running in a thread (with extra arguments as the fixture's param)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    port = _free_port()
    extra = list(getattr(request, "param", []))
    args = parser.parse_args(
        ["--emulator", "--pace", "0.001", "--port", str(port), "--api-key", "sk-serve", *extra]
    )
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(args,), kwargs={"out": out, "stop": stop}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop.set()
        thread.join(15)
        assert not thread.is_alive()
    assert re.search(rf"http://127\.0\.0\.1:{port}/v1", out.getvalue())


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="sk-serve", max_retries=5, timeout=20)


def test_serve_emulator_serves_an_openai_client(serving: str) -> None:
    client = _client(serving)  # retries while the server is still starting (connection refused)
    stream = client.chat.completions.create(
        model="gemini-3.6-flash", messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("You said: Hello")


@pytest.mark.parametrize("serving", [["--workers", "2"]], indirect=True)
def test_serve_with_two_worker_processes_keeps_one_conversation(serving: str) -> None:
    client = _client(serving)
    messages = [{"role": "user", "content": "One"}]
    for follow_up in ("Two", "Three"):
        answer = client.chat.completions.create(model="gemini-3.6-flash", messages=messages)  # type: ignore[arg-type]
        messages += [
            {"role": "assistant", "content": answer.choices[0].message.content},
            {"role": "user", "content": follow_up},
        ]
    final = client.chat.completions.create(model="gemini-3.6-flash", messages=messages)  # type: ignore[arg-type]
    assert "turn 3" in (final.choices[0].message.content or "")  # the emulator counted 3 turns in one chat
