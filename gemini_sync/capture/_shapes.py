"""The shapes of one capture, without its values: what :mod:`.drift` compares.

A shape is what stays the same between two honest turns of the same kind:
names, slot layouts and the order of the kinds of frame; never a text, id,
token, length or count. Everything returned is JSON-able. A layout maps an
index (``"25"``) to the JSON type(s) found there, ``null`` left out; a
trailing object is read by the sparse-fields rule (docs/protocol.md 5.1):
key ``str(N + 1)`` is index ``N``, so a field keeps its index in either form.
Reading is forgiving: an unframed body, a payload that is not JSON, an odd
envelope become kinds of their own ("undecodable", "data-unreadable",
"other"), since a drift report is most wanted when the service sends
something new.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import GeminiError
from ..protocol.framing import XSSI_PREFIX, FrameDecoder, json_decode, utf16_len
from ..protocol.jspb import dig
from .file import BATCH, Capture, Exchange

__all__ = ["PAGE_VALUE_KEYS", "type_name", "layout", "index_order", "capture_shapes", "read_body", "Body"]

#: the page values the client reads (docs/protocol.md 2.2); ``KnDnFf`` is the push id's other name
PAGE_VALUE_KEYS = ("SNlM0e", "thykhd", "cfb2h", "FdrFJe", "TuX5cc", "qKIAYe", "KnDnFf", "S06Grb", "oPEP7c")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,23}")  # an envelope tag or a non-numeric key worth naming
_DONE = 2  # C[8][0] of a complete candidate
_COMPLETE_FIELD = 14  # E[14]: true on the completing frame
_ROLE_KEYS = (("18", "first"), ("26", "context"), ("46", "last"), ("52", "last"), ("7", "status"))
_EXT = "x-goog-ext-"  # the extension headers
_TYPES = {type(None): "null", bool: "bool", int: "int", float: "float", str: "string", list: "list"}


def type_name(value: Any) -> str:
    """The JSON type of ``value`` in the report's words (exact types: ``True`` is a bool, not an int)."""
    return "object" if isinstance(value, dict) else _TYPES.get(type(value), "other")


def _key_index(key: str) -> str:
    """The index a sparse key stands for (``"26"`` -> ``"25"``), or a safe name for any other key."""
    if key.isdigit() and key.isascii() and 0 < int(key) < 10**6:
        return str(int(key) - 1)
    return f"key {key}" if _NAME.fullmatch(key) else "a key that is not a field number"


def _slots(array: list[Any]) -> Iterable[tuple[str, Any]]:
    """``(index, value)`` of every non-null field of a JSPB array, dense and sparse alike."""
    sparse = bool(array) and isinstance(array[-1], dict)
    dense = array[:-1] if sparse else array
    for index, value in enumerate(dense):
        if value is not None:
            yield str(index), value
    if sparse:
        for key, value in array[-1].items():
            if value is not None:
                yield _key_index(key), value


def layout(array: Any) -> dict[str, str]:
    """``{index: JSON type}`` of the non-null fields of ``array`` (``{}`` for anything not a list)."""
    if not isinstance(array, list):
        return {}
    return {index: type_name(value) for index, value in _slots(array)}


def _merge(into: dict[str, set[str]], found: dict[str, str]) -> None:
    for index, kind in found.items():
        into.setdefault(index, set()).add(kind)


def _final(merged: dict[str, set[str]]) -> dict[str, str]:
    """A merged layout as JSON: each index's types sorted and joined with ``|``, indices in number order."""
    return {index: "|".join(sorted(merged[index])) for index in sorted(merged, key=index_order)}


def index_order(index: str) -> tuple[int, str]:
    """Sort key of a layout's indices: numbers in order, then named keys."""
    return (int(index), "") if index.isdigit() else (1 << 30, index)


@dataclass
class Body:
    """A framed body as read: its frames and what the framing itself showed."""

    prefix: bool = False
    frames: list[Any] = field(default_factory=list)
    lengths: str = "valid"  # "valid", "invalid" or "not checked"
    error: str | None = None  # the class of error that stopped the reading


def read_body(text: str) -> Body:
    """The frames of an ``rt=c`` body, each length checked (docs/protocol.md 4.1).

    Compact JSON never holds a raw newline, so a frame is its length line and
    the line after it; the length must be the UTF-16 length of that line plus
    the two newlines. A body that does not split so is read with the client's
    :class:`FrameDecoder` instead, and its lengths are "not checked".
    """
    body = Body(prefix=text.startswith(XSSI_PREFIX))
    rest = text[len(XSSI_PREFIX) :] if body.prefix else text
    lines = [line for line in rest.split("\n") if line.strip(" \t\r")]
    if len(lines) % 2 == 0:
        try:
            for digits, frame in zip(lines[0::2], lines[1::2], strict=True):
                if not (digits.isdigit() and digits.isascii()):
                    raise ValueError("not a length line")
                if int(digits) != utf16_len(frame) + 2:
                    body.lengths = "invalid"
                body.frames.append(json_decode(frame))
            return body
        except (ValueError, RecursionError):
            body.frames, body.lengths = [], "valid"
    body.lengths = "not checked"
    decoder = FrameDecoder()
    try:
        found, error = decoder.decode(text.encode("utf-8"))
        body.frames.extend(found)
        if error is None:
            found, error = decoder.finish()
            body.frames.extend(found)
    except GeminiError as exc:
        error = exc
    if error is not None:
        body.error = type(error).__name__
    return body


def _sparse_role(payload: list[Any]) -> str | None:
    """The role of a sparse-only payload ``[null, [cid, rid], {...}]`` (None: a full payload)."""
    if len(payload) < 2 or not isinstance(payload[-1], dict):
        return None
    if any(value is not None for index, value in enumerate(payload[:-1]) if index != 1):
        return None
    return next((role for key, role in _ROLE_KEYS if key in payload[-1]), "other")


def _candidates(payload: list[Any]) -> list[list[Any]]:
    found = dig(payload, 4)
    return [cand for cand in found if isinstance(cand, list)] if isinstance(found, list) else []


def _full_role(payload: list[Any]) -> str:
    cands = _candidates(payload)
    done = dig(payload, _COMPLETE_FIELD) is True or any(dig(cand, 8, 0) == _DONE for cand in cands)
    return "without candidates" if not cands else "completing" if done else "streaming"


_FULL_KINDS = {"streaming": "data-full", "completing": "data-done", "without candidates": "data-ids"}


class _Reader:
    """Walks the envelopes of one StreamGenerate body, gathering its shapes."""

    def __init__(self) -> None:
        self.envelope: dict[str, dict[str, set[str]]] = {}
        self.candidate: dict[str, dict[str, set[str]]] = {}
        self.sparse: dict[str, dict[str, set[str]]] = {}  # role -> {"keys": ..., "ids": ...}
        self.errors: set[str] = set()
        self.envelopes = 0

    def kind(self, env: Any) -> str:
        """The kind of one envelope (and its shapes noted on the way)."""
        self.envelopes += 1
        if not isinstance(env, list) or not env:
            return "not an envelope"
        tag = env[0]
        if tag == "wrb.fr":
            inner = env[2] if len(env) > 2 else None
            if isinstance(inner, str):
                return self._data(inner) if env[1] is None else "result"
            if not isinstance(dig(env, 5), list):
                return "wrb.fr without payload"
            code = dig(env, 5, 2, 0, 1, 0)
            self.errors.add(str(code) if type(code) is int else "a status without a code")
            return f"error({code})" if type(code) is int else "status"
        if tag == "er":
            self.errors.add("a rejection (er)")
        if tag in ("er", "di", "af.httprm", "e"):
            return str(tag)
        return f"other({tag})" if isinstance(tag, str) and _NAME.fullmatch(tag) else "other"

    def _data(self, inner: str) -> str:
        try:
            payload = json_decode(inner)
        except (ValueError, RecursionError):
            return "data-unreadable"
        if not isinstance(payload, list):
            return "data-unreadable"
        role = _sparse_role(payload)
        if role is not None:
            seen = self.sparse.setdefault(role, {"keys": set(), "ids": set()})
            seen["keys"].update(_key_name(key) for key in payload[-1])
            ids = payload[1]
            seen["ids"].add(_ids(ids))
            return "data-sparse" if role == "other" else f"data-{role}"
        role = _full_role(payload)
        _merge(self.envelope.setdefault(role, {}), layout(payload))
        for cand in _candidates(payload):
            _merge(self.candidate.setdefault(role, {}), layout(cand))
        return _FULL_KINDS[role]


def _ids(ids: Any) -> str:
    """The types of a sparse frame's ``[cid, rid]``: ``"[null, string]"`` (docs/protocol.md 5.3)."""
    return "[" + ", ".join(map(type_name, ids)) + "]" if isinstance(ids, list) else type_name(ids)


def _key_name(key: str) -> str:
    return key if (key.isdigit() and key.isascii()) or _NAME.fullmatch(key) else "?"


def collapse(kinds: list[str]) -> list[str]:
    """``kinds`` with repeated runs of one, two or three kinds written once.

    ``full, full, full`` is ``full``; a thinking turn's ``status, full, status,
    full`` is ``status, full``: the number of streaming frames varies between
    two honest turns, their pattern does not.
    """
    changed = True
    while changed:
        changed = False
        for size in (1, 2, 3):
            out: list[str] = []
            i = 0
            while i < len(kinds):
                block = kinds[i : i + size]
                j = i + size
                if len(block) == size and kinds[j : j + size] == block:
                    while kinds[j : j + size] == block:
                        j += size
                    out.extend(block)
                    i, changed = j, True
                else:
                    out.append(kinds[i])
                    i += 1
            kinds = out
    return kinds


def _frame_kind(kinds: list[str]) -> str:
    return kinds[0] if len(kinds) == 1 else "[" + ", ".join(kinds) + "]"


def _e_total(end: list[Any], size: int) -> str:
    """Whether the last ``e`` envelope's total is the body's length in bytes (docs/protocol.md 4.2)."""
    return "absent" if not end else "valid" if dig(end[-1], 4) == size else "invalid"


def _e_count(end: list[Any], counts: dict[int, str]) -> str:
    """What the ``e`` envelope's first number counts: in the 2026-08 capture, the envelopes (a guess)."""
    if not end:
        return "absent"
    counted = counts.get(dig(end[-1], 1)) if type(dig(end[-1], 1)) is int else None
    return f"the number of {counted}" if counted else "another number"


def _generate_shapes(exchange: Exchange, shapes: dict[str, Any]) -> None:
    """The request, framing, envelope, sparse, candidate, trailer and error shapes of a StreamGenerate."""
    freq = exchange.freq if isinstance(exchange.freq, dict) else {}
    inner = freq.get("inner")
    shapes["request"] = {
        "query": sorted(exchange.query),
        "form": sorted(exchange.form),
        "headers": sorted(name.lower() for name in exchange.headers if name.lower().startswith(_EXT)),
        "outer": layout(freq.get("outer")) if "outer" in freq else None,
        "inner": layout(inner) if isinstance(inner, list) else None,
        "inner slots": len(inner) if isinstance(inner, list) else None,
    }
    frames: dict[str, Any] = {"http status": exchange.status}
    shapes["frames"] = frames
    if exchange.body_base64:
        frames["kinds"] = ["not text"]
        return
    body = read_body(exchange.body)
    reader = _Reader()
    kinds: list[str] = []
    last_data = -1
    end: list[Any] = []
    for frame in body.frames:
        if not isinstance(frame, list):
            kinds.append("not a list of envelopes")
            continue
        found = [reader.kind(env) for env in frame]
        if any(kind.startswith("data-") for kind in found):
            last_data = len(kinds)
        end += [env for env in frame if isinstance(env, list) and env[:1] == ["e"]]
        kinds.append(_frame_kind(found) if found else "empty")
    if body.error is not None:
        kinds.append(f"undecodable ({body.error})")
    frames.update(
        {
            "prefix": body.prefix,
            "kinds": collapse(kinds),
            "lengths": body.lengths if body.frames else "no frames",
            "e total": _e_total(end, len(exchange.body_bytes)),
            "e count": _e_count(end, {reader.envelopes: "envelopes", len(body.frames): "frames"}),
        }
    )
    shapes["envelope"] = {role: _final(found) for role, found in sorted(reader.envelope.items())}
    shapes["candidate"] = {role: _final(found) for role, found in sorted(reader.candidate.items())}
    shapes["sparse"] = {
        role: {
            "keys": sorted(seen["keys"], key=index_order),
            "ids": " or ".join(sorted(seen["ids"])),
        }
        for role, seen in sorted(reader.sparse.items())
    }
    shapes["trailers"] = collapse(kinds[last_data + 1 :]) if body.frames else []
    shapes["errors"] = sorted(reader.errors)


def _rpc_paths(result: Any, into: dict[str, dict[str, set[str]]]) -> None:
    """The layout of a result ``r`` and, one level down, of each list slot (its items by the first one)."""
    if not isinstance(result, list):
        into.setdefault("r", {}).setdefault("the result itself", set()).add(type_name(result))
        return
    _merge(into.setdefault("r", {}), layout(result))
    for index, value in _slots(result):
        if not isinstance(value, list) or not value:
            continue
        items = [item for item in value if item is not None]
        if items and all(isinstance(item, list) for item in items):
            _merge(into.setdefault(f"r[{index}][*]", {}), layout(items[0]))
        elif items and len({type_name(item) for item in value}) == 1:
            into.setdefault(f"r[{index}][*]", {}).setdefault("each item", set()).add(type_name(items[0]))
        else:
            _merge(into.setdefault(f"r[{index}]", {}), layout(value))


def _batch_shapes(exchanges: list[Exchange]) -> dict[str, Any]:
    """The rpc ids called and, per rpc id, the layout of its results (or how it was refused)."""
    rpcids: set[str] = set()
    results: dict[str, dict[str, dict[str, set[str]]]] = {}
    refused: dict[str, set[str]] = {}
    for exchange in exchanges:
        rpcids.update(exchange.rpcids or [r for r in exchange.query.get("rpcids", "").split(",") if r])
        frames = [] if exchange.body_base64 else read_body(exchange.body).frames
        for env in (env for frame in frames if isinstance(frame, list) for env in frame):
            rpcid = dig(env, 1) if isinstance(env, list) and env[:1] == ["wrb.fr"] else None
            if isinstance(rpcid, str) and isinstance(dig(env, 2), str):
                try:
                    _rpc_paths(json_decode(env[2]), results.setdefault(rpcid, {}))
                except (ValueError, RecursionError):
                    refused.setdefault(rpcid, set()).add("a result that is not JSON")
            elif isinstance(rpcid, str) and isinstance(dig(env, 5), list):
                grpc, code = dig(env, 5, 0), dig(env, 5, 2, 0, 1, 0)
                words = f"gRPC status {grpc}" if type(grpc) is int else "a status"
                refused.setdefault(rpcid, set()).add(words + (f", code {code}" if type(code) is int else ""))
    answers: dict[str, Any] = {}
    for rpcid in sorted(set(results) | set(refused)):
        paths = sorted(results.get(rpcid, {}).items())
        entry: dict[str, Any] = {path: _final(found) for path, found in paths}
        if rpcid in refused:
            entry["refused"] = "; ".join(sorted(refused[rpcid]))
        answers[rpcid] = entry
    return {"rpcids": sorted(rpcids), "results": answers}


def _page_shapes(page: dict[str, Any]) -> dict[str, Any] | None:
    if not page:
        return None
    keys = page.get("keys")
    found = page.get("values")
    values: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "keys": sorted({key for key in keys if isinstance(key, str)}) if isinstance(keys, list) else None,
        "values": {
            key: "absent"
            if key not in values
            else "empty string"
            if values[key] == ""
            else type_name(values[key])
            for key in PAGE_VALUE_KEYS
        },
    }


def capture_shapes(capture: Capture) -> dict[str, Any]:
    """Every shape of ``capture`` (see :mod:`.drift` for the list); an area not recorded is ``None``."""
    shapes: dict[str, Any] = {"page": _page_shapes(capture.page)}
    shapes.update(
        dict.fromkeys(("request", "frames", "envelope", "sparse", "candidate", "trailers", "errors"))
    )
    generate = capture.generate
    if generate is not None:
        _generate_shapes(generate, shapes)
    shapes["batchexecute"] = _batch_shapes(capture.of_kind(BATCH))
    return shapes
