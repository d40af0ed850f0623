"""What a desk (the code answering one endpoint) may do with a request: the small :class:`Reply` protocol.

The desks (``generate``, ``batch``, ``media``, ``research``) read the request
record and the shared backend and answer through these few methods; they
never see the HTTP handler. :class:`~.exchange.Exchange` implements it over a
real socket; a test or a replay may implement it otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .backend import Backend
    from .faults import Fault
    from .records import RecordedRequest
    from .wire import BodyWriter

__all__ = ["Reply"]


class Reply(Protocol):
    """One request to answer: its record, the emulator's state, and the ways to answer it."""

    backend: Backend
    record: RecordedRequest

    @property
    def guest(self) -> bool: ...

    def logged_in(self) -> bool: ...

    def take_fault(self, *, early: bool) -> Fault | None: ...

    def respond(
        self,
        status: int,
        body: bytes | str = ...,
        *,
        content_type: str = ...,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = ...,
        close: bool = ...,
    ) -> None: ...

    def respond_text(self, status: int, message: str) -> None: ...

    def respond_frames(self, frames: list[Any]) -> None: ...

    def respond_fault(self, fault: Fault) -> None: ...

    def stream_body(self, write: Callable[[BodyWriter], None], *, cut_after: int | None = ...) -> None: ...

    def stream_raw(self, write: Callable[[BodyWriter], None], *, content_type: str = ...) -> None: ...
