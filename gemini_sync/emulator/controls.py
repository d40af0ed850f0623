"""The test-facing controls of the :class:`~.server.Emulator`: pace, scripts, faults, accounts, records.

Kept apart from the server's lifecycle (:mod:`.server`); every control reads or
changes the shared :class:`~.backend.Backend`, which the request handlers read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .._constants import GENERATE_PATH
from ..capture.file import Capture
from ..models import Model
from ..protocol.request import AppTokens
from ..types.account import CatalogEntry
from .answers import ImageSpec, Script
from .backend import Backend
from .catalogue import PLAN_FLAGS
from .citing import SourceSpec
from .faults import Fault, FaultRule, Matcher, check_matcher
from .media import MediaDesk
from .quotas import Bucket
from .records import Disconnect, RecordedRequest
from .replay import load_replay
from .research import ResearchDesk
from .state import Conversation, Gem, Upload

__all__ = ["EmulatorControls"]

_POLL_INTERVAL = 0.05
_APP_PAGES = ("normal", "without_snlm0e", "sign_in_redirect")


class EmulatorControls:
    """Scripts, faults, quotas, the account's state and what was received; mixed into ``Emulator``."""

    _backend: Backend

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

    def replay(
        self, capture: Capture | str | os.PathLike[str] | None, *, speed: float = 1.0
    ) -> Capture | None:
        """Answer with a capture (a :class:`~gemini_sync.capture.file.Capture` or its file); ``None`` stops.

        Every StreamGenerate request that passes the checks gets the recorded
        body, byte for byte, in the recorded pieces and (``speed=1.0``) at the
        recorded pace; ``speed=0`` sends it as fast as it goes. A batchexecute
        request of the same RPCs as a recorded one gets that answer. Returns
        the capture replayed (see :mod:`gemini_sync.emulator.replay`).
        """
        if capture is None:
            self._backend.replay = None
            return None
        replay = load_replay(capture, speed=speed)
        self._backend.replay = replay
        return replay.capture

    def clear_scripts(self) -> None:
        """Forget every script."""
        self._backend.scripts.clear()

    def reset(self, *, pace: float | None = None) -> None:
        """Forget scripts, faults, a replay and recorded requests (and set ``pace``): clean for the next test.

        The conversations, gems, uploads and quotas it keeps stay; a test that
        needs none of them uses a fresh :class:`Emulator` instead.
        """
        if pace is not None:
            self.pace = pace
        self.clear_faults()
        self.clear_scripts()
        self.clear_requests()
        self._backend.replay = None

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
