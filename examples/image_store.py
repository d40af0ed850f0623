"""Images a web page can show: the app serves an answer's images itself, at ``/images/<id>``.

A visitor's browser has none of the account's cookies, so a generated image's
URL (on Google's image host) does not load there. The web examples hand the
page an opaque id per image instead and serve ``GET /images/<id>`` from the
bytes ``image.read()`` fetches with the client's session. Only images this
app streamed can be asked for (the id is a random token, never a URL the
visitor picks: no open proxy), and the store keeps the most recent ones only,
so a long-running app does not grow.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from gemini_sync import WebImage

__all__ = ["ImageStore", "content_type"]

# magic numbers of the formats the service sends; anything else is served as opaque bytes
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def content_type(data: bytes) -> str:
    """The image type the bytes themselves say (never the upstream header), else octet-stream."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class ImageStore:
    """The ``limit`` most recent images handed to pages, by opaque id (thread-safe)."""

    def __init__(self, limit: int = 256) -> None:
        self._images: OrderedDict[str, WebImage] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, image: WebImage) -> str:
        """A new id for ``image``; the oldest image is forgotten once there are ``limit``."""
        image_id = secrets.token_urlsafe(12)
        with self._lock:
            self._images[image_id] = image
            while len(self._images) > self._limit:
                self._images.popitem(last=False)
        return image_id

    def get(self, image_id: str) -> WebImage | None:
        """The image of ``image_id``, if this app handed it out and still keeps it."""
        with self._lock:
            return self._images.get(image_id)
