"""Per-call options of the generating calls: explicit keywords, checked before anything is sent."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator


def test_a_misspelt_keyword_fails_at_the_call(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    calls: list[Any] = [
        lambda: client.stream("hi", modle="gemini-3-flash"),  # type: ignore[call-arg]
        lambda: client.generate_content("hi", timout=3),  # type: ignore[call-arg]
        lambda: chat.send_message("hi", verify=False),  # type: ignore[call-arg]
        lambda: chat.send_message_stream("hi", stream=True),  # type: ignore[call-arg]
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert emu.generate_requests == []


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"verfy": False}, TypeError),  # not a requests option
        ({"data": b"x"}, ValueError),  # set by the client
        ({"headers": {"x": "y"}}, ValueError),
        ({"stream": False}, ValueError),
        ({"timeout": 3}, ValueError),  # has its own argument
        ("verify=False", TypeError),
    ],
)
def test_request_options_are_checked_at_the_call(
    emu: Emulator, client: GeminiClient, options: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        client.stream("hi", request_options=options)
    assert emu.generate_requests == []


@pytest.mark.parametrize("timeout", [0, -1, "5", (1, 0), (1, 2, 3), True])
def test_a_bad_timeout_is_refused_at_the_call(client: GeminiClient, timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout"):
        client.stream("hi", timeout=timeout)


def test_timeout_pair_and_pass_through_options_reach_requests(client: GeminiClient) -> None:
    sent: list[dict[str, Any]] = []
    original = client.session.request

    def spy(method: str, url: str, **kwargs: Any) -> Any:
        sent.append({"url": url, **kwargs})
        return original(method, url, **kwargs)

    client.session.request = spy  # type: ignore[method-assign]
    output = client.generate_content("hi", timeout=(3.0, 7.0), request_options={"cert": None})
    assert output.text
    (generate,) = [s for s in sent if "StreamGenerate" in s["url"]]
    assert generate["timeout"] == (3.0, 7.0) and generate["cert"] is None
    assert generate["allow_redirects"] is False  # redirects are the client's: same origin only
    with pytest.raises(ValueError, match="allow_redirects"):
        client.stream("hi", request_options={"allow_redirects": True})
    with pytest.raises(ValueError, match="timeout must be"):
        client.stream("hi", timeout=float("inf"))
    reply = client.start_chat().send_message("hi", timeout=5, request_options={"verify": True})
    assert reply.text and sent[-1]["timeout"] == 5 and sent[-1]["verify"] is True


def test_the_collecting_calls_have_exactly_the_streaming_calls_parameters() -> None:
    from gemini_sync import ChatSession

    def parameters(fn: Any) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert parameters(GeminiClient.generate_content) == parameters(GeminiClient.stream)
    assert parameters(ChatSession.send_message) == parameters(ChatSession.send_message_stream)
    assert inspect.signature(GeminiClient.generate_content).return_annotation == "ModelOutput"
    assert GeminiClient.generate_content.__qualname__ == "GeminiClient.generate_content"
