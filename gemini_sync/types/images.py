"""Images of an answer: web images it links to and images the model generated.

Images are values: frozen dataclasses, so changing one chunk's image can never
change another chunk or the collected output. The download link is kept apart
from the value: an image a client hands out is attached to that client's
downloader (not a field: never compared, shown or serialised), so
:meth:`WebImage.save` and :meth:`WebImage.read` use the client's session and
cookie rules. An image rebuilt with ``from_json()`` is detached until
``image.attach(client)``.
"""

from __future__ import annotations

import itertools
import operator
import pathlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, Union, overload

from .._exports import publish
from .._json import JsonMixin, codec
from ..errors import GeminiError

__all__ = ["ImageSaver", "WebImage", "GeneratedImage", "Image", "ImageView", "IMAGES_CODEC"]

_ImageT = TypeVar("_ImageT", bound="WebImage")


class ImageSaver(Protocol):
    """What images download through (a :class:`~gemini_sync.GeminiClient`): save to disk or read bytes."""

    def save_image(
        self,
        image: WebImage,
        path: str | pathlib.Path,
        filename: str | None,
        *,
        full_size: bool,
        overwrite: bool,
    ) -> pathlib.Path: ...

    def read_image(self, image: WebImage, *, full_size: bool, timeout: float | None) -> bytes: ...


def _detached(what: str, how: str) -> GeminiError:
    return GeminiError(f"this {what} is not attached to a client (it was deserialised); {how}")


@dataclass(frozen=True)
class WebImage(JsonMixin):
    """An image the answer links to (a web search result)."""

    url: str
    title: str = "[Image]"
    alt: str = ""

    def __post_init__(self) -> None:
        # not a field: it is neither a constructor argument nor serialised, compared or shown
        object.__setattr__(self, "_saver", None)

    def attach(self: _ImageT, saver: ImageSaver | None) -> _ImageT:
        """Link the image to the client that downloads it (``None`` detaches); returns the image.

        Images a client returns are attached to it; one rebuilt with
        ``from_json()`` is not, until attached again (``image.attach(client)``).
        The link is not part of the value: it changes no field.
        """
        object.__setattr__(self, "_saver", saver)
        return self

    def _downloader(self) -> ImageSaver:
        saver: ImageSaver | None = getattr(self, "_saver", None)
        if saver is None:
            raise _detached("image", "use image.attach(client) or client.save_image(image, ...) instead")
        return saver

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
        return self._downloader().save_image(self, path, filename, full_size=full_size, overwrite=overwrite)

    def read(self, *, full_size: bool = False, timeout: float | None = None) -> bytes:
        """The image's bytes, e.g. to serve them from a web app to a browser without the cookies.

        The same rules and bounds as :meth:`save`: cookies only for a generated
        image on the service's image host, a size limit, ``timeout`` (seconds,
        default the client's) for connecting and for each read.
        """
        return self._downloader().read_image(self, full_size=full_size, timeout=timeout)


@dataclass(frozen=True)
class GeneratedImage(WebImage):
    """An image the model generated; needs the account's cookies to download.

    ``turn_ids`` (``(cid, rid, rcid)`` of the answer it belongs to) lets
    ``save(full_size=True)`` ask the service for the full-size original.
    """

    image_id: str = ""
    turn_ids: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "turn_ids", tuple(self.turn_ids))  # a list given: kept as a tuple


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

    __hash__ = None  # type: ignore[assignment]  # like a list: a sequence compared by value

    def __add__(self, other: Sequence[WebImage]) -> list[WebImage]:
        return [*self, *other]

    def __radd__(self, other: Sequence[WebImage]) -> list[WebImage]:
        return [*other, *self]

    def __repr__(self) -> str:
        return repr(list(self))


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


#: the field metadata of every image sequence: decoded as a view of mixed images
IMAGES_CODEC = codec(decoder=_decode_images)

publish(globals())
