"""batchexecute (docs/protocol.md 7): the RPCs of the web app, answered from the emulator's state.

Each call of a request is answered with one ``batch_envelope`` (its result
JSON and the call's identifier) or, when it fails, an error envelope that
carries the call's rpc id and identifier. The body is framed like
StreamGenerate's but sent at once. An unknown rpc id or an unreadable payload
fails that call with gRPC status 3 (invalid argument) and no error code.
The start-up RPCs of a 2026 client and a signed-out visitor's answers are in
:mod:`.startup`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..protocol.jspb import dig
from ..protocol.request import attachment_refs
from ..protocol.service import (
    batch_envelope,
    build_account,
    build_chat_turn,
    build_chats,
    build_gems,
    error_envelope,
)
from ..types.account import CatalogEntry
from .backend import Backend, image_path
from .catalogue import PLAN_FLAGS
from .codes import GRPC_INTERNAL, GRPC_INVALID_ARGUMENT, GRPC_NOT_FOUND, GRPC_PERMISSION_DENIED, UNKNOWN_IMAGE
from .desk import Reply
from .generate import check_access
from .records import FreqError, RecordedCall, parse_batch_freq
from .replay import serve_batch
from .startup import GUEST_DENIED, STARTUP_RPCS, guest_account
from .state import Conversation, Gem
from .wire import Aborted

__all__ = ["handle_batch", "RPCS", "RpcError"]

_DEFAULT_CHAT_COUNT = 13
_DEFAULT_TURN_LIMIT = 10
_CURRENT_HEADER_MIN_LEN = 10  # current-format model headers carry a capacity tail


class RpcError(Exception):
    """A call failed: error ``code`` (may be ``None``) with gRPC status ``grpc``."""

    def __init__(self, code: int | None, grpc: int = GRPC_INTERNAL) -> None:
        super().__init__(f"rpc failed (code {code}, grpc {grpc})")
        self.code = code
        self.grpc = grpc


def _display_name(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("-"))


# --- the RPCs ----------------------------------------------------------------


def _status(backend: Backend, payload: Any) -> Any:
    """``otAQ7b``: account status and the models of the account (a free tier)."""
    if backend.modern:
        tiers, caps = PLAN_FLAGS[backend.plan]
        return build_account(backend.account_status, backend.catalogue, tiers, caps)
    catalogue = []
    for model_id, model in backend.models.items():
        header = json.loads(model.header_value or "[]")
        if not model.paid and len(header) >= _CURRENT_HEADER_MIN_LEN:
            description = f"{_display_name(model.model_name)}, served by the gemini_sync emulator"
            catalogue.append(CatalogEntry(model_id, _display_name(model.model_name), description))
    return build_account(backend.account_status, catalogue)


def _settings(backend: Backend, payload: Any) -> Any:
    """``ESY5D``: every named setting, switched on."""
    names = dig(payload, 0, 0)
    if not isinstance(names, list):
        raise RpcError(None, GRPC_INVALID_ARGUMENT)
    return [[[name, [1]] for name in names if isinstance(name, str)]]


def _chat_row(conv: Conversation) -> tuple[str, str, bool, float, str | None]:
    return conv.cid, conv.title, conv.pinned, conv.updated, conv.turns[-1].rid if conv.turns else None


def _list_chats(backend: Backend, payload: Any) -> Any:
    """``MaZiqc``: ``[count, cursor, [pinned, null, 1]]`` -> ``r[2]`` rows, newest first."""
    count = dig(payload, 0)
    count = count if isinstance(count, int) and count > 0 else _DEFAULT_CHAT_COUNT
    pinned = dig(payload, 2, 0) == 1
    convs = [c for c in backend.store.conversations(include_temporary=False) if c.pinned == pinned]
    return build_chats([_chat_row(conv) for conv in convs[:count]])


def _read_chat(backend: Backend, payload: Any) -> Any:
    """``hNvQHb``: ``r[0]`` turns, newest first (docs/protocol.md 7.3)."""
    cid = dig(payload, 0)
    limit = dig(payload, 1)
    limit = limit if isinstance(limit, int) and limit > 0 else _DEFAULT_TURN_LIMIT
    conv = backend.store.conversation(cid) if isinstance(cid, str) else None
    if conv is None:
        raise RpcError(None, GRPC_NOT_FOUND)
    with backend.store.lock:
        turns = list(reversed(conv.turns))[:limit]
    rows = [
        build_chat_turn(
            (conv.cid, turn.rid, turn.rcid),
            turn.prompt,
            attachment_refs(turn.files),
            turn.candidate(),
            turn.created,
        )
        for turn in turns
    ]
    return [rows]


def _delete_chat(backend: Backend, payload: Any) -> Any:
    """``GzXR5e`` / ``qWymEb``: delete a chat (deleting twice is fine)."""
    cid = dig(payload, 0)
    if not isinstance(cid, str):
        raise RpcError(None, GRPC_INVALID_ARGUMENT)
    backend.store.delete_conversation(cid)
    return []


def _gem_row(gem: Gem) -> tuple[str, str, str, str | None]:
    return gem.id, gem.name, gem.description, gem.prompt


def _list_gems(backend: Backend, payload: Any) -> Any:
    """``CNgdBe``: kind 2 = custom gems, 3 = predefined, 4 = predefined including hidden ones."""
    kind = dig(payload, 0)
    gems = backend.store.gems()
    if kind == 2:
        chosen = [g for g in gems if not g.predefined]
    elif kind in (3, 4):
        chosen = [g for g in gems if g.predefined and (kind == 4 or not g.hidden)]
    else:
        raise RpcError(None, GRPC_INVALID_ARGUMENT)
    return build_gems([_gem_row(gem) for gem in chosen])


def _gem_fields(fields: Any) -> tuple[str, str, str | None]:
    name, description, prompt = dig(fields, 0), dig(fields, 1), dig(fields, 2)
    if not isinstance(name, str) or not name:
        raise RpcError(None, GRPC_INVALID_ARGUMENT)
    return (
        name,
        description if isinstance(description, str) else "",
        prompt if isinstance(prompt, str) else None,
    )


def _create_gem(backend: Backend, payload: Any) -> Any:
    """``oMH3Zd``: ``r[0]`` is the new gem's id."""
    name, description, prompt = _gem_fields(dig(payload, 0))
    return [backend.store.add_gem(name, description, prompt).id]


def _update_gem(backend: Backend, payload: Any) -> Any:
    """``kHv0Vd``: change a custom gem."""
    gem_id = dig(payload, 0)
    name, description, prompt = _gem_fields(dig(payload, 1))
    if not isinstance(gem_id, str) or not backend.store.update_gem(gem_id, name, description, prompt):
        raise RpcError(None, GRPC_NOT_FOUND)
    return []


def _delete_gem(backend: Backend, payload: Any) -> Any:
    """``UXcSJb``: delete a custom gem."""
    gem_id = dig(payload, 0)
    if not isinstance(gem_id, str) or not backend.store.delete_gem(gem_id):
        raise RpcError(None, GRPC_NOT_FOUND)
    return []


def _quota(backend: Backend, payload: Any) -> Any:
    """``qpEbW``: ``r[0]`` the usage buckets whose ``[group, action]`` key the payload asks for."""
    wanted = dig(payload, 0)
    if not isinstance(wanted, list):
        raise RpcError(None, GRPC_INVALID_ARGUMENT)
    keys = [key for key in wanted if isinstance(key, list)]
    return [[item for item in backend.quotas.items() if item[0] in keys]]


def _full_size_image(backend: Backend, payload: Any) -> Any:
    """``c8o8Fe``: ``r[0]`` is the URL of a generated image (append ``=d-I?alr=yes``)."""
    image_id = dig(payload, 0, 1, 0)
    record = backend.store.image_by_id(image_id) if isinstance(image_id, str) else None
    if record is None:
        raise RpcError(UNKNOWN_IMAGE, GRPC_NOT_FOUND)
    return [backend.base_url + image_path(record.key)]


RPCS: dict[str, Callable[[Backend, Any], Any]] = {
    "otAQ7b": _status,
    "ESY5D": _settings,
    "MaZiqc": _list_chats,
    "hNvQHb": _read_chat,
    "GzXR5e": _delete_chat,
    "qWymEb": _delete_chat,
    "CNgdBe": _list_gems,
    "oMH3Zd": _create_gem,
    "kHv0Vd": _update_gem,
    "UXcSJb": _delete_gem,
    "c8o8Fe": _full_size_image,
    "qpEbW": _quota,
    **STARTUP_RPCS,
}


# --- the endpoint ------------------------------------------------------------


def _call_error(call: RecordedCall, code: int | None, grpc: int) -> list[Any]:
    return error_envelope(code, grpc, rpcid=call.rpcid, identifier=call.identifier)


def _answer(backend: Backend, call: RecordedCall, guest: bool) -> list[Any]:
    rpc = RPCS.get(call.rpcid)
    if rpc is None or call.payload is None:
        return _call_error(call, None, GRPC_INVALID_ARGUMENT)
    if guest and call.rpcid in GUEST_DENIED:
        return _call_error(call, None, GRPC_PERMISSION_DENIED)
    if guest and call.rpcid == "otAQ7b":
        return batch_envelope(call.rpcid, guest_account(backend), call.identifier)
    try:
        return batch_envelope(call.rpcid, rpc(backend, call.payload), call.identifier)
    except RpcError as exc:
        return _call_error(call, exc.code, exc.grpc)


def handle_batch(ex: Reply) -> None:
    """``POST batchexecute``: validate like StreamGenerate, then answer every call."""
    if not check_access(ex):
        return
    try:
        calls = parse_batch_freq(ex.record.form)
    except FreqError as exc:
        ex.respond_text(400, str(exc))
        return
    listed = {part for part in ex.record.query.get("rpcids", "").split(",") if part}
    if listed != {call.rpcid for call in calls}:
        ex.respond_text(400, "the rpcids query parameter does not match the calls in f.req")
        return
    replay = ex.backend.replay
    if replay is not None and serve_batch(ex, replay, listed):
        return
    fault = ex.take_fault(early=False)
    if fault and fault.stall and ex.backend.stop.wait(fault.stall):
        raise Aborted("emulator stopping")
    if fault and fault.code is not None:
        frames = [[_call_error(call, fault.code, GRPC_INTERNAL)] for call in calls]
    elif fault and fault.grpc is not None:
        frames = [[_call_error(call, None, fault.grpc)] for call in calls]
    else:
        guest = not ex.logged_in()  # check_access let it through: a signed-out visitor
        frames = [[_answer(ex.backend, call, guest)] for call in calls]
    ex.respond_frames(frames)
