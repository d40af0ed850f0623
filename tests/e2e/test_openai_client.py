"""The real ``openai`` package against ``gemini_sync.openai`` on waitress, over a socket, on the emulator.

Each test asserts what an OpenAI client sees and what the emulator (the web
app) received: conversations are continued in one web chat with one new
prompt per turn, tool blocks never show as content, JSON is checked, and
errors come back with the status and the exception an OpenAI client expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
import requests

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.openai import make_app
from tests.e2e._openai_server import served

pytestmark = pytest.mark.timeout(60)

KEY = "sk-test-key-1"
MODEL = "gemini-3.6-flash"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def base_url(gemini_client_factory: Callable[..., GeminiClient]) -> Iterator[str]:
    app = make_app(gemini_client_factory(), api_keys=[KEY, "sk-other-key"])
    with served(app) as url:
        yield url


@pytest.fixture
def oai(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key=KEY, max_retries=0, timeout=20)


def _prompts(emu: Emulator) -> list[str]:
    return [r.prompt or "" for r in emu.generate_requests]


def test_models_lists_the_account_catalogue_with_thinking_variants(oai: openai.OpenAI) -> None:
    ids = [m.id for m in oai.models.list()]
    assert "gemini-3.1-pro" in ids and "gemini-3.1-pro:deep" in ids
    assert "gemini-3.5-flash-lite:deep" not in ids  # Flash-Lite offers the standard level only


def test_non_streamed_chat_has_content_and_usage(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.script("Say hi", text="Hi there, **friend**!")
    answer = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hi"}])
    assert answer.choices[0].message.content == "Hi there, **friend**!"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_streamed_chat_deltas_join_to_the_answer(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.script("Count", text="one two three four five six seven eight", chunks=8)
    stream = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) > 1  # streamed in pieces, not one block at the end
    assert "".join(deltas) == "one two three four five six seven eight"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_three_turns_are_one_web_chat_with_one_new_prompt_each(
    oai: openai.OpenAI, gemini_emulator: Emulator
) -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Answer like a pirate."}]
    for question in ("Tell me about Paris", "And Rome?", "And Berlin?"):
        messages.append({"role": "user", "content": question})
        answer = oai.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
        messages.append({"role": "assistant", "content": answer.choices[0].message.content})
    prompts = _prompts(gemini_emulator)
    assert "Answer like a pirate." in prompts[0] and prompts[0].endswith("Tell me about Paris")
    assert prompts[1:] == ["And Rome?", "And Berlin?"]  # nothing replayed
    (chat,) = gemini_emulator.conversations
    assert [t.prompt for t in chat.turns][1:] == ["And Rome?", "And Berlin?"]


def test_an_edited_history_starts_a_new_chat_with_the_history_folded_in(
    oai: openai.OpenAI, gemini_emulator: Emulator
) -> None:
    first = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    assert first.choices[0].message.content
    edited = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Something the web chat never said"},
        {"role": "user", "content": "Go on"},
    ]
    oai.chat.completions.create(model=MODEL, messages=edited)  # type: ignore[arg-type]
    assert len(gemini_emulator.conversations) == 2
    folded = _prompts(gemini_emulator)[-1]
    assert "Something the web chat never said" in folded and folded.endswith("Go on")


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
CALL_TEXT = 'Let me check.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


def test_tool_round_trip_streamed(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.script(lambda p: "<tool_result" in p, text="It is sunny in Paris.")
    gemini_emulator.script(
        lambda p: "tool_result" not in p, text=CALL_TEXT, chunks=len(CALL_TEXT)
    )  # 1 char a frame
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    stream = oai.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS, stream=True)  # type: ignore[arg-type]
    content, calls, finish = "", {}, None
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or ():
            entry = calls.setdefault(call.index, {"id": call.id, "name": "", "arguments": ""})
            entry["name"] += call.function.name or ""
            entry["arguments"] += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert content == "Let me check.\n"  # no piece of the block leaked, though it came a character at a time
    assert finish == "tool_calls"
    (call,) = calls.values()
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    messages.append(
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call["arguments"]},
                }
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": '{"sky": "sunny"}'})
    answer = oai.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "It is sunny in Paris."
    assert len(gemini_emulator.conversations) == 1  # the tool result went into the same web chat
    second = _prompts(gemini_emulator)[1]
    assert '{"sky": "sunny"}' in second and "Weather in Paris?" not in second


def test_tool_call_non_streamed(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.script(lambda p: "get_weather" in p, text=CALL_TEXT)
    answer = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=TOOLS,
        tool_choice="required",  # type: ignore[arg-type]
    )
    message = answer.choices[0].message
    assert answer.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls and message.tool_calls[0].function.name == "get_weather"
    assert "tool_call" not in (message.content or "")
    assert "must call at least one tool" in _prompts(gemini_emulator)[0]


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
JSON_FORMAT = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}


def test_json_schema_output_is_checked_and_corrected_once(
    oai: openai.OpenAI, gemini_emulator: Emulator
) -> None:
    gemini_emulator.script("Your previous answer was not usable", text='{"name": "Ada", "age": 36}')
    gemini_emulator.script("Who", text='Here you go:\n```json\n{"name": "Ada", "age": "36"}\n```')
    answer = oai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Who wrote the first program?"}],
        response_format=JSON_FORMAT,  # type: ignore[arg-type]
    )
    assert json.loads(answer.choices[0].message.content or "") == {"name": "Ada", "age": 36}
    first, second = gemini_emulator.generate_requests
    assert '"additionalProperties": false' in (first.prompt or "")  # the schema went into the prompt
    assert "$.age: expected integer" in (second.prompt or "")  # the correction says what was wrong
    assert len(gemini_emulator.conversations) == 1


def test_json_still_invalid_after_the_correction_is_a_502(
    oai: openai.OpenAI, gemini_emulator: Emulator
) -> None:
    gemini_emulator.script(lambda p: True, text="I would rather not.")
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Who?"}],
            response_format={"type": "json_object"},
        )
    assert caught.value.status_code == 502
    assert "not valid JSON" in caught.value.message
    assert len(gemini_emulator.generate_requests) == 2  # one corrective turn, no more


def test_image_parts_are_uploaded_and_generated_images_are_served(
    oai: openai.OpenAI, gemini_emulator: Emulator, base_url: str
) -> None:
    import base64

    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": data_url}},
    ]
    oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])  # type: ignore[arg-type]
    (request,) = gemini_emulator.generate_requests
    ((identifier, name),) = request.files
    assert name == "image_1.png" and gemini_emulator.uploads[identifier].data == PNG
    answer = oai.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Generate an image of a red fox"}]
    )
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", answer.choices[0].message.content or "")
    assert len(links) == 1 and links[0].startswith(base_url + "/v1/files/file-")
    image = requests.get(links[0], timeout=10)  # no API key, no cookies: the link itself is enough
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")
    assert len(image.content) > 0
    assert requests.get(base_url + "/v1/files/file-unknown", timeout=10).status_code == 404


def test_wrong_or_missing_key_is_a_401(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-wrong", max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    missing = requests.post(base_url + "/v1/chat/completions", json={}, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"


def test_usage_limit_is_a_429_with_retry_after(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.set_quota("flash", total=1, used=1, period=600)
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 429
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 600
    assert caught.value.code == "usage_limit_exceeded"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}, "unknown model 'gpt-9'"),
        ({"model": MODEL, "messages": []}, "messages must be a non-empty list"),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, "role must be one of"),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "extra_body": {"frobnicate": 1}},
            "unsupported parameter(s): frobnicate",
        ),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "n": 2}, "n (only 1 answer"),
    ],
)
def test_bad_input_is_a_clear_400(oai: openai.OpenAI, options: dict[str, Any], named: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(**options)
    assert caught.value.status_code == 400
    assert named in caught.value.message


def test_responses_stream_and_previous_response_id(oai: openai.OpenAI, gemini_emulator: Emulator) -> None:
    gemini_emulator.script(lambda p: p.endswith("Name a colour"), text="Blue, like the sea.", chunks=5)
    with oai.responses.stream(model=MODEL, input="Name a colour", instructions="Be brief.") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        first = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == "Blue, like the sea." == first.output_text
    gemini_emulator.script("Another", text="Green.")
    second = oai.responses.create(model=MODEL, input="Another", previous_response_id=first.id)
    assert second.output_text == "Green."
    assert second.usage is not None and second.usage.output_tokens > 0
    assert len(gemini_emulator.conversations) == 1
    first_prompt, second_prompt = _prompts(gemini_emulator)
    assert "Be brief." in first_prompt and second_prompt == "Another"
