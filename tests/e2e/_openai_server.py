"""Test support for the OpenAI app: serve a WSGI app on waitress over a real 127.0.0.1 socket."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from gemini_sync.openai.serve import make_server

_JOIN = 5.0


@contextlib.contextmanager
def served(app: Any, threads: int = 8) -> Iterator[str]:
    """``app`` served by waitress on an ephemeral port; yields its base URL (``http://127.0.0.1:N``)."""
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = make_server(app, sockets=[sock], threads=threads, poll=0.05)
    thread = threading.Thread(target=server.run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        thread.join(_JOIN)
