"""OpenAI messages onto a web chat: checking them, finding the stored prefix, writing the prompt.

A request's ``messages`` are checked here (a clear 400 for each thing that is
wrong) and turned into :class:`Message` values. :func:`plan_turn` finds the
longest prefix that ends with an answer of a stored web chat: then only the
messages after it are sent, in that chat. Otherwise a new chat starts and
its first prompt carries the ``system`` messages as a preamble, the tools and
the earlier turns folded into it. Pure code: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request

__all__ = ["Message", "OutCall", "parse_messages", "plan_turn", "TurnPlan", "render_prompt"]

_ROLES = ("system", "developer", "user", "assistant", "tool")
_TEXT_PARTS = ("text", "input_text", "output_text")
_IMAGE_PARTS = ("image_url", "input_image")


@dataclass(frozen=True)
class OutCall:
    """A tool call of an assistant message: its id, the tool's name and the arguments' JSON text."""

    id: str
    name: str
    arguments: str

    def canonical(self) -> list[Any]:
        try:
            arguments: Any = json.loads(self.arguments)
        except ValueError:
            arguments = self.arguments
        return [self.name, arguments]


@dataclass(frozen=True)
class Message:
    """One message of a request: the role, its text, its image URLs, and the tool fields."""

    role: str
    text: str = ""
    images: tuple[str, ...] = ()
    tool_calls: tuple[OutCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""

    def canonical(self) -> list[Any]:
        """What identifies the message in a conversation hash (whitespace at the ends does not count)."""
        images = [hashlib.sha256(url.encode()).hexdigest()[:32] for url in self.images]
        role = "system" if self.role == "developer" else self.role
        calls = [c.canonical() for c in self.tool_calls]
        return [role, self.text.strip(), images, self.tool_call_id, calls]


def _parts(content: Any, where: str) -> tuple[str, tuple[str, ...]]:
    """The text and image URLs of a message's ``content`` (a string or a list of parts)."""
    if content is None:
        return "", ()
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise bad_request(f"{where}.content must be a string or a list of parts", param=where)
    texts: list[str] = []
    images: list[str] = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in _IMAGE_PARTS:
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise bad_request(f"{at} has no image URL", param=at)
            images.append(url)
        else:
            raise bad_request(
                f"{at}: unsupported content part type {kind!r} (supported: text and image_url)", param=at
            )
    return "\n".join(texts), tuple(images)


def _calls(raw: Any, where: str) -> tuple[OutCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise bad_request(f"{where}.tool_calls must be a list", param=where)
    calls = []
    for index, call in enumerate(raw):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad_request(f"{where}.tool_calls[{index}] needs function.name", param=where)
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(OutCall(str(call.get("id") or ""), function["name"], arguments))
    return tuple(calls)


def parse_messages(raw: Any) -> list[Message]:
    """``messages`` as :class:`Message` values; a 400 naming the first problem."""
    if not isinstance(raw, list) or not raw:
        raise bad_request("messages must be a non-empty list", param="messages")
    messages = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(item, dict):
            raise bad_request(f"{where} must be an object", param=where)
        role = item.get("role")
        if role not in _ROLES:
            raise bad_request(
                f"{where}.role must be one of {', '.join(_ROLES)}, not {role!r}", param=f"{where}.role"
            )
        text, images = _parts(item.get("content"), where)
        calls = _calls(item.get("tool_calls"), where) if role == "assistant" else ()
        if role != "assistant" and not text.strip() and not images:
            raise bad_request(f"{where} ({role}) has no content", param=f"{where}.content")
        if role == "assistant" and not text.strip() and not calls:
            raise bad_request(f"{where} (assistant) has neither content nor tool_calls", param=where)
        tool_call_id = item.get("tool_call_id") or ""
        if role == "tool" and (not isinstance(tool_call_id, str) or not tool_call_id):
            raise bad_request(f"{where} (tool) needs a tool_call_id", param=f"{where}.tool_call_id")
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        messages.append(Message(role, text, images, calls, str(tool_call_id), name or ""))
    if messages[-1].role not in ("user", "tool"):
        raise bad_request("the last message must come from the user or a tool", param="messages")
    return messages


@dataclass
class TurnPlan:
    """What to send: the chat to resume (``None``: a new one) and the messages that are new to it."""

    metadata: list[Any] | None
    new: list[Message]
    history: list[Message] = field(default_factory=list)
    system: list[str] = field(default_factory=list)


def plan_turn(messages: Sequence[Message], keys: Sequence[str], lookup: Callable[[str], Any]) -> TurnPlan:
    """Resume the chat of the longest stored prefix that ends with an answer, else plan a new chat.

    ``keys[k]`` is the hash of ``messages[:k + 1]``; ``lookup(key)`` gives the
    stored chat metadata or ``None``.
    """
    for end in range(len(messages) - 1, 0, -1):
        if messages[end - 1].role != "assistant":
            continue
        metadata = lookup(keys[end - 1])
        if metadata is not None:
            return TurnPlan(list(metadata), list(messages[end:]))
    system = [m.text for m in messages if m.role in ("system", "developer")]
    rest = [m for m in messages if m.role not in ("system", "developer")]
    last_answer = max((i for i, m in enumerate(rest) if m.role == "assistant"), default=-1)
    return TurnPlan(None, rest[last_answer + 1 :], rest[: last_answer + 1], system)


def _tool_names(messages: Sequence[Message]) -> dict[str, str]:
    return {call.id: call.name for m in messages for call in m.tool_calls if call.id}


def _render(message: Message, names: Mapping[str, str]) -> str:
    if message.role == "tool":
        name = message.name or names.get(message.tool_call_id, "")
        return f'<tool_result name="{name}" id="{message.tool_call_id}">\n{message.text}\n</tool_result>'
    if message.role == "assistant":
        blocks = [
            f'<tool_call>{{"name": {json.dumps(c.name)}, "arguments": {c.arguments}}}</tool_call>'
            for c in message.tool_calls
        ]
        return "\n".join([message.text, *blocks]).strip()
    return message.text


def _transcript(messages: Sequence[Message], names: Mapping[str, str]) -> str:
    labels = {"user": "User", "assistant": "Assistant", "tool": "Tool result", "system": "System"}
    labels["developer"] = "System"
    return "\n\n".join(f"{labels[m.role]}: {_render(m, names)}" for m in messages)


def render_prompt(
    plan: TurnPlan,
    everything: Sequence[Message],
    *,
    tools_text: str | None = None,
    json_text: str | None = None,
) -> tuple[str, list[str]]:
    """The prompt of the turn and the image URLs to upload with it.

    A resumed chat gets only the new messages (tool results as
    ``<tool_result>`` blocks); a new chat gets the system preamble, the tools,
    the earlier turns folded in, then the new messages.
    """
    names = _tool_names(everything)
    new = plan.new
    if all(m.role == "user" for m in new):
        body = "\n\n".join(m.text for m in new)
    elif all(m.role in ("user", "tool") for m in new):
        body = "\n\n".join(_render(m, names) for m in new)
        if new[-1].role == "tool":
            body += "\n\nUse these tool results to continue: answer the user, or call another tool."
    else:
        body = _transcript(new, names)
    sections: list[str] = []
    if plan.metadata is None:
        if plan.system:
            preamble = "System instructions (follow them in the whole conversation):\n"
            sections.append(preamble + "\n\n".join(plan.system))
        if tools_text:
            sections.append(tools_text)
        if plan.history:
            sections.append("The conversation so far:\n\n" + _transcript(plan.history, names))
            body = "Now answer this:\n\n" + body
    elif tools_text:
        body += "\n\n(The tools offered earlier are still available: call one in the same format.)"
    sections.append(body)
    if json_text:
        sections.append(json_text)
    images = [url for m in (*plan.history, *new) for url in m.images]
    return "\n\n".join(sections), images
