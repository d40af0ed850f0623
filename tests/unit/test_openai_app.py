"""The WSGI app called directly (no socket) on a fake backend: keys, limits, errors, stream closing."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from gemini_sync.errors import StreamInterrupted, UsageLimitExceeded
from gemini_sync.openai import make_app
from tests.unit._openai_fakes import FakeBackend

pytestmark = pytest.mark.timeout(30)

KEY = "sk-unit-key"
CHAT = "/v1/chat/completions"


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: Any) -> None:
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def read(self) -> bytes:
        try:
            return b"".join(self.body)
        finally:
            getattr(self.body, "close", lambda: None)()

    def json(self) -> Any:
        return json.loads(self.read())


def call(
    app: Any, method: str, path: str, body: Any = None, *, key: str | None = KEY, raw: bytes | None = None
) -> Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(data))}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(data)
    if key is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    result = app(environ, start_response)
    return Response(seen["status"], seen["headers"], result)


def chat_body(text: str = "Hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gemini-3.6-flash", "messages": [{"role": "user", "content": text}], **extra}


def events(response: Response) -> list[Any]:
    lines = response.read().decode().split("\n\n")
    return [
        line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        for line in lines
        if line.startswith("data: ")
    ]


def test_keys_are_checked_and_name_separate_conversations() -> None:
    backend = FakeBackend()
    app = make_app(backend, api_keys=[KEY, "sk-second"])
    assert call(app, "GET", "/v1/models", key="sk-nope").status_code == 401
    assert call(app, "GET", "/v1/models", key=None).status_code == 401
    first = call(app, "POST", CHAT, chat_body()).json()
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": first["choices"][0]["message"]["content"]},
        {"role": "user", "content": "More"},
    ]
    call(app, "POST", CHAT, {"model": "gemini-3.6-flash", "messages": history}, key="sk-second").read()
    call(app, "POST", CHAT, {"model": "gemini-3.6-flash", "messages": history}).read()
    assert [c.cid for c in backend.chats] == [
        "c_0",
        "c_1",
        "c_0",
    ]  # the other key's history is not this key's
    assert backend.prompts[-1] == "More"


def test_no_keys_configured_accepts_any_request() -> None:
    app = make_app(FakeBackend())
    assert call(app, "GET", "/v1/models", key=None).json()["data"][0]["id"] == "gemini-3.6-flash"


def test_body_limit_method_and_route_errors() -> None:
    app = make_app(FakeBackend(), api_keys=[KEY], max_body_bytes=100)
    big = call(app, "POST", CHAT, chat_body("x" * 200))
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"
    assert call(app, "GET", CHAT).status_code == 405
    assert call(app, "GET", "/v2/nothing").status_code == 404
    assert call(app, "POST", CHAT, raw=b"[1, 2]").status_code == 400
    assert call(app, "GET", "/v1/models/gemini-3.6-flash:extended").json()["thinking"] == "extended"


def test_a_key_over_its_concurrency_limit_gets_a_429_and_the_slot_comes_back() -> None:
    backend = FakeBackend()
    backend.gate = threading.Event()
    app = make_app(backend, api_keys=[KEY], max_concurrent=1)
    held = call(app, "POST", CHAT, chat_body(stream=True))  # holds its slot while its body is open
    busy = call(app, "POST", CHAT, chat_body())
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
    backend.gate.set()
    assert events(held)[-1] == "[DONE]"
    assert call(app, "POST", CHAT, chat_body()).status_code == 200


def test_leaving_a_stream_early_closes_the_upstream_stream_and_frees_the_slot() -> None:
    backend = FakeBackend()
    backend.gate = threading.Event()
    app = make_app(backend, api_keys=[KEY], max_concurrent=1)
    response = call(
        app, "POST", CHAT, chat_body(stream=True)
    )  # the upstream stream is open, held at the gate
    assert b"assistant" in next(iter(response.body))
    response.body.close()  # what a WSGI server does when the client leaves
    assert backend.streams[0].closed.is_set()
    backend.gate = None
    assert call(app, "POST", CHAT, chat_body()).status_code == 200  # the slot was given back


def test_usage_limit_before_the_answer_is_a_429_with_retry_after() -> None:
    backend = FakeBackend()
    backend.error = UsageLimitExceeded("limit (1037)", code=1037, resets_at=time.time() + 120)
    backend.pieces = []
    response = call(make_app(backend, api_keys=[KEY]), "POST", CHAT, chat_body())
    assert response.status_code == 429
    assert 100 <= int(response.headers["Retry-After"]) <= 120
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_an_error_after_the_stream_started_is_an_error_event_then_done() -> None:
    backend = FakeBackend()
    backend.error = StreamInterrupted("the connection dropped")
    response = call(make_app(backend, api_keys=[KEY]), "POST", CHAT, chat_body(stream=True))
    assert response.status_code == 200
    received = events(response)
    assert received[-1] == "[DONE]"
    assert "the connection dropped" in received[-2]["error"]["message"]
    assert received[-2]["error"]["code"] == "StreamInterrupted"


def test_an_unparsable_tool_block_is_a_502_and_never_content() -> None:
    backend = FakeBackend(["I will call <tool_call>{oops</tool_call>"])
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    response = call(make_app(backend), "POST", CHAT, chat_body(tools=tools))
    assert response.status_code == 502 and "cannot be read" in response.json()["error"]["message"]


def test_a_sqlite_store_can_replace_the_default(tmp_path: Any) -> None:
    from gemini_sync.openai import SqliteStore

    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    backend = FakeBackend()
    app = make_app(backend, store=store)
    first = call(app, "POST", CHAT, chat_body()).json()
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": first["choices"][0]["message"]["content"]},
        {"role": "user", "content": "Again"},
    ]
    again = make_app(backend, store=store)  # another process's app would see the same file
    call(again, "POST", CHAT, {"model": "gemini-3.6-flash", "messages": history}).read()
    assert [c.cid for c in backend.chats] == ["c_0", "c_0"] and len(store) == 2
