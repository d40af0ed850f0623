"""batchexecute calls: send RPCs, decode the framed answer, raise typed errors.

Read-only RPCs are retried on transient failures like any request before
content; RPCs that change state (create a gem, delete a chat) are not
retried, since the first attempt may have taken effect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import requests

from .._constants import MAX_RPC_BYTES
from ..errors import APIError, AuthError, ProtocolError, error_for_code
from ..protocol.app import COOKIES_EXPIRED
from ..protocol.framing import FrameDecoder
from ..protocol.payload import BatchResult, parse_batch_frames
from ..protocol.request import AppTokens, BatchCall, PreparedRequest, batch_request
from .retry import RetryPolicy, call_with_retries
from .session import Transport, read_body

__all__ = ["batch_execute"]

_NOT_PERMITTED = 7  # batchexecute status: not permitted, usually expired cookies (docs/protocol.md 6.2)

PostFn = Callable[[Callable[[AppTokens], PreparedRequest], str], requests.Response]


def _decode(body: bytes, what: str) -> list[BatchResult]:
    decoder = FrameDecoder()
    frames = decoder.feed(body) + decoder.close()
    results = parse_batch_frames(frames)
    if not results:
        raise ProtocolError(f"{what}: the answer held no result")
    return results


def batch_execute(
    transport: Transport,
    post: PostFn,
    calls: Sequence[BatchCall],
    *,
    policy: RetryPolicy | None = None,
    idempotent: bool = True,
) -> list[Any]:
    """Run ``calls`` in one request; their decoded results, in call order.

    ``post`` sends a prepared request (the client's auth-refreshing POST).
    A call answered with an error code raises the typed error of that code.
    """
    what = "batchexecute " + ",".join(call.rpcid for call in calls)

    def once() -> list[Any]:
        response = post(lambda tokens: batch_request(calls, tokens, transport.next_reqid()), what)
        try:
            results = _decode(read_body(response, MAX_RPC_BYTES, what), what)
        finally:
            response.close()
        by_key = {(r.rpcid, r.identifier): r for r in results}
        out: list[Any] = []
        for call in calls:
            result = by_key.get((call.rpcid, call.identifier)) or next(
                (r for r in results if r.rpcid == call.rpcid), None
            )
            if result is None:
                raise ProtocolError(f"{what}: no result for {call.rpcid}")
            if result.code is not None:
                raise error_for_code(result.code)
            if result.grpc_status == _NOT_PERMITTED:
                message = f"{what}: {call.rpcid} was not permitted (status 7): {COOKIES_EXPIRED}"
                raise AuthError(message, code=_NOT_PERMITTED)
            if result.failed:
                raise APIError(f"{what}: {call.rpcid} was refused (status {result.grpc_status})")
            out.append(result.data)  # None for RPCs whose answer is empty (deletes)
        return out

    if policy is None or not idempotent:
        return once()
    return call_with_retries(policy, what, once)
