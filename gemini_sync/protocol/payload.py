"""Envelopes and payloads of StreamGenerate and batchexecute (docs/protocol.md 4, 5, 6).

:func:`parse_frame` turns one decoded frame into :class:`Envelope` events:
data payloads (as :class:`Payload` with :class:`CandidateSnapshot` items),
error/status codes and the end marker. Every path is read with :func:`dig`,
which treats "out of range", ``null`` and "wrong type" the same way, so a
short or odd array never crashes the parser, and which reads every array
field in both of its forms (:func:`field_of`, docs/protocol.md 5.1).

The ``build_*`` functions are the inverse, used by the emulator, so the
emulator writes exactly the shapes this module reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..errors import ProtocolError
from .framing import dumps, json_decode

__all__ = [
    "dig",
    "field_of",
    "fields_of",
    "with_sparse",
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
    "sparse_payload",
    "activity_field",
    "data_envelope",
    "error_envelope",
    "batch_envelope",
    "rejection_envelope",
    "Rejection",
    "tail_frames",
]

ERROR_INFO_TYPE = "type.googleapis.com/assistant.boq.bard.application.BardErrorInfo"
_E_SLOTS = 48
_E_SLOTS_2025 = 28
_CARD_PREFIX = "http://googleusercontent.com/card_content/"
_STATUS_DONE = 2


def field_of(array: list[Any], n: int) -> Any:
    """Field ``n`` of a JSPB ``array``, in either form (docs/protocol.md 5.1).

    A field sits at index ``n``, or, when the array ends with an object (the
    sparse extension), under the key ``str(n + 1)`` of that object. That last
    object is never itself a field value. ``None`` when the field is absent.
    """
    size = len(array)
    if size == 0:
        return None
    last = array[-1]
    sparse = type(last) is dict
    if 0 <= n < size - sparse:
        value = array[n]
        if value is not None:
            return value
    if n < 0:
        return array[n] if -size <= n else None
    return last.get(str(n + 1)) if sparse else None


def fields_of(array: list[Any], *fields: int) -> list[Any]:
    """Several fields of one JSPB ``array`` at once: ``[field_of(array, n) for n in fields]``.

    The form is looked at once, so the dense array (the common case) costs an
    index per field. ``fields`` are non-negative.
    """
    size = len(array)
    if size and type(array[-1]) is dict:
        return [field_of(array, n) for n in fields]
    return [array[n] if n < size else None for n in fields]


def _first(value: Any) -> Any:
    """``dig(value, 0)`` without its loop: the hot ``[text]`` / ``[status]`` reads of every frame."""
    if type(value) is not list or not value:
        return None
    first = value[0]
    if first is not None and (len(value) > 1 or type(first) is not dict):
        return first
    return field_of(value, 0)


def dig(obj: Any, *path: int | str) -> Any:
    """Follow ``path`` into nested lists/dicts; ``None`` if any step is missing.

    An integer step into a list reads that field as :func:`field_of` does, so
    every reader sees the dense and the sparse form alike. A field found at its
    index in a dense array is read inline (the hot path of every frame).
    """
    for key in path:
        if type(key) is int:
            if type(obj) is not list:
                return None
            if 0 <= key < len(obj) - 1:
                value = obj[key]
                if value is not None:
                    obj = value
                    continue
            obj = field_of(obj, key)
            if obj is None:
                return None
        elif type(obj) is not dict or key not in obj:
            return None
        else:
            obj = obj[key]
    return obj


def with_sparse(array: list[Any], fields: dict[int, Any]) -> list[Any]:
    """``array`` with ``fields`` (field number -> value) appended in the sparse form.

    The inverse of :func:`field_of` for high-numbered fields: the service sends
    ``[null, [cid, rid], {"26": token}]`` rather than 26 slots (docs/protocol.md 5.1).
    """
    if not fields:
        return array
    return [*array, {str(n + 1): value for n, value in sorted(fields.items())}]


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
        url = _str(dig(item, 0, 0, 0))
        if url:
            alt = _str(dig(item, 0, 4)) or ""
            web.append(RawImage(url, title=alt or "[Image]", alt=alt))
    generated: list[RawImage] = []
    items = list(as_list(dig(cand, 12, 7, 0)))  # field 7, dense or as key "8" of the trailing object
    items.extend(as_list(dig(cand, 12, 0, "8", 0)))  # an object at [0] that is not the trailing one
    for n, item in enumerate(items):
        url = _str(dig(item, 0, 3, 3))
        if url:
            image_id = _str(dig(item, 1, 0)) or f"http://googleusercontent.com/image_generation_content/{n}"
            alt = _str(dig(item, 0, 3, 2)) or ""
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
    text = _first(text_field)
    if type(text) is not str:
        text = _str(text) or ""  # a str subclass stays as _str leaves it
    if text.startswith(_CARD_PREFIX):
        text = _str(dig(cand, 22, 0)) or text
    thoughts = _str(_first(_first(thoughts_field))) if thoughts_field is not None else None
    thoughts = thoughts or ""
    status = _first(status_field)
    if media is not None:
        web, generated = _parse_images(cand)
    else:
        web, generated = [], []
    snap = CandidateSnapshot(
        rcid, index, text, thoughts, status == _STATUS_DONE, web, generated, status is not None
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
        _str(dig(activity, 5, 0)) if busy else None,
        _str(dig(activity, 1, 0)) if busy else None,
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
    """A candidate array with the fields of docs/protocol.md 5.2 at their paths."""
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
    model_name: str | None = None,
    model_id: str | None = None,
    complete: bool | None = None,
) -> list[Any]:
    """A full StreamGenerate payload ``E`` (docs/protocol.md 5.2).

    Without ``model_name``/``model_id``/``complete`` it has the 28 slots of the
    2025 shape; with any of them, the 48 slots of the 2026 shape (``E[14]``
    completion, ``E[39]`` model id, ``E[42]`` model name, ``E[43]`` true).
    """
    modern = model_name is not None or model_id is not None or complete is not None
    payload: list[Any] = [None] * (_E_SLOTS if modern else _E_SLOTS_2025)
    payload[1] = [cid, rid] if cid else None
    payload[4] = candidates
    if busy:
        payload[6] = activity_field(tool="data_analysis_tool")
    payload[25] = context_token
    if modern:
        payload[14] = bool(complete)
        payload[39] = model_id
        payload[42] = model_name
        payload[43] = True
    return payload


def sparse_payload(cid: str | None, rid: str | None, fields: dict[int, Any]) -> list[Any]:
    """A sparse-only payload ``[null, [cid, rid], {str(N+1): value}]`` (docs/protocol.md 5.1)."""
    return with_sparse([None, [cid, rid]], fields)


def activity_field(headline: str | None = None, *, tool: str | None = None) -> list[Any]:
    """Field ``E[6]``: a thinking ``headline`` at ``[5][0]``, a busy ``tool`` at ``[1][0]``."""
    return [None, [tool] if tool else None, None, None, None, [headline] if headline else None]


def data_envelope(payload: list[Any]) -> list[Any]:
    """``["wrb.fr", null, "<payload JSON>"]``."""
    return ["wrb.fr", None, dumps(payload)]


def error_envelope(
    code: int | None, grpc_status: int = 13, *, rpcid: str | None = None, identifier: str | None = None
) -> list[Any]:
    """A status envelope carrying a BardErrorInfo code (docs/protocol.md 6.1).

    ``rpcid``/``identifier`` name the batchexecute call it refuses.
    """
    info = [[ERROR_INFO_TYPE, [code]]] if code is not None else []
    env: list[Any] = ["wrb.fr", rpcid, None, None, None, [grpc_status, None, info]]
    if identifier is not None:
        env.append(identifier)
    return env


def rejection_envelope(status: int = 400, code: int | None = None) -> list[Any]:
    """``["er", null x 4, <status>, [<code>]]``: a rejected request (shape guessed: :class:`Rejection`)."""
    return ["er", None, None, None, None, status, [code] if code is not None else None]


def batch_envelope(rpcid: str, result: Any, identifier: str = "generic") -> list[Any]:
    """A batchexecute result envelope."""
    return ["wrb.fr", rpcid, dumps(result), None, None, None, identifier]


def tail_frames(total: int | None = None) -> list[list[Any]]:
    """The bookkeeping frames that close a body: ``di``/``af.httprm``, then ``e``."""
    return [[["di", 57], ["af.httprm", 56, "-1234567890123456789", 7]], [["e", 4, None, None, total]]]
