"""Result types: images, candidates, stream chunks and the collected output.

All are dataclasses serialised with dataclasses-json (``to_dict()``,
``to_json()``, ``from_dict()``, ``from_json()``; imported on first use, see
``_json.py``), so a web view can cache or send them. Images keep a
non-serialised link to the client that produced them (set with
:meth:`WebImage.attach`, not a constructor argument) so :meth:`WebImage.save`
can download with its session.
"""

from __future__ import annotations

import itertools
import operator
import pathlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, Union, overload

from ._json import JsonMixin, codec

if TYPE_CHECKING:  # defined in modules imported on first use; see __getattr__ below
    from ._account_types import (
        AccountInfo,
        CatalogEntry,
        ChatInfo,
        ChatTurn,
        Gem,
        GemLike,
        ModelInfo,
        Quota,
    )
    from ._research_types import (
        ResearchPlan,
        ResearchProgress,
        ResearchReport,
        ResearchSource,
        ResearchStep,
        ResearchThought,
    )

__all__ = [
    "ImageSaver",
    "WebImage",
    "GeneratedImage",
    "Image",
    "ImageView",
    "Candidate",
    "ModelOutput",
    "StreamChunk",
    "Status",
    "StatusKind",
    "Quota",
    "Gem",
    "ChatInfo",
    "ChatTurn",
    "AccountInfo",
    "CatalogEntry",
    "ModelInfo",
    "GemLike",
    "Timeout",
    "Citation",
    "MediaSaver",
    "GeneratedMedia",
    "GeneratedVideo",
    "GeneratedAudio",
    "ResearchStep",
    "ResearchPlan",
    "ResearchThought",
    "ResearchSource",
    "ResearchProgress",
    "ResearchReport",
]

_TEXT_PREVIEW = 40
_ImageT = TypeVar("_ImageT", bound="WebImage")


def _decode_images(items: list[Any]) -> ImageView[Any]:
    """Decode a mixed list of images: an item with an ``image_id`` is a generated image."""
    return ImageView(
        tuple(
            (GeneratedImage if "image_id" in item else WebImage).from_dict(item)
            if isinstance(item, dict)
            else item
            for item in items
        )
    )


_IMAGES = codec(decoder=_decode_images)


class ImageSaver(Protocol):
    """What :meth:`WebImage.save` downloads through: a :class:`~gemini_sync.GeminiClient`."""

    def save_image(
        self,
        image: WebImage,
        path: str | pathlib.Path,
        filename: str | None,
        *,
        full_size: bool,
        overwrite: bool,
    ) -> pathlib.Path: ...


@dataclass
class WebImage(JsonMixin):
    """An image the answer links to (a web search result)."""

    url: str
    title: str = "[Image]"
    alt: str = ""

    def __post_init__(self) -> None:
        # not a field: it is neither a constructor argument nor serialised, compared or shown
        self._saver: ImageSaver | None = None

    def attach(self: _ImageT, saver: ImageSaver | None) -> _ImageT:
        """Link the image to the client that downloads it (``None`` detaches); returns the image.

        Images a client returns are attached to it; one rebuilt with
        ``from_json()`` is not, until attached again (``image.attach(client)``).
        """
        self._saver = saver
        return self

    def save(
        self,
        path: str | pathlib.Path = ".",
        filename: str | None = None,
        *,
        full_size: bool = False,
        overwrite: bool = False,
    ) -> pathlib.Path:
        """Download the image into directory ``path`` and return the written file.

        The file name defaults to the URL's last segment; the extension follows
        the content type. A name that would leave ``path`` is refused, and an
        existing file is never replaced unless ``overwrite=True``.
        """
        if self._saver is None:
            from .errors import GeminiError

            raise GeminiError(
                "this image is not attached to a client (it was deserialised); "
                "use image.attach(client) or client.save_image(image, ...) instead"
            )
        return self._saver.save_image(self, path, filename, full_size=full_size, overwrite=overwrite)


@dataclass
class GeneratedImage(WebImage):
    """An image the model generated; needs the account's cookies to download.

    ``turn_ids`` (``[cid, rid, rcid]`` of the answer it belongs to) lets
    ``save(full_size=True)`` ask the service for the full-size original.
    """

    image_id: str = ""
    turn_ids: list[str] = field(default_factory=list)


Image = Union[WebImage, GeneratedImage]

_I = TypeVar("_I", bound=WebImage, covariant=True)


class ImageView(Sequence[_I]):
    """An immutable sequence of images: the first ``len(view)`` images of a growing list.

    A stream's images only ever grow, so every chunk can show "every image so
    far" as a view of one shared list, at O(1) cost per chunk, and no chunk or
    output can change another (there is nothing to mutate). It compares equal
    to a list or tuple of the same images, ``+`` gives a list, and it
    serialises as a JSON array (``from_json`` gives a view again).
    """

    __slots__ = ("_items", "_len")

    def __init__(self, items: Sequence[_I] = (), length: int | None = None) -> None:
        self._items = items
        self._len = len(items) if length is None else min(length, len(items))

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> _I: ...

    @overload
    def __getitem__(self, index: slice) -> ImageView[_I]: ...

    def __getitem__(self, index: int | slice) -> _I | ImageView[_I]:
        if isinstance(index, slice):
            return ImageView(tuple(self)[index])
        i = operator.index(index)
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("image index out of range")
        return self._items[i]

    def __iter__(self) -> Iterator[_I]:
        return itertools.islice(self._items, self._len)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ImageView, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list: images are mutable dataclasses

    def __add__(self, other: Sequence[WebImage]) -> list[WebImage]:
        return [*self, *other]

    def __radd__(self, other: Sequence[WebImage]) -> list[WebImage]:
        return [*other, *self]

    def __repr__(self) -> str:
        return repr(list(self))


@dataclass(frozen=True)
class Citation(JsonMixin):
    """A source the answer cites: ``[cite: number]`` in the text points to it (docs/protocol.md 10)."""

    number: int
    url: str
    title: str = ""
    snippet: str = ""


class MediaSaver(Protocol):
    """What :meth:`GeneratedMedia.save` downloads through: a :class:`~gemini_sync.GeminiClient`."""

    def save_media(
        self,
        media: GeneratedMedia,
        path: str | pathlib.Path,
        filename: str | None,
        *,
        timeout: float,
        overwrite: bool,
    ) -> pathlib.Path: ...


@dataclass
class GeneratedMedia(JsonMixin):
    """A file a media tool made (docs/protocol.md 12); needs the account's cookies to download.

    Like images, it keeps a non-serialised link to its client (:meth:`attach`).
    """

    url: str
    thumbnail_url: str = ""

    def __post_init__(self) -> None:
        self._saver: MediaSaver | None = None

    def attach(self: _MediaT, saver: MediaSaver | None) -> _MediaT:
        """Link the file to the client that downloads it (``None`` detaches); returns it."""
        self._saver = saver
        return self

    def save(
        self,
        path: str | pathlib.Path = ".",
        filename: str | None = None,
        *,
        timeout: float = 600.0,
        overwrite: bool = False,
    ) -> pathlib.Path:
        """Download the file into directory ``path``; return the written file.

        While the service is still rendering it (HTTP 206) this waits and asks
        again, for at most ``timeout`` seconds. Path safety and the atomic
        write are those of :meth:`WebImage.save`.
        """
        if self._saver is None:
            from .errors import GeminiError

            raise GeminiError(
                "this file is not attached to a client (it was deserialised); use media.attach(client) first"
            )
        return self._saver.save_media(self, path, filename, timeout=timeout, overwrite=overwrite)


_MediaT = TypeVar("_MediaT", bound=GeneratedMedia)


@dataclass
class GeneratedVideo(GeneratedMedia):
    """A generated video (Veo): ``url`` of the mp4, ``thumbnail_url`` of its still."""


@dataclass
class GeneratedAudio(GeneratedMedia):
    """A generated music track (Lyria): ``format`` "mp3", or "mp4" (the track with its cover art)."""

    format: str = "mp3"


@dataclass
class Candidate(JsonMixin):
    """One reply candidate of a turn (the service usually sends one).

    The image fields are sequences: lists, or immutable :class:`ImageView` s
    when the candidate comes from a stream.
    """

    rcid: str
    text: str = ""
    thoughts: str = ""
    web_images: Sequence[WebImage] = field(default_factory=list, metadata=_IMAGES)
    generated_images: Sequence[GeneratedImage] = field(default_factory=list, metadata=_IMAGES)
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
        from .protocol.citations import link_citations

        return link_citations(self.text, self.citations)

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
    web_images: Sequence[WebImage] = field(default_factory=tuple, metadata=_IMAGES)
    generated_images: Sequence[GeneratedImage] = field(default_factory=tuple, metadata=_IMAGES)
    new_images: Sequence[WebImage] = field(default_factory=tuple, metadata=_IMAGES)
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


Timeout = Union[float, tuple[float, float]]
"""Seconds: one bound for connecting and for each read, or a ``(connect, read)`` pair."""


# Where the result types a client needs only for the account, the history or Deep Research live:
# defining them costs start-up time that constructing a client and streaming do not need.
_HOMES = {
    **dict.fromkeys(
        ["Quota", "Gem", "GemLike", "ChatInfo", "ChatTurn", "CatalogEntry", "ModelInfo", "AccountInfo"],
        "._account_types",
    ),
    **dict.fromkeys(
        [
            "ResearchStep",
            "ResearchPlan",
            "ResearchThought",
            "ResearchSource",
            "ResearchProgress",
            "ResearchReport",
        ],
        "._research_types",
    ),
}


def __getattr__(name: str) -> object:
    """``types.ChatTurn`` and ``from gemini_sync.types import ChatTurn``: import its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __package__), name)
    globals()[name] = value
    return value
