"""What the app needs of a client, and the account's models as OpenAI model ids.

:class:`Backend` is the part of :class:`~gemini_sync.GeminiClient` the app
calls; an ``AccountPool`` offers the same calls, so either can serve it.
:class:`ModelCatalog` turns ``client.list_models()`` into OpenAI ids
(``"gemini-3.1-pro"``), with each thinking level the model offers as a variant
(``"gemini-3.1-pro:deep"``), read once and again after ``ttl`` seconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .errors import bad_request

if TYPE_CHECKING:
    from ..types import ModelOutput, StreamChunk
    from ..types.account import ModelInfo

__all__ = ["Backend", "ChatLike", "StreamLike", "ModelCatalog", "ModelChoice"]

_MODELS_TTL = 300.0
_SLUG = re.compile(r"[^a-z0-9.]+")


class StreamLike(Protocol):
    """An answer being streamed (:class:`~gemini_sync.Stream`)."""

    def __iter__(self) -> Iterator[StreamChunk]: ...

    def collect(self) -> ModelOutput: ...

    def close(self) -> None: ...


class ChatLike(Protocol):
    """A web chat (:class:`~gemini_sync.ChatSession`)."""

    @property
    def metadata(self) -> list[Any]: ...

    def send_message_stream(self, prompt: str, *, files: Sequence[Any] | None = None) -> StreamLike: ...


class Backend(Protocol):
    """What the app calls: a :class:`~gemini_sync.GeminiClient` or an ``AccountPool``.

    ``start_chat`` gets ``model``, ``thinking``, ``gem`` and ``metadata`` (to
    resume), and ``account=`` when the chat was started on a pool's member
    (a pool's chat records its ``account``, and resumes only there).
    """

    @property
    def start_chat(self) -> Callable[..., ChatLike]: ...

    def list_models(self) -> list[ModelInfo]: ...


@dataclass(frozen=True)
class ModelChoice:
    """An OpenAI model id: the account's model and the thinking level asked (``None``: default)."""

    id: str
    info: ModelInfo
    thinking: str | None = None

    @property
    def base(self) -> str:
        """The id without the level: a conversation keeps its model, not its level."""
        return self.id.split(":", 1)[0]


def _slug(info: ModelInfo) -> str:
    words = _SLUG.sub("-", info.label.lower()).strip("-")
    return words if words.startswith("gemini") else f"gemini-{words}"


class ModelCatalog:
    """The account's models as :class:`ModelChoice` values, cached for ``ttl`` seconds; thread-safe."""

    def __init__(self, backend: Backend, ttl: float = _MODELS_TTL) -> None:
        self._backend = backend
        self._ttl = ttl
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._choices: list[ModelChoice] = []

    def choices(self) -> list[ModelChoice]:
        """Every model id, each model's variants after it."""
        with self._lock:
            if not self._choices or time.monotonic() - self._read_at > self._ttl:
                self._choices = self._build(self._backend.list_models())
                self._read_at = time.monotonic()
            return list(self._choices)

    @staticmethod
    def _build(models: Sequence[ModelInfo]) -> list[ModelChoice]:
        choices: list[ModelChoice] = []
        seen: set[str] = set()
        for info in models:
            base = _slug(info)
            if base in seen:
                base = f"{base}-{info.id[:6]}"
            seen.add(base)
            choices.append(ModelChoice(base, info))
            choices += [ModelChoice(f"{base}:{level}", info, level) for level in info.thinking_levels or ()]
        return choices

    def resolve(self, name: Any) -> ModelChoice:
        """The model ``name`` asks for: an id of :meth:`choices`, or the model's id or label; else 400."""
        if not isinstance(name, str) or not name.strip():
            raise bad_request("model must be a non-empty string", param="model")
        choices = self.choices()
        key = name.strip().lower()
        for choice in choices:
            if choice.id == key:
                return choice
        base, _, level = key.partition(":")
        for choice in choices:
            if choice.thinking is None and base in (choice.info.id.lower(), choice.info.label.lower()):
                wanted = f"{choice.id}:{level}" if level else choice.id
                found = next((c for c in choices if c.id == wanted), None)
                if found is not None:
                    return found
                offered = ", ".join(choice.info.thinking_levels or ()) or "none"
                raise bad_request(
                    f"model {choice.id!r} has no thinking level {level!r} (it offers: {offered})",
                    param="model",
                    code="model_not_found",
                )
        listed = ", ".join(c.id for c in choices)
        raise bad_request(
            f"unknown model {name!r}; this account offers: {listed}", param="model", code="model_not_found"
        )
