"""Reading a broken turn back from the history instead of sending it again (docs/protocol.md 8.3).

Once the conversation id has arrived, the service has the turn: a stream that
breaks after that point is finished by polling READ_CHAT for the turn (a
resend would make a second answer and splice it onto the first). The reader
decides when to try; this module does the bounded polling and words the
error when it finds nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._log import logger
from ..errors import GeminiError
from ..transport.wire import Call, bound

if TYPE_CHECKING:
    from ..protocol.payload import CandidateSnapshot

__all__ = ["RecoverFn", "ReadBackPace", "read_back", "after_read_back"]

#: ``recover(cid, rid)`` -> the turn's candidates and whether it is complete, or ``None`` (not there yet)
RecoverFn = Callable[[str, str], "tuple[list[CandidateSnapshot], bool] | None"]


@dataclass(frozen=True)
class ReadBackPace:
    """How long to look (seconds from now), how often, and how soon the first looks come.

    ``first``: the first looks come this soon, then doubling up to ``interval``
    (``None``: every ``interval`` from the start).
    """

    timeout: float
    interval: float
    first: float | None = None


def read_back(
    recover: RecoverFn,
    cid: str,
    rid: str,
    pace: ReadBackPace,
    call: Call,
    cancelled: threading.Event,
    error: GeminiError,
    *,
    check_cancel: Callable[[], None],
) -> list[CandidateSnapshot]:
    """The complete turn ``rid`` of ``cid`` from the history, or ``error`` saying where it looked.

    A failed look is logged and tried again; ``cancel()`` (``cancelled``) and
    the call's deadline reach every look (``bound(call)``).
    """
    started = time.monotonic()
    limit = started + pace.timeout
    looks = 0
    while True:
        found = None
        try:
            with bound(call):  # cancel() and the deadline reach the read-back too
                found = recover(cid, rid)
        except GeminiError as exc:
            logger.info("reading the turn back failed: %s", exc.__class__.__name__)
        if found is not None and found[1]:
            return found[0]
        left = limit - time.monotonic()
        pause = pace.interval
        if pace.first is not None:
            pause = min(pause, pace.first * 2**looks)
            looks += 1
        if left <= 0 or cancelled.wait(min(pause, left)):
            check_cancel()
            waited = time.monotonic() - started
            raise after_read_back(error, f"it did not finish there within {waited:.0f}s", cid)


def after_read_back(error: GeminiError, outcome: str, cid: str) -> GeminiError:
    """``error`` with a note that the turn was read back from the history, and what came of it.

    A user who set a short stall bound then knows why the error came later,
    and where the answer may still appear (the conversation id is no secret).
    """
    if error.args:
        error.args = (
            f"{error.args[0]}; the turn was read back from the history of {cid}: {outcome}",
            *error.args[1:],
        )
    return error
