"""Tool calls by prompt: the delimited block a model writes to call a tool, parsed as it streams.

The web app has no function calling, so a caller that offers tools describes
them in the prompt (:func:`tools_instruction`) and asks the model to answer a
call as one block::

    <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>

:class:`ToolCallParser` reads the answer's text deltas and hands back only the
text outside such blocks: a block, and any piece of one, never reaches the
content, wherever the deltas are cut (inside a marker, between two markers, in
the JSON). A suffix that could still grow into an opening marker is held back
until the next delta tells; it is released at :meth:`ToolCallParser.finish` if
the answer ends first. The markdown-escaped spelling ``tool\\_call`` that a
markdown renderer may produce is read too.

Pure code: no I/O. Used by the OpenAI-compatible app (:mod:`gemini_sync.openai`)
and by ``Stream.tool_calls``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._exports import publish

__all__ = [
    "OPEN_MARKERS",
    "CLOSE_MARKERS",
    "ToolCall",
    "ToolCallParser",
    "split_tool_calls",
    "parse_block",
    "tools_instruction",
]

#: spellings of the opening marker (the plain one, and one a markdown renderer escaped)
OPEN_MARKERS: tuple[str, ...] = ("<tool_call>", "<tool\\_call>")
#: spellings of the closing marker
CLOSE_MARKERS: tuple[str, ...] = ("</tool_call>", "</tool\\_call>")

_FENCE = re.compile(r"\A```[\w-]*\s*\n?(.*?)\n?```\Z", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: the tool's ``name`` and its ``arguments`` as JSON text."""

    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict (always an object: :func:`parse_block` checked it)."""
        value = json.loads(self.arguments)
        return value if isinstance(value, dict) else {}


def parse_block(block: str) -> ToolCall:
    """The call written inside one block; ``ValueError`` saying what is wrong with it.

    The block is a JSON object ``{"name": ..., "arguments": {...}}``, perhaps
    inside a code fence; ``arguments`` may also be given as JSON text, or be
    called ``parameters``.
    """
    text = block.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the tool call is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("the tool call must be a JSON object with 'name' and 'arguments'")
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("the tool call has no 'name'")
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise ValueError(f"the arguments of {name!r} are not valid JSON") from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ValueError(f"the arguments of {name!r} must be a JSON object")
    return ToolCall(name, json.dumps(arguments, ensure_ascii=False))


def _held_prefix(text: str, markers: Sequence[str]) -> int:
    """The length of the longest suffix of ``text`` that is a proper prefix of one of ``markers``."""
    longest = max(len(m) for m in markers) - 1
    for size in range(min(longest, len(text)), 0, -1):
        tail = text[-size:]
        if any(m.startswith(tail) for m in markers):
            return size
    return 0


def _first(text: str, markers: Iterable[str]) -> tuple[int, int]:
    """``(index, length)`` of the earliest marker in ``text``, or ``(-1, 0)``."""
    best, length = -1, 0
    for marker in markers:
        at = text.find(marker)
        if at != -1 and (best == -1 or at < best):
            best, length = at, len(marker)
    return best, length


@dataclass
class ToolCallParser:
    """Splits streamed text into content and tool calls; feed it every text delta, in order.

    ``calls`` holds the calls read so far, ``errors`` why a block could not be
    read (such a block is dropped: it never becomes content either).
    """

    calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _pending: str = ""
    _inside: bool = False
    _block: list[str] = field(default_factory=list)

    @property
    def inside(self) -> bool:
        """True while a block is open (its text is being held)."""
        return self._inside

    def feed(self, text: str) -> str:
        """The content ``text`` adds: the part outside blocks that can no longer become a marker."""
        buffer = self._pending + text
        self._pending = ""
        shown: list[str] = []
        while buffer:
            markers = CLOSE_MARKERS if self._inside else OPEN_MARKERS
            at, length = _first(buffer, markers)
            if at == -1:
                held = _held_prefix(buffer, markers)
                cut = len(buffer) - held
                (self._block if self._inside else shown).append(buffer[:cut])
                self._pending = buffer[cut:]
                break
            if self._inside:
                self._block.append(buffer[:at])
                self._close()
            else:
                shown.append(buffer[:at])
                self._inside = True
            buffer = buffer[at + length :]
        return "".join(shown)

    def finish(self) -> str:
        """The answer ended: the content still held back (an unfinished block is read, never shown)."""
        pending, self._pending = self._pending, ""
        if self._inside:
            self._block.append(pending)
            self._close(unterminated=True)
            return ""
        return pending

    def _close(self, *, unterminated: bool = False) -> None:
        block = "".join(self._block)
        self._block.clear()
        self._inside = False
        try:
            self.calls.append(parse_block(block))
        except ValueError as exc:
            where = " (the block was never closed)" if unterminated else ""
            self.errors.append(f"{exc}{where}")


def split_tool_calls(text: str) -> tuple[str, list[ToolCall], list[str]]:
    """A whole answer as ``(content, calls, errors)``: what :class:`ToolCallParser` gives when fed it."""
    parser = ToolCallParser()
    content = parser.feed(text) + parser.finish()
    return content, parser.calls, parser.errors


def _describe(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    described: dict[str, Any] = {"name": function.get("name")}
    if function.get("description"):
        described["description"] = function["description"]
    described["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
    return described


def tools_instruction(tools: Sequence[Mapping[str, Any]], choice: str | None = None) -> str:
    """The prompt text that offers ``tools`` (OpenAI ``tools=`` entries) and says how to call one.

    ``choice`` is ``None``/``"auto"`` (the model decides), ``"required"`` (it
    must call one) or a tool's name (it must call that one).
    """
    listed = "\n".join(json.dumps(_describe(t), ensure_ascii=False) for t in tools)
    lines = [
        "You can call these tools (JSON Schema of each tool's arguments):",
        listed,
        "",
        "To call a tool, write exactly one block per call, with nothing else on its lines:",
        '<tool_call>{"name": "TOOL_NAME", "arguments": {...}}</tool_call>',
        "The arguments must be a JSON object that follows the tool's schema. After your tool calls, "
        "stop and wait: the results come in the next message. Never invent a result.",
    ]
    if choice == "required":
        lines.append("You must call at least one tool in this answer.")
    elif choice not in (None, "auto"):
        lines.append(f"You must call the tool {choice!r} in this answer.")
    else:
        lines.append("If no tool is needed, answer normally without any block.")
    return "\n".join(lines)


publish(globals())
