"""Building requests: query parameters, headers and ``f.req`` (docs/protocol.md 3, 7.1).

Pure functions: they return what to send and never send it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from .._constants import BATCH_EXEC_PATH, GEMINI_ORIGIN, GENERATE_PATH
from .._uuid import random_uuid
from ..models import INNER_SLOT as _THINKING_SLOT
from ..models import Model
from ..models import encode as _encode_level
from .framing import dumps

__all__ = [
    "AppTokens",
    "PreparedRequest",
    "INNER_SLOTS",
    "METADATA_SLOTS",
    "new_metadata",
    "base_headers",
    "generate_request",
    "batch_request",
    "BatchCall",
    "Attachment",
    "attachment_refs",
]

#: an uploaded file: ``(identifier, filename)`` or ``(identifier, filename, mime type)``
Attachment = Union[tuple[str, str], tuple[str, str, str]]
_FILE_KIND = 1  # ``[0][1]`` of a reference; the browser's value for other kinds is not known
INNER_SLOTS = 69
TOOL_INNER_SLOTS = 80  # a request with a tool id (slot 49) is padded to this many slots
METADATA_SLOTS = 10
_BATCH_MODEL_HEADER = "[1,null,null,null,null,null,null,null,[4]]"


@dataclass(frozen=True)
class AppTokens:
    """Values scraped from the app page (docs/protocol.md 2.2). ``repr`` hides the token."""

    access_token: str
    build_label: str | None = None
    session_id: str | None = None
    language: str = "en"
    push_id: str = "feeds/mcudyrk2a4khkz"

    def __repr__(self) -> str:
        return (
            f"AppTokens(access_token=<redacted>, build_label={self.build_label!r}, "
            f"session_id={'<set>' if self.session_id else None}, language={self.language!r})"
        )


@dataclass(frozen=True)
class PreparedRequest:
    """What to POST: a path under the base URL, query, headers and form fields."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    data: dict[str, str]


def new_metadata() -> list[Any]:
    """Chat metadata of a conversation with no turn yet (docs/protocol.md 3.4):
    ``["", "", "", None x 6, ""]`` = cid, rid, rcid, ..., context token."""
    return ["", "", "", None, None, None, None, None, None, ""]


def base_headers() -> dict[str, str]:
    """Headers of every POST to the app's endpoints (docs/protocol.md 3.1)."""
    return {
        "Content-Type": "application/x-www-form-urlencoded;charset=utf-8",
        "Origin": GEMINI_ORIGIN,
        "Referer": GEMINI_ORIGIN + "/",
        "X-Same-Domain": "1",
    }


def _query(tokens: AppTokens, reqid: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    params = dict(extra or {})
    params.update({"hl": tokens.language, "_reqid": str(reqid), "rt": "c"})
    if tokens.build_label:
        params["bl"] = tokens.build_label
    if tokens.session_id:
        params["f.sid"] = tokens.session_id
    return params


def generate_request(
    prompt: str,
    tokens: AppTokens,
    reqid: int,
    *,
    model: Model,
    metadata: Sequence[Any] | None = None,
    files: Sequence[Attachment] = (),
    gem_id: str | None = None,
    temporary: bool = False,
    request_uuid: str | None = None,
    slots: Mapping[int, Any] | None = None,
    thinking: str | None = None,
) -> PreparedRequest:
    """A StreamGenerate request (docs/protocol.md 3).

    ``files`` are ``(identifier, filename[, mime])`` from uploads; ``metadata``
    is the 10-slot chat list of the conversation to continue. ``slots`` sets
    further inner slots (a tool in slot 49, docs/protocol.md 11 and 12);
    with a tool the list is padded to at least :data:`TOOL_INNER_SLOTS`.
    ``thinking`` (a level name) goes to ``inner[80]``, the body then growing
    to 81 slots; the model header's level (``[15]``) is the ``model``'s own.
    """

    request_uuid = request_uuid or random_uuid()
    file_data = attachment_refs(files)
    chat = list(metadata) if metadata else new_metadata()
    inner: list[Any] = [None] * INNER_SLOTS
    inner[0] = [prompt, 0, None, file_data, None, None, 0]
    inner[1] = [tokens.language]
    inner[2] = chat
    inner[6] = [1]
    inner[7] = 1
    inner[10] = 1
    inner[11] = 0
    inner[17] = [[0]]
    inner[18] = 0
    if gem_id:
        inner[19] = gem_id
    inner[27] = 1
    inner[30] = [4]
    inner[41] = [1]
    if temporary:
        inner[45] = 1
    inner[53] = 0
    inner[59] = request_uuid
    inner[61] = []
    inner[68] = 2
    if slots:
        size = max(max(slots) + 1, TOOL_INNER_SLOTS if 49 in slots else 0)
        inner.extend([None] * (size - len(inner)))
        for index, value in slots.items():
            inner[index] = value
    if thinking is not None:
        inner += [None] * (_THINKING_SLOT + 1 - len(inner))
        inner[_THINKING_SLOT] = _encode_level(thinking)
    headers = base_headers()
    headers.update(model.headers)
    headers["x-goog-ext-525005358-jspb"] = dumps([request_uuid, 1])
    data = {"at": tokens.access_token, "f.req": dumps([None, dumps(inner)])}
    return PreparedRequest(GENERATE_PATH, _query(tokens, reqid), headers, data)


def attachment_refs(files: Sequence[Attachment]) -> list[Any] | None:
    """``inner[0][3]``: attachment references in the browser's shape (docs/protocol.md 3.5).

    ``[[file_id, kind, null, mime], name, null x 6, [0]]`` per file; the MIME
    type is never left out (the service drops such files silently). A pair
    without a type gets one from the name, else ``application/octet-stream``.
    """
    refs = []
    for item in files:
        identifier, name = item[0], item[1]
        if len(item) > 2:
            mime = item[2]
        else:  # only a request with files needs the MIME rules
            from .media import mime_type

            mime = mime_type(name, b"")
        refs.append([[identifier, _FILE_KIND, None, mime], name, None, None, None, None, None, None, [0]])
    return refs or None


@dataclass(frozen=True)
class BatchCall:
    """One RPC of a batchexecute request: its id and its payload."""

    rpcid: str
    payload: Any
    identifier: str = "generic"
    raw_payload: str | None = None  # sent as-is when set (e.g. the single-quoted gem lists)
    source_path: str = "/app"  # the page the web app sends it from (``jSf9Qc``: ``/usage``)


def batch_request(calls: Sequence[BatchCall], tokens: AppTokens, reqid: int) -> PreparedRequest:
    """A batchexecute request carrying ``calls`` (docs/protocol.md 7.1)."""

    if not calls:
        raise ValueError("a batchexecute request needs at least one call")
    freq = [
        [
            call.rpcid,
            call.raw_payload if call.raw_payload is not None else dumps(call.payload),
            None,
            call.identifier,
        ]
        for call in calls
    ]
    params = _query(tokens, reqid, {"rpcids": ",".join(c.rpcid for c in calls)})
    params["source-path"] = calls[0].source_path
    headers = base_headers()
    headers["x-goog-ext-525001261-jspb"] = _BATCH_MODEL_HEADER
    headers["x-goog-ext-73010989-jspb"] = "[0]"
    data = {"at": tokens.access_token, "f.req": dumps([freq])}
    return PreparedRequest(BATCH_EXEC_PATH, params, headers, data)


# --- reading requests back (the emulator's side of the same codec) -----------
