"""The state one emulator's request handlers share.

:class:`Backend` bundles the tokens, cookies, store, scripts, faults and the
journal, the tunables read at request time (``pace``, ``chunk_size``), the
known models, and the registry of open connections that
:meth:`~gemini_sync.emulator.Emulator.stop` closes. The public
:class:`~gemini_sync.emulator.Emulator` owns one and delegates to it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from ..models import Model
from ..protocol.payload import RawImage
from ..protocol.request import AppTokens
from .answers import ImageSpec, ScriptBook
from .auth import AuthState, new_tokens
from .codes import ACCOUNT_AVAILABLE
from .faults import FaultBook
from .records import Journal
from .state import Store

__all__ = ["Backend", "known_models", "image_path"]


def known_models() -> dict[str, Model]:
    """Model id -> model for every model of ``Model.known()`` that has an id (first wins)."""
    models: dict[str, Model] = {}
    for model in Model.known():
        model_id = model.model_id
        if model_id:
            models.setdefault(model_id, model)
    return models


def image_path(key: str) -> str:
    """The path an image with ``key`` is served at."""
    return f"/images/{key}.png"


@dataclass
class Backend:
    """Everything the handlers of one emulator share (see the module docstring)."""

    auth: AuthState
    pace: float = 0.02
    chunk_size: int | None = None
    tokens: AppTokens = field(default_factory=new_tokens)
    store: Store = field(default_factory=Store)
    scripts: ScriptBook = field(default_factory=ScriptBook)
    faults: FaultBook = field(default_factory=FaultBook)
    journal: Journal = field(default_factory=Journal)
    models: dict[str, Model] = field(default_factory=known_models)
    account_status: int = ACCOUNT_AVAILABLE
    base_url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    _conn_lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: dict[socket.socket, threading.Thread] = field(default_factory=dict)

    # --- connections ---

    def register(self, sock: socket.socket) -> None:
        with self._conn_lock:
            self._connections[sock] = threading.current_thread()
        if self.stop.is_set():
            _shutdown(sock)

    def unregister(self, sock: socket.socket) -> None:
        with self._conn_lock:
            self._connections.pop(sock, None)

    def close_connections(self, timeout: float) -> None:
        """Shut down every open connection and wait (bounded) for its thread."""
        with self._conn_lock:
            connections = list(self._connections.items())
        for sock, _ in connections:
            _shutdown(sock)
        for _, thread in connections:
            if thread is not threading.current_thread():
                thread.join(timeout)

    # --- models and images ---

    def is_thinking(self, model_id: str | None) -> bool:
        model = self.models.get(model_id) if model_id else None
        return bool(model and model.thinking)

    def materialize(self, spec: ImageSpec, kind: str) -> RawImage:
        """Turn an image spec into a :class:`RawImage`, serving it here when it has no URL."""
        if isinstance(spec, RawImage) and spec.url:
            return spec
        if isinstance(spec, RawImage):
            alt, image_id = spec.alt, spec.image_id
        else:
            alt, image_id = spec, None
        if kind == "generated" and not image_id:
            image_id = self.store.next_image_id()
        record = self.store.add_image(kind, alt, image_id if kind == "generated" else None)
        title = spec.title if isinstance(spec, RawImage) else ""
        return RawImage(self.base_url + image_path(record.key), title=title, alt=alt, image_id=image_id)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
