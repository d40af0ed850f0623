"""The :class:`Emulator`: a local, faithful stand-in for the Gemini web service.

It is a real HTTP/1.1 server on 127.0.0.1 speaking docs/protocol.md: the app page
with its tokens, StreamGenerate with length-prefixed frames sent over time,
batchexecute, upload, cookie rotation and image bytes. It checks requests as
the service does, answers deterministically by default, lets tests script
answers and inject faults, and records everything it receives.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import ClassVar

from .._log import logger
from .account_controls import AccountControls
from .auth import DEFAULT_PSID, DEFAULT_PSIDTS, AuthState
from .backend import Backend
from .controls import EmulatorControls
from .handler import EmulatorServer
from .turns import SHAPES

__all__ = ["Emulator"]

_POLL_INTERVAL = 0.05
_APP_PAGES = ("normal", "without_snlm0e", "sign_in_redirect")
_JOIN_TIMEOUT = 2.0


class Emulator(EmulatorControls, AccountControls):
    """A local emulator of the Gemini web app's private API.

    >>> with Emulator() as emu:                                   # doctest: +SKIP
    ...     client = GeminiClient(cookies=emu.cookies, base_url=emu.url)
    ...     emu.script("What is 2+2?", text="**4**")              # a scripted answer
    ...     emu.fail_next(code=1013)                              # the next turn fails in-band
    ...     emu.fail_next(status=429, headers={"Retry-After": "1"})
    ...     ...                                                   # exercise the app
    ...     assert emu.generate_requests[-1].prompt == "What is 2+2?"

    Without a script the answer is deterministic: an echo of the prompt with
    markdown, a code block, CJK text and an emoji outside the BMP, cut into
    6-12 cumulative snapshots (thinking models also send thoughts; prompts
    asking to draw/generate an image, or for a "picture of" something, get
    images served by the emulator).

    Connections are kept alive: every answer has a ``Content-Length`` or a
    terminated chunked body; a connection is closed only when a fault cuts it,
    the client leaves, or the emulator stops.

    ``pace`` is the pause between StreamGenerate frames in seconds (a short
    answer takes a few hundred milliseconds by default); ``chunk_size``, if
    set, cuts every frame into network chunks of that many bytes, each
    flushed on its own, so clients meet splits inside frames and inside UTF-8
    characters. ``queue_seconds`` keeps every answer "queued" (status
    envelopes without content) for that long before it starts. All three can
    be changed while the emulator runs.

    Thinking answers send a ``"7"`` status frame with a headline before each
    thought. Answers are charged to usage buckets (:meth:`set_quota`,
    reported by ``qpEbW``); an exhausted bucket gets error 1037.

    ``shapes`` picks the wire shapes: ``"2026"`` (the default) speaks the
    service as captured in August 2026 (sparse frames, the served model's
    name, the ``"26"`` context-token frame, ``"7"`` thinking headlines, the
    2026 app page, compressed streams when asked, 405 for a stale build
    label); ``"2025"`` keeps the older shapes.

    Cookies: ``__Secure-1PSID`` is required. Without ``psid`` any non-empty
    value is accepted; with it the value must match. ``__Secure-1PSIDTS`` is
    checked only if ``psidts`` is given (then the current value or the one
    before the last rotation is accepted). :attr:`cookies` always gives
    cookies that are logged in.
    """

    #: the ``__Secure-1PSID`` value :attr:`cookies` gives by default
    PSID: ClassVar[str] = DEFAULT_PSID
    #: the ``__Secure-1PSIDTS`` value :attr:`cookies` gives before any rotation
    PSIDTS: ClassVar[str] = DEFAULT_PSIDTS

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        pace: float = 0.02,
        chunk_size: int | None = None,
        psid: str | None = None,
        psidts: str | None = None,
        shapes: str = "2026",
        queue_seconds: float = 0.0,
    ) -> None:
        if pace < 0:
            raise ValueError("pace must not be negative")
        if shapes not in SHAPES:
            raise ValueError(f"shapes must be one of {', '.join(SHAPES)}, not {shapes!r}")
        if queue_seconds < 0:
            raise ValueError("queue_seconds must not be negative")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.host = host
        self._requested_port = port
        self._backend = Backend(
            AuthState(psid, psidts),
            pace=pace,
            chunk_size=chunk_size,
            shapes=shapes,
            queue_seconds=queue_seconds,
        )
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; returns ``self``."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("the emulator is already running")
            if self._backend.stop.is_set():
                raise RuntimeError("a stopped emulator cannot be restarted; create a new one")
            server = EmulatorServer((self.host, self._requested_port), self._backend)
            self._server = server
            url_host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
            self._backend.base_url = f"http://{url_host}:{server.server_port}"
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"gemini-emulator-{server.server_port}",
                daemon=True,
            )
            self._thread.start()
        logger.debug("emulator: serving at %s", self._backend.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection, stalled streams included. Idempotent."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._backend.stop.set()
            if server is None:
                return
            server.shutdown()
            server.server_close()
            self._backend.close_connections(_JOIN_TIMEOUT)
            if thread is not None:
                thread.join(_JOIN_TIMEOUT)
            self._server = self._thread = None
        logger.debug("emulator: stopped")

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``"http://127.0.0.1:54321"`` (after :meth:`start`)."""
        if not self._backend.base_url:
            raise RuntimeError("the emulator is not started; call start() or use it as a context manager")
        return self._backend.base_url

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return int(self.url.rsplit(":", 1)[1])

    def __repr__(self) -> str:
        where = self._backend.base_url or "not started"
        return f"Emulator({where}, pace={self.pace}, chunk_size={self.chunk_size})"

    # --- tunables --------------------------------------------------------------
