"""ChatSession: a conversation whose metadata is carried from turn to turn.

The metadata is ``[cid, rid, rcid, None x 6, context token]`` (docs/protocol.md
3.4). It changes only when a turn completes: a turn that fails, is cancelled
or is closed early leaves the session exactly as it was before it. A chat
keeps its model (the service refuses another one inside a conversation with
error 1050, so a switch is refused at the call) and a default thinking level.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._config import Timeout
from ._exports import publish
from .models import Model, ModelLike, Thinking, check_level
from .protocol.request import METADATA_SLOTS, new_metadata
from .streaming.stream import Stream, collected
from .types.output import Candidate, ModelOutput

if TYPE_CHECKING:
    from .client import GeminiClient
    from .transport.upload import FileInput
    from .types.account import GemLike
    from .types.ids import ChatIds

__all__ = ["ChatSession", "normalize_metadata"]


def normalize_metadata(metadata: ChatIds | Sequence[Any]) -> list[Any]:
    """A copy of saved chat metadata, padded to the 10 slots the service expects.

    ``TypeError`` for a string or a non-sequence (a cid alone goes to ``cid=``),
    ``ValueError`` for more than 10 slots. A :class:`ChatIds` gives its slots.
    """
    from .types.ids import ChatIds  # defined on first use

    if isinstance(metadata, ChatIds):
        metadata = metadata.metadata
    if isinstance(metadata, (str, bytes)) or not isinstance(metadata, Sequence):
        raise TypeError(
            "chat metadata must be a list such as chat.metadata from an earlier session "
            "(to continue a chat by its id, use client.start_chat(cid=...))"
        )
    if len(metadata) > METADATA_SLOTS:
        raise ValueError(f"chat metadata has {len(metadata)} slots; at most {METADATA_SLOTS} are expected")
    meta = new_metadata()
    for index, value in enumerate(metadata):
        if index in _TEXT_SLOTS and value is not None and not isinstance(value, str):
            kind = type(value).__name__
            raise TypeError(f"chat metadata slot {index} must be a string or None, not {kind}")
        meta[index] = value
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"chat metadata must hold JSON values only ({exc})") from None
    return meta


_TEXT_SLOTS = frozenset({0, 1, 2, 9})  # cid, rid, rcid, context token (docs/protocol.md 3.4)


class ChatSession:
    """A multi-turn conversation. Create it with :meth:`GeminiClient.start_chat`."""

    def __init__(
        self,
        client: GeminiClient,
        *,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        gem: GemLike | None = None,
        metadata: ChatIds | Sequence[Any] | None = None,
        cid: str | None = None,
        expect_model: bool | str = False,
    ) -> None:
        self._client = client
        #: every turn's ``expect_model`` unless the turn gives its own (see ``GeminiClient.stream``)
        self.expect_model = expect_model
        self._model = Model.resolve(model)
        #: the default thinking level of the chat's turns (``None``: the service's default)
        self.thinking: Thinking | None = check_level(thinking)
        self.gem = gem
        self._lock = threading.Lock()
        meta = normalize_metadata(metadata) if metadata is not None else new_metadata()
        if cid is not None:
            meta[0] = cid
        self._metadata = meta
        self.last_output: ModelOutput | None = None

    def __repr__(self) -> str:
        return f"<ChatSession cid={self.cid!r} model={self.model.model_name!r}>"

    @property
    def client(self) -> GeminiClient:
        """The client whose account holds this conversation (a chat continues only there)."""
        return self._client

    # -- model and thinking ------------------------------------------------

    @property
    def model(self) -> Model:
        """The chat's model, fixed for all its turns."""
        return self._model

    def model_for(self, model: ModelLike | None) -> Model:
        """The model of a turn: the chat's own; ``ValueError`` for another one (a chat keeps its model)."""
        if model is None:
            return self._model
        chosen = self._client.resolve_model(model)
        if chosen.model_id != self._model.model_id:
            raise ValueError(
                f"this chat uses the model {self._model.model_name!r}, not {chosen.model_name!r}: a chat "
                "keeps its model (the service refuses a switch inside a conversation with error 1050); "
                "start a new chat with client.start_chat(model=...)"
            )
        return chosen

    def level_for(self, thinking: str | None) -> str | None:
        """The thinking level of a turn: ``thinking``, else the chat's."""
        return thinking if thinking is not None else self.thinking

    # -- metadata ----------------------------------------------------------

    @property
    def metadata(self) -> list[Any]:
        """A copy of ``[cid, rid, rcid, None x 6, context token]``; save it to resume later."""
        return list(self._metadata)

    @property
    def ids(self) -> ChatIds:
        """Where the conversation stands (cid, rid, rcid, token); ``start_chat(metadata=ids)`` resumes it."""
        from .types.ids import ChatIds

        return ChatIds.from_metadata(self._metadata)

    @property
    def cid(self) -> str:
        return str(self._metadata[0] or "")

    @property
    def rid(self) -> str:
        return str(self._metadata[1] or "")

    @property
    def rcid(self) -> str:
        return str(self._metadata[2] or "")

    def advance(self, output: ModelOutput) -> None:
        """Make ``output`` the conversation's last turn: the next message continues from it.

        The session's own streams call it once, when the turn is final for the
        caller (the last chunk handed out, ``collect()`` returning, or a
        worker's ``on_done`` returning), so a turn that fails, is cancelled or
        is closed early never advances the chat. Call it yourself only for an
        answer to this conversation obtained another way.
        """
        meta = list(self._metadata)
        for index, value in enumerate(output.metadata[:METADATA_SLOTS]):
            if value:
                meta[index] = value
        candidate = output.candidate
        if candidate is not None:
            meta[2] = candidate.rcid
        with self._lock:
            self._metadata = meta
            self.last_output = output

    # -- turns -------------------------------------------------------------

    def send_message_stream(
        self,
        prompt: str,
        *,
        files: Sequence[FileInput] | None = None,
        model: ModelLike | None = None,
        thinking: Thinking | None = None,
        temporary: bool = False,
        deadline: float | None = None,
        recover: bool = True,
        timeout: Timeout | None = None,
        request_options: Mapping[str, Any] | None = None,
        tool: str | None = None,
        expect_model: bool | str | None = None,
    ) -> Stream:
        """Stream the answer to ``prompt`` in this conversation (options as in ``GeminiClient.stream``).

        ``thinking`` replaces the chat's level for this turn; ``model`` may
        only name the chat's own model (anything else is a ``ValueError``).
        """
        return self._client.stream(
            prompt,
            files=files,
            model=model,
            thinking=thinking,
            gem=self.gem,
            chat=self,
            temporary=temporary,
            deadline=deadline,
            recover=recover,
            timeout=timeout,
            request_options=request_options,
            tool=tool,
            expect_model=self.expect_model if expect_model is None else expect_model,
        )

    send_message = collected(
        send_message_stream,
        "send_message",
        """Send ``prompt`` and return the whole answer (parameters as in :meth:`send_message_stream`).""",
    )

    def choose_candidate(self, index: int) -> Candidate:
        """Continue the conversation from candidate ``index`` of the last answer."""
        output = self.last_output
        if output is None:
            raise ValueError("no answer yet: send a message before choosing a candidate")
        if not 0 <= index < len(output.candidates):
            raise IndexError(
                f"the last answer has {len(output.candidates)} candidate(s); {index} is out of range"
            )
        candidate = output.candidates[index]
        with self._lock:
            meta = list(self._metadata)
            meta[2] = candidate.rcid
            self._metadata = meta
            output.chosen = index
        return candidate


publish(globals())
