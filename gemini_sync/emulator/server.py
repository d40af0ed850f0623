"""The :class:`Emulator`: a local, faithful stand-in for the Gemini web service.

It is a real HTTP/1.1 server on 127.0.0.1 speaking docs/protocol.md: the app page
with its tokens, StreamGenerate with length-prefixed frames sent over time,
batchexecute, upload, cookie rotation and image bytes. It checks requests as
the service does, answers deterministically by default, lets tests script
answers and inject faults, and records everything it receives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import ClassVar

from .._constants import GENERATE_PATH
from .._log import logger
from ..models import Model
from ..protocol.request import AppTokens
from ..types import CatalogEntry
from .answers import ImageSpec, Script
from .auth import DEFAULT_PSID, DEFAULT_PSIDTS, AuthState
from .backend import Backend
from .catalogue import PLAN_FLAGS
from .citing import SourceSpec
from .faults import Fault, FaultRule, Matcher, check_matcher
from .handler import EmulatorServer
from .media import MediaDesk
from .quotas import Bucket
from .records import Disconnect, RecordedRequest
from .research import ResearchDesk
from .state import Conversation, Gem, Upload
from .turns import SHAPES

__all__ = ["Emulator"]

_POLL_INTERVAL = 0.05
_APP_PAGES = ("normal", "without_snlm0e", "sign_in_redirect")
_JOIN_TIMEOUT = 2.0


class Emulator:
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

    @property
    def pace(self) -> float:
        """Seconds between StreamGenerate frames."""
        return self._backend.pace

    @pace.setter
    def pace(self, value: float) -> None:
        if value < 0:
            raise ValueError("pace must not be negative")
        self._backend.pace = value

    @property
    def chunk_size(self) -> int | None:
        """Network chunk size of streamed bodies in bytes (``None`` = one write per frame)."""
        return self._backend.chunk_size

    @chunk_size.setter
    def chunk_size(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self._backend.chunk_size = value

    @property
    def queue_seconds(self) -> float:
        """Seconds every answer stays "queued" (status envelopes, no content) before it starts."""
        return self._backend.queue_seconds

    @queue_seconds.setter
    def queue_seconds(self, value: float) -> None:
        if value < 0:
            raise ValueError("queue_seconds must not be negative")
        self._backend.queue_seconds = value

    def set_quota(
        self, name: str, *, total: int | None = None, used: int | None = None, period: float | None = None
    ) -> Bucket:
        """Change usage bucket ``name`` (``"pro"``, ``"flash"``, ``"extended thinking"``); returns a copy.

        ``total`` answers per window of ``period`` seconds; giving ``used`` or
        ``period`` starts a new window now. A thinking model's answers count
        against "extended thinking", a Pro model's against "pro", others
        against "flash".
        """
        return self._backend.quotas.configure(name, total=total, used=used, period=period)

    @property
    def quota_clock(self) -> Callable[[], float]:
        """The clock (Unix seconds) the usage buckets refill by; replace it to test resets."""
        return self._backend.quotas.clock

    @quota_clock.setter
    def quota_clock(self, clock: Callable[[], float]) -> None:
        self._backend.quotas.clock = clock

    @property
    def account_status(self) -> int:
        """The account status ``otAQ7b`` reports (1000 = available; docs/protocol.md 6.1)."""
        return self._backend.account_status

    @account_status.setter
    def account_status(self, value: int) -> None:
        self._backend.account_status = value

    @property
    def research(self) -> ResearchDesk:
        """Deep Research's timing and failure modes (``plan_delay``, ``duration``, ``fail``...)."""
        return self._backend.research

    @property
    def media(self) -> MediaDesk:
        """The video and music tools' timing and failure modes (``render_time``, ``fail``...)."""
        return self._backend.media

    @property
    def models(self) -> dict[str, Model]:
        """Model id -> model of every model id StreamGenerate accepts (a live dict)."""
        return self._backend.models

    def retire_model(self, model: Model | str) -> None:
        """Stop accepting a model (by :class:`Model` or id): requests for it get error 1052."""
        model_id = model.model_id if isinstance(model, Model) else model
        if model_id:
            self._backend.models.pop(model_id, None)
            self._backend.catalogue[:] = [e for e in self._backend.catalogue if e.model_id != model_id]

    @property
    def shapes(self) -> str:
        """The wire shapes spoken: ``"2026"`` or ``"2025"``."""
        return self._backend.shapes

    @property
    def catalogue(self) -> list[CatalogEntry]:
        """The account's model catalogue ``otAQ7b`` lists (a live list; edit to change it)."""
        return self._backend.catalogue

    @property
    def plan(self) -> str:
        """The account's plan: ``"free"`` (default), ``"pro"`` or ``"plus"``.

        It sets the tier ``otAQ7b`` reports and adds the paid models to the
        catalogue; a request whose model header carries another tier is
        served the default model, as the service serves a lesser model then.
        """
        return self._backend.plan

    @plan.setter
    def plan(self, value: str) -> None:
        if value not in PLAN_FLAGS:
            raise ValueError(f"plan must be one of {', '.join(PLAN_FLAGS)}, not {value!r}")
        self._backend.set_plan(value)

    @property
    def app_page(self) -> str:
        """What ``GET /app`` serves: ``"normal"``, ``"without_snlm0e"`` or ``"sign_in_redirect"``."""
        return self._backend.app_page

    @app_page.setter
    def app_page(self, value: str) -> None:
        if value not in _APP_PAGES:
            raise ValueError(f"app_page must be one of {', '.join(_APP_PAGES)}, not {value!r}")
        self._backend.app_page = value

    @property
    def compress(self) -> bool:
        """Whether streams are gzip/deflate-compressed when the client asks (2026 shapes)."""
        return self._backend.compress

    @compress.setter
    def compress(self, value: bool) -> None:
        self._backend.compress = value

    def deploy(self, *, tokens: bool = True) -> None:
        """Simulate a release of the service: a new build label and new tokens on the app page.

        Requests with the old access token are then answered 400, with the old
        build label 405 (2026 shapes; 400 with the 2025 shapes), until the
        client reads the page again. ``tokens=False`` changes the build label only.
        """
        self._backend.deploy(tokens=tokens)

    # --- cookies and tokens ----------------------------------------------------

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies a client should send to be logged in (they change after :meth:`expire_cookies`)."""
        return self._backend.auth.cookies()

    @property
    def psid(self) -> str | None:
        """The required ``__Secure-1PSID`` value, or ``None`` when any non-empty value is accepted."""
        return self._backend.auth.psid

    @psid.setter
    def psid(self, value: str | None) -> None:
        self._backend.auth.psid = value

    @property
    def tokens(self) -> AppTokens:
        """The tokens on the app page (shared by every client of this emulator)."""
        return self._backend.tokens

    @property
    def access_token(self) -> str:
        """The ``SNlM0e`` access token every POST's ``at`` field must carry."""
        return self._backend.tokens.access_token

    @property
    def second_token(self) -> str:
        """The 2026 page's ``thykhd`` token, accepted as ``at`` too (2026 shapes)."""
        return self._backend.second_token

    def expire_cookies(self) -> None:
        """Log out every cookie value seen so far: the app page loses ``SNlM0e``, POSTs get 401.

        :attr:`cookies` then gives fresh values that are logged in.
        """
        self._backend.auth.expire()

    @property
    def rotations(self) -> int:
        """How many times RotateCookies issued a new ``__Secure-1PSIDTS``."""
        return self._backend.auth.rotations

    # --- answers and faults ----------------------------------------------------

    def script(
        self,
        match: Matcher,
        *,
        text: str,
        thoughts: str | None = None,
        web_images: Sequence[ImageSpec] | None = None,
        generated_images: Sequence[ImageSpec] | None = None,
        chunks: int | Sequence[str] | None = None,
        times: int | None = None,
        sources: Sequence[SourceSpec] | None = None,
    ) -> Script:
        """Answer prompts matching ``match`` with ``text`` (see :class:`Script`).

        ``match`` is a string the prompt starts with (``"Summarise"`` answers
        ``"Summarise: my text"``), a compiled regex searched in the prompt
        (``re.compile(r"^Summarise\\b")``) or a predicate on the prompt;
        anything else raises :class:`TypeError` here. Scripts are tried before
        the default answerer, newest first; a prompt that matches none while
        scripts exist gets the default answer and a warning (logged, and in
        its ``RecordedRequest.warnings``). Returns the script; its ``hits``
        counts the requests it answered. ``sources`` makes the
        answer cite (source N is ``sources[N-1]``; see :class:`Script`).
        """
        return self._backend.scripts.add(
            Script(match, text, thoughts, web_images, generated_images, chunks, times, sources=sources)
        )

    def clear_scripts(self) -> None:
        """Forget every script."""
        self._backend.scripts.clear()

    def add_fault(self, fault: Fault, *, times: int | None = 1, match: Matcher | None = None) -> FaultRule:
        """Inject ``fault`` into the next ``times`` requests (``None`` = all) to ``fault.path``.

        ``match`` narrows them, as in :meth:`script` (a prefix string, a
        compiled regex or a predicate) applied to the request's key: the prompt
        for StreamGenerate, the comma-joined rpc ids for batchexecute, the path
        otherwise. Rules apply oldest first, one per request.
        """
        if match is not None:
            match = check_matcher(match)
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        return self._backend.faults.add(FaultRule(fault, times, match))

    def fail_next(
        self,
        n: int = 1,
        *,
        match: Matcher | None = None,
        path: str = GENERATE_PATH,
        **fault: object,
    ) -> FaultRule:
        """Shorthand for ``add_fault(Fault(path=path, **fault), times=n, match=match)``.

        >>> emu.fail_next(code=1013)                                # doctest: +SKIP
        >>> emu.fail_next(2, status=429, headers={"Retry-After": "1"})  # doctest: +SKIP
        """
        return self.add_fault(Fault(path=path, **fault), times=n, match=match)  # type: ignore[arg-type]

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self._backend.faults.clear()

    @property
    def faults(self) -> list[FaultRule]:
        """The pending (not exhausted) fault rules, oldest first."""
        return self._backend.faults.rules()

    # --- observation -----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        return self._backend.journal.requests()

    @property
    def generate_requests(self) -> list[RecordedRequest]:
        """The StreamGenerate requests received so far."""
        return [r for r in self.requests if r.is_generate]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received for ``path``."""
        return [r for r in self.requests if r.path == path]

    def clear_requests(self) -> None:
        """Forget the recorded requests and disconnects."""
        self._backend.journal.clear()

    def wait_for_requests(self, count: int, timeout: float | None = 5.0) -> bool:
        """Wait until ``count`` requests have been received; False on timeout."""
        return self._backend.journal.wait_requests(count, timeout)

    @property
    def disconnects(self) -> list[Disconnect]:
        """Streams the client closed before their end, oldest first."""
        return self._backend.journal.disconnects()

    def wait_for_disconnect(self, timeout: float | None = 5.0, *, count: int = 1) -> bool:
        """Wait until ``count`` client disconnects have been seen; False on timeout.

        A client that closes a stream is noticed on the next write or during a
        pause between frames (within about ``pace`` seconds).
        """
        return self._backend.journal.wait_disconnects(count, timeout)

    # --- server-side state -----------------------------------------------------

    @property
    def conversations(self) -> list[Conversation]:
        """Copies of all conversations, most recently updated first."""
        return self._backend.store.conversations()

    def conversation(self, cid: str) -> Conversation | None:
        """A copy of conversation ``cid``, or ``None``."""
        return next((c for c in self.conversations if c.cid == cid), None)

    @property
    def uploads(self) -> dict[str, Upload]:
        """Uploaded files by identifier."""
        return self._backend.store.uploads()

    @property
    def gems(self) -> list[Gem]:
        """Copies of every gem, predefined ones first."""
        return self._backend.store.gems()

    def add_gem(self, name: str, *, description: str = "", prompt: str | None = None) -> Gem:
        """Create a custom gem directly (as the ``oMH3Zd`` RPC would)."""
        return self._backend.store.add_gem(name, description, prompt)
