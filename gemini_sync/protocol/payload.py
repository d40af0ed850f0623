"""Envelopes and payloads of StreamGenerate and batchexecute (PROTOCOL.md 4.2, 5, 7, 8).

:func:`parse_frame` turns one decoded frame into :class:`Envelope` events:
data payloads (as :class:`Payload` with :class:`CandidateSnapshot` items),
error/status codes and the end marker. Every path is read with :func:`dig`,
which treats "out of range", ``null`` and "wrong type" the same way, so a
short or odd array never crashes the parser.

The ``build_*`` functions are the inverse, used by the emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError
from .framing import dumps

__all__ = [
    "dig",
    "as_list",
    "CandidateSnapshot",
    "RawImage",
    "Payload",
    "StatusCode",
    "EndMarker",
    "BatchResult",
    "parse_frame",
    "parse_payload",
    "parse_batch_frames",
    "ERROR_INFO_TYPE",
    "build_candidate",
    "build_payload",
    "data_envelope",
    "error_envelope",
    "batch_envelope",
    "tail_frames",
]

ERROR_INFO_TYPE = "type.googleapis.com/assistant.boq.bard.application.BardErrorInfo"
_CARD_PREFIX = "http://googleusercontent.com/card_content/"
_STATUS_DONE = 2


def dig(obj: Any, *path: int | str) -> Any:
    """Follow ``path`` into nested lists/dicts; ``None`` if any step is missing."""
    for key in path:
        if isinstance(key, int):
            if type(obj) is not list or not -len(obj) <= key < len(obj):
                return None
        elif type(obj) is not dict or key not in obj:
            return None
        obj = obj[key]
    return obj


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty list (for iterating odd payloads safely)."""
    return value if type(value) is list else []


@dataclass(slots=True)
class RawImage:
    """An image as read from a payload, before it becomes a public type."""

    url: str
    title: str = ""
    alt: str = ""
    image_id: str | None = None  # set for generated images


@dataclass(slots=True)
class CandidateSnapshot:
    """One candidate as it stands in one payload (text is the raw cumulative text)."""

    rcid: str
    index: int
    text: str
    thoughts: str
    done: bool
    web_images: list[RawImage] = field(default_factory=list)
    generated_images: list[RawImage] = field(default_factory=list)
    has_status: bool = True  # False when the completion field ``cand[8][0]`` is missing


@dataclass(slots=True)
class Payload:
    """A StreamGenerate data envelope."""

    cid: str | None = None
    rid: str | None = None
    candidates: list[CandidateSnapshot] = field(default_factory=list)
    context_token: str | None = None
    busy: bool = False


@dataclass(slots=True)
class StatusCode:
    """A status/error envelope: payload slot null, BardErrorInfo code at ``env[5]``."""

    code: int | None
    grpc_status: int | None


@dataclass(slots=True)
class EndMarker:
    """The ``["e", ...]`` envelope that closes a body."""

    total: int | None


@dataclass(slots=True)
class BatchResult:
    """A batchexecute result: ``rpcid`` and the parsed result (or an error code)."""

    rpcid: str
    data: Any = None
    code: int | None = None
    identifier: str | None = None
    grpc_status: int | None = None  # set when the call was refused by a status envelope

    @property
    def failed(self) -> bool:
        return self.code is not None or self.grpc_status is not None


Envelope = Payload | StatusCode | EndMarker


def _parse_images(cand: list[Any]) -> tuple[list[RawImage], list[RawImage]]:
    web: list[RawImage] = []
    for item in as_list(dig(cand, 12, 1)):
        url = _str(dig(item, 0, 0, 0))
        if url:
            alt = _str(dig(item, 0, 4)) or ""
            web.append(RawImage(url, title=alt or "[Image]", alt=alt))
    generated: list[RawImage] = []
    items = list(as_list(dig(cand, 12, 7, 0)))
    items.extend(as_list(dig(cand, 12, 0, "8", 0)))
    for n, item in enumerate(items):
        url = _str(dig(item, 0, 3, 3))
        if url:
            image_id = _str(dig(item, 1, 0)) or f"http://googleusercontent.com/image_generation_content/{n}"
            alt = _str(dig(item, 0, 3, 2)) or ""
            generated.append(RawImage(url, title=f"[Generated Image {n}]", alt=alt, image_id=image_id))
    return web, generated


def _parse_candidate(cand: Any, index: int) -> CandidateSnapshot | None:
    rcid = _str(dig(cand, 0))
    if not rcid:
        return None
    text = _str(dig(cand, 1, 0)) or ""
    if text.startswith(_CARD_PREFIX):
        text = _str(dig(cand, 22, 0)) or text
    thoughts = _str(dig(cand, 37, 0, 0)) or ""
    status = dig(cand, 8, 0)
    if len(cand) > 12 and cand[12] is not None:
        web, generated = _parse_images(cand)
    else:
        web, generated = [], []
    return CandidateSnapshot(
        rcid, index, text, thoughts, status == _STATUS_DONE, web, generated, status is not None
    )


def parse_payload(data: Any) -> Payload:
    """Read the StreamGenerate fields of one decoded payload (PROTOCOL.md 5)."""
    payload = Payload()
    if type(data) is not list:
        return payload
    meta = dig(data, 1)
    if type(meta) is list:
        payload.cid = _str(dig(meta, 0))
        payload.rid = _str(dig(meta, 1))
    cands = dig(data, 4)
    if type(cands) is list:
        for index, cand in enumerate(cands):
            if type(cand) is list:
                snap = _parse_candidate(cand, index)
                if snap is not None:
                    payload.candidates.append(snap)
    payload.context_token = _str(dig(data, 25))
    payload.busy = dig(data, 6, 1, 0) is not None
    return payload


def _load_inner(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(
            f"payload of a data envelope is not valid JSON ({exc.__class__.__name__})"
        ) from None


def _status(env: list[Any]) -> StatusCode:
    code = dig(env, 5, 2, 0, 1, 0)
    grpc = dig(env, 5, 0)
    return StatusCode(
        code if type(code) is int else None,
        grpc if type(grpc) is int else None,
    )


def parse_frame(frame: Any) -> list[Envelope]:
    """Classify the envelopes of one StreamGenerate frame (PROTOCOL.md 4.2, 7.2)."""
    if type(frame) is not list:
        raise ProtocolError(f"a frame must be a JSON array of envelopes, got {type(frame).__name__}")
    events: list[Envelope] = []
    for env in frame:
        if type(env) is not list or not env:
            continue
        kind = env[0]
        if kind == "wrb.fr":
            inner = env[2] if len(env) > 2 else None
            if type(inner) is str:
                events.append(parse_payload(_load_inner(inner)))
            elif type(dig(env, 5)) is list:
                events.append(_status(env))
        elif kind == "e":
            total = dig(env, 4)
            events.append(EndMarker(total if type(total) is int else None))
    return events


def parse_batch_frames(frames: list[Any]) -> list[BatchResult]:
    """Collect batchexecute results (PROTOCOL.md 8.2) from decoded frames."""
    results: list[BatchResult] = []
    for frame in frames:
        if type(frame) is not list:
            raise ProtocolError("a batchexecute frame must be a JSON array")
        for env in frame:
            if type(env) is not list or dig(env, 0) != "wrb.fr":
                continue
            rpcid = _str(dig(env, 1)) or ""
            identifier = _str(dig(env, 6))
            inner = dig(env, 2)
            if type(inner) is str:
                results.append(BatchResult(rpcid, _load_inner(inner), identifier=identifier))
            elif type(dig(env, 5)) is list:
                status = _status(env)
                grpc = status.grpc_status if status.grpc_status is not None else -1
                results.append(
                    BatchResult(rpcid, None, code=status.code, identifier=identifier, grpc_status=grpc)
                )
            else:
                results.append(BatchResult(rpcid, None, identifier=identifier))
    return results


# --- encoders (used by the emulator) ---------------------------------------


def build_candidate(
    rcid: str,
    text: str,
    *,
    thoughts: str | None = None,
    done: bool = False,
    web_images: list[RawImage] | None = None,
    generated_images: list[RawImage] | None = None,
) -> list[Any]:
    """A candidate array with the fields of PROTOCOL.md 5 at their paths."""
    cand: list[Any] = [None] * 38
    cand[0] = rcid
    cand[1] = [text]
    cand[8] = [_STATUS_DONE if done else 1]
    if web_images or generated_images:
        media: list[Any] = [None] * 8
        if web_images:
            media[1] = [[[[img.url], None, None, None, img.alt]] for img in web_images]
        if generated_images:
            items = [
                [[None, None, None, [None, None, i.alt, i.url]], [i.image_id or ""]] for i in generated_images
            ]
            media[7] = [items]
        cand[12] = media
    if thoughts is not None:
        cand[37] = [[thoughts]]
    return cand


def build_payload(
    cid: str | None,
    rid: str | None,
    candidates: list[list[Any]] | None = None,
    *,
    context_token: str | None = None,
    busy: bool = False,
) -> list[Any]:
    """A StreamGenerate payload with metadata, candidates and the context token."""
    payload: list[Any] = [None] * 28
    payload[1] = [cid, rid] if cid else None
    payload[4] = candidates
    if busy:
        payload[6] = [None, ["data_analysis_tool"]]
    payload[25] = context_token
    return payload


def data_envelope(payload: list[Any]) -> list[Any]:
    """``["wrb.fr", null, "<payload JSON>"]``."""
    return ["wrb.fr", None, dumps(payload)]


def error_envelope(code: int | None, grpc_status: int = 13) -> list[Any]:
    """A status envelope carrying a BardErrorInfo code (PROTOCOL.md 7.1)."""
    info = [[ERROR_INFO_TYPE, [code]]] if code is not None else []
    return ["wrb.fr", None, None, None, None, [grpc_status, None, info]]


def batch_envelope(rpcid: str, result: Any, identifier: str = "generic") -> list[Any]:
    """A batchexecute result envelope."""
    return ["wrb.fr", rpcid, dumps(result), None, None, None, identifier]


def tail_frames(total: int | None = None) -> list[list[Any]]:
    """The bookkeeping frames that close a body: ``di``/``af.httprm``, then ``e``."""
    return [[["di", 57], ["af.httprm", 56, "-1234567890123456789", 7]], [["e", 4, None, None, total]]]
