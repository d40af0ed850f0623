"""What only the service writes and only the emulator builds or reads: answers, RPC results, ``f.req``.

The inverse of the client's readers (:mod:`.payload`, :mod:`.rpcs`,
:mod:`.citations`, :mod:`.generated_media`) and writers (:mod:`.request`):
the emulator builds its answers and reads requests with these functions, so
it writes exactly the shapes the client reads (one codec). The client's
import path holds none of this.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import models as thinking
from ..types.account import CatalogEntry
from .citations import RawCitation
from .framing import dumps
from .jspb import dig, with_sparse
from .payload import E_SLOTS, E_SLOTS_2025, ERROR_INFO_TYPE, STATUS_DONE, RawImage
from .rpcs import ENTRY_LEVELS_SLOT, ENTRY_NUMBER_SLOT, ENTRY_SLOTS, ENTRY_VERSION_SLOT

__all__ = [
    "build_candidate",
    "build_payload",
    "sparse_payload",
    "activity_field",
    "data_envelope",
    "error_envelope",
    "rejection_envelope",
    "batch_envelope",
    "tail_frames",
    "FreqError",
    "RecordedCall",
    "loads_lenient",
    "parse_generate_freq",
    "parse_batch_freq",
    "build_quota_item",
    "build_catalog_entry",
    "build_account",
    "build_chats",
    "build_chat_turn",
    "build_gems",
    "build_sources",
    "build_video_field",
    "build_music_field",
]


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
    cand[8] = [STATUS_DONE if done else 1]
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
    payload: list[Any] = [None] * (E_SLOTS if modern else E_SLOTS_2025)
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


class FreqError(ValueError):
    """``f.req`` is missing or malformed; the message says how."""


@dataclass
class RecordedCall:
    """One RPC of a recorded batchexecute request."""

    rpcid: str
    raw_payload: str
    payload: Any
    identifier: str = "generic"


def loads_lenient(text: str) -> Any:
    """``json.loads``, falling back to single quotes read as double quotes.

    The web app sends some payloads with single-quoted strings (e.g. the gem
    list's ``[4,['en'],0]``), which is not JSON.
    """
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text.replace("'", '"'))


def _load_freq(form: Mapping[str, str]) -> Any:
    """The decoded ``f.req`` field of a form, or :class:`FreqError` saying why it is unusable."""
    raw = form.get("f.req")
    if raw is None:
        raise FreqError("f.req is missing")
    try:
        return json.loads(raw)
    except ValueError:
        raise FreqError("f.req is not JSON") from None


def parse_generate_freq(form: Mapping[str, str]) -> list[Any]:
    """The inner list of a StreamGenerate ``f.req`` (docs/protocol.md 3.4), or :class:`FreqError`."""
    outer = _load_freq(form)
    if not isinstance(outer, list) or len(outer) < 2 or outer[0] is not None or not isinstance(outer[1], str):
        raise FreqError('f.req must be [null, "<inner JSON>"]')
    try:
        inner = json.loads(outer[1])
    except ValueError:
        raise FreqError("the inner f.req string is not JSON") from None
    if not isinstance(inner, list):
        raise FreqError("the inner f.req must be a list")
    prompt = dig(inner, 0, 0)
    if not isinstance(prompt, str) or not prompt:
        raise FreqError("inner[0][0] must be a non-empty prompt string")
    meta = dig(inner, 2)
    if meta is not None and not isinstance(meta, list):
        raise FreqError("inner[2] (chat metadata) must be a list")
    files = dig(inner, 0, 3)
    if files is not None and not isinstance(files, list):
        raise FreqError("inner[0][3] (file data) must be a list")
    return inner


def parse_batch_freq(form: Mapping[str, str]) -> list[RecordedCall]:
    """The calls of a batchexecute ``f.req`` (docs/protocol.md 7.1), or :class:`FreqError`."""
    outer = _load_freq(form)
    calls = dig(outer, 0)
    if not isinstance(calls, list) or not calls:
        raise FreqError("f.req must be [[[rpcid, payload, null, identifier], ...]]")
    parsed: list[RecordedCall] = []
    for call in calls:
        rpcid, payload = dig(call, 0), dig(call, 1)
        if not isinstance(rpcid, str) or not rpcid or not isinstance(payload, str):
            raise FreqError("each call must be [rpcid, payload string, null, identifier]")
        identifier = dig(call, 3)
        try:
            value: Any = loads_lenient(payload)
        except ValueError:
            value = None
        identifier = identifier if isinstance(identifier, str) else "generic"
        parsed.append(RecordedCall(rpcid, payload, value, identifier))
    return parsed


def build_quota_item(
    key: tuple[int, int], used_percent: float, resets_at: float, total: int, remaining: int
) -> list[Any]:
    """One ``qpEbW`` item as :func:`parse_quotas` reads it (used by the emulator)."""
    seconds = int(resets_at)
    return [list(key), None, used_percent, [seconds, int((resets_at - seconds) * 1e9)], total, remaining]


def build_catalog_entry(entry: CatalogEntry) -> list[Any]:
    """A model entry as ``otAQ7b`` lists it (the inverse of :func:`parse_account`'s reader)."""
    item: list[Any] = [None] * ENTRY_SLOTS
    item[0], item[1], item[2] = entry.model_id, entry.name, entry.description
    item[ENTRY_VERSION_SLOT] = entry.version
    item[ENTRY_NUMBER_SLOT] = entry.number
    if entry.thinking_levels:
        item += [None] * (ENTRY_LEVELS_SLOT + 1 - len(item))
        item[ENTRY_LEVELS_SLOT] = [thinking.encode(level) for level in entry.thinking_levels]
    return item


def build_account(
    status: int, catalogue: list[CatalogEntry], tiers: list[int] | None = None, caps: list[int] | None = None
) -> list[Any]:
    """An ``otAQ7b`` result: status, catalogue and tier flags."""
    result: list[Any] = [None] * 20
    result[14] = status
    result[15] = [build_catalog_entry(entry) for entry in catalogue]
    result[16] = list(tiers or [])
    result[17] = list(caps or [])
    result[18], result[19] = "", []  # a captured answer's last two slots (their meaning unknown)
    return result


def _timestamp(seconds: float) -> list[int]:
    return [int(seconds), int((seconds % 1) * 1e9)]


def build_chats(rows: list[tuple[str, str, bool, float, str | None]]) -> list[Any]:
    """``MaZiqc``: ``(cid, title, pinned, updated, last rid)`` rows, as :func:`parse_chats` reads them."""
    items = [
        [cid, title, pinned, None, None, _timestamp(updated), [[cid, rid]]]
        for cid, title, pinned, updated, rid in rows
    ]
    return [None, None, items]


def build_chat_turn(
    ids: tuple[str, str, str],
    prompt: str,
    attachments: list[Any] | None,
    candidate: list[Any],
    created: float,
) -> list[Any]:
    """One ``hNvQHb`` turn: ``[[cid, rid], [cid, rid, rcid], [[prompt, ...]], [[candidate]], [s, ns]]``."""
    cid, rid, rcid = ids
    message = [prompt, 0, None, attachments, None, None, 0]
    return [[cid, rid], [cid, rid, rcid], [message], [[candidate]], _timestamp(created)]


def build_gems(rows: list[tuple[str, str, str, str | None]]) -> list[Any]:
    """``CNgdBe``: ``(id, name, description, prompt)`` rows, as :func:`parse_gems` reads them."""
    items = [[gem_id, [name, desc], [prompt] if prompt else None] for gem_id, name, desc, prompt in rows]
    return [None, None, items]


def build_sources(groups: list[tuple[list[int], list[RawCitation]]]) -> list[Any]:
    """A sources field: one group per marker, ``(numbers, entries)`` zipped positionally."""
    out: list[Any] = []
    for numbers, entries in groups:
        marker = "[cite: " + ", ".join(str(n) for n in numbers) + "]"
        out.append(
            [
                [marker],
                [[None, None, None, [["", c.url, c.title, None, None, c.snippet]]] for c in entries],
            ]
        )
    return out


def build_video_field(url: str, thumbnail_url: str) -> list[Any]:
    """Field 59: ``[[[info]]]`` with ``info[0][7] = [thumbnail_url, url]``."""
    return [[[[[None] * 7 + [[thumbnail_url, url]]]]]]


def build_music_field(mp3_url: str, mp4_url: str, thumbnail_url: str) -> list[Any]:
    """Field 86: the mp3 entry, then the mp4 entry, each ``[null, [.. x7, [thumbnail_url, url]]]``."""
    return [[None, [None] * 7 + [[thumbnail_url, url]]] for url in (mp3_url, mp4_url)]
