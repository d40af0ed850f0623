"""Files in and out: image parts as uploads, long prompts as attachments, generated images served back.

* An image part's ``data:`` URL is decoded, an ``http(s)`` URL fetched (bounded
  in size and time, never with the account's cookies), and the bytes go to
  the web chat as an upload.
* A prompt longer than the service accepts (it cuts prompts past about
  130,000 UTF-8 bytes without an error) is sent as a text attachment.
* A generated image needs the account's cookies to download, so the app
  serves it itself: :class:`ImageShelf` keeps the image under an unguessable
  id and ``GET /v1/files/<id>`` returns its bytes, which a browser without
  the account's cookies can show. The id is the capability: the link works
  without the API key, as a markdown image in a chat UI needs.
"""

from __future__ import annotations

import base64
import binascii
import collections
import pathlib
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import requests

from ..protocol.media import extension_for, sniff_mime
from .errors import OpenAIError, bad_request

__all__ = ["MAX_PROMPT_BYTES", "ImageShelf", "image_upload", "prompt_attachment", "read_image"]

#: prompts longer than this (UTF-8 bytes) go as an attachment; the service cuts at about 130,000
MAX_PROMPT_BYTES = 120_000
_MAX_IMAGE_BYTES = 20 * 1024 * 1024
_FETCH_TIMEOUT = 15.0
_SHELF_SIZE = 1000
_SHELF_TTL = 24 * 3600.0
_BLOCK = 64 * 1024


def _data_url(url: str) -> bytes:
    header, comma, payload = url.partition(",")
    if not comma:
        raise bad_request("an image data: URL has no ',' before its data", param="image_url")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise bad_request("an image data: URL holds invalid base64", param="image_url") from None


def _fetch(url: str, session: requests.Session | None) -> bytes:
    getter = session.get if session is not None else requests.get
    try:
        with getter(url, timeout=_FETCH_TIMEOUT, stream=True, allow_redirects=True) as response:
            if response.status_code != 200:
                raise bad_request(
                    f"fetching the image URL gave HTTP {response.status_code}", param="image_url"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(_BLOCK):
                size += len(chunk)
                if size > _MAX_IMAGE_BYTES:
                    raise bad_request("the image at the URL is larger than 20 MiB", param="image_url")
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.RequestException as exc:
        what = exc.__class__.__name__
        raise bad_request(f"the image URL could not be fetched ({what})", param="image_url") from None


def image_upload(url: str, index: int, session: requests.Session | None = None) -> tuple[str, bytes]:
    """An image part's URL as ``(file name, bytes)`` to upload; a 400 for a URL that gives no image."""
    if url.startswith("data:"):
        data = _data_url(url)
    elif url.startswith(("http://", "https://")):
        data = _fetch(url, session)
    else:
        raise bad_request("an image URL must be a data: URL or an http(s) URL", param="image_url")
    if len(data) > _MAX_IMAGE_BYTES:
        raise bad_request("an image is larger than 20 MiB", param="image_url")
    mime = sniff_mime(data[:16])
    if not mime.startswith("image/"):
        raise bad_request("an image part does not hold a PNG, JPEG, GIF or WebP image", param="image_url")
    return f"image_{index + 1}{extension_for(mime)}", data


def prompt_attachment(prompt: str) -> tuple[str, list[tuple[str, bytes]]]:
    """``(prompt, files)``: a prompt too long for the service becomes ``prompt.txt`` with a short pointer."""
    data = prompt.encode("utf-8")
    if len(data) <= MAX_PROMPT_BYTES:
        return prompt, []
    pointer = (
        "My message is too long to paste: it is in the attached file prompt.txt. Read all of it and "
        "answer it exactly as if I had written it here."
    )
    return pointer, [("prompt.txt", data)]


def read_image(image: Any, saver: Any) -> bytes:
    """The bytes of a generated image: ``image.read()`` when the library has it, else a save to a temp dir.

    The one place to switch once ``WebImage.read()`` exists everywhere.
    """
    reader: Callable[[], bytes] | None = getattr(image, "read", None)
    if callable(reader):
        return reader()
    with tempfile.TemporaryDirectory(prefix="gemini-sync-image-") as folder:
        path = saver.save_image(image, folder, "image")
        return pathlib.Path(path).read_bytes()


class ImageShelf:
    """Generated images by unguessable id, bounded (LRU, ``ttl`` seconds), with who downloads them."""

    def __init__(self, max_entries: int = _SHELF_SIZE, ttl: float = _SHELF_TTL) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: collections.OrderedDict[str, tuple[float, Any, Any]] = collections.OrderedDict()

    def put(self, image: Any, saver: Any) -> str:
        """Keep ``image`` (downloaded through ``saver``) and return its new id."""
        file_id = "file-" + secrets.token_urlsafe(24)
        with self._lock:
            self._items[file_id] = (time.monotonic(), image, saver)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return file_id

    def content(self, file_id: str) -> tuple[bytes, str]:
        """``(bytes, content type)`` of image ``file_id``; a 404 when unknown or expired."""
        with self._lock:
            entry = self._items.get(file_id)
            if entry is not None and time.monotonic() - entry[0] > self.ttl:
                del self._items[file_id]
                entry = None
        if entry is None:
            raise OpenAIError(404, f"no file {file_id!r} (unknown or expired)", code="file_not_found")
        data = read_image(entry[1], entry[2])
        return data, sniff_mime(data[:16])
