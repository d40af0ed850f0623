"""One turn of an OpenAI request on a web chat: plan, send, read the answer, remember the chat.

:class:`Engine` is shared by ``/v1/chat/completions`` and ``/v1/responses``:
it finds the chat to resume (:mod:`.messages`), uploads the images, sends the
new prompt and yields :class:`Event` values as the answer streams: text with
every tool-call block taken out (:mod:`gemini_sync.protocol.tool_calls`),
thoughts, the calls, and at the end the :class:`Outcome`. A JSON answer is
read whole, checked against the schema, corrected once in the same chat, or
refused with a 502. Once the answer is complete the prefix including it is
stored, so the client's next request resumes this chat.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._log import logger
from ..errors import GeminiError
from ..protocol.json_answer import correction_prompt, extract_json, json_instruction, schema_errors
from ..protocol.tool_calls import ToolCallParser, tools_instruction
from .backend import Backend, ChatLike, ModelChoice
from .conversations import ConversationStore, chain_hash, prefix_hashes
from .errors import OpenAIError, from_gemini
from .files import ImageShelf, image_upload, prompt_attachment
from .messages import Message, OutCall, TurnPlan, plan_turn, render_prompt

__all__ = ["Engine", "Event", "Outcome", "TurnRequest", "estimate_tokens", "chat_record", "unpack_record"]

_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """A token count for ``usage``: the web app reports none, so about four characters a token."""
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def chat_record(chat: ChatLike) -> list[Any]:
    """What the store keeps of a chat: ``[metadata, account]`` (the pool member's name, else ``None``)."""
    account = getattr(chat, "account", None)
    return [chat.metadata, account if isinstance(account, str) else None]


def unpack_record(record: Sequence[Any] | None) -> tuple[list[Any] | None, str | None]:
    """``(metadata, account)`` of a stored :func:`chat_record` (``(None, None)``: a new chat)."""
    if not record or len(record) != 2 or not isinstance(record[0], list):
        return None, None
    account = record[1] if isinstance(record[1], str) else None
    return list(record[0]), account


@dataclass
class TurnRequest:
    """A request as the engine needs it, whichever endpoint it came from."""

    namespace: str
    model: ModelChoice
    messages: list[Message]
    tools: list[Mapping[str, Any]] = field(default_factory=list)
    tool_choice: str | None = None  # None/"auto", "required", or a tool's name
    json_mode: bool = False
    json_schema: Mapping[str, Any] | None = None
    gem: str | None = None
    files_url: str = "/v1/files/"
    resume: list[Any] | None = None  # a chat_record to continue whatever the messages (previous_response_id)


@dataclass
class Outcome:
    """The whole answer: content, thoughts, tool calls, why it ended and the estimated usage."""

    content: str
    thoughts: str
    calls: list[OutCall]
    prompt_tokens: int
    completion_tokens: int
    metadata: list[Any] = field(default_factory=list)  # the web chat after this turn: a chat_record

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.calls else "stop"

    def usage(self) -> dict[str, int]:
        total = self.prompt_tokens + self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": total,
        }


@dataclass(frozen=True)
class Event:
    """A step of the answer: ``text`` and ``thought`` deltas, a ``call``, and the final ``done``."""

    kind: Literal["text", "thought", "call", "done"]
    text: str = ""
    call: OutCall | None = None
    outcome: Outcome | None = None


class Engine:
    """Runs turns on ``backend``, remembering chats in ``store`` and generated images on ``shelf``."""

    def __init__(self, backend: Backend, store: ConversationStore, shelf: ImageShelf) -> None:
        self.backend = backend
        self.store = store
        self.shelf = shelf

    def namespace(self, request: TurnRequest) -> str:
        """What keeps conversations apart: the key, the model and the tool set (a chat keeps its tools)."""
        tools = json.dumps(list(request.tools), sort_keys=True) if request.tools else ""
        return json.dumps([request.namespace, request.model.base, tools, request.gem or ""])

    def run(self, request: TurnRequest) -> Iterator[Event]:
        """The answer as events; raises :class:`OpenAIError` for what fails before the first one."""
        namespace = self.namespace(request)
        canonical = [m.canonical() for m in request.messages]
        keys = prefix_hashes(namespace, canonical)
        if request.resume is not None:
            plan = TurnPlan(list(request.resume), list(request.messages))
        else:
            plan = plan_turn(request.messages, keys, self.store.get)
        metadata, account = unpack_record(plan.metadata)
        use_tools = bool(request.tools) and request.tool_choice != "none"
        tools_text = tools_instruction(request.tools, request.tool_choice) if use_tools else None
        json_text = None
        if request.json_mode:
            json_text = json_instruction(request.json_schema)
        prompt, image_urls = render_prompt(plan, request.messages, tools_text=tools_text, json_text=json_text)
        files: list[tuple[str, bytes]] = [image_upload(url, i) for i, url in enumerate(image_urls)]
        prompt, attachment = prompt_attachment(prompt)
        files += attachment
        logger.debug(
            "openai: %s chat, %d new message(s), %d file(s)",
            "resumed" if plan.metadata is not None else "new",
            len(plan.new),
            len(files),
        )
        options: dict[str, Any] = {"model": request.model.info, "thinking": request.model.thinking}
        options.update(gem=request.gem, metadata=metadata)
        if account is not None:  # a pool's chat continues on its own account only
            options["account"] = account
        try:
            chat = self.backend.start_chat(**options)
        except ValueError as exc:
            raise OpenAIError(400, str(exc), code="invalid_request") from None
        except GeminiError as exc:
            raise from_gemini(exc) from None
        sent = "\n".join(m.text for m in request.messages)
        if request.json_mode:
            events = self._json_turn(chat, prompt, files, request)
        else:
            events = self._streamed_turn(chat, prompt, files, request, use_tools)
        outcome: Outcome | None = None
        for event in events:
            if event.kind == "done":
                outcome = event.outcome
            else:
                yield event
        assert outcome is not None
        outcome.prompt_tokens = estimate_tokens(sent)
        outcome.metadata = chat_record(chat)
        answer = Message("assistant", outcome.content, (), tuple(outcome.calls))
        previous = keys[-1]
        self.store.put(chain_hash(previous, answer.canonical()), outcome.metadata)
        yield Event("done", outcome=outcome)

    def _streamed_turn(
        self, chat: ChatLike, prompt: str, files: Sequence[Any], request: TurnRequest, use_tools: bool
    ) -> Iterator[Event]:
        parser = ToolCallParser() if use_tools else None
        shown: list[str] = []
        thoughts: list[str] = []
        stream = chat.send_message_stream(prompt, files=files or None)
        final = None
        try:
            for chunk in stream:
                if chunk.delta_thoughts:
                    thoughts.append(chunk.delta_thoughts)
                    yield Event("thought", chunk.delta_thoughts)
                delta = chunk.delta_text
                if delta and parser is not None:
                    delta = parser.feed(delta)
                if delta:
                    shown.append(delta)
                    yield Event("text", delta)
                if chunk.is_final:
                    final = chunk
        except GeminiError as exc:
            raise from_gemini(exc) from None
        finally:
            stream.close()
        calls: list[OutCall] = []
        if parser is not None:
            tail = parser.finish()
            if tail:
                shown.append(tail)
                yield Event("text", tail)
            if parser.errors and not parser.calls:
                reason = "; ".join(parser.errors)
                raise OpenAIError(
                    502, f"the model wrote a tool call that cannot be read: {reason}", code="bad_tool_call"
                )
            for call in parser.calls:
                out = OutCall("call_" + secrets.token_hex(12), call.name, call.arguments)
                calls.append(out)
                yield Event("call", call=out)
        images = self._image_links(final, request) if final is not None else ""
        if images:
            shown.append(images)
            yield Event("text", images)
        content = "".join(shown)
        yield Event("done", outcome=Outcome(content, "".join(thoughts), calls, 0, estimate_tokens(content)))

    def _json_turn(
        self, chat: ChatLike, prompt: str, files: Sequence[Any], request: TurnRequest
    ) -> Iterator[Event]:
        try:
            output = chat.send_message_stream(prompt, files=files or None).collect()
            value, reason = self._check_json(output.text, request)
            if reason:
                logger.info("openai: the JSON answer was not usable (%s); asking once more", reason)
                output = chat.send_message_stream(correction_prompt(reason, request.json_schema)).collect()
                value, reason = self._check_json(output.text, request)
        except GeminiError as exc:
            raise from_gemini(exc) from None
        if reason:
            raise OpenAIError(
                502,
                f"the model did not answer the JSON asked for, even when told why: {reason}",
                code="invalid_json",
            )
        content = json.dumps(value, ensure_ascii=False)
        yield Event("text", content)
        yield Event("done", outcome=Outcome(content, output.thoughts, [], 0, estimate_tokens(content)))

    @staticmethod
    def _check_json(text: str, request: TurnRequest) -> tuple[Any, str]:
        try:
            value = extract_json(text)
        except ValueError as exc:
            return None, str(exc)
        if request.json_schema is not None:
            errors = schema_errors(value, request.json_schema)
            if errors:
                return value, "it does not follow the schema: " + "; ".join(errors)
        elif not isinstance(value, dict):
            return value, "it is not a JSON object"
        return value, ""

    def _image_links(self, final: Any, request: TurnRequest) -> str:
        """Markdown images for the answer's images: generated ones served by the app, web ones as they are."""
        lines = []
        for image in final.generated_images:
            file_id = self.shelf.put(image, self.backend)
            lines.append(f"![{image.alt or 'image'}]({request.files_url}{file_id})")
        lines += [f"![{image.alt or image.title}]({image.url})" for image in final.web_images]
        return ("\n\n" + "\n\n".join(lines)) if lines else ""
