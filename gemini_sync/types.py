"""Result types: images, candidates, stream chunks and the collected output.

All are dataclasses serialised with dataclasses-json (``to_dict()``,
``to_json()``, ``from_dict()``, ``from_json()``), so a web view can cache or
send them. Images keep a private, non-serialised link to the client that
produced them so :meth:`WebImage.save` can download with its session.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

from dataclasses_json import DataClassJsonMixin, config

__all__ = [
    "WebImage",
    "GeneratedImage",
    "Image",
    "Candidate",
    "ModelOutput",
    "StreamChunk",
    "Gem",
    "ChatInfo",
]

_TEXT_PREVIEW = 40
# the encoder makes dataclasses-json skip its deep copy of the value (a client holds locks)
_HIDDEN = config(encoder=lambda _value: None, exclude=lambda _value: True)


def _decode_images(items: list[Any]) -> list[Any]:
    """Decode a mixed list of images: an item with an ``image_id`` is a generated image."""
    return [
        (GeneratedImage if "image_id" in item else WebImage).from_dict(item)
        if isinstance(item, dict)
        else item
        for item in items
    ]


class _ImageSaver(Protocol):
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
class WebImage(DataClassJsonMixin):
    """An image the answer links to (a web search result)."""

    url: str
    title: str = "[Image]"
    alt: str = ""
    _saver: _ImageSaver | None = field(default=None, repr=False, compare=False, metadata=_HIDDEN)

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
                "use client.save_image(image, ...) instead"
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


@dataclass
class Candidate(DataClassJsonMixin):
    """One reply candidate of a turn (the service usually sends one)."""

    rcid: str
    text: str = ""
    thoughts: str = ""
    web_images: list[WebImage] = field(default_factory=list)
    generated_images: list[GeneratedImage] = field(default_factory=list)

    @property
    def images(self) -> list[WebImage]:
        """Web images first, then generated images."""
        return [*self.web_images, *self.generated_images]


@dataclass
class ModelOutput(DataClassJsonMixin):
    """A whole answer: every candidate and the conversation metadata.

    ``text``, ``thoughts`` and the image lists are those of the chosen candidate.
    ``metadata`` is ``[cid, rid, rcid, None x 6, context token]``.
    """

    metadata: list[Any] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int = 0

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


@dataclass(repr=False)
class StreamChunk(DataClassJsonMixin):
    """One step of a stream: the new text since the previous chunk and everything so far.

    ``text``/``thoughts`` are the accumulated, stable text; ``delta_text``/
    ``delta_thoughts`` are what this chunk adds. ``web_images`` and
    ``generated_images`` are every image so far; ``new_images`` only those first
    seen in this chunk. Exactly one chunk of a stream has ``is_final=True``: the last.
    """

    text: str = ""
    delta_text: str = ""
    thoughts: str = ""
    delta_thoughts: str = ""
    web_images: list[WebImage] = field(default_factory=list)
    generated_images: list[GeneratedImage] = field(default_factory=list)
    new_images: list[WebImage] = field(default_factory=list, metadata=config(decoder=_decode_images))
    metadata: list[Any] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    is_final: bool = False

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= _TEXT_PREVIEW else self.text[: _TEXT_PREVIEW - 3] + "..."
        return (
            f"StreamChunk(text={preview!r}, delta_text=<{len(self.delta_text)} chars>, "
            f"delta_thoughts=<{len(self.delta_thoughts)} chars>, new_images={len(self.new_images)}, "
            f"is_final={self.is_final})"
        )


@dataclass
class Gem(DataClassJsonMixin):
    """A gem: a saved system prompt, built in (``predefined``) or the user's own."""

    id: str
    name: str = ""
    description: str = ""
    prompt: str = ""
    predefined: bool = False


@dataclass
class ChatInfo(DataClassJsonMixin):
    """A conversation in the account's history."""

    cid: str
    title: str = ""
    pinned: bool = False
    timestamp: float | None = None
