"""The HTTP/1.1 server: reading requests, recording them, routing them.

:class:`EmulatorServer` is a ``ThreadingHTTPServer`` (one daemon thread per
connection) that skips the reverse-DNS lookup ``HTTPServer`` does at bind
time. :class:`EmulatorHandler` reads each request (``Content-Length`` or
chunked body), records it in the journal, applies response-replacing faults,
and hands an :class:`~.exchange.Exchange` to the route. Every response has a
``Content-Length`` or a chunked body, so connections are kept alive unless
a fault or a client disconnect ends them.
"""

from __future__ import annotations

import socketserver
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._constants import (
    APP_PATH,
    BATCH_EXEC_PATH,
    GENERATE_PATH,
    HOME_PATH,
    ROTATE_COOKIES_PATH,
    UPLOAD_PATH,
)
from .._log import logger
from .backend import Backend
from .batch import handle_batch
from .exchange import Exchange
from .generate import handle_generate
from .media import MEDIA_PREFIX, handle_media
from .records import (
    FreqError,
    Headers,
    RecordedRequest,
    parse_batch_freq,
    parse_cookies,
    parse_form,
    parse_generate_freq,
)
from .routes import (
    IMAGE_PREFIX,
    SIGN_IN_PATH,
    handle_app,
    handle_home,
    handle_image,
    handle_rotate,
    handle_sign_in,
    handle_upload,
)
from .wire import Aborted, ClientGone

__all__ = ["EmulatorServer", "EmulatorHandler", "MAX_REQUEST_BODY"]

#: larger request bodies are refused with 413
MAX_REQUEST_BODY = 64 * 1024 * 1024
_MAX_CHUNK_LINE = 1024

Route = Callable[[Exchange], None]
_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", HOME_PATH): handle_home,
    ("GET", APP_PATH): handle_app,
    ("GET", SIGN_IN_PATH): handle_sign_in,
    ("POST", GENERATE_PATH): handle_generate,
    ("POST", BATCH_EXEC_PATH): handle_batch,
    ("POST", UPLOAD_PATH): handle_upload,
    ("POST", ROTATE_COOKIES_PATH): handle_rotate,
}
_STREAM_PATHS = (GENERATE_PATH, BATCH_EXEC_PATH)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _find_route(method: str, path: str) -> tuple[Route | None, bool]:
    """The route for ``method`` and ``path``, and whether the path exists at all."""
    if path.startswith(APP_PATH + "/"):
        path = APP_PATH  # /app/<cid> serves the same page
    if path.startswith(IMAGE_PREFIX):
        return (handle_image if method == "GET" else None), True
    if path.startswith(MEDIA_PREFIX):
        return (handle_media if method == "GET" else None), True
    route = _ROUTES.get((method, path))
    if route is not None:
        return route, True
    return None, any(known == path for _, known in _ROUTES)


class EmulatorServer(ThreadingHTTPServer):
    """The listening server of one emulator; ``backend`` is shared by its handlers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        super().__init__(address, EmulatorHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a (possibly slow) reverse lookup of the host
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # a client that went away, a reset: routine
            logger.debug("emulator: connection from %s ended: %r", client_address, error)
        else:
            logger.error("emulator: error while handling a request from %s", client_address, exc_info=True)


class EmulatorHandler(BaseHTTPRequestHandler):
    """Reads, records and routes one connection's requests."""

    protocol_version = "HTTP/1.1"
    server_version = "GeminiSyncEmulator/1.0"
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: EmulatorServer

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, off by the emulator's ``clock_skew`` (to test clock checks)."""
        now = time.time() if timestamp is None else timestamp
        return super().date_time_string(now + self.server.backend.clock_skew)

    def setup(self) -> None:
        super().setup()
        self.server.backend.register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.backend.unregister(self.connection)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        logger.debug("emulator: %s - %s", self.address_string(), format % args)

    # --- request reading ---

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw_length.isdigit():
            raise _BodyError(400, "bad Content-Length")
        length = int(raw_length)
        if length > MAX_REQUEST_BODY:
            raise _BodyError(413, "request body too large")
        data = self.rfile.read(length)
        if len(data) < length:
            raise _BodyError(400, "request body ended early")
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, "bad chunk size line") from None
            if size == 0:
                while self.rfile.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_REQUEST_BODY:
                raise _BodyError(413, "request body too large")
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(_MAX_CHUNK_LINE).strip():
                raise _BodyError(400, "bad chunk")
            parts.append(data)

    def _record(self, path: str, body: bytes) -> RecordedRequest:
        parsed = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        query = {name: values[0] for name, values in parsed.items()}
        headers = Headers(self.headers.items())
        record = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            headers=headers,
            cookies=parse_cookies(headers.get_all("Cookie")),
            form=parse_form(body, headers.get("Content-Type", "")),
            body=body,
        )
        try:
            if path == GENERATE_PATH:
                record.inner = parse_generate_freq(record.form)
            elif path == BATCH_EXEC_PATH:
                record.calls = parse_batch_freq(record.form)
        except FreqError:
            pass
        return record

    # --- dispatch ---

    def _dispatch(self) -> None:
        backend = self.server.backend
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self.send_error(exc.status, str(exc))
            return
        record = self._record(path, body)
        backend.journal.add(record)
        ex = Exchange(self, backend, record)
        try:
            self._route(ex, path)
        except ClientGone:
            ex.close()
        except Aborted:
            ex.close()
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            ex.close()
        except Exception:  # noqa: BLE001 - logged with its traceback, answered with a 500
            # a bug in the emulator: say so in the log and, if still possible, with a 500
            logger.exception("emulator: internal error while answering %s %s", self.command, path)
            ex.close()
            if record.status is None:
                ex.respond_text(500, "internal error in the gemini_sync emulator")

    def _route(self, ex: Exchange, path: str) -> None:
        route, exists = _find_route(self.command, path)
        if route is None:
            if exists:
                ex.respond_text(405, f"{self.command} is not allowed here")
            else:
                ex.respond_text(404, "The requested URL was not found on this server.")
            return
        fault = ex.take_fault(early=True)
        if fault is not None:
            ex.respond_fault(fault)
            return
        if path not in _STREAM_PATHS:
            fault = ex.take_fault(early=False)
            if fault is not None and fault.stall and ex.backend.stop.wait(fault.stall):
                raise Aborted("emulator stopping")
        route(ex)
