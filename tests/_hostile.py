"""A hostile HTTP/1.1 server on raw sockets, for the transport's bounds and secrets tests.

Each connection is handed to ``handler(conn, request)`` on its own thread,
where ``request`` is the parsed head (the body is left unread when the
handler wants to stall the upload). Every request is recorded with its URL,
scheme and ``Cookie`` header. ``app_page`` and ``frames`` build the bytes a
handler sends: the app page, and a StreamGenerate answer as separate frames.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gemini_sync import GeminiClient, RetryPolicy
from gemini_sync.protocol.app import render_app_page
from gemini_sync.protocol.framing import XSSI_PREFIX, encode_frame
from gemini_sync.protocol.request import AppTokens
from gemini_sync.protocol.service import tail_frames
from tests._wire import answer_frames

TOKEN = "AJvLN6M-hostile-token:1713000000000"
PSID = "psid-hostile-secret"
PSIDTS = "psidts-hostile-secret"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    scheme: str = "http"

    @property
    def cookie(self) -> str:
        return self.headers.get("cookie", "")

    @property
    def length(self) -> int:
        return int(self.headers.get("content-length") or 0)


Handler = Callable[[socket.socket, Request], None]


@dataclass
class HostileServer:
    """Serves ``handler`` on 127.0.0.1; ``requests`` records every request seen."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)  # a handler saw the client hang up

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                request = read_head(conn)
                if request is None:
                    return
                self.requests.append(request)
                self.handler(conn, request)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_head(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        block = conn.recv(65536)
        if not block:
            return None
        data += block
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    request = Request(method, path, headers)
    request.headers["x-body-start"] = rest.decode("latin-1")
    return request


def read_body(conn: socket.socket, request: Request) -> bytes:
    """The rest of the request body (after what came with the head)."""
    body = request.headers["x-body-start"].encode("latin-1")
    while len(body) < request.length:
        block = conn.recv(65536)
        if not block:
            break
        body += block
    return body


def app_page() -> bytes:
    return render_app_page(AppTokens(TOKEN, "boq_hostile", "-1")).encode()


def respond(conn: socket.socket, status: str, body: bytes, headers: str = "") -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    conn.sendall(head.encode() + body)


def frames(snapshots: list[str]) -> list[bytes]:
    """A StreamGenerate answer as separate pieces: the prefix, then one frame each."""
    out = [(XSSI_PREFIX + "\n\n").encode()]
    out.extend(encode_frame(f).encode() for f in [*answer_frames(snapshots), *tail_frames(0)])
    return out


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def wait_closed(conn: socket.socket, timeout: float) -> bool:
    """Whether the client hung up on ``conn`` within ``timeout`` (EOF or reset)."""
    conn.settimeout(timeout)
    try:
        while conn.recv(65536):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def client_of(server: HostileServer, **overrides: Any) -> GeminiClient:
    options: dict[str, Any] = {
        "cookies": {"__Secure-1PSID": PSID, "__Secure-1PSIDTS": PSIDTS},
        "base_url": server.url,
        "auto_refresh": False,
        "cookie_cache": False,
        "timeout": 10,
        "stall_timeout": 10,
        "retry": RetryPolicy(0),
    }
    options.update(overrides)
    return GeminiClient(**options)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` (every 5 ms) until it holds or ``timeout`` passes: a bounded wait on a state."""
    ends = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= ends:
            return False
        time.sleep(0.005)
    return True


HOLD = 10.0  # how long a stalling handler holds its connection (the tests end far sooner)


def stalling(phase: str, reached: threading.Event) -> Any:
    """A handler that serves the app page, then stops StreamGenerate at ``phase``."""

    def handler(conn: socket.socket, request: Request) -> None:
        if request.path.startswith("/app"):
            respond(conn, "200 OK", app_page(), "Content-Type: text/html\r\n")
            return
        if request.path.startswith("/upload"):
            reached.set()  # the body is never read: the client blocks sending it
            wait_closed(conn, HOLD)
            return
        read_body(conn, request)
        if phase == "headers":
            reached.set()
        elif phase == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            conn.sendall(b"".join(chunk(piece) for piece in frames(["Hello", "Hello, world"])[:3]))
            reached.set()
        else:  # close-delimited: no length, no chunking, the end is the connection's end
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                + b"".join(frames(["Hello", "Hello, world"])[:3])
            )
            reached.set()
        wait_closed(conn, HOLD)
        raise OSError("done")  # end this connection

    return handler


def trickling(where: str) -> Any:
    """A handler that sends the app page's or StreamGenerate's headers one byte every 20 ms."""

    def handler(conn: socket.socket, request: Request) -> None:
        if request.path.startswith("/app") and where == "page":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        elif request.path.startswith("/app"):
            respond(conn, "200 OK", app_page())
            return
        else:
            read_body(conn, request)
        for byte in iter(lambda: b"x" if where == "page" else b"H", b""):
            conn.sendall(byte)
            time.sleep(0.02)  # the hostile server's pace, not a synchronisation

    return handler
