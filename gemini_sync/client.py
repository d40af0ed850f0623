"""GeminiClient: configuration, the shared session, and the public calls.

One client may be shared by many threads (a Django process): the
``requests.Session`` (connection pool, cookie jar) is shared and thread-safe,
the access token is fetched once under a lock, request ids come from a locked
counter, and each stream has its own response and parser state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from . import _constants as C
from ._config import (
    UNSET,
    Timeout,
    Timeouts,
    bounded_timeout,
    check_prompt,
    check_request_options,
    check_seconds,
    check_timeout,
    gem_id_of,
    merge_timeouts,
    read_timeout,
    timeout_property,
)
from ._exports import publish
from ._log import logger
from .access import open_api, retry_policy_of
from .account import AccountMixin
from .capture.mixin import CaptureMixin
from .catalogue import Catalogue
from .chat import ChatSession, normalize_metadata
from .errors import GeminiError
from .guest import check_guest_call
from .models import Model, ModelLike, Thinking, check_level
from .protocol.payload import CandidateSnapshot
from .protocol.request import AppTokens, Attachment, PreparedRequest, generate_request
from .streaming.served import Notice
from .streaming.stream import Stream, StreamOptions, collected
from .structured import StructuredMixin
from .transport.retry import RetryPolicy

if TYPE_CHECKING:
    from .transport.auth import CookieSource
    from .transport.rotation import CoordinatorFactory
    from .transport.upload import FileInput, UploadFile
    from .types.account import GemLike
    from .types.ids import ChatIds

__all__ = ["GeminiClient"]


class GeminiClient(AccountMixin, StructuredMixin, CaptureMixin):
    """A synchronous client of the Gemini web app.

    ``max_retries`` is the number of further attempts after a first attempt
    that failed with a transient error before any content reached the caller;
    ``retry=RetryPolicy(...)`` replaces it when the delays must change too
    (giving both is a ``TypeError``). ``timeouts=Timeouts(...)`` sets every
    time bound at once (connect/read, stall, busy stall, queue); the older
    keywords ``timeout``, ``stall_timeout``, ``busy_stall_timeout`` and
    ``queue_timeout`` still work, but not together with ``timeouts``.
    ``base_url`` sends every request under one URL (an emulator); without it,
    ``GEMINI_BASE_URL`` is used if set, else the real service.
    ``rotation`` decides who rotates the cookies among the processes and
    hosts that share the account: by default the cookie cache directory's
    lock (the processes of one host); ``rotation=RedisState(url,
    secret_key=...).rotation`` coordinates every host through Redis (see
    :mod:`gemini_sync.pool`).

    ``cookies=`` is a mapping, or a callable called again once per refusal that
    rotation cannot help (shared by threads and processes through the cache).
    ``guest=True``: no account (:mod:`.guest`). ``heartbeat=seconds``: the web
    app's activity call when idle that long (off by default: its effect is unproven).

    ``poll_interval``: seconds between looks at a long job (Deep Research, a
    video or music) in the history; the web app's pace unless a test lowers it.
    """

    poll_interval: float = C.JOB_POLL_INTERVAL

    def __init__(
        self,
        secure_1psid: str | None = None,
        secure_1psidts: str | None = None,
        *,
        cookies: Mapping[str, str] | CookieSource | None = None,
        guest: bool = False,
        base_url: str | None = None,
        proxy: str | None = None,
        timeouts: Timeouts | None = None,
        timeout: float = UNSET,
        stall_timeout: float | None = UNSET,
        queue_timeout: float | None = UNSET,
        busy_stall_timeout: float | None = UNSET,
        max_retries: int = UNSET,
        auto_refresh: bool = True,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        refresh_interval: float = C.DEFAULT_REFRESH_INTERVAL,
        cookie_cache: bool = True,
        rotation: CoordinatorFactory | None = None,
        heartbeat: float | None = None,
    ) -> None:
        self.timeouts = merge_timeouts(
            timeouts,
            {
                "timeout": timeout,
                "stall_timeout": stall_timeout,
                "busy_stall_timeout": busy_stall_timeout,
                "queue_timeout": queue_timeout,
            },
        )
        check_seconds("refresh_interval", refresh_interval, optional=False)
        access = open_api(
            secure_1psid,
            secure_1psidts,
            cookies,
            guest=guest,
            base_url=base_url,
            proxy=proxy,
            timeout=self.timeouts.request,
            session=session,
            policy=retry_policy_of(retry, max_retries),
            auto_refresh=auto_refresh,
            refresh_interval=refresh_interval,
            cookie_cache=cookie_cache and not guest,
            rotation=rotation,
            heartbeat=heartbeat,
        )
        self.api, self.cookie_source, self.guest = access.api, access.cookie_source, access.guest
        self._transport, self._refresher = self.api.transport, self.api.refresher
        self._catalogue = Catalogue(check=self._check_account)
        self._downgrade_notice = Notice()  # a silent downgrade is logged once per client

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

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failures before the first content are retried (from ``max_retries`` or ``retry``)."""
        return self.api.retry_policy

    @property
    def auto_refresh(self) -> bool:
        """Whether a background thread rotates the cookies (started by the first request)."""
        return self.api.auto_refresh

    # the older names of four bounds of ``timeouts``; setting one changes that bound for later calls
    timeout = timeout_property("default", "connect and read timeout, seconds")
    stall_timeout = timeout_property("stall", "the longest silence between frames of a stream")
    busy_stall_timeout = timeout_property(
        "busy_stall", "the silence allowed while the service thinks or queues"
    )
    queue_timeout = timeout_property("queue", "how long frames may come without content")

    def init(self) -> None:
        """Fetch the access token now instead of on the first call."""
        self.api.tokens()

    def close(self) -> None:
        """Stop cookie rotation and close the session (if the client created it). Idempotent."""
        self.api.close()

    def refresh_auth(self) -> None:
        """Take a cookie another process rotated, else rotate, then read the app page again."""
        self.api.refresh_auth()

    def resolve_model(self, model: ModelLike | None) -> Model:
        """``model=`` as the :class:`Model` a call sends (reading the catalogue once if a name needs it)."""
        return self._catalogue.choose(model, self.account_info)

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
        expect_model: bool | str = False,
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

        ``expect_model=True`` (or the display name expected, e.g. ``"3.1 Pro"``)
        raises :class:`~gemini_sync.errors.ModelDowngraded` as soon as the
        service names another model as serving the answer; without it the
        answer goes on, ``model_name`` says who answered and a warning is
        logged once per client. A guest client refuses here what a guest
        cannot ask (:mod:`gemini_sync.guest`).
        """
        check_prompt(prompt)
        if self.guest:
            check_guest_call(model, thinking, files=bool(files), gem=gem is not None, tool=tool)
        slots = None
        if tool is not None:  # the media code is imported by the first call that asks for a tool
            from .protocol.generated_media import tool_slots

            slots = tool_slots(tool)
        check_timeout(timeout)
        options = check_request_options(request_options)
        self.api.check_open()
        check_level(thinking)
        session: ChatSession | None = None
        fixed_metadata: list[Any] | None = None
        if isinstance(chat, ChatSession):
            session = chat
        elif chat is not None:
            fixed_metadata = normalize_metadata(chat)
        resolved = self.resolve_model(model) if session is None else session.model_for(model)
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

        base_timeout: Timeout = timeout if timeout is not None else self.timeouts.request

        def open_response(time_left: float | None) -> requests.Response:
            # every request of the turn (token, uploads, the POST) ends within the deadline
            bound = bounded_timeout(base_timeout, time_left)
            tokens = self.api.tokens(read_timeout(bound))
            for file in uploads[len(uploaded) :]:  # on a retry, only those not yet uploaded
                from .transport.upload import upload_file  # imported with the first file sent

                identifier = upload_file(transport, file, tokens.push_id, timeout=read_timeout(bound))
                uploaded.append((identifier, file.name, file.content_type))
            logger.debug(
                "StreamGenerate: model %s, %d file(s), chat %s", resolved, len(uploaded), chat is not None
            )
            return self.api.post(build, "StreamGenerate", stream=True, timeout=bound, **options)

        stream_options = StreamOptions(
            self.retry_policy if slots is None else RetryPolicy(0),  # a tool request may start a job
            self.timeouts.stall,
            deadline,
            recover=self._read_turn if recover and not self.guest else None,
            queue_timeout=self.timeouts.queue,
            busy_stall_timeout=self.timeouts.busy_stall,
            on_error=self._on_stream_error,
            watch=self._served_check(resolved, expect_model),
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

    def _read_turn(self, cid: str, rid: str) -> tuple[list[CandidateSnapshot], bool] | None:
        """Turn ``rid`` of ``cid`` as raw candidates (for stream recovery), if the history has it."""
        from .protocol import rpcs

        (result,) = self.api.rpc([rpcs.read_chat_call(cid, 2)])
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
        metadata: ChatIds | Sequence[Any] | None = None,
        cid: str | None = None,
        expect_model: bool | str = False,
    ) -> ChatSession:
        """A conversation; pass ``metadata`` (or ``cid``) to resume one.

        The chat keeps ``model`` for all its turns and ``thinking`` as its
        turns' default level (both as in :meth:`stream`, checked here), and
        ``expect_model`` for each turn (as in :meth:`stream`).
        """
        if self.guest:
            check_guest_call(model, thinking, gem=gem is not None)
        chosen = self.resolve_model(model)
        self._thinking_level(chosen, check_level(thinking))
        return ChatSession(
            self,
            model=chosen,
            thinking=thinking,
            gem=gem,
            metadata=metadata,
            cid=cid,
            expect_model=expect_model,
        )


publish(globals())
