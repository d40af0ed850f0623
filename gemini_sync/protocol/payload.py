"""Envelopes and payloads of StreamGenerate and batchexecute (docs/protocol.md 4, 5, 6).

:func:`parse_frame` turns one decoded frame into :class:`Envelope` events:
data payloads (as :class:`Payload` with :class:`CandidateSnapshot` items),
error/status codes and the end marker. Every path is read with :func:`dig`,
which treats "out of range", ``null`` and "wrong type" the same way, so a
short or odd array never crashes the parser, and which reads every array
field in both of its forms (:func:`field_of`, docs/protocol.md 5.1).

The inverse (the emulator's builders of these shapes) is in :mod:`.service`;
the sparse-field rule in :mod:`.jspb`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..errors import ProtocolError
from .framing import json_decode
from .jspb import as_list, dig, fields_of, first_field, string_or_none

__all__ = [
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
    "Rejection",
]

ERROR_INFO_TYPE = "type.googleapis.com/assistant.boq.bard.application.BardErrorInfo"
E_SLOTS = 48
E_SLOTS_2025 = 28
_CARD_PREFIX = "http://googleusercontent.com/card_content/"
STATUS_DONE = 2


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
    citations: list[Any] = field(default_factory=list)  # RawCitation (docs/protocol.md 10)
    media: list[Any] = field(default_factory=list)  # RawMedia: generated video and music (section 4)


@dataclass(slots=True)
class Payload:
    """A StreamGenerate data envelope."""

    cid: str | None = None
    rid: str | None = None
    candidates: list[CandidateSnapshot] = field(default_factory=list)
    context_token: str | None = None
    busy: bool = False
    model_name: str | None = None  # E[42]: display name of the model that served the answer
    model_id: str | None = None  # E[39]: its id, when the request named one
    activity: str | None = None  # E[6][5][0]: the current thinking headline
    tool: str | None = None  # E[6][1][0]: the name of a tool at work


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


@dataclass(slots=True)
class Rejection:
    """An ``["er", ..., <HTTP status>, ...]`` envelope: the request was rejected (docs/protocol.md 6.3)."""

    status: int | None
    code: int | None


Envelope = Payload | StatusCode | EndMarker | Rejection


def _parse_images(cand: list[Any]) -> tuple[list[RawImage], list[RawImage]]:
    web: list[RawImage] = []
    for item in as_list(dig(cand, 12, 1)):
        url = string_or_none(dig(item, 0, 0, 0))
        if url:
            alt = string_or_none(dig(item, 0, 4)) or ""
            web.append(RawImage(url, title=alt or "[Image]", alt=alt))
    generated: list[RawImage] = []
    items = list(as_list(dig(cand, 12, 7, 0)))  # field 7, dense or as key "8" of the trailing object
    items.extend(as_list(dig(cand, 12, 0, "8", 0)))  # an object at [0] that is not the trailing one
    for n, item in enumerate(items):
        url = string_or_none(dig(item, 0, 3, 3))
        if url:
            image_id = (
                string_or_none(dig(item, 1, 0))
                or f"http://googleusercontent.com/image_generation_content/{n}"
            )
            alt = string_or_none(dig(item, 0, 3, 2)) or ""
            generated.append(RawImage(url, title=f"[Generated Image {n}]", alt=alt, image_id=image_id))
    return web, generated


# the fields read from every payload and candidate, in one C call when the array is dense and long
# enough (the usual candidate); otherwise :func:`fields_of`, which knows the sparse form
_CANDIDATE_FIELDS = (0, 1, 8, 12, 37)
_candidate_fields = itemgetter(*_CANDIDATE_FIELDS)


def _parse_candidate(cand: list[Any], index: int) -> CandidateSnapshot | None:
    if len(cand) > _CANDIDATE_FIELDS[-1] and type(cand[-1]) is not dict:
        rcid, text_field, status_field, media, thoughts_field = _candidate_fields(cand)
    else:
        rcid, text_field, status_field, media, thoughts_field = fields_of(cand, *_CANDIDATE_FIELDS)
    if type(rcid) is not str or not rcid:
        return None
    text = first_field(text_field)
    if type(text) is not str:
        text = string_or_none(text) or ""  # a str subclass stays as _str leaves it
    if text.startswith(_CARD_PREFIX):
        text = string_or_none(dig(cand, 22, 0)) or text
    thoughts = (
        string_or_none(first_field(first_field(thoughts_field))) if thoughts_field is not None else None
    )
    thoughts = thoughts or ""
    status = first_field(status_field)
    if media is not None:
        web, generated = _parse_images(cand)
    else:
        web, generated = [], []
    snap = CandidateSnapshot(
        rcid, index, text, thoughts, status == STATUS_DONE, web, generated, status is not None
    )
    if (len(cand) > 12 and cand[12] is not None) or (len(cand) > 30 and cand[30] is not None):
        from .citations import candidate_citations  # they import this module
        from .generated_media import parse_media

        snap.citations = candidate_citations(cand)
        snap.media = parse_media(cand)
    return snap


def parse_payload(data: Any) -> Payload:
    """Read the StreamGenerate fields of one decoded payload (docs/protocol.md 5).

    Sparse-only frames (``[null, [null, rid], {"18": rid, ...}]``, the ``"7"``
    status frame, the ``"26"`` context-token frame, the last ``"46"``/``"52"``
    frame) give a payload without candidates.
    """
    if type(data) is not list or not data:
        return Payload()
    size = len(data)
    if type(data[-1]) is dict:
        meta, cands, activity, rid, token, model_id, model_name = fields_of(data, 1, 4, 6, 17, 25, 39, 42)
    else:  # dense (the usual payload): the reads of fields_of, inline
        meta = data[1] if size > 1 else None
        cands = data[4] if size > 4 else None
        activity = data[6] if size > 6 else None
        rid = data[17] if size > 17 else None
        token = data[25] if size > 25 else None
        model_id = data[39] if size > 39 else None
        model_name = data[42] if size > 42 else None
    cid = meta_rid = None
    if type(meta) is list:
        if len(meta) > 1 and type(meta[-1]) is not dict:
            cid, meta_rid = meta[0], meta[1]
        else:
            cid, meta_rid = fields_of(meta, 0, 1)
    candidates: list[CandidateSnapshot] = []
    if type(cands) is list:
        for index, cand in enumerate(cands):
            if type(cand) is list:
                snap = _parse_candidate(cand, index)
                if snap is not None:
                    candidates.append(snap)
    busy = type(activity) is list  # the service reports a tool at work or a thinking headline
    # positional, in Payload's field order; the _str checks inline (this runs for every frame)
    return Payload(
        cid if isinstance(cid, str) else None,
        meta_rid if type(meta_rid) is str else rid if isinstance(rid, str) else None,
        candidates,
        token if isinstance(token, str) else None,
        busy,
        model_name if isinstance(model_name, str) else None,
        model_id if isinstance(model_id, str) else None,
        string_or_none(dig(activity, 5, 0)) if busy else None,
        string_or_none(dig(activity, 1, 0)) if busy else None,
    )


def _load_inner(text: str) -> Any:
    try:
        return json_decode(text)
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
    """Classify the envelopes of one StreamGenerate frame (docs/protocol.md 4.2, 6.1)."""
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
                try:
                    data = json_decode(inner)
                except (ValueError, RecursionError):
                    data = _load_inner(inner)  # raises the ProtocolError that says why
                events.append(parse_payload(data))
            elif type(dig(env, 5)) is list:
                events.append(_status(env))
        elif kind == "e":
            total = dig(env, 4)
            events.append(EndMarker(total if type(total) is int else None))
        elif kind == "er":
            events.append(_rejection(env))
    return events


_MIN_ERROR_CODE = 1000


def _rejection(env: list[Any]) -> Rejection:
    """Where the ``"er"`` envelope keeps its numbers is known from one fixture only:
    the HTTP status at ``[5]``; a service error code (>= 1000) anywhere after it."""
    status = dig(env, 5)
    code = next((v for v in _ints(env[6:]) if v >= _MIN_ERROR_CODE), None)
    return Rejection(status if type(status) is int else None, code)


def _ints(value: Any) -> list[int]:
    if type(value) is int:
        return [value]
    if type(value) is list:
        return [n for item in value for n in _ints(item)]
    return []


def parse_batch_frames(frames: list[Any]) -> list[BatchResult]:
    """Collect batchexecute results (docs/protocol.md 7.2) from decoded frames."""
    results: list[BatchResult] = []
    for frame in frames:
        if type(frame) is not list:
            raise ProtocolError("a batchexecute frame must be a JSON array")
        for env in frame:
            if type(env) is not list or dig(env, 0) != "wrb.fr":
                continue
            rpcid = string_or_none(dig(env, 1)) or ""
            identifier = string_or_none(dig(env, 6))
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
