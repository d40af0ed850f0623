"""PoolChat: a conversation of a pool, pinned to the account that owns it.

A conversation lives in one account's history: its ids mean nothing to
another account, so every turn of a :class:`PoolChat` goes to the member that
started it, through the pool (a slot under that member's ``max_concurrent``,
and what the errors say is learnt), never to another member, whatever
happens to that account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._config import Timeout
    from ..chat import ChatSession
    from ..models import Model, ModelLike, Thinking
    from ..transport.upload import FileInput
    from ..types.output import Candidate, ModelOutput
    from .pick import Member
    from .pool import AccountPool
    from .stream import PoolStream

__all__ = ["PoolChat"]


class PoolChat:
    """A chat of :meth:`AccountPool.start_chat`: a :class:`~gemini_sync.ChatSession` on one member."""

    def __init__(self, pool: AccountPool, member: Member, session: ChatSession) -> None:
        self._pool = pool
        self.member = member
        self.session = session

    def __repr__(self) -> str:
        return f"<PoolChat {self.account} cid={self.cid!r}>"

    @property
    def account(self) -> str:
        """The name of the member the chat lives on."""
        return self.member.name or self.member.key

    @property
    def model(self) -> Model:
        return self.session.model

    @property
    def metadata(self) -> list[Any]:
        """The chat's metadata; resume with ``pool.start_chat(metadata=..., account=chat.account)``."""
        return self.session.metadata

    @property
    def cid(self) -> str:
        return self.session.cid

    @property
    def last_output(self) -> ModelOutput | None:
        return self.session.last_output

    def send_message_stream(
        self,
        prompt: str,
        files: Sequence[FileInput] | None = None,
        *,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        temporary: bool = False,
        deadline: float | None = None,
        recover: bool = True,
        timeout: Timeout | None = None,
        request_options: Mapping[str, Any] | None = None,
        tool: str | None = None,
    ) -> PoolStream:
        """Stream the answer to ``prompt`` in this conversation, on its account (options as the chat's)."""
        return self._pool.stream(
            prompt,
            files=files,
            model=model,
            thinking=thinking,
            gem=self.session.gem,
            chat=self,
            temporary=temporary,
            deadline=deadline,
            recover=recover,
            timeout=timeout,
            request_options=request_options,
            tool=tool,
        )

    def send_message(
        self, prompt: str, files: Sequence[FileInput] | None = None, **kwargs: Any
    ) -> ModelOutput:
        """Send ``prompt`` and return the whole answer (keywords as :meth:`send_message_stream`)."""
        return self.send_message_stream(prompt, files, **kwargs).collect()

    def choose_candidate(self, index: int) -> Candidate:
        """Continue the conversation from candidate ``index`` of the last answer."""
        return self.session.choose_candidate(index)
