"""Generated video and music (docs/protocol.md 12): frozen values with a download link kept apart.

Like images (:mod:`.images`), a file a client hands out is attached to that
client's downloader, which is not a field: never compared, shown or
serialised. Rebuilt with ``from_json()``, it is detached until
``media.attach(client)``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .._exports import publish
from .._json import JsonMixin
from ..errors import GeminiError

__all__ = ["MediaSaver", "GeneratedMedia", "GeneratedVideo", "GeneratedAudio"]

_MediaT = TypeVar("_MediaT", bound="GeneratedMedia")


class MediaSaver(Protocol):
    """What generated media download through (a :class:`~gemini_sync.GeminiClient`)."""

    def save_media(
        self,
        media: GeneratedMedia,
        path: str | pathlib.Path,
        filename: str | None,
        *,
        timeout: float,
        overwrite: bool,
    ) -> pathlib.Path: ...

    def read_media(self, media: GeneratedMedia, *, timeout: float) -> bytes: ...


@dataclass(frozen=True)
class GeneratedMedia(JsonMixin):
    """A file a media tool made (docs/protocol.md 12); needs the account's cookies to download."""

    url: str
    thumbnail_url: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_saver", None)

    def attach(self: _MediaT, saver: MediaSaver | None) -> _MediaT:
        """Link the file to the client that downloads it (``None`` detaches); returns it."""
        object.__setattr__(self, "_saver", saver)
        return self

    def _downloader(self) -> MediaSaver:
        saver: MediaSaver | None = getattr(self, "_saver", None)
        if saver is None:
            raise GeminiError(
                "this file is not attached to a client (it was deserialised); use media.attach(client) first"
            )
        return saver

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
        return self._downloader().save_media(self, path, filename, timeout=timeout, overwrite=overwrite)

    def read(self, *, timeout: float = 600.0) -> bytes:
        """The file's bytes (waiting while it renders, as :meth:`save`), with the same size limit."""
        return self._downloader().read_media(self, timeout=timeout)


@dataclass(frozen=True)
class GeneratedVideo(GeneratedMedia):
    """A generated video (Veo): ``url`` of the mp4, ``thumbnail_url`` of its still."""


@dataclass(frozen=True)
class GeneratedAudio(GeneratedMedia):
    """A generated music track (Lyria): ``format`` "mp3", or "mp4" (the track with its cover art)."""

    format: str = "mp3"


publish(globals())
