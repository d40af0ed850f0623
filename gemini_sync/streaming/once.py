"""Sending one StreamGenerate turn exactly once and reading its whole body, raw.

Used for the turns that start work on the service (a Deep Research plan or
confirmation): they are never retried, because a second request would start
a second job. Only an authentication refusal is sent again (the service did
not act on it). The reply is read to the end without requiring a completed
candidate: a confirmation's stream ends with the candidate still "running".
The last raw candidate is kept so callers can read fields the stream
assembler does not know (the research plan, state and document).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from .. import _constants as C
from .._log import logger
from ..errors import error_for_code
from ..models import Model
from ..protocol.framing import FrameDecoder
from ..protocol.jspb import dig
from ..protocol.payload import parse_payload
from ..protocol.request import AppTokens, PreparedRequest, generate_request, new_metadata
from ..transport.errors import translate_exception

if TYPE_CHECKING:
    from .._config import Timeout
    from ..transport.api import Api

__all__ = ["TurnReply", "send_turn_once"]


@dataclass
class TurnReply:
    """What one turn's body said: the chat metadata and the last raw candidate."""

    metadata: list[Any] = field(default_factory=new_metadata)
    cand: list[Any] | None = None

    @property
    def cid(self) -> str:
        return str(self.metadata[0] or "")

    @property
    def text(self) -> str:
        value = dig(self.cand, 1, 0)
        return value if isinstance(value, str) else ""


def _absorb(reply: TurnReply, frame: Any) -> None:
    """Take ids, the context token, candidates and error codes from one frame."""
    for env in frame if type(frame) is list else ():
        if type(env) is not list or dig(env, 0) != "wrb.fr":
            continue
        inner = dig(env, 2)
        if type(inner) is str:
            data = json.loads(inner)
            payload = parse_payload(data)
            meta = reply.metadata
            meta[0] = payload.cid or meta[0]
            meta[1] = payload.rid or meta[1]
            meta[9] = payload.context_token or meta[9]
            cand = dig(data, 4, 0)
            if type(cand) is list and isinstance(dig(cand, 0), str):
                reply.cand = cand
                meta[2] = cand[0]
        else:
            code = dig(env, 5, 2, 0, 1, 0)
            if type(code) is int:
                raise error_for_code(code)


def send_turn_once(
    api: Api,
    prompt: str,
    *,
    timeout: Timeout,
    model: Model,
    metadata: list[Any] | None,
    slots: Mapping[int, Any],
) -> TurnReply:
    """POST the turn once and read its body to the end; see the module docstring.

    Raises the typed error of an HTTP status, an in-band error code, or a
    broken connection (:class:`~gemini_sync.errors.StreamInterrupted` /
    :class:`~gemini_sync.errors.TimeoutError`); never sends the turn again.
    """
    transport = api.transport

    def build(tokens: AppTokens) -> PreparedRequest:
        return generate_request(
            prompt, tokens, transport.next_reqid(), model=model, metadata=metadata, slots=slots
        )

    response = api.post(build, "StreamGenerate", stream=True, timeout=timeout)
    reply = TurnReply()
    decoder = FrameDecoder()
    try:
        for data in response.iter_content(C.READ_CHUNK_SIZE):
            for frame in decoder.feed(data):
                _absorb(reply, frame)
        for frame in decoder.close():
            _absorb(reply, frame)
    except requests.RequestException as exc:
        raise translate_exception(exc, "StreamGenerate") from exc
    finally:
        response.close()
    logger.debug("turn sent once: cid %s, candidate %s", bool(reply.cid), reply.cand is not None)
    return reply
