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
from typing import TYPE_CHECKING

from .. import models as thinking
from ..models import Model, model_header_value
from ..protocol.payload import RawImage
from ..protocol.request import AppTokens
from ..protocol.rpcs import capacity
from ..types.account import CatalogEntry
from .answers import ImageSpec, ScriptBook
from .auth import AuthState, new_second_token, new_tokens, next_build
from .catalogue import AUGUST_2026, DEFAULT_SERVED, PAID_2026, PLAN_FLAGS
from .codes import ACCOUNT_AVAILABLE
from .faults import FaultBook
from .media import MediaDesk
from .quotas import QuotaBook
from .records import Journal
from .research import ResearchDesk
from .state import Store

if TYPE_CHECKING:
    from .replay import Replay

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
    shapes: str = "2026"
    second_token: str = field(default_factory=new_second_token)  # ``thykhd``, also accepted as ``at``
    app_page: str = "normal"  # "normal", "without_snlm0e", "sign_in_redirect"
    compress: bool = True  # gzip/deflate streams when the client asks (2026 shapes only)
    catalogue: list[CatalogEntry] = field(default_factory=lambda: list(AUGUST_2026))
    plan: str = "free"  # "free", "pro" or "plus": the tier flags otAQ7b reports
    research: ResearchDesk = field(default_factory=ResearchDesk)
    media: MediaDesk = field(default_factory=MediaDesk)
    queue_seconds: float = 0.0  # "queued" status frames before each answer, for this long
    quotas: QuotaBook = field(default_factory=QuotaBook)
    base_url: str = ""
    guests: bool = True  # serve signed-out visitors (no cookie at all), as the service does
    downgrade: bool = False  # serve every model request with the default model (a silent downgrade)
    clock_skew: float = 0.0  # seconds added to the Date header of every answer
    abuse: tuple[int, str] | None = None  # GPRiHf: (code, signal) when the account is flagged
    usage_used: float = 0.0  # jSf9Qc: the used fraction (0-1) of the 5-hour and weekly windows
    replay: Replay | None = None  # a capture answering StreamGenerate (and its RPCs) instead of the answerer
    quota_blocked: bool = False  # aPya6c: the extra-quota check says blocked
    last_mode: str | None = None  # L5adhe: the model id the web app last wrote
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

    @property
    def modern(self) -> bool:
        """True when speaking the 2026 shapes."""
        return self.shapes == "2026"

    def is_thinking(self, model_id: str | None, level: int | None = None) -> bool:
        """A model that thinks aloud: a thinking model of old, or a thinking level above standard."""
        model = self.models.get(model_id) if model_id else None
        return bool(model and model.thinking) or (level is not None and level >= 2)

    def offers(self, model_id: str | None, level: int | None) -> bool:
        """Whether thinking ``level`` may be asked of ``model_id`` (its catalogue entry's levels).

        No level, the default model (the service's choice) and a model whose
        entry lists no levels: yes; an unknown level number: no.
        """
        if level is None:
            return True
        name = thinking.decode(level)
        if name is None:
            return False
        entry = next((e for e in self.catalogue if e.model_id == model_id), None)
        return entry is None or entry.thinking_levels is None or name in entry.thinking_levels

    @property
    def tier(self) -> int:
        """The account's tier, as its plan's flags give it (1 free, 2 Pro, 4 Plus)."""
        tiers, caps = PLAN_FLAGS[self.plan]
        return capacity(tiers, caps)[0]

    def served_name(self, model_id: str | None, header_tier: int | None = None) -> str:
        """The display name ``E[42]`` of the model that serves a request for ``model_id``.

        A header with another tier than the account's silently gets the default
        model (2026 shapes), as the service serves a lesser model for a wrong tier.
        """
        if self.modern and model_id and header_tier is not None and header_tier != self.tier:
            return DEFAULT_SERVED
        for entry in self.catalogue:
            if entry.model_id == model_id and entry.version:
                return entry.version
        model = self.models.get(model_id) if model_id else None
        return model.model_name if model is not None else DEFAULT_SERVED

    def __post_init__(self) -> None:
        if self.modern:  # the catalogue's models are served too, under their display versions
            for entry in self.catalogue:
                header = model_header_value(entry.model_id, number=entry.number)
                self.models.setdefault(entry.model_id, Model.custom(entry.version or entry.name, header))
        else:
            self.catalogue = []

    def set_plan(self, plan: str) -> None:
        """Switch the account's plan: its tier flags, and the paid models in its catalogue."""
        self.plan = plan
        paid = {e.model_id for e in PAID_2026}
        self.catalogue[:] = [e for e in self.catalogue if e.model_id not in paid]
        if plan != "free" and self.modern:
            self.catalogue.extend(PAID_2026)

    def accepts(self, model_id: str) -> bool:
        """Whether StreamGenerate serves ``model_id``."""
        return model_id in self.models

    def deploy(self, *, tokens: bool = True) -> None:
        """A new release of the service: a new build label (and, with ``tokens``, new access tokens)."""
        old = self.tokens
        label = next_build(old.build_label)
        if tokens:
            self.tokens = new_tokens(old.language, build_label=label)
            self.second_token = new_second_token()
        else:
            self.tokens = AppTokens(old.access_token, label, old.session_id, old.language, old.push_id)

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
