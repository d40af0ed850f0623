"""JSON answers by prompt: the instruction, reading the JSON out of an answer, checking it against a schema.

The web app has no JSON mode: a caller asks for JSON in the prompt
(:func:`json_instruction`), reads the answer with :func:`extract_json` (the
model may wrap it in a code fence or a sentence) and checks it with
:func:`schema_errors`. An answer that fails gets one corrective turn
(:func:`correction_prompt`). The schema check covers the JSON Schema subset
that OpenAI's structured outputs accept (types, ``properties``/``required``/
``additionalProperties``, ``items``, ``enum``/``const``, ``anyOf``/``oneOf``/
``allOf``, local ``$ref`` into ``$defs``, string/number/array bounds and
``pattern``); keywords outside it are ignored. Pure code: no I/O.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["json_instruction", "extract_json", "schema_errors", "correction_prompt"]

_FENCED = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.DOTALL)
_MAX_ERRORS = 5
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def json_instruction(schema: Mapping[str, Any] | None = None) -> str:
    """The prompt text asking for one JSON value only (following ``schema`` when given)."""
    text = (
        "Answer with one JSON value only: no prose before or after it, no code fence, no comments. "
        "It must parse with a strict JSON parser."
    )
    if schema is None:
        return text + " The value must be a JSON object."
    return text + " It must follow this JSON Schema:\n" + json.dumps(schema, ensure_ascii=False)


def correction_prompt(reason: str, schema: Mapping[str, Any] | None = None) -> str:
    """The one follow-up turn sent when an answer was not the JSON asked for."""
    return (
        f"Your previous answer was not usable: {reason}. Answer again with the corrected JSON only. "
        + json_instruction(schema)
    )


def extract_json(text: str) -> Any:
    """The JSON value an answer holds; ``ValueError`` saying why none could be read.

    Tried in order: the whole text, the first code fence, the span from the
    first ``{`` (or ``[``) to the last ``}`` (or ``]``).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("the answer is empty")
    candidates = [stripped]
    fenced = _FENCED.search(stripped)
    if fenced:
        candidates.append(fenced.group(1).strip())
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if start != -1 and end > start:
            candidates.append(stripped[start : end + 1])
    first_error = ""
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError as exc:
            first_error = first_error or str(exc)
    raise ValueError(f"the answer is not valid JSON ({first_error})")


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Why ``value`` does not follow ``schema`` (a few reasons with their JSON paths); empty if it does."""
    errors: list[str] = []
    _check(value, schema, "$", schema, errors)
    return errors[:_MAX_ERRORS]


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    kinds = _TYPES.get(name)
    if kinds is None:
        return True  # a type this checker does not know is not held against the value
    if name != "boolean" and isinstance(value, bool):
        return False
    return isinstance(value, kinds)


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def _check(value: Any, schema: Any, path: str, root: Mapping[str, Any], errors: list[str]) -> None:
    if len(errors) >= _MAX_ERRORS or not isinstance(schema, Mapping):
        return
    if schema.get("$ref"):
        target = _resolve(str(schema["$ref"]), root)
        if target is None:
            errors.append(f"{path}: the schema's $ref {schema['$ref']!r} cannot be resolved")
            return
        _check(value, target, path, root, errors)
    declared = schema.get("type")
    if declared is not None:
        names = declared if isinstance(declared, list) else [declared]
        if not any(_is_type(value, str(n)) for n in names):
            errors.append(f"{path}: expected {' or '.join(map(str, names))}, got {_kind(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    _check_combinators(value, schema, path, root, errors)
    if isinstance(value, dict):
        _check_object(value, schema, path, root, errors)
    elif isinstance(value, list):
        _check_array(value, schema, path, root, errors)
    elif isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)


def _check_combinators(
    value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any], errors: list[str]
) -> None:
    for sub in schema.get("allOf") or ():
        _check(value, sub, path, root, errors)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if not options:
            continue
        passing = sum(1 for sub in options if not schema_errors_in(value, sub, root))
        if passing == 0 or (keyword == "oneOf" and passing > 1):
            errors.append(f"{path}: matches {passing} of the {keyword} alternatives")


def schema_errors_in(value: Any, schema: Any, root: Mapping[str, Any]) -> list[str]:
    """Like :func:`schema_errors` for a sub-schema, with ``$ref`` resolved against ``root``."""
    errors: list[str] = []
    _check(value, schema, "$", root, errors)
    return errors


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any], errors: list[str]
) -> None:
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(f"{path}: the required property {name!r} is missing")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], f"{path}.{name}", root, errors)
        elif extra is False:
            errors.append(f"{path}: the property {name!r} is not allowed")
        elif isinstance(extra, Mapping):
            _check(item, extra, f"{path}.{name}", root, errors)


def _check_array(
    value: list[Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any], errors: list[str]
) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: expected at least {schema['minItems']} items, got {len(value)}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: expected at most {schema['maxItems']} items, got {len(value)}")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check(item, items, f"{path}[{index}]", root, errors)


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                errors.append(f"{path}: does not match the pattern {pattern!r}")
        except re.error:
            pass  # a pattern Python cannot read is not held against the value


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    checks: tuple[tuple[str, Callable[[float, float], bool], str], ...] = (
        ("minimum", operator.ge, "below"),
        ("maximum", operator.le, "above"),
        ("exclusiveMinimum", operator.gt, "not above"),
        ("exclusiveMaximum", operator.lt, "not below"),
    )
    for keyword, ok, word in checks:
        bound = schema.get(keyword)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(value, bound):
            errors.append(f"{path}: {value} is {word} {bound}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
