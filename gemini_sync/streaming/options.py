"""How a stream reads (its retry policy, time bounds and recovery), and the state of one attempt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from .. import _constants as C
from ..errors import GeminiError
from ..protocol.delta import StreamAssembler
from ..protocol.framing import FrameDecoder
from ..transport.retry import RetryPolicy
from ..types.output import StreamChunk

if TYPE_CHECKING:
    from .recovery import RecoverFn

__all__ = ["StreamOptions", "Attempt"]


@dataclass
class StreamOptions:
    """How a stream reads: retry policy, stall and total time bounds, recovery.

    ``stall_timeout`` bounds the silence between frames, and
    ``busy_stall_timeout`` (if longer) the silence after a status frame that
    says the service is thinking or queued (docs/protocol.md 6.4); ``queue_timeout``
    bounds the time in which frames keep coming (queueing, "thinking" status)
    but none brings content, so a waiting state is not taken for progress forever.

    ``recover(cid, rid)`` reads turn ``rid`` of conversation ``cid`` back
    (raw candidates, finished?) or returns ``None`` if it is not there yet.
    """

    policy: RetryPolicy
    stall_timeout: float | None = C.DEFAULT_STALL_TIMEOUT
    deadline: float | None = None
    what: str = "StreamGenerate"
    recover: RecoverFn | None = None
    recover_timeout: float = C.RECOVER_TIMEOUT
    recover_interval: float = C.RECOVER_INTERVAL
    # when set, the first looks back come sooner: this, then doubling up to recover_interval
    recover_first: float | None = None
    queue_timeout: float | None = C.DEFAULT_QUEUE_TIMEOUT
    busy_stall_timeout: float | None = C.DEFAULT_BUSY_STALL_TIMEOUT
    on_error: Callable[[GeminiError], None] | None = None  # told of the error that ends the stream
    #: shown each chunk until it returns True; may raise (the served model's check, ``expect_model=``)
    watch: Callable[[StreamChunk], bool] | None = None

    def stall_bound(self, busy: bool) -> float | None:
        """The silence allowed now: the longer bound while the service reports it is busy."""
        if busy and self.stall_timeout is not None and self.busy_stall_timeout is not None:
            return max(self.stall_timeout, self.busy_stall_timeout)
        return self.stall_timeout


class Attempt:
    """State of one attempt: its response, decoder and assembler."""

    __slots__ = (
        "assembler",
        "decoder",
        "encoded",
        "error",
        "last_progress",
        "pending",
        "response",
        "waiting",
    )

    def __init__(self, saver: Any) -> None:
        self.response: requests.Response | None = None
        self.encoded = False  # the body has a Content-Encoding for urllib3 to decode
        self.decoder = FrameDecoder()
        self.assembler = StreamAssembler(saver)
        self.last_progress = time.monotonic()
        self.pending: list[StreamChunk] = []  # read while priming, handed out first
        self.error: GeminiError | None = None  # met after ``pending``: raised once they are handed out
        self.waiting = False  # a status was handed out before the first data payload: priming goes on
