"""Downloading generated video and music (docs/protocol.md 12).

The file is fetched with the account's cookies and the app's Origin and
Referer. HTTP 206 means the service is still rendering it: the download is
asked again after a pause (1, 2, 4... seconds, up to the client's poll
interval) until a 200 brings the bytes or the timeout passes. The file name
is checked like an image's (:mod:`.images`: a plain name inside the target
directory, never replacing a file unasked) and the bytes go to a temporary
file in that directory that is put in place only once complete.
"""

from __future__ import annotations

import os
import pathlib
import threading
import time

import requests

from .._constants import GEMINI_ORIGIN, JOB_FIRST_POLL, MAX_MEDIA_BYTES
from .._log import logger
from ..errors import MediaFailed, TimeoutError
from ..types.media import GeneratedMedia
from .images import _default_name, _download, _target, read_blocks
from .session import Transport

__all__ = ["save_media", "read_media", "RENDERING"]

#: the status of a file the service is still rendering
RENDERING = 206
_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/mp4": ".m4a",
    "audio/wav": ".wav",
}
_WHAT = "downloading a generated file"


def _get(transport: Transport, url: str) -> requests.Response:
    headers = {"Origin": GEMINI_ORIGIN, "Referer": GEMINI_ORIGIN + "/"}
    headers.update(transport.cookie_header(url))
    return transport.request("GET", url, _WHAT, stream=True, headers=headers)


def _ready_response(
    transport: Transport, url: str, timeout: float, poll_interval: float, cancelled: threading.Event | None
) -> requests.Response:
    """GET until the answer is not 206 (still rendering); at most ``timeout`` seconds."""
    ends = time.monotonic() + timeout
    waits = 0
    stop = cancelled if cancelled is not None else threading.Event()
    while True:
        response = _get(transport, url)
        if response.status_code != RENDERING:
            return response
        response.close()
        left = ends - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the file is still rendering after {timeout:g}s; try save() again later")
        pause = min(poll_interval, JOB_FIRST_POLL * 2**waits, left)
        waits += 1
        logger.debug("generated file still rendering (206); asking again in %.2fs", pause)
        if stop.wait(pause):
            raise MediaFailed("the download was cancelled")


def _open_media(
    transport: Transport,
    media: GeneratedMedia,
    timeout: float,
    poll_interval: float,
    cancelled: threading.Event | None,
) -> tuple[requests.Response, str]:
    """The file's response once rendered, and its content type (refused if it is not media)."""
    response = _ready_response(transport, media.url, timeout, poll_interval, cancelled)
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type.startswith(("text/", "image/")):
        response.close()
        raise MediaFailed(f"the file's URL answered with {content_type}, not a video or audio file")
    return response, content_type


def read_media(
    transport: Transport,
    media: GeneratedMedia,
    *,
    timeout: float,
    poll_interval: float,
    cancelled: threading.Event | None = None,
) -> bytes:
    """The bytes of ``media`` once rendered (waiting through 206 as :func:`save_media`), size-limited."""
    response, _ = _open_media(transport, media, timeout, poll_interval, cancelled)
    try:
        return read_blocks(response, MAX_MEDIA_BYTES, _WHAT)
    finally:
        response.close()


def save_media(
    transport: Transport,
    media: GeneratedMedia,
    path: str | os.PathLike[str] = ".",
    filename: str | None = None,
    *,
    timeout: float,
    overwrite: bool = False,
    poll_interval: float,
    cancelled: threading.Event | None = None,
) -> pathlib.Path:
    """Download ``media`` into directory ``path``, waiting while it renders; return the file's path."""
    directory = pathlib.Path(path)
    if filename is not None:
        _target(directory, filename)  # refuse a bad name before any I/O
    response, content_type = _open_media(transport, media, timeout, poll_interval, cancelled)
    try:
        name = filename or _default_name(media.url)
        extension = _EXTENSIONS.get(content_type, "")
        if extension and not os.path.splitext(name)[1]:
            name += extension
        directory.mkdir(parents=True, exist_ok=True)
        target = _target(directory, name)
        if not overwrite and target.exists():
            raise FileExistsError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
        _download(response, target, overwrite, limit=MAX_MEDIA_BYTES, what=_WHAT)
        return target
    finally:
        response.close()
