"""JSON answers: reading the JSON out of an answer and checking it against the schema subset."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync.protocol.json_answer import correction_prompt, extract_json, json_instruction, schema_errors


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        'Sure!\n```json\n{"a": 1}\n```\nAnything else?',
        'The answer is {"a": 1} as asked.',
    ],
)
def test_extract_json_finds_the_value(text: str) -> None:
    assert extract_json(text) == {"a": 1}


@pytest.mark.parametrize("text", ["", "no json here", "{broken"])
def test_extract_json_says_why_not(text: str) -> None:
    with pytest.raises(ValueError, match=r"empty|not valid JSON"):
        extract_json(text)


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
        "pet": {"$ref": "#/$defs/pet"},
        "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
    "$defs": {"pet": {"type": "object", "properties": {"kind": {"const": "cat"}}, "required": ["kind"]}},
}


def test_a_valid_value_has_no_errors() -> None:
    value = {"name": "Ada", "age": 36, "tags": ["a"], "pet": {"kind": "cat"}, "nick": None}
    assert schema_errors(value, SCHEMA) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"name": "Ada"}, "$: the required property 'age' is missing"),
        ({"name": "Ada", "age": "36"}, "$.age: expected integer, got string"),
        ({"name": "Ada", "age": True}, "$.age: expected integer, got boolean"),
        ({"name": "Ada", "age": -1}, "$.age: -1 is below 0"),
        ({"name": "", "age": 1}, "$.name: shorter than 1 characters"),
        ({"name": "Ada", "age": 1, "x": 1}, "$: the property 'x' is not allowed"),
        ({"name": "Ada", "age": 1, "tags": ["c"]}, "$.tags[0]: 'c' is not one of ['a', 'b']"),
        ({"name": "Ada", "age": 1, "tags": ["a", "a", "b"]}, "$.tags: expected at most 2 items, got 3"),
        ({"name": "Ada", "age": 1, "pet": {"kind": "dog"}}, "$.pet.kind: expected 'cat'"),
        ({"name": "Ada", "age": 1, "nick": 3}, "$.nick: matches 0 of the anyOf alternatives"),
        ([], "$: expected object, got array"),
    ],
)
def test_each_violation_is_named_with_its_path(value: Any, expected: str) -> None:
    assert expected in schema_errors(value, SCHEMA)


def test_the_prompts_carry_the_schema_and_the_reason() -> None:
    assert '"required": ["name", "age"]' in json_instruction(SCHEMA)
    assert "JSON object" in json_instruction(None)
    assert "$.age: expected integer" in correction_prompt("$.age: expected integer", SCHEMA)
