"""``POST /v1/responses``: the Responses API, text in and text out, streamed as its named events.

``input`` is a string or a list of messages (text and image parts);
``instructions`` are the system preamble; ``text.format`` asks for JSON as
``response_format`` does. ``previous_response_id`` continues the web chat of
that response directly (the store keeps response id -> chat metadata), and a
full message list without it resumes a chat as chat completions do. Tools are
served by ``/v1/chat/completions`` only: ``tools`` here is refused by name.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Any

from .backend import ModelCatalog
from .chat import response_format, thinking_for_effort
from .conversations import ConversationStore, prefix_hashes
from .engine import Event, Outcome, TurnRequest
from .errors import OpenAIError, bad_request
from .messages import Message, parse_messages
from .sse import event

__all__ = ["responses_request", "response_object", "response_stream", "remember_response"]

_KNOWN = {
    "model",
    "input",
    "instructions",
    "stream",
    "previous_response_id",
    "text",
    "store",
    "metadata",
    "temperature",
    "top_p",
    "max_output_tokens",
    "user",
    "reasoning",
    "parallel_tool_calls",
    "truncation",
    "tool_choice",
    "tools",
    "include",
    "service_tier",
    "stream_options",
    "gem",
}


def _response_key(namespace: str, response_id: str) -> str:
    return prefix_hashes(namespace, [["response", response_id]])[0]


def _input_messages(raw: Any) -> list[Message]:
    if isinstance(raw, str):
        return parse_messages([{"role": "user", "content": raw}])
    if not isinstance(raw, list) or not raw:
        raise bad_request("input must be a string or a non-empty list of messages", param="input")
    items = []
    for index, item in enumerate(raw):
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind != "message":
            raise bad_request(
                f"input[{index}]: item type {kind!r} is not supported here (messages only; "
                "use /v1/chat/completions for tools)",
                param=f"input[{index}]",
            )
        items.append({"role": item.get("role"), "content": item.get("content")})
    return parse_messages(items)


def responses_request(
    body: Mapping[str, Any], catalog: ModelCatalog, namespace: str, store: ConversationStore, files_url: str
) -> TurnRequest:
    """The request checked (a 400 for anything wrong) and made a :class:`TurnRequest`."""
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise bad_request(
            f"unsupported parameter(s): {', '.join(unknown)}", param=unknown[0], code="unsupported_parameter"
        )
    if body.get("tools"):
        raise bad_request(
            "tools are served by /v1/chat/completions only", param="tools", code="unsupported_parameter"
        )
    messages = _input_messages(body.get("input"))
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise bad_request("instructions must be a string", param="instructions")
        if instructions.strip():
            messages.insert(0, Message("system", instructions))
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    model = thinking_for_effort(catalog.resolve(body.get("model")), effort, catalog)
    text = body.get("text")
    json_mode, schema = response_format(text.get("format") if isinstance(text, dict) else None)
    resume = None
    previous = body.get("previous_response_id")
    if previous is not None:
        if not isinstance(previous, str):
            raise bad_request("previous_response_id must be a string", param="previous_response_id")
        resume = store.get(_response_key(namespace + "\0" + model.base, previous))
        if resume is None:
            raise OpenAIError(
                404,
                f"no response {previous!r} (unknown, or expired)",
                code="response_not_found",
                param="previous_response_id",
            )
    gem = body.get("gem")
    if gem is not None and not isinstance(gem, str):
        raise bad_request("gem must be a gem id", param="gem")
    return TurnRequest(namespace, model, messages, [], None, json_mode, schema, gem, files_url, resume)


def remember_response(
    store: ConversationStore, request: TurnRequest, response_id: str, outcome: Outcome
) -> None:
    """Keep ``response id -> chat`` so ``previous_response_id`` continues this web chat."""
    store.put(_response_key(request.namespace + "\0" + request.model.base, response_id), outcome.metadata)


def new_response_id() -> str:
    return "resp_" + secrets.token_hex(16)


def response_object(
    response_id: str, model: str, outcome: Outcome | None, created: int, previous: str | None = None
) -> dict[str, Any]:
    """The Response object: in progress (``outcome`` ``None``) or completed."""
    output: list[dict[str, Any]] = []
    usage = None
    if outcome is not None:
        text = {"type": "output_text", "text": outcome.content, "annotations": [], "logprobs": []}
        output.append(_message_item(response_id, "completed", [text]))
        usage = {
            "input_tokens": outcome.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": outcome.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
        }
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "completed" if outcome is not None else "in_progress",
        "model": model,
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "previous_response_id": previous,
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "metadata": {},
    }


def _message_item(response_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    item_id = "msg_" + response_id[5:]
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def response_stream(
    response_id: str, first: Event, events: Iterator[Event], model: str, on_done: Any, previous: str | None
) -> Iterator[bytes]:
    """The Responses API's events: created, the text part's deltas, done, completed."""
    created = int(time.time())
    sequence = iter(range(1_000_000_000))
    item_id = "msg_" + response_id[5:]

    def send(name: str, **fields: Any) -> bytes:
        return event({"type": name, "sequence_number": next(sequence), **fields}, name)

    shell = response_object(response_id, model, None, created, previous)
    yield send("response.created", response=shell)
    yield send("response.in_progress", response=shell)
    yield send(
        "response.output_item.added", output_index=0, item=_message_item(response_id, "in_progress", [])
    )
    empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield send("response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=empty)
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    current: Event | None = first
    try:
        while current is not None:
            if current.kind == "text":
                yield send("response.output_text.delta", delta=current.text, logprobs=[], **where)
            elif current.kind == "done" and current.outcome is not None:
                outcome = current.outcome
                on_done(outcome)
                part = {**empty, "text": outcome.content}
                yield send("response.output_text.done", text=outcome.content, logprobs=[], **where)
                yield send("response.content_part.done", part=part, **where)
                item = _message_item(response_id, "completed", [part])
                yield send("response.output_item.done", output_index=0, item=item)
                done = response_object(response_id, model, outcome, created, previous)
                yield send("response.completed", response=done)
            current = next(events, None)
    except OpenAIError as exc:
        failed = {
            **shell,
            "status": "failed",
            "error": {"code": exc.code or "server_error", "message": exc.message},
        }
        yield send("response.failed", response=failed)
