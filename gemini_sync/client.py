"""GeminiClient: configuration, the shared session, and the public calls.

One client may be shared by many threads (a Django process): the
``requests.Session`` (connection pool, cookie jar) is shared and thread-safe,
the access token is fetched once under a lock, request ids come from a locked
counter, and each stream has its own response and parser state.
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from . import _constants as C
from ._call_options import (
    bounded_timeout,
    check_prompt,
    check_request_options,
    check_seconds,
    check_timeout,
    gem_id_of,
    read_timeout,
    tool_slots,
)
from ._log import logger
from .account import AccountMixin
from .catalogue import Catalogue
from .chat import ChatSession, normalize_metadata
from .errors import APIError, AuthError, GeminiError, ModelInvalid, RequestRejected
from .models import Model, ModelLike
from .protocol import rpcs
from .protocol.payload import CandidateSnapshot
from .protocol.request import AppTokens, Attachment, PreparedRequest, generate_request
from .protocol.thinking import Thinking, check_level
from .stream import Stream, StreamOptions, collected
from .transport.auth import CookieRefresher, resolve_cookies
from .transport.retry import RetryPolicy
from .transport.session import Transport
from .types import GeneratedMedia, Timeout, WebImage

if TYPE_CHECKING:
    from ._account_types import GemLike
    from .research import ResearchJob
    from .transport.upload import FileInput, UploadFile

__all__ = ["GeminiClient"]

#: HTTP statuses meaning "the page values are stale": 405 build label, 400 access token
_STALE_PAGE_STATUSES = frozenset({400, 405})
_MODEL_REJECTED = 1052


class GeminiClient(AccountMixin):
    """A synchronous client of the Gemini web app.

    ``max_retries`` is the number of further attempts after a first attempt
    that failed with a transient error before any content reached the caller;
    ``retry=RetryPolicy(...)`` replaces it when the delays must change too.
    ``timeout`` bounds connecting and waiting for a response; ``stall_timeout``
    bounds the silence between frames of a stream (``None`` disables it), and
    ``busy_stall_timeout`` the longer silence allowed while the service reports
    that it is thinking or queued (thinking models are silent for minutes);
    ``queue_timeout`` bounds how long frames may keep coming without content
    (the service showing a queued or busy state). ``base_url`` sends every
    request under one URL (an emulator); without it, ``GEMINI_BASE_URL`` is
    used if set, else the real service.

    ``poll_interval`` is how often a long job on the service (Deep Research,
    a video or music job) is looked up in the history, in seconds: the web
    app's pace by default; a test against the emulator may lower it.
    """

    poll_interval: float = C.JOB_POLL_INTERVAL

    def __init__(
        self,
        secure_1psid: str | None = None,
        secure_1psidts: str | None = None,
        *,
        cookies: Mapping[str, str] | None = None,
        base_url: str | None = None,
        proxy: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        stall_timeout: float | None = C.DEFAULT_STALL_TIMEOUT,
        queue_timeout: float | None = C.DEFAULT_QUEUE_TIMEOUT,
        busy_stall_timeout: float | None = C.DEFAULT_BUSY_STALL_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        auto_refresh: bool = True,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        refresh_interval: float = C.DEFAULT_REFRESH_INTERVAL,
        cookie_cache: bool = True,
    ) -> None:
        check_seconds("timeout", timeout, optional=False)
        check_seconds("stall_timeout", stall_timeout)
        check_seconds("queue_timeout", queue_timeout)
        check_seconds("busy_stall_timeout", busy_stall_timeout)
        check_seconds("refresh_interval", refresh_interval, optional=False)
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError("max_retries must be an integer >= 0")
        if base_url is None:  # e.g. GEMINI_BASE_URL=http://127.0.0.1:8765 for a running emulator
            base_url = os.environ.get(C.ENV_BASE_URL) or None
        try:
            chosen = resolve_cookies(secure_1psid, secure_1psidts, cookies, use_cache=cookie_cache)
        except AuthError as exc:
            if base_url is None:
                raise
            raise AuthError(
                f"{exc} Against the emulator at {base_url} any non-empty value works, e.g. "
                f"{C.ENV_PSID}=test or cookies={{{C.PSID!r}: 'test'}}."
            ) from None
        self.cookie_source = chosen.source
        self._transport = Transport(
            chosen.cookies,
            base_url=base_url,
            proxy=proxy,
            timeout=timeout,
            session=session,
            fallback_cookies=chosen.fallbacks,
        )
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self.queue_timeout = queue_timeout
        self.busy_stall_timeout = busy_stall_timeout
        self.retry_policy = retry if retry is not None else RetryPolicy(max_retries)
        self.auto_refresh = auto_refresh
        # rotation is used by the background thread (auto_refresh) and by the one refresh after a 401
        self._refresher = CookieRefresher(
            self._transport, chosen.cookies[C.PSID], interval=refresh_interval, write_cache=cookie_cache
        )
        self._refresh_lock = threading.Lock()
        self._catalogue = Catalogue()
        self._closed = False

    def __repr__(self) -> str:
        base = self._transport.endpoints.base_url or "gemini.google.com"
        return f"<GeminiClient {base} cookies=<hidden>>"

    def __enter__(self) -> GeminiClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def base_url(self) -> str | None:
        return self._transport.endpoints.base_url

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` every call goes through."""
        return self._transport.session

    def init(self) -> None:
        """Fetch the access token now instead of on the first call."""
        self._tokens()

    def close(self) -> None:
        """Stop cookie rotation and close the session (if the client created it). Idempotent."""
        if not self._closed:
            self._closed = True
            self._refresher.stop()
            self._transport.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this GeminiClient is closed")

    def _tokens(self, timeout: float | None = None) -> AppTokens:
        """The access token (bootstrapping once), and the rotation thread started lazily."""
        self._check_open()
        self._refresher.sync()  # a cookie another process rotated, if any (one stat)
        tokens = self._transport.tokens(timeout)
        if self.auto_refresh:
            self._refresher.start()
        return tokens

    def refresh_auth(self) -> None:
        """Rotate the cookies and fetch a new access token now."""
        self._check_open()
        try:
            self._refresher.rotate_now()
        except GeminiError as exc:
            logger.info("cookie rotation before re-bootstrap failed: %s", exc.__class__.__name__)
        self._transport.reset_tokens()
        self._transport.tokens()

    def _post_with_auth_retry(
        self, build: Callable[[AppTokens], PreparedRequest], what: str, **kwargs: Any
    ) -> requests.Response:
        """POST; on a refusal that means "nothing was done", refresh once and send again.

        401/403: rotate the cookies and read the app page again. 405 (a stale
        build label) and 400 without an ``"er"`` frame (a stale access token):
        read the app page again (docs/protocol.md 2.3), so a long-running
        process survives the service's deploys. Safe to resend: the service
        did not act on the request, and nothing of it reached the caller.
        When many threads are refused at once, one of them refreshes and the
        others use its new page values.
        """
        tokens = self._tokens()
        try:
            return self._transport.post(build(tokens), what, **kwargs)
        except AuthError:
            with self._refresh_lock:
                if self._transport.tokens() is tokens:  # nobody refreshed since this request started
                    logger.info("%s was refused; refreshing cookies and token once", what)
                    self.refresh_auth()
        except APIError as exc:
            if exc.status_code not in _STALE_PAGE_STATUSES or isinstance(exc, RequestRejected):
                raise
            with self._refresh_lock:
                if self._transport.tokens() is tokens:
                    logger.info("%s got HTTP %s: reading the app page again once", what, exc.status_code)
                    self._transport.reset_tokens()
                    self._transport.tokens()
        return self._transport.post(build(self._transport.tokens()), what, **kwargs)

    # -- generating --------------------------------------------------------

    def stream(
        self,
        prompt: str,
        *,
        files: Sequence[FileInput] | None = None,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        chat: ChatSession | Sequence[Any] | None = None,
        temporary: bool = False,
        deadline: float | None = None,
        recover: bool = True,
        timeout: Timeout | None = None,
        request_options: Mapping[str, Any] | None = None,
        tool: str | None = None,
    ) -> Stream:
        """Start an answer to ``prompt``; nothing is sent until the stream is read.

        ``deadline`` bounds the whole call in seconds. ``timeout`` replaces the
        client's for this call: seconds, or a ``(connect, read)`` pair.
        ``request_options`` passes the rare extra setting to ``requests``
        (``verify``, ``proxies``, ``cert``, ``auth``, ``cookies``, ``hooks``,
        ``allow_redirects``); any other key is refused at the call. With
        ``recover`` (the default), a stream that breaks after the service
        saved the turn is completed by reading the turn back from the
        history, never by sending the prompt again.

        ``tool`` picks a tool of the web app: ``"video"``, ``"music"`` or
        ``"image"``. Such a request may start a job on the service, so it is
        never sent twice (no retry, not even before any content); when the
        stream ends before the file is ready, the answer is followed in the
        history (every ``poll_interval`` seconds, for up to 10 minutes) until
        it holds the media: ``output.videos`` / ``output.audio``.

        ``model`` is a :class:`Model`, a :class:`ModelInfo` from
        :meth:`list_models`, or a name: this release's (``"gemini-3-pro"``),
        or the account's display name, nickname or id (``"3.1 Pro"``,
        ``"pro"``, ``"flash"``, ``"flash-lite"``), which needs the account's
        catalogue (read once per client, at the first such call). ``thinking``
        is ``None`` (the service's default), ``"standard"``, ``"extended"`` or
        ``"deep"``; a level the catalogue says the model lacks is a
        ``ValueError`` here (a level given here reads the catalogue once).
        With a ``ChatSession``, the chat's model and level are the defaults,
        and another model is refused (a chat keeps its model).
        """
        check_prompt(prompt)
        slots = tool_slots(tool)
        check_timeout(timeout)
        options = check_request_options(request_options)
        self._check_open()
        check_level(thinking)
        session: ChatSession | None = None
        fixed_metadata: list[Any] | None = None
        if isinstance(chat, ChatSession):
            session = chat
        elif chat is not None:
            fixed_metadata = normalize_metadata(chat)
        resolved = self._choose_model(model) if session is None else session.model_for(model)
        level = self._thinking_level(resolved, thinking if session is None else session.level_for(thinking))
        gem_id = gem_id_of(gem)
        uploads: list[UploadFile] = []
        if files is not None:  # the upload code is imported by the first call that sends files
            from .transport.upload import prepare_files

            uploads = prepare_files(files)
        check_seconds("deadline", deadline)
        transport = self._transport
        uploaded: list[Attachment] = []
        sent_metadata: list[list[Any] | None] = []  # the chat's state when the turn is first sent

        def build(tokens: AppTokens) -> PreparedRequest:
            if not sent_metadata:
                sent_metadata.append(session.metadata if session is not None else fixed_metadata)
            metadata = sent_metadata[0]
            chosen = self._catalogue.resolve(resolved)
            return generate_request(
                prompt,
                tokens,
                transport.next_reqid(),
                model=chosen.at_level(level) if level is not None else chosen,
                metadata=metadata,
                files=uploaded,
                gem_id=gem_id,
                temporary=temporary,
                slots=slots,
                thinking=level,
            )

        base_timeout: Timeout = timeout if timeout is not None else self.timeout

        def open_response(time_left: float | None) -> requests.Response:
            # every request of the turn (token, uploads, the POST) ends within the deadline
            bound = bounded_timeout(base_timeout, time_left)
            tokens = self._tokens(read_timeout(bound))
            for file in uploads[len(uploaded) :]:  # on a retry, only those not yet uploaded
                from .transport.upload import upload_file  # imported with the first file sent

                identifier = upload_file(transport, file, tokens.push_id, timeout=read_timeout(bound))
                uploaded.append((identifier, file.name, file.content_type))
            logger.debug(
                "StreamGenerate: model %s, %d file(s), chat %s", resolved, len(uploaded), chat is not None
            )
            return self._post_with_auth_retry(build, "StreamGenerate", stream=True, timeout=bound, **options)

        stream_options = StreamOptions(
            self.retry_policy if slots is None else RetryPolicy(0),  # a tool request may start a job
            self.stall_timeout,
            deadline,
            recover=self._read_turn if recover else None,
            queue_timeout=self.queue_timeout,
            busy_stall_timeout=self.busy_stall_timeout,
            on_error=self._on_stream_error,
        )
        if slots is not None:
            stream_options.recover_timeout = C.MEDIA_TIMEOUT
            stream_options.recover_interval = self.poll_interval
            stream_options.recover_first = C.JOB_FIRST_POLL
        return Stream(
            open_response,
            stream_options,
            saver=self,
            on_final=session.advance if session is not None else None,
        )

    generate_content_stream = stream

    def _on_stream_error(self, error: GeminiError) -> None:
        """Make the typed error that ends a stream say more: the account's models, the quota's reset."""
        self._explain_model_error(error)
        self._learn_reset(error)

    def _choose_model(self, model: ModelLike | None) -> Model:
        """``model=`` as a :class:`Model` (reading the catalogue once if a name needs it)."""
        return self._catalogue.choose(model, self.account_info)

    def _thinking_level(self, model: Model, thinking: str | None) -> str | None:
        """The level to send: ``thinking``, else the model's default; checked against the catalogue.

        An explicit level reads the catalogue (once per client) to check it; a
        ``*_THINKING`` member's default level is checked only against a
        catalogue already read.
        """
        if thinking is not None and model.model_id:
            self._catalogue.ensure(self.account_info)
        level = thinking if thinking is not None else model.default_thinking
        if level is not None:
            self._catalogue.check_thinking(model, level)
        return level

    def _explain_model_error(self, error: GeminiError) -> None:
        """On 1052 (model id rejected): read the account's models once and name them in the error."""
        if not isinstance(error, ModelInvalid) or error.code != _MODEL_REJECTED:
            return
        try:
            self.account_info()
        except GeminiError as exc:
            logger.info("reading the account's models after 1052 failed: %s", exc.__class__.__name__)
            return
        error.args = (f"{error}; {self._catalogue.describe()}",)

    def _read_turn(self, cid: str, rid: str) -> tuple[list[CandidateSnapshot], bool] | None:
        """Turn ``rid`` of ``cid`` as raw candidates (for stream recovery), if the history has it."""
        (result,) = self._rpc([rpcs.read_chat_call(cid, 2)])
        return rpcs.find_turn(result, rid)

    generate_content = collected(
        stream,
        "generate_content",
        """The whole answer to ``prompt`` (a stream, collected); parameters as in :meth:`stream`.""",
    )

    def start_chat(
        self,
        *,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        metadata: Sequence[Any] | None = None,
        cid: str | None = None,
    ) -> ChatSession:
        """A conversation; pass ``metadata`` (or ``cid``) to resume one.

        The chat keeps ``model`` for all its turns and ``thinking`` as its
        turns' default level (both as in :meth:`stream`, checked here).
        """
        chosen = self._choose_model(model)
        self._thinking_level(chosen, check_level(thinking))
        return ChatSession(self, model=chosen, thinking=thinking, gem=gem, metadata=metadata, cid=cid)

    # -- Deep Research -----------------------------------------------------

    def deep_research(self, prompt: str, model: ModelLike | None = None) -> ResearchJob:
        """Ask Deep Research to plan a research on ``prompt``; returns the job with its ``plan``.

        Nothing runs until ``job.confirm()``. Raises
        :class:`~gemini_sync.errors.ResearchUnavailable` when the account or
        model cannot use Deep Research. See :mod:`gemini_sync.research`.
        """
        from .research import start_research

        check_prompt(prompt)
        self._check_open()
        return start_research(self, prompt, self._choose_model(model))

    def research_job(self, cid: str, model: ModelLike | None = None) -> ResearchJob:
        """The Deep Research of conversation ``cid``, e.g. started by another process; ``wait()`` on it.

        ``model`` matters only for a job still waiting for its confirmation
        (the confirmation must use the plan's model).
        """
        from .research import resume_research

        self._check_open()
        return resume_research(self, cid, self._choose_model(model))

    # -- images, video and music ------------------------------------------

    def save_image(
        self,
        image: WebImage,
        path: str | pathlib.Path = ".",
        filename: str | None = None,
        *,
        full_size: bool = False,
        overwrite: bool = False,
    ) -> pathlib.Path:
        """Download ``image`` into directory ``path``; see :meth:`WebImage.save`."""
        from .transport.images import save_image

        return save_image(
            self._transport, image, path, filename, full_size=full_size, overwrite=overwrite, rpc=self._rpc
        )

    def save_media(
        self,
        media: GeneratedMedia,
        path: str | pathlib.Path = ".",
        filename: str | None = None,
        *,
        timeout: float = C.MEDIA_TIMEOUT,
        overwrite: bool = False,
    ) -> pathlib.Path:
        """Download a generated video or track into directory ``path``; see :meth:`GeneratedMedia.save`."""
        from .transport.media import save_media

        check_seconds("timeout", timeout, optional=False)
        return save_media(
            self._transport,
            media,
            path,
            filename,
            timeout=timeout,
            overwrite=overwrite,
            poll_interval=self.poll_interval,
        )
