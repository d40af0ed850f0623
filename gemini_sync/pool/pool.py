"""AccountPool: several accounts (and guest sessions) behind the calls of one client.

Each request goes to a member that may take it now (see :mod:`.pick`): not
taken out, not cooling down for the request's quota bucket, with a free slot
under its ``max_concurrent``. What the pool learns is kept in its
:class:`~gemini_sync.pool.state.PoolState`, so every process (and, with
:class:`~gemini_sync.pool.RedisState`, every host) sharing it knows it:

* a 1037 (:class:`~gemini_sync.errors.UsageLimitExceeded`) cools the account
  down for that bucket until the quota's ``resets_at`` (else ``cooldown`` s);
* a usage reading (``usage()``, made by the pool at most every
  ``usage_interval`` s per account before picking it) that shows the bucket
  used up does the same before any request is refused;
* :class:`~gemini_sync.errors.AuthError` or
  :class:`~gemini_sync.errors.AccountRestricted` takes the account out for
  ``takeout`` s (logged as a warning, shown by :meth:`AccountPool.status`,
  undone by :meth:`AccountPool.restore`);
* a 429 that outlasted the client's retries holds the account back for the
  ``Retry-After`` it gave (else a minute).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..chat import ChatSession
from ..client import GeminiClient
from ..errors import GeminiError
from .accounting import Accounting, MemberStatus
from .pick import STRATEGIES, Member, account_key, candidates, passed_over, quota_bucket, refusal
from .state import PoolState

if TYPE_CHECKING:
    from .._config import Timeout
    from ..models import ModelLike, Thinking
    from ..research import ResearchJob
    from ..streaming.stream import Stream
    from ..transport.upload import FileInput
    from ..types.account import GemLike, ModelInfo, Quota
    from ..types.output import ModelOutput
    from .chat import PoolChat
    from .stream import PoolStream

__all__ = ["AccountPool", "Lease", "MemberStatus"]

_SLOT_TTL = 900.0  # a stream's slot outlives its process by at most this (a crash mid-stream)
_POLL = 0.05  # waiting for a slot another process may free: how often to look


class Lease:
    """A slot held on one member for one try; :meth:`release` gives it back (once)."""

    def __init__(self, pool: AccountPool, member: Member, token: str) -> None:
        self.pool = pool
        self.member = member
        self._token: str | None = token

    def release(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            self.pool._release(self.member, token)


class AccountPool(Accounting):
    """Several :class:`~gemini_sync.GeminiClient` (accounts or guests) used as one; thread-safe.

    >>> pool = AccountPool([GeminiClient(psid_a, ts_a), GeminiClient(psid_b, ts_b)])  # doctest: +SKIP
    >>> pool.generate_content("Hello").text                                        # doctest: +SKIP

    ``strategy``: ``"least_used"`` (default), ``"round_robin"`` or
    ``"guest_first"`` (see :mod:`.pick`). ``state``: where what the pool learns
    is shared (default: :class:`~gemini_sync.pool.LocalState` in the cookie
    cache directory, for every process of the host; a
    :class:`~gemini_sync.pool.RedisState` for every host).
    ``max_concurrent``: streams in flight per account (``None``: no limit);
    a request waits up to ``wait_timeout`` s for a free slot, then raises
    :class:`~gemini_sync.pool.NoAccountAvailable`, as it does at once when
    every member is out or cooling down. ``clock`` gives Unix seconds.
    """

    def __init__(
        self,
        members: Sequence[GeminiClient | Member],
        *,
        strategy: str = "least_used",
        state: PoolState | None = None,
        max_concurrent: int | None = None,
        wait_timeout: float = 30.0,
        cooldown: float = 900.0,
        takeout: float = 3600.0,
        usage_interval: float | None = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        if not members:
            raise ValueError("an AccountPool needs at least one client")
        self.members: list[Member] = []
        for index, item in enumerate(members, 1):
            member = item if isinstance(item, Member) else Member(item)
            if not isinstance(member.client, GeminiClient):
                raise TypeError(f"pool members are GeminiClient or Member values, not {type(item).__name__}")
            member.name = member.name or f"{'guest' if member.guest else 'account'}-{index}"
            member.key = account_key(member.client, member.guest, member.name)
            if member.max_concurrent is None:
                member.max_concurrent = Member(member.client, max_concurrent=max_concurrent).max_concurrent
            self.members.append(member)
        names = [m.name for m in self.members]
        if len(set(names)) != len(names) or len({m.key for m in self.members}) != len(self.members):
            raise ValueError("every pool member must be a different account with a different name")
        if state is None:
            from .local import LocalState

            state = LocalState()
        self.state = state
        self.strategy = strategy
        self.wait_timeout = wait_timeout
        self.cooldown = cooldown
        self.takeout = takeout
        self.usage_interval = usage_interval
        self.clock = clock
        self._turn = 0
        self._last_pick: Member | None = None
        self._turn_lock = threading.Lock()
        self._freed = threading.Condition()
        self._reading_usage: set[str] = set()
        self._usage_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<AccountPool {len(self.members)} members, {self.strategy}>"

    def __enter__(self) -> AccountPool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close every member's client and the state's connections."""
        for member in self.members:
            member.client.close()
        self.state.close()

    # -- picking -----------------------------------------------------------

    def has_other(self, bucket: str, tried: frozenset[str]) -> bool:
        """Whether a member not yet tried may take a request for ``bucket`` now."""
        return bool(candidates(self.members, self._views(), bucket, self.clock(), self.strategy, 0, tried))

    def _next_turn(self) -> int:
        with self._turn_lock:
            self._turn += 1
            return self._turn - 1

    def lease(
        self, bucket: str, pinned: Member | None, tried: frozenset[str], time_left: float | None
    ) -> Lease:
        """A slot on the best member for ``bucket`` (``pinned``: that one only), waiting for one if busy."""
        wait = self.wait_timeout if time_left is None else min(self.wait_timeout, max(time_left, 0.0))
        end = time.monotonic() + wait
        turn = self._next_turn()
        while True:
            now = self.clock()
            views = self._views()
            if pinned is not None:
                order = [pinned]
            else:
                order = self._checked(
                    candidates(self.members, views, bucket, now, self.strategy, turn, tried), bucket
                )
                if not order:
                    raise refusal(self.members, self._views(), bucket, self.clock(), busy=False)
            for member in order:
                token = self.state.acquire(member.key, member.max_concurrent, now, _SLOT_TTL)
                if token is not None:
                    self._last_pick = member
                    return Lease(self, member, token)
            left = end - time.monotonic()
            if left <= 0:
                raise refusal(self.members if pinned is None else [pinned], views, bucket, now, busy=True)
            with self._freed:
                self._freed.wait(min(left, _POLL))  # woken by a release here; other processes: polled

    def _release(self, member: Member, token: str) -> None:
        self.state.release(member.key, token)
        with self._freed:
            self._freed.notify_all()

    def _checked(self, order: list[Member], bucket: str) -> list[Member]:
        """``order`` from its first member whose usage (read again when stale) leaves ``bucket`` some quota.

        The members after that one are checked when a later pick puts them first.
        """
        if self.usage_interval is None:
            return order
        for index, member in enumerate(order):
            view = self.state.views([member.key], self.clock())[member.key]
            stale = view.usage_at is None or self.clock() - view.usage_at >= self.usage_interval
            if not member.guest and stale and self._read_usage(member) is not None:
                view = self.state.views([member.key], self.clock())[member.key]
            if passed_over(view, bucket, self.clock()) is None:
                return order[index:]
        return []

    # -- the client's calls ------------------------------------------------

    def stream(
        self,
        prompt: str,
        *,
        files: Sequence[FileInput] | None = None,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        chat: PoolChat | ChatSession | Sequence[Any] | None = None,
        temporary: bool = False,
        deadline: float | None = None,
        recover: bool = True,
        timeout: Timeout | None = None,
        request_options: Mapping[str, Any] | None = None,
        tool: str | None = None,
        account: str | None = None,
    ) -> PoolStream:
        """Start an answer on one of the accounts; keywords as :meth:`GeminiClient.stream`.

        ``account`` names the member that must answer (no other is tried).
        ``chat`` is a chat of :meth:`start_chat` (answered on its own account
        only), or saved metadata together with ``account``.
        """
        from .chat import PoolChat
        from .stream import PoolStream, _Tries

        pinned = self.member(account) if account is not None else None
        session: ChatSession | Sequence[Any] | None = chat.session if isinstance(chat, PoolChat) else chat
        if isinstance(chat, PoolChat):
            pinned = chat.member
        elif isinstance(chat, ChatSession):
            pinned = next((m for m in self.members if m.client is chat.client), None)
            if pinned is None:
                raise ValueError("this chat belongs to a client that is not a member of the pool")
        elif chat is not None and pinned is None:
            raise ValueError("a chat's metadata needs account=: a chat continues on its own account only")
        chat_model = session.model if isinstance(session, ChatSession) else None
        bucket = quota_bucket(model or chat_model, thinking)
        replayable = files is None or all(
            isinstance(f, (str, bytes)) or hasattr(f, "__fspath__") for f in files
        )
        options: dict[str, Any] = {
            "files": files,
            "model": model,
            "thinking": thinking,
            "gem": gem,
            "chat": session,
            "temporary": temporary,
            "recover": recover,
            "timeout": timeout,
            "request_options": request_options,
            "tool": tool,
        }

        def make(member: Member, time_left: float | None) -> Stream:
            return member.client.stream(prompt, deadline=time_left, **options)

        tries = _Tries(self, make, bucket, pinned, pinned is None and tool is None and replayable, deadline)
        # the client checks the call's arguments now, as client.stream does; the member that takes
        # the request is chosen when it is read (this one if it is still the best)
        first = pinned or self._last_pick or self.members[0]
        tries.inner, tries.member = make(first, deadline), first
        return PoolStream(tries)

    generate_content_stream = stream

    def generate_content(self, prompt: str, **kwargs: Any) -> ModelOutput:
        """The whole answer to ``prompt`` (a pool stream, collected); keywords as :meth:`stream`."""
        return self.stream(prompt, **kwargs).collect()

    def start_chat(
        self,
        *,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        metadata: Sequence[Any] | None = None,
        cid: str | None = None,
        account: str | None = None,
    ) -> PoolChat:
        """A conversation on one account, which all its turns use (never another one).

        A new chat goes to the member that would take a request for its model
        now; resuming one (``metadata`` or ``cid``) needs ``account=``.
        """
        from .chat import PoolChat

        if (metadata is not None or cid is not None) and account is None:
            raise ValueError("resuming a chat needs account=: a chat continues on its own account only")
        bucket = quota_bucket(model, thinking)
        if account is not None:
            member = self.member(account)
        else:
            order = self._checked(
                candidates(
                    self.members, self._views(), bucket, self.clock(), self.strategy, self._next_turn()
                ),
                bucket,
            )
            if not order:
                raise refusal(self.members, self._views(), bucket, self.clock(), busy=False)
            member = order[0]
        session = member.client.start_chat(
            model=model, thinking=thinking, gem=gem, metadata=metadata, cid=cid
        )
        return PoolChat(self, member, session)

    def list_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The models any account offers (the first account listing a model id wins), cached in the state."""
        from ..types.account import ModelInfo

        found: dict[str, ModelInfo] = {}
        failure: GeminiError | None = None
        for member in self.members:
            now = self.clock()
            cached = None if refresh else self.state.cached_models(member.key, now)
            if cached is not None:
                models = [ModelInfo.from_dict(item) for item in cached]
            else:
                try:
                    models = member.client.list_models(refresh=refresh)
                except GeminiError as exc:
                    self.learn(member, exc, None)
                    failure = exc
                    continue
                self.state.cache_models(member.key, [m.to_dict() for m in models], now + 3600.0, now)
            for info in models:
                found.setdefault(info.id, info)
        if not found and failure is not None:
            raise failure
        return list(found.values())

    def usage(self) -> dict[str, list[Quota]]:
        """Every account's usage buckets by member name (guests are not asked); recorded in the state."""
        result: dict[str, list[Quota]] = {}
        for member in self.members:
            if not member.guest:
                quotas = self._read_usage(member)
                if quotas is not None:
                    result[member.name or member.key] = quotas
        return result

    def deep_research(self, prompt: str, model: ModelLike | None = None) -> ResearchJob:
        """Plan a Deep Research on one account (never moved to another: it starts a job there)."""
        bucket = quota_bucket(model, None)
        order = self._checked(
            candidates(self.members, self._views(), bucket, self.clock(), self.strategy, self._next_turn()),
            bucket,
        )
        if not order:
            raise refusal(self.members, self._views(), bucket, self.clock(), busy=False)
        return order[0].client.deep_research(prompt, model)
