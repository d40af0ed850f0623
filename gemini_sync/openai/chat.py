"""``POST /v1/chat/completions``: the request checked into a :class:`TurnRequest`, the answer shaped back.

Parameters the web app cannot honour are refused by name (a 400 listing them)
rather than silently ignored when they change what the answer means
(``n > 1``, ``stop``, ``logprobs``, audio); sampling hints that have no
equivalent there (``temperature``, ``max_tokens``...) are accepted and have
no effect, as every client sends some of them. ``gem`` (through the OpenAI
client's ``extra_body``) names a gem to answer with.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Any

from .backend import ModelCatalog, ModelChoice
from .engine import Event, Outcome, TurnRequest
from .errors import OpenAIError, bad_request
from .messages import parse_messages
from .sse import DONE, event

__all__ = ["chat_request", "chat_completion", "chat_stream", "thinking_for_effort"]

_HONOURED = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "response_format",
    "gem",
}
_HINTS = {
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "user",
    "metadata",
    "store",
    "parallel_tool_calls",
    "service_tier",
    "reasoning_effort",
    "n",
    "logprobs",
    "stop",
    "modalities",
}
_EFFORTS = {
    "minimal": "standard",
    "low": "standard",
    "medium": "extended",
    "high": "extended",
    "xhigh": "deep",
}


def _check_known(body: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise bad_request(
            f"unsupported parameter(s): {', '.join(unknown)}", param=unknown[0], code="unsupported_parameter"
        )


def _check_values(body: Mapping[str, Any]) -> None:
    refused = []
    if body.get("n") not in (None, 1):
        refused.append("n (only 1 answer per request)")
    if body.get("logprobs"):
        refused.append("logprobs (the web app reports none)")
    if body.get("stop"):
        refused.append("stop (the web app cannot stop at a sequence)")
    if body.get("modalities") not in (None, ["text"]):
        refused.append("modalities (text only)")
    if refused:
        raise bad_request("unsupported value(s): " + "; ".join(refused), code="unsupported_parameter")


def thinking_for_effort(choice: ModelChoice, effort: Any, catalog: ModelCatalog) -> ModelChoice:
    """``reasoning_effort`` as the model's thinking level, when the model id does not name one."""
    if effort is None or choice.thinking is not None:
        return choice
    level = _EFFORTS.get(effort) if isinstance(effort, str) else None
    if level is None:
        raise bad_request(f"reasoning_effort must be one of {', '.join(_EFFORTS)}", param="reasoning_effort")
    if choice.info.thinking_levels is not None and level not in choice.info.thinking_levels:
        return choice  # the closest the model offers is its default
    return catalog.resolve(f"{choice.id}:{level}")


def _tools(body: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str | None]:
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise bad_request("tools must be a list", param="tools")
    names = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise bad_request(f"tools[{index}] must be a function tool", param=f"tools[{index}]")
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise bad_request(f"tools[{index}].function needs a name", param=f"tools[{index}]")
        names.append(function["name"])
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        function = choice.get("function")
        choice = function.get("name") if isinstance(function, dict) else None
        if choice not in names:
            raise bad_request("tool_choice names no tool of tools", param="tool_choice")
    elif choice not in (None, "auto", "none", "required"):
        raise bad_request("tool_choice must be none, auto, required or a function", param="tool_choice")
    if choice == "required" and not tools:
        raise bad_request("tool_choice is required but no tools are given", param="tool_choice")
    return tools, choice


def response_format(fmt: Any) -> tuple[bool, Mapping[str, Any] | None]:
    """``(json mode, schema)`` of a ``response_format`` (chat) or ``text.format`` (responses)."""
    if fmt is None:
        return False, None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return False, None
    if kind == "json_object":
        return True, None
    if kind == "json_schema":
        spec = fmt.get("json_schema", fmt)  # chat nests it; responses does not
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad_request("response_format json_schema needs a schema object", param="response_format")
        return True, schema
    raise bad_request(
        "response_format type must be text, json_object or json_schema", param="response_format"
    )


def chat_request(
    body: Mapping[str, Any], catalog: ModelCatalog, namespace: str, files_url: str
) -> TurnRequest:
    """The request checked (a 400 for anything wrong) and made a :class:`TurnRequest`."""
    _check_known(body, _HONOURED | _HINTS)
    _check_values(body)
    messages = parse_messages(body.get("messages"))
    model = thinking_for_effort(catalog.resolve(body.get("model")), body.get("reasoning_effort"), catalog)
    tools, choice = _tools(body)
    json_mode, schema = response_format(body.get("response_format"))
    if json_mode and tools and choice != "none":
        raise bad_request("response_format JSON and tools cannot be combined", param="response_format")
    gem = body.get("gem")
    if gem is not None and not isinstance(gem, str):
        raise bad_request("gem must be a gem id", param="gem")
    return TurnRequest(namespace, model, messages, tools, choice, json_mode, schema, gem, files_url)


def _ids() -> tuple[str, int]:
    return "chatcmpl-" + secrets.token_hex(12), int(time.time())


def _call(call: Any, index: int) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"index": index, "id": call.id, "type": "function", "function": function}


def chat_completion(outcome: Outcome, model: str) -> dict[str, Any]:
    """The non-streamed answer object."""
    completion_id, created = _ids()
    message: dict[str, Any] = {"role": "assistant", "content": outcome.content or None, "refusal": None}
    if outcome.calls:
        message["tool_calls"] = [
            {k: v for k, v in _call(c, i).items() if k != "index"} for i, c in enumerate(outcome.calls)
        ]
    elif message["content"] is None:
        message["content"] = ""
    if outcome.thoughts:
        message["reasoning_content"] = outcome.thoughts
    choice = {"index": 0, "message": message, "finish_reason": outcome.finish_reason, "logprobs": None}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": outcome.usage(),
        "system_fingerprint": None,
    }


def chat_stream(first: Event, events: Iterator[Event], model: str, include_usage: bool) -> Iterator[bytes]:
    """The streamed answer as SSE chunks, ending with ``data: [DONE]``; a late error is an event."""
    completion_id, created = _ids()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return event(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [choice],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    calls = 0
    current: Event | None = first
    try:
        while current is not None:
            if current.kind == "text":
                yield chunk({"content": current.text})
            elif current.kind == "thought":
                yield chunk({"reasoning_content": current.text})
            elif current.kind == "call" and current.call is not None:
                yield chunk({"tool_calls": [_call(current.call, calls)]})
                calls += 1
            elif current.kind == "done" and current.outcome is not None:
                yield chunk({}, current.outcome.finish_reason)
                if include_usage:
                    yield event(
                        {
                            "id": completion_id,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": current.outcome.usage(),
                        }
                    )
            current = next(events, None)
    except OpenAIError as exc:
        yield event(exc.payload())
    yield DONE
