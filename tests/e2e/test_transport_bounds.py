"""Bounds hold in every phase and framing: cancel()/close(), the stall watchdog and the deadline.

Each test runs the client against a hostile raw-socket server (tests/_hostile.py)
that stops at one phase: connecting (a listener whose backlog is full),
sending an upload (the body is never read), waiting for headers, reading a
chunked or a close-delimited body. The figures (latency, accuracy) are
measured by bench/transport_bounds.py; here generous bounds catch a hang.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from gemini_sync import GeminiClient, errors
from gemini_sync.streaming.stream import Stream
from tests._hostile import (
    HostileServer,
    Request,
    app_page,
    chunk,
    client_of,
    frames,
    read_body,
    respond,
    stalling,
    trickling,
    wait_for,
)


def _run(stream: Stream) -> tuple[list[BaseException], threading.Thread, list[float]]:
    errors_seen: list[BaseException] = []
    ended: list[float] = []

    def target() -> None:
        try:
            stream.collect()
        except BaseException as exc:
            errors_seen.append(exc)
        ended.append(time.monotonic())

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return errors_seen, thread, ended


@pytest.fixture
def full_listener() -> Iterator[str]:
    """A URL whose listener never accepts: its backlog is full, so connect() hangs."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for filler in fillers:
        filler.close()
    srv.close()


@pytest.mark.parametrize("action", ["cancel", "close"])
def test_cancel_while_connecting_ends_the_call_at_once(full_listener: str, action: str) -> None:
    client = GeminiClient(
        "psid-value", "ts-value", base_url=full_listener, auto_refresh=False, cookie_cache=False, timeout=30
    )
    stream = client.stream("hi")
    seen, thread, ended = _run(stream)
    assert wait_for(lambda: bool(stream._reader._call._conns))  # the socket exists, connect() is blocked
    start = time.monotonic()
    getattr(stream, action)()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(seen[0], errors.Cancelled)
    assert ended[0] - start < 1.0
    client.close()


@pytest.mark.parametrize("phase", ["upload", "headers", "chunked", "close-delimited"])
@pytest.mark.parametrize("action", ["cancel", "close"])
def test_cancel_in_every_phase_and_framing_ends_the_call_at_once(phase: str, action: str) -> None:
    reached = threading.Event()
    with HostileServer(stalling(phase, reached)) as server, client_of(server) as client:
        files = [("big.bin", b"\0" * (32 * 1024 * 1024))] if phase == "upload" else None
        stream = client.stream("hi", files=files)
        seen, thread, ended = _run(stream)
        assert reached.wait(5)
        start = time.monotonic()
        getattr(stream, action)()
        thread.join(5)
        assert not thread.is_alive()
        assert isinstance(seen[0], errors.Cancelled)
        assert seen[0].partial is not None
        assert ended[0] - start < 1.0


@pytest.mark.parametrize("phase", ["chunked", "close-delimited"])
def test_stall_timeout_holds_on_every_framing(phase: str) -> None:
    reached = threading.Event()
    with HostileServer(stalling(phase, reached)) as server, client_of(server, stall_timeout=0.5) as client:
        start = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="stalled") as info:
            client.generate_content("hi", recover=False)
        elapsed = time.monotonic() - start
    assert 0.5 <= elapsed < 2.0
    assert info.value.partial is not None and info.value.partial.text == "Hello"


@pytest.mark.parametrize("phase", ["headers", "chunked", "close-delimited"])
def test_deadline_holds_in_every_phase(phase: str) -> None:
    reached = threading.Event()
    with HostileServer(stalling(phase, reached)) as server, client_of(server) as client:
        start = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="deadline"):
            client.generate_content("hi", deadline=0.6, recover=False)
        elapsed = time.monotonic() - start
    assert 0.6 <= elapsed < 2.0


@pytest.mark.parametrize("where", ["page", "headers"])
def test_deadline_bounds_a_server_trickling_the_page_or_the_headers(where: str) -> None:
    with HostileServer(trickling(where)) as server, client_of(server) as client:
        start = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="deadline"):
            client.generate_content("hi", deadline=0.6, recover=False)
        assert time.monotonic() - start < 2.0


def test_a_pause_shorter_than_the_stall_bound_is_no_stall() -> None:
    """Pauses of 60% of the bound, inside and between frames: the clock, not a socket timeout, decides."""

    def handler(conn: socket.socket, request: Request) -> None:
        if request.path.startswith("/app"):
            respond(conn, "200 OK", app_page())
            return
        read_body(conn, request)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        prefix, *rest = frames(["Hello", "Hello, world", "Hello, world!"])
        conn.sendall(chunk(prefix))
        for piece in rest:
            half = len(piece) // 2
            conn.sendall(chunk(piece[:half]))
            time.sleep(0.25)  # the server's pace
            conn.sendall(chunk(piece[half:]))
        conn.sendall(b"0\r\n\r\n")

    with HostileServer(handler) as server, client_of(server, stall_timeout=0.4) as client:
        assert client.generate_content("hi").text == "Hello, world!"


def test_break_without_close_frees_the_socket_without_the_cycle_collector() -> None:
    hung_up = threading.Event()

    def handler(conn: socket.socket, request: Request) -> None:
        if request.path.startswith("/app"):
            respond(conn, "200 OK", app_page())
            return
        read_body(conn, request)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        pieces = frames(["a" * n for n in range(1, 2000)])
        try:
            for piece in pieces:
                conn.sendall(chunk(piece))
                time.sleep(0.01)  # the server's pace
        except OSError:
            hung_up.set()
            raise

    def consume(client: GeminiClient) -> str:
        for chunk_ in client.stream("hi"):
            return chunk_.delta_text  # leaves the loop: no with, no close()
        return ""

    with HostileServer(handler) as server, client_of(server) as client:
        gc.disable()
        try:
            consume(client)
            assert hung_up.wait(3), "the socket stayed open after the loop was left"
        finally:
            gc.enable()


def test_client_close_before_a_stream_starts_is_a_typed_error_with_partial() -> None:
    with HostileServer(stalling("headers", threading.Event())) as server:
        client = client_of(server)
        stream = client.stream("hi")
        client.close()
        with pytest.raises(errors.GeminiError) as info:
            stream.collect()
    assert isinstance(info.value, errors.Cancelled)
    assert info.value.partial is not None and info.value.partial.text == ""


def test_a_users_session_gets_the_abortable_adapter_unless_it_has_its_own() -> None:
    class OwnAdapter(HTTPAdapter):
        pass

    reached = threading.Event()
    with HostileServer(stalling("headers", reached)) as server:
        plain = requests.Session()
        with client_of(server, session=plain) as client:
            stream = client.stream("hi")
            seen, thread, ended = _run(stream)
            assert reached.wait(5)
            start = time.monotonic()
            stream.cancel()
            thread.join(5)
            assert isinstance(seen[0], errors.Cancelled) and ended[0] - start < 1.0
        custom = requests.Session()
        own = OwnAdapter()
        custom.mount("http://", own)
        with client_of(server, session=custom):
            assert custom.get_adapter(server.url + "/app") is own  # left alone (see session.py)
