"""ChatIds: where a conversation stands, as one value (defined on first use: a stream needs none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._exports import publish
from .._json import JsonMixin

__all__ = ["ChatIds"]

_METADATA_SLOTS = 10
_CONTEXT_SLOT = 9


@dataclass(frozen=True)
class ChatIds(JsonMixin):
    """Where a conversation stands: its id, the last reply's ids and the context token.

    ``client.start_chat(metadata=ids)`` continues from it (``output.ids``,
    ``chat.ids``); it is the documented form of the ``metadata`` list
    ``[cid, rid, rcid, None x 6, context token]``, which keeps working.
    """

    cid: str = ""
    rid: str = ""
    rcid: str = ""
    context_token: str = ""

    @classmethod
    def from_metadata(cls, metadata: Sequence[Any]) -> ChatIds:
        """The ids held by a ``metadata`` list (missing or empty slots become ``""``)."""

        def slot(index: int) -> str:
            value = metadata[index] if len(metadata) > index else None
            return value if isinstance(value, str) else ""

        return cls(slot(0), slot(1), slot(2), slot(_CONTEXT_SLOT))

    @property
    def metadata(self) -> list[Any]:
        """The same ids as the service's 10-slot metadata list."""
        meta: list[Any] = [self.cid, self.rid, self.rcid] + [None] * (_METADATA_SLOTS - 3)
        meta[_CONTEXT_SLOT] = self.context_token
        return meta

    def __bool__(self) -> bool:
        return bool(self.cid)


publish(globals())
