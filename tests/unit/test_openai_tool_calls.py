"""The tool-call block parser: no part of a block ever reaches content, however the text is cut."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_sync.protocol.tool_calls import ToolCallParser, parse_block, split_tool_calls, tools_instruction

BLOCK = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


def _feed(pieces: list[str]) -> tuple[list[str], ToolCallParser]:
    parser = ToolCallParser()
    shown = [parser.feed(piece) for piece in pieces]
    shown.append(parser.finish())
    return shown, parser


def _cuts(text: str, points: list[int]) -> list[str]:
    cuts = sorted({p % (len(text) + 1) for p in points})
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(
    before=st.text(alphabet="ab <>/_tool\\\n", max_size=20),
    after=st.text(alphabet="ab <>/_tool\\\n", max_size=20),
    points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
    escaped=st.booleans(),
)
def test_no_part_of_a_block_reaches_content_whatever_the_split(
    before: str, after: str, points: list[int], escaped: bool
) -> None:
    block = BLOCK.replace("tool_call", "tool\\_call") if escaped else BLOCK
    # text around the block never holds a whole marker of its own (that would be another block)
    for marker in ("<tool_call>", "<tool\\_call>", "</tool_call>", "</tool\\_call>"):
        if marker in before or marker in after:
            return
    text = before + block + after
    shown, parser = _feed(_cuts(text, points))
    content = "".join(shown)
    assert content == before + after
    assert '"get_weather"' not in content and "Paris" not in content
    assert [(c.name, c.parsed_arguments()) for c in parser.calls] == [("get_weather", {"city": "Paris"})]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), points=st.lists(st.integers(min_value=0, max_value=1000), max_size=20))
def test_text_without_blocks_is_passed_through_whole(text: str, points: list[int]) -> None:
    if "<tool_call>" in text or "<tool\\_call>" in text:
        return
    shown, parser = _feed(_cuts(text, points))
    assert "".join(shown) == text and parser.calls == []


def test_a_possible_marker_is_held_back_until_the_next_delta_tells() -> None:
    parser = ToolCallParser()
    assert parser.feed("Hello <tool") == "Hello "
    assert parser.feed("box> done") == "<toolbox> done"  # not a marker after all: released
    assert parser.finish() == ""


def test_two_blocks_and_text_between() -> None:
    second = '<tool_call>{"name": "b", "arguments": "{\\"x\\": 1}"}</tool_call>'
    content, calls, errors = split_tool_calls(f"A {BLOCK} B {second} C")
    assert content == "A  B  C"
    assert [c.name for c in calls] == ["get_weather", "b"] and json.loads(calls[1].arguments) == {"x": 1}
    assert errors == []


def test_a_bad_or_unclosed_block_is_dropped_with_a_reason() -> None:
    content, calls, errors = split_tool_calls("Hi <tool_call>{not json</tool_call> there")
    assert content == "Hi  there" and calls == [] and "not valid JSON" in errors[0]
    content, calls, errors = split_tool_calls('x <tool_call>{"name": "a", "arguments": {}}')
    assert content == "x " and [c.name for c in calls] == ["a"]  # read although never closed


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ("[1]", "must be a JSON object"),
        ('{"arguments": {}}', "no 'name'"),
        ('{"name": "a", "arguments": [1]}', "must be a JSON object"),
        ('{"name": "a", "arguments": "{oops"}', "not valid JSON"),
    ],
)
def test_parse_block_says_what_is_wrong(block: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_block(block)


def test_parse_block_accepts_a_fenced_block_and_parameters() -> None:
    call = parse_block('```json\n{"name": "a", "parameters": {"k": "v"}}\n```')
    assert call.name == "a" and call.parsed_arguments() == {"k": "v"}


def test_the_instruction_lists_the_tools_and_the_choice() -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    assert '"name": "lookup"' in tools_instruction(tools)
    assert "must call the tool 'lookup'" in tools_instruction(tools, "lookup")
    assert "at least one tool" in tools_instruction(tools, "required")
