"""One request/response pair, as the route functions see it.

:class:`Exchange` wraps the ``http.server`` handler: it knows the parsed,
recorded request, answers with a ``Content-Length`` body or starts a chunked
stream (:class:`~gemini_sync.emulator.wire.BodyWriter`), takes injected
faults, and records the status it answered with. Route functions receive an
:class:`Exchange` and never touch the handler directly.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from .._constants import PSID
from .._log import logger
from ..protocol.service import rejection_envelope
from .backend import Backend
from .faults import Fault
from .records import Disconnect, RecordedRequest
from .wire import BODY_PREFIX, Aborted, BodyWriter, ClientGone, choose_encoding, framed_body

__all__ = ["Exchange", "html_page", "UNUSUAL_TRAFFIC_PAGE", "default_fault_body"]

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


def html_page(title: str, message: str) -> str:
    """A small HTML page, like the service's error pages."""
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>"
    )


UNUSUAL_TRAFFIC_PAGE = html_page(
    "Sorry...",
    "We're sorry... but your computer or network may be sending automated queries. To protect our "
    "users, we can't process your request right now. (Our systems have detected unusual traffic.)",
)


def default_fault_body(status: int) -> str:
    """The body of an injected ``status`` fault that gives none."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return UNUSUAL_TRAFFIC_PAGE
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return html_page(f"Error {status} ({phrase})", "That's an error. That's all we know.")


class Exchange:
    """The request being handled and the ways to answer it."""

    def __init__(self, handler: BaseHTTPRequestHandler, backend: Backend, record: RecordedRequest) -> None:
        self._handler = handler
        self.backend = backend
        self.record = record
        self._logged_in: bool | None = None

    # --- helpers about the request ---

    def logged_in(self) -> bool:
        """True if the request's cookies are logged in (checked once per request)."""
        if self._logged_in is None:
            self._logged_in = self.backend.auth.check(self.record.cookies)
        return self._logged_in

    @property
    def guest(self) -> bool:
        """A signed-out visitor: no ``__Secure-1PSID`` at all, while the emulator serves guests."""
        return self.backend.guests and not self.record.cookies.get(PSID)

    def take_fault(self, *, early: bool) -> Fault | None:
        """The injected fault for this request, if any (recorded on the request)."""
        fault = self.backend.faults.take(self.record.path, self.record.key, early=early)
        if fault is not None:
            self.record.fault = fault
            logger.debug("emulator: injecting %s on %s", fault.describe(), self.record.path)
        return fault

    # --- answering ---

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        content_type: str = TEXT_TYPE,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        close: bool = False,
    ) -> None:
        """Answer with a complete body (``Content-Length``); ``headers`` as a mapping or pairs (repeats)."""
        raw = body.encode() if isinstance(body, str) else body
        handler = self._handler
        self.record.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(raw)))
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        for name, value in pairs:
            if name.lower() not in ("content-length", "transfer-encoding"):
                handler.send_header(name, value)
        if close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(raw)
            handler.wfile.flush()

    def respond_text(self, status: int, message: str) -> None:
        """Answer with a short HTML error page (what the service sends on 4xx/5xx)."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        self.respond(status, html_page(f"Error {status} ({phrase})", message), content_type=HTML_TYPE)

    def respond_frames(self, frames: list[Any]) -> None:
        """Answer 200 with ``)]}'``, ``frames`` and the tail frames, all at once."""
        self.respond(200, framed_body(frames), content_type=JSON_TYPE)

    def respond_fault(self, fault: Fault) -> None:
        """Answer with a fault that replaces the response (``status``, ``html`` or ``reject``)."""
        if fault.reject is not None:
            rejected = framed_body([[rejection_envelope(HTTPStatus.BAD_REQUEST, fault.reject)]])
            self.respond(HTTPStatus.BAD_REQUEST, rejected, content_type=JSON_TYPE)
        elif fault.status is not None:
            body = fault.body if fault.body is not None else default_fault_body(fault.status)
            headers = dict(fault.headers or {})
            content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None) or HTML_TYPE
            self.respond(fault.status, body, content_type=content_type, headers=headers)
        else:
            page = fault.body if fault.body is not None else UNUSUAL_TRAFFIC_PAGE
            self.respond(200, page, content_type=HTML_TYPE, headers=fault.headers)

    def stream_body(self, write: Callable[[BodyWriter], None], *, cut_after: int | None = None) -> None:
        """Answer with a streamed body: ``)]}'``, what ``write(writer)`` writes, then the tail frames.

        ``write`` may return early (the tail frames still follow). A client that
        leaves is recorded as a disconnect; an injected cut (``cut_after`` body
        bytes) or the emulator stopping closes the connection.
        """
        writer = self.start_stream(cut_after=cut_after)
        try:
            writer.write(BODY_PREFIX)
            write(writer)
            writer.tail()
            writer.end()
        except ClientGone:
            self.client_gone(writer)
        except Aborted:
            self.close()

    def stream_raw(self, write: Callable[[BodyWriter], None], *, content_type: str = JSON_TYPE) -> None:
        """Answer with a streamed body that ``write(writer)`` writes whole (a replayed capture's)."""
        writer = self.start_stream(content_type=content_type)
        try:
            write(writer)
            writer.end()
        except ClientGone:
            self.client_gone(writer)
        except Aborted:
            self.close()

    def start_stream(self, *, cut_after: int | None = None, content_type: str = JSON_TYPE) -> BodyWriter:
        """Send 200 headers for a chunked body and return its writer.

        With the 2026 shapes the body is compressed when the request's
        ``Accept-Encoding`` allows gzip or deflate (and ``backend.compress`` is on).
        """
        handler = self._handler
        backend = self.backend
        encoding = None
        if backend.modern and backend.compress:
            encoding = choose_encoding(self.record.headers.get("Accept-Encoding"))
        self.record.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        handler.send_header("X-Content-Type-Options", "nosniff")
        handler.end_headers()
        return BodyWriter(
            handler.connection,
            handler.wfile,
            stop=self.backend.stop,
            chunk_size=self.backend.chunk_size,
            cut_after=cut_after,
            on_cut=self.close,
            encoding=encoding,
        )

    def close(self) -> None:
        """Close the connection once this exchange is over."""
        self._handler.close_connection = True

    def client_gone(self, writer: BodyWriter) -> None:
        """Record that the client closed the stream early, and close our side."""
        self.close()
        if not self.backend.stop.is_set():
            record, sent = self.record, writer.bytes_sent
            logger.debug("emulator: client closed %s after %d body bytes", record.path, sent)
            self.backend.journal.add_disconnect(Disconnect(record.path, record.prompt, sent))
