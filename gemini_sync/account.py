"""The account's RPCs on :class:`~gemini_sync.GeminiClient`: status, models, usage, chat history, gems.

Kept apart from generation (``client.py``): these are plain request/response
calls through batchexecute (docs/protocol.md 7.3). Their readers
(:mod:`.protocol.rpcs`) are imported by the first such call: a client that
only streams never needs them. The first read of the catalogue also reads
the account's status: one that forbids use raises its typed error then, and at
every later call that needs the catalogue, without asking again
(:func:`~gemini_sync.types.status.status_error`; never retried). A guest's
client refuses the history, gem and usage calls before sending.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

from . import _constants as C
from ._config import Timeout, check_prompt, check_seconds
from ._log import logger
from .catalogue import Catalogue
from .errors import GeminiError, ModelInvalid, UsageLimitExceeded
from .guest import guest_refusal
from .transport.api import Api
from .transport.retry import RetryPolicy
from .transport.sources import forget_cached

if TYPE_CHECKING:  # account results are imported where built (protocol/rpcs.py): not at start-up
    from .models import Model, ModelLike
    from .research import ResearchJob
    from .streaming.served import Notice, ServedCheck
    from .types.account import AccountInfo, ChatInfo, ChatTurn, Gem, ModelInfo
    from .types.images import WebImage
    from .types.media import GeneratedMedia
    from .types.status import AccountStatus, Usage

__all__ = ["AccountMixin"]

_MODEL_REJECTED = 1052  # the service refused the model id (docs/protocol.md 6.3)
_SIGNED_OUT = 1016  # the account status of cookies the service no longer knows


class AccountMixin:
    """Models, usage, chat history, gems and downloads. Mixed into :class:`~gemini_sync.GeminiClient`.

    Every request goes through the client's :class:`~gemini_sync.transport.api.Api`.
    """

    api: Api
    _catalogue: Catalogue
    poll_interval: float
    guest: bool = False
    cookie_source: str = ""
    _warned_status: int | None = None
    _downgrade_notice: Notice

    def _no_guest(self, what: str) -> None:
        if self.guest:
            raise guest_refusal(what)

    # -- account and models -------------------------------------------------

    def account_info(self) -> AccountInfo:
        """Account status code (1000 = available), the models offered and the account's tier.

        The listing is remembered: from then on a :class:`Model` whose id it
        lists is sent with this account's header (tier, model number).
        """
        from .protocol import rpcs

        (result,) = self.api.rpc([rpcs.status_call()])
        info = rpcs.parse_account(result)
        self._catalogue.update(info)
        return info

    def account_status(self) -> AccountStatus:
        """The account's status (code, meaning, what to do) and abuse flags; one request, never raises.

        Reads ``otAQ7b`` (the catalogue is remembered too) and ``GPRiHf``.
        ``usable`` says whether calls may go on; a guest's 1016 is usable.
        """
        from .protocol import rpcs, startup
        from .types.status import describe_status

        status_result, abuse_result = self.api.rpc([rpcs.status_call(), startup.abuse_call()])
        info = rpcs.parse_account(status_result)
        self._catalogue.update(info)
        return describe_status(info.status, guest=self.guest, abuse=startup.parse_abuse(abuse_result))

    def _check_account(self, info: AccountInfo) -> None:
        """Raise the typed error of a status that forbids use (the catalogue calls it at every use)."""
        from .types.status import describe_status, status_error

        status = describe_status(info.status, guest=self.guest)
        error = status_error(status)
        if error is not None and info.status == _SIGNED_OUT and self.cookie_source == "cookie cache":
            forget_cached(
                next((c.value for c in self.api.transport.session.cookies if c.name == C.PSID), None)
            )
        if error is not None:
            raise error
        if info.status not in (None, 1000) and self._warned_status != info.status:
            self._warned_status = info.status  # 1033 and the like: said once, use goes on
            logger.warning("account status %s", status)

    def _served_check(self, model: Model, expect: bool | str) -> ServedCheck | None:
        """The check of the served model (``expect_model=``; reading the catalogue once when set)."""
        from .streaming.served import served_check

        if expect is True and model.model_id:
            self._catalogue.ensure(self.account_info)  # the display name the service will report
        entry = self._catalogue.entry(model.model_id)
        return served_check(model, entry.version if entry else None, expect, self._downgrade_notice)

    def list_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The models this account offers (``otAQ7b``), each usable as ``model=``.

        Read once per client (however many threads ask at once, one request)
        and again after the service refused a model id (1052), or now with
        ``refresh=True``.
        """
        if refresh:
            self._check_account(self.account_info())
        else:
            self._catalogue.ensure(self.account_info)
        return self._catalogue.models()

    # -- usage --------------------------------------------------------------

    def usage(self) -> Usage:
        """The account's usage: the buckets (``qpEbW``) and the windows (``jSf9Qc``, ``aPya6c``).

        A list of :class:`Quota` (per model or feature: used %, remaining,
        reset time) whose ``windows`` are the 5-hour and weekly windows,
        ``tier`` the tier they report and ``check`` the extra-quota check.
        Two requests (the windows are asked from ``/usage``, as the web app does).
        """
        from .protocol import rpcs, startup
        from .types.status import Usage

        self._no_guest("usage()")
        *quotas, check = self.api.rpc([*rpcs.quota_calls(), startup.quota_check_call()])
        (info,) = self.api.rpc([startup.usage_info_call()])
        tier, windows = startup.parse_usage_info(info)
        return Usage(
            rpcs.parse_quotas(quotas), windows=windows, tier=tier, check=startup.parse_quota_check(check)
        )

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

    def _learn_reset(self, error: GeminiError) -> None:
        """After a 1037, find when the used-up quota resets (one lookup, never retried; a guess).

        The error frame carries no time, so the client asks ``qpEbW`` and takes
        the reset time of the exhausted bucket (the latest, if several are).
        """
        from .protocol import rpcs

        if not isinstance(error, UsageLimitExceeded) or error.resets_at is not None:
            return
        try:
            results = self.api.rpc(rpcs.quota_calls(), policy=RetryPolicy(0), timeout=C.QUOTA_LOOKUP_TIMEOUT)
        except GeminiError as exc:
            logger.info("reading the quotas after 1037 failed: %s", exc.__class__.__name__)
            return
        times = [q.resets_at for q in rpcs.parse_quotas(results) if q.exhausted and q.resets_at is not None]
        if times:
            error.learn_reset(max(times))

    # -- chat history -------------------------------------------------------

    def list_chats(self) -> list[ChatInfo]:
        """Conversations in the history: pinned first, then the others."""
        self._no_guest("list_chats()")
        from .protocol import rpcs

        pinned, others = self.api.rpc(rpcs.list_chats_calls())
        return rpcs.parse_chats(pinned, pinned=True) + rpcs.parse_chats(others)

    def read_chat(self, cid: str, limit: int = 10) -> list[ChatTurn]:
        """The last ``limit`` turns of conversation ``cid``, oldest first (their images can ``save()``)."""
        self._no_guest("read_chat()")
        from .protocol import rpcs

        if not isinstance(cid, str) or not cid:
            raise ValueError("cid must be a conversation id such as 'c_...'")
        (result,) = self.api.rpc([rpcs.read_chat_call(cid, limit)])
        turns = rpcs.parse_chat_turns(result)
        for turn in turns:
            for candidate in turn.candidates:
                for image in candidate.images:
                    image.attach(self)
                for media in [*candidate.videos, *candidate.audio]:
                    media.attach(self)
        return turns

    def delete_chat(self, cid: str) -> None:
        """Delete conversation ``cid`` from the history."""
        self._no_guest("delete_chat()")
        from .protocol import rpcs

        if not isinstance(cid, str) or not cid:
            raise ValueError("cid must be a conversation id such as 'c_...'")
        for call in rpcs.delete_chat_calls(cid):
            self.api.rpc([call], idempotent=False)

    # -- gems ---------------------------------------------------------------

    def list_gems(self, *, include_hidden: bool = False) -> list[Gem]:
        """Built-in gems (``predefined=True``) and the user's own."""
        self._no_guest("list_gems()")
        from .protocol import rpcs

        language = self.api.tokens().language
        system, custom = self.api.rpc(rpcs.list_gems_calls(language, include_hidden))
        return rpcs.parse_gems(system, predefined=True) + rpcs.parse_gems(custom, predefined=False)

    def create_gem(self, name: str, prompt: str, description: str = "") -> Gem:
        """Create a gem; returns it with its new id."""
        self._no_guest("create_gem()")
        from .protocol import rpcs

        if not name or not prompt:
            raise ValueError("a gem needs a name and a prompt")
        (result,) = self.api.rpc([rpcs.create_gem_call(name, prompt, description)], idempotent=False)
        gem_id = result[0] if isinstance(result, list) and result and isinstance(result[0], str) else None
        if gem_id is None:
            from .errors import ProtocolError

            raise ProtocolError("create_gem: the answer held no gem id")
        from .types.account import Gem

        return Gem(gem_id, name, description, prompt, predefined=False)

    def update_gem(
        self,
        gem: Gem | str,
        *,
        name: str | None = None,
        prompt: str | None = None,
        description: str | None = None,
    ) -> Gem:
        """Change a gem's name, prompt or description; returns the updated gem.

        Fields not given keep their current values (for a gem given by id, read
        from :meth:`list_gems`).
        """
        self._no_guest("update_gem()")
        from .protocol import rpcs
        from .types.account import Gem

        current = gem if isinstance(gem, Gem) else self._find_gem(gem)
        if current.predefined:
            raise ValueError("built-in gems cannot be changed")
        updated = Gem(
            current.id,
            name if name is not None else current.name,
            description if description is not None else current.description,
            prompt if prompt is not None else current.prompt,
        )
        if not updated.name or not updated.prompt:
            raise ValueError("a gem needs a name and a prompt")
        self.api.rpc(
            [rpcs.update_gem_call(updated.id, updated.name, updated.prompt, updated.description)],
            idempotent=False,
        )
        return updated

    def _find_gem(self, gem_id: str) -> Gem:
        if not isinstance(gem_id, str) or not gem_id:
            raise ValueError("gem must be a Gem or a gem id")
        for found in self.list_gems(include_hidden=True):
            if found.id == gem_id:
                return found
        raise ValueError(f"no gem with id {gem_id!r}")

    def delete_gem(self, gem: Gem | str) -> None:
        """Delete one of the user's gems."""
        self._no_guest("delete_gem()")
        from .protocol import rpcs
        from .types.account import Gem

        if isinstance(gem, Gem) and gem.predefined:
            raise ValueError("built-in gems cannot be deleted")
        gem_id = gem.id if isinstance(gem, Gem) else gem
        if not gem_id:
            raise ValueError("gem must be a Gem or a gem id")
        self.api.rpc([rpcs.delete_gem_call(gem_id)], idempotent=False)

    # -- downloads ----------------------------------------------------------

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

        transport = self.api.transport
        return save_image(
            transport, image, path, filename, full_size=full_size, overwrite=overwrite, rpc=self.api.rpc
        )

    def read_image(self, image: WebImage, *, full_size: bool = False, timeout: float | None = None) -> bytes:
        """The bytes of ``image``; see :meth:`WebImage.read`."""
        from .transport.images import read_image

        check_seconds("timeout", timeout)
        return read_image(self.api.transport, image, full_size=full_size, timeout=timeout, rpc=self.api.rpc)

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
            self.api.transport,
            media,
            path,
            filename,
            timeout=timeout,
            overwrite=overwrite,
            poll_interval=self.poll_interval,
        )

    def read_media(self, media: GeneratedMedia, *, timeout: float = C.MEDIA_TIMEOUT) -> bytes:
        """The bytes of a generated video or track; see :meth:`GeneratedMedia.read`."""
        from .transport.media import read_media

        check_seconds("timeout", timeout, optional=False)
        return read_media(self.api.transport, media, timeout=timeout, poll_interval=self.poll_interval)

    # -- Deep Research (its code is imported by the first call) ---------------

    def deep_research(self, prompt: str, model: ModelLike | None = None) -> ResearchJob:
        """Ask Deep Research to plan a research on ``prompt``; returns the job with its ``plan``.

        Nothing runs until ``job.confirm()``. Raises
        :class:`~gemini_sync.errors.ResearchUnavailable` when the account or
        model cannot use Deep Research. See :mod:`gemini_sync.research`.
        """
        self._no_guest("deep_research()")
        from .research import start_research

        check_prompt(prompt)
        self.api.check_open()
        return start_research(self, prompt, self.resolve_model(model))

    def research_job(self, cid: str, model: ModelLike | None = None) -> ResearchJob:
        """The Deep Research of conversation ``cid``, e.g. started by another process; ``wait()`` on it.

        ``model`` matters only for a job still waiting for its confirmation
        (the confirmation must use the plan's model).
        """
        self._no_guest("research_job()")
        from .research import resume_research

        self.api.check_open()
        return resume_research(self, cid, self.resolve_model(model))

    def resolve_model(self, model: ModelLike | None) -> Model:  # pragma: no cover - the client's own
        raise NotImplementedError

    @property
    def timeout(self) -> Timeout:  # pragma: no cover - the client's own
        raise NotImplementedError
