"""The results of a turn: candidates, stream chunks, the collected output, status and citations.

All are dataclasses serialised with dataclasses-json (``to_dict()``,
``to_json()``, ``from_dict()``, ``from_json()``; imported on first use, see
``_json.py``), so a web view can cache or send them. Nothing here imports the
protocol, the transport or the client: these are plain values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._exports import publish
from .._json import JsonMixin
from .images import IMAGES_CODEC, GeneratedImage, WebImage

if TYPE_CHECKING:  # defined on first use (a stream with media imports them): see _exports.resolve_annotations
    from .ids import ChatIds
    from .media import GeneratedAudio, GeneratedVideo

__all__ = [
    "Citation",
    "link_citations",
    "CITE_PATTERN",
    "Candidate",
    "ModelOutput",
    "Status",
    "StatusKind",
    "StreamChunk",
]

_TEXT_PREVIEW = 40

#: a citation marker in the text: ``[cite: 2]``, ``[cite: 2, 3]`` (docs/protocol.md 10)
CITE_PATTERN = r"\[cite:\s*([0-9][0-9,\s]*)\]"


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The marker and number patterns, compiled on first use (a stream needs neither)."""
    return re.compile(CITE_PATTERN), re.compile(r"\d+")


@dataclass(frozen=True)
class Citation(JsonMixin):
    """A source the answer cites: ``[cite: number]`` in the text points to it (docs/protocol.md 10)."""

    number: int
    url: str
    title: str = ""
    snippet: str = ""


def link_citations(text: str, citations: Iterable[Any]) -> str:
    """``text`` with each ``[cite: N, M]`` marker rendered as markdown links ``[[N]](url) [[M]](url)``.

    ``citations`` is any iterable of objects with ``number`` and ``url``
    (e.g. ``output.citations``). A number with no known source stays as
    plain ``[N]``; text without markers is returned unchanged.
    """
    urls = {c.number: c.url for c in citations}
    marker, number_pattern = _patterns()

    def render(match: re.Match[str]) -> str:
        parts = []
        for raw in number_pattern.findall(match.group(1)):
            number = int(raw)
            url = urls.get(number)
            parts.append(f"[[{number}]]({url})" if url else f"[{number}]")
        return " ".join(parts)

    return marker.sub(render, text)


@dataclass
class Candidate(JsonMixin):
    """One reply candidate of a turn (the service usually sends one).

    The image fields are sequences: lists, or immutable :class:`ImageView` s
    when the candidate comes from a stream.
    """

    rcid: str
    text: str = ""
    thoughts: str = ""
    web_images: Sequence[WebImage] = field(default_factory=list, metadata=IMAGES_CODEC)
    generated_images: Sequence[GeneratedImage] = field(default_factory=list, metadata=IMAGES_CODEC)
    citations: list[Citation] = field(default_factory=list)
    videos: list[GeneratedVideo] = field(default_factory=list)
    audio: list[GeneratedAudio] = field(default_factory=list)

    @property
    def images(self) -> list[WebImage]:
        """Web images first, then generated images."""
        return [*self.web_images, *self.generated_images]


@dataclass
class ModelOutput(JsonMixin):
    """A whole answer: every candidate and the conversation metadata.

    ``text``, ``thoughts`` and the image lists are those of the chosen candidate.
    ``metadata`` is ``[cid, rid, rcid, None x 6, context token]``.
    ``model_name`` is the display name of the model that actually served the
    answer as the service reports it (e.g. ``"3.5 Flash-Lite"``), ``model_id``
    that model's id when the service sends it; ``None`` when it did not say.
    """

    metadata: list[Any] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int = 0
    model_name: str | None = None
    model_id: str | None = None

    @property
    def candidate(self) -> Candidate | None:
        return self.candidates[self.chosen] if 0 <= self.chosen < len(self.candidates) else None

    @property
    def text(self) -> str:
        cand = self.candidate
        return cand.text if cand else ""

    @property
    def thoughts(self) -> str:
        cand = self.candidate
        return cand.thoughts if cand else ""

    @property
    def web_images(self) -> list[WebImage]:
        cand = self.candidate
        return list(cand.web_images) if cand else []

    @property
    def generated_images(self) -> list[GeneratedImage]:
        cand = self.candidate
        return list(cand.generated_images) if cand else []

    @property
    def images(self) -> list[WebImage]:
        cand = self.candidate
        return cand.images if cand else []

    @property
    def citations(self) -> list[Citation]:
        """The sources the text's ``[cite: N]`` markers point to, sorted by number (empty if none)."""
        cand = self.candidate
        return list(cand.citations) if cand else []

    @property
    def videos(self) -> list[GeneratedVideo]:
        """Generated videos (``tool="video"``); ``.save()`` downloads one."""
        cand = self.candidate
        return list(cand.videos) if cand else []

    @property
    def audio(self) -> list[GeneratedAudio]:
        """Generated music (``tool="music"``): the mp3 and the mp4 with cover art."""
        cand = self.candidate
        return list(cand.audio) if cand else []

    def linked_text(self) -> str:
        """The text with every ``[cite: N]`` marker rendered as a markdown link to its source."""
        return link_citations(self.text, self.citations)

    @property
    def ids(self) -> ChatIds:
        """The conversation's ids after this answer: what a chat needs to continue from it."""
        from .ids import ChatIds  # defined on first use

        return ChatIds.from_metadata(self.metadata)

    @property
    def cid(self) -> str | None:
        return self.metadata[0] if self.metadata else None

    @property
    def rid(self) -> str | None:
        return self.metadata[1] if len(self.metadata) > 1 else None

    @property
    def rcid(self) -> str | None:
        return self.metadata[2] if len(self.metadata) > 2 else None

    def __str__(self) -> str:
        return self.text


_STATUS_LABELS = {"queued": "Queued", "thinking": "Thinking", "tool": "Running a tool"}

StatusKind = Literal["queued", "thinking", "tool"]
"""What the service says it is doing: waiting in a queue, thinking, or running a tool."""


@dataclass(frozen=True)
class Status(JsonMixin):
    """What the service is doing while it writes nothing new (see ``StreamChunk.status``).

    ``kind`` is ``"queued"`` (the request waits for capacity), ``"thinking"``
    (``headline`` is the service's own short title of the current step, e.g.
    ``"Comparing Images"``, or ``None`` when it sent none) or ``"tool"`` (a
    tool such as code execution is busy; ``headline`` as for thinking).
    Which frames mean what, and what is a guess: :mod:`gemini_sync.protocol.status`.
    """

    kind: StatusKind
    headline: str | None = None

    def __str__(self) -> str:
        label = _STATUS_LABELS.get(self.kind, self.kind)
        return f"{label}: {self.headline}" if self.headline else f"{label}..."


@dataclass(repr=False)
class StreamChunk(JsonMixin):
    """One step of a stream: the new text since the previous chunk and everything so far.

    ``text``/``thoughts`` are the accumulated, stable text; ``delta_text``/
    ``delta_thoughts`` are what this chunk adds. ``web_images`` and
    ``generated_images`` are every image so far; ``new_images`` only those first
    seen in this chunk. ``candidates`` of a non-final chunk are only the
    candidates that changed since the previous chunk (the chosen one among
    them), in answer order; the final chunk has every candidate. Exactly one
    chunk of a stream has ``is_final=True``: the last; it also carries
    ``model_name``/``model_id`` (see :class:`ModelOutput`).

    A chunk owns what it holds: its lists are its own and its image sequences
    immutable (:class:`ImageView`, tuples), so changing one chunk never changes
    another chunk or the collected output. Building a chunk costs what changed,
    not what came before.

    ``status`` is what the service is doing as of this chunk (queued, thinking
    with a headline, a tool at work) or ``None`` once it writes the answer. A
    chunk is also handed out when only the status changed, so every non-final
    chunk carries new text, thoughts, images or a changed status.
    """

    text: str = ""
    delta_text: str = ""
    thoughts: str = ""
    delta_thoughts: str = ""
    web_images: Sequence[WebImage] = field(default_factory=tuple, metadata=IMAGES_CODEC)
    generated_images: Sequence[GeneratedImage] = field(default_factory=tuple, metadata=IMAGES_CODEC)
    new_images: Sequence[WebImage] = field(default_factory=tuple, metadata=IMAGES_CODEC)
    metadata: list[Any] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    is_final: bool = False
    model_name: str | None = None
    model_id: str | None = None
    status: Status | None = None

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= _TEXT_PREVIEW else self.text[: _TEXT_PREVIEW - 3] + "..."
        return (
            f"StreamChunk(text={preview!r}, delta_text=<{len(self.delta_text)} chars>, "
            f"delta_thoughts=<{len(self.delta_thoughts)} chars>, new_images={len(self.new_images)}, "
            f"status={self.status}, is_final={self.is_final})"
        )


publish(globals())
