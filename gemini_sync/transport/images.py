"""Downloading images to disk (docs/protocol.md 9).

Cookies go only where they belong: a generated image (the account's) gets
the service's cookies on its https image host; a web image (a public page's)
never does, and no cookie header survives a redirect to another host. A file
name that would leave the target directory is refused, a long one is
shortened (keeping its extension), and an existing file is never replaced
unless asked: the download goes to a temporary file in the same directory,
which replaces the target only once complete, so a failure leaves the old
file as it was.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets
from collections.abc import Callable, Iterator
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import requests

from .._constants import FILE_BLOCK_SIZE, MAX_FILE_NAME, MAX_IMAGE_BYTES, MAX_IMAGE_URL_BYTES
from .._log import logger
from ..errors import GeminiError, ProtocolError
from ..protocol import rpcs
from ..protocol.jspb import dig
from ..protocol.request import BatchCall
from ..types.images import GeneratedImage, WebImage
from .errors import translate_exception
from .session import Transport, read_body

__all__ = [
    "save_image",
    "read_image",
    "read_blocks",
    "full_size_url",
    "resolve_full_size",
    "shorten_name",
    "RpcFn",
]

RpcFn = Callable[[list[BatchCall]], list[Any]]

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "image/bmp": ".bmp",
    "image/svg+xml": ".svg",
}
_SIZE_SUFFIX = re.compile(r"=[swh]\d+[^/]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_POINTER_HOPS = 3  # "=d-I" -> pointer -> pointer -> the bytes (one more than the service uses)
_MEDIA_TYPE = re.compile(r"[a-z0-9.+-]{1,30}/[a-z0-9.+-]{1,40}")  # quoted in errors only if it is one


def full_size_url(image: WebImage) -> str:
    """The larger rendition of a generated image: its size suffix set to ``=s2048-rj``."""
    if not isinstance(image, GeneratedImage):
        return image.url
    return _SIZE_SUFFIX.sub("", image.url) + "=s2048-rj"


def _default_name(url: str) -> str:
    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    segment = _SIZE_SUFFIX.sub("", segment)
    return shorten_name(_UNSAFE.sub("_", segment).strip("._") or "image")


def shorten_name(name: str, limit: int = MAX_FILE_NAME) -> str:
    """``name`` cut to ``limit`` characters, keeping its extension (if it has a short one)."""
    if len(name) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > 16:
        extension = ""
    return stem[: limit - len(extension)] + extension


def _target(directory: pathlib.Path, name: str) -> pathlib.Path:
    if not name or name in (".", "..") or os.path.isabs(name) or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(
            f"refusing image file name {name!r}: it must be a plain name inside {str(directory)!r}"
        )
    target = (directory / name).resolve()
    if target.parent != directory.resolve():
        raise ValueError(f"refusing image file name {name!r}: it would leave {str(directory)!r}")
    return target


def _get(
    transport: Transport, url: str, what: str, *, cookies: bool, timeout: float | None = None
) -> requests.Response:
    """GET an image URL, streamed; ``cookies``: the image is the account's (generated), so its
    https image host gets the service's cookies (see :meth:`Transport.cookie_header`)."""
    headers = {"Referer": "https://gemini.google.com/"}
    if cookies:
        headers.update(transport.cookie_header(url))
    return transport.request("GET", url, what, stream=True, headers=headers, redirects="any", timeout=timeout)


def resolve_full_size(
    transport: Transport, rpc: RpcFn, image: GeneratedImage, timeout: float | None = None
) -> requests.Response | None:
    """The open response of a generated image's full-size bytes (docs/protocol.md 9), or ``None``.

    The ``c8o8Fe`` RPC gives a URL; ``GET <url>=d-I?alr=yes`` answers, as
    text, a URL, whose answer may again be a text pointer (a working client
    follows two); the first URL that answers with an image is the full-size
    one, and its response is returned open. At most ``_POINTER_HOPS`` GETs.
    """
    if not image.image_id or len(image.turn_ids) != 3 or not all(image.turn_ids):
        return None
    cid, rid, rcid = image.turn_ids
    (result,) = rpc([rpcs.full_size_call(image.image_id, rid, rcid, cid)])
    url = dig(result, 0)
    if not isinstance(url, str) or not url:
        return None
    what = "resolving a full-size image"
    target = url + "=d-I?alr=yes"
    for _hop in range(_POINTER_HOPS):
        response = _get(transport, target, what, cookies=True, timeout=timeout)
        if _content_type(response).startswith("image/"):
            return response
        pointer = read_body(response, MAX_IMAGE_URL_BYTES, what).decode("utf-8", errors="replace").strip()
        if not pointer.startswith(("http://", "https://")):
            return None
        target = pointer
    return None


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _open_image(
    transport: Transport, image: WebImage, full_size: bool, rpc: RpcFn | None, timeout: float | None
) -> tuple[requests.Response, str]:
    """The response of the image's URL (full size if asked and possible) and its checked content type.

    ``full_size`` on a generated image asks the service for the full-size URL
    (through ``rpc``, a batchexecute caller) and falls back to the ``=s2048-rj``
    rendition if that fails.
    """
    url = image.url
    if full_size and isinstance(image, GeneratedImage):
        if rpc is not None:
            try:
                found = resolve_full_size(transport, rpc, image, timeout)
            except GeminiError as exc:
                logger.info("full-size lookup failed (%s); using the large rendition", exc.__class__.__name__)
            else:
                if found is not None:
                    return found, _content_type(found)
        url = full_size_url(image)
    # web images are public pages' pictures: never send the account's cookies there
    generated = isinstance(image, GeneratedImage)
    response = _get(transport, url, "downloading an image", cookies=generated, timeout=timeout)
    content_type = _content_type(response)
    if content_type and not content_type.startswith("image/"):
        response.close()
        shown = repr(content_type) if _MEDIA_TYPE.fullmatch(content_type) else "another type"
        raise GeminiError(f"the image URL returned {shown}, not an image")
    return response, content_type


def save_image(
    transport: Transport,
    image: WebImage,
    path: str | os.PathLike[str] = ".",
    filename: str | None = None,
    *,
    full_size: bool = False,
    overwrite: bool = False,
    rpc: RpcFn | None = None,
) -> pathlib.Path:
    """Download ``image`` into directory ``path``; return the written file (see :func:`_open_image`)."""
    directory = pathlib.Path(path)
    if filename is not None:
        _target(directory, filename)  # refuse a bad name before any I/O
    response, content_type = _open_image(transport, image, full_size, rpc, None)
    try:
        extension = _EXTENSIONS.get(content_type, "")
        name = filename or _default_name(image.url)
        if extension and not os.path.splitext(name)[1]:
            name = shorten_name(name, MAX_FILE_NAME - len(extension)) + extension
        directory.mkdir(parents=True, exist_ok=True)
        target = _target(directory, name)
        if not overwrite and target.exists():
            raise FileExistsError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
        _download(response, target, overwrite)
        return target
    finally:
        response.close()


def read_image(
    transport: Transport,
    image: WebImage,
    *,
    full_size: bool = False,
    timeout: float | None = None,
    rpc: RpcFn | None = None,
) -> bytes:
    """The bytes of ``image``, with the rules and size limit of :func:`save_image`."""
    response, _ = _open_image(transport, image, full_size, rpc, timeout)
    try:
        return read_blocks(response, MAX_IMAGE_BYTES, "downloading an image")
    finally:
        response.close()


def read_blocks(response: requests.Response, limit: int, what: str) -> bytes:
    """The whole (decoded) body, refused with :class:`ProtocolError` past ``limit`` bytes."""
    return b"".join(_blocks(response, what, limit))


def _download(
    response: requests.Response,
    target: pathlib.Path,
    overwrite: bool,
    *,
    limit: int = MAX_IMAGE_BYTES,
    what: str = "downloading an image",
) -> None:
    """Write the body to a temporary file next to ``target``, then put it in place (atomic).

    Also saves generated video and music (:mod:`.media`), with their own ``limit`` and ``what``.
    """
    temp, handle = _temp_file(target.parent)
    try:
        with handle:
            for block in _blocks(response, what, limit):
                handle.write(block)
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)  # fails if the target appeared meanwhile: never replaced unasked
            except FileExistsError:
                raise FileExistsError(
                    f"{str(target)!r} already exists; pass overwrite=True to replace it"
                ) from None
            temp.unlink()
    finally:
        temp.unlink(missing_ok=True)


def _temp_file(directory: pathlib.Path) -> tuple[pathlib.Path, IO[bytes]]:
    """A new, exclusive temporary file in ``directory``, with the mode ``open()`` would give.

    Created with ``0o666`` so the user's umask applies (``tempfile`` would make it
    0600, and that mode would stay on the saved image).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = directory / f".gemini-{secrets.token_hex(8)}.part"
        try:
            fd = os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        return temp, os.fdopen(fd, "wb")


def _blocks(response: requests.Response, what: str, limit: int) -> Iterator[bytes]:
    """The decoded body in blocks; :class:`ProtocolError` once it passes ``limit`` bytes."""
    size = 0
    try:
        while True:
            block = response.raw.read(FILE_BLOCK_SIZE, decode_content=True)
            if not block:
                return
            size += len(block)
            if size > limit:
                raise ProtocolError(f"{what}: the file exceeds the limit of {limit} bytes")
            yield block
    except GeminiError:
        raise
    except Exception as exc:  # requests', urllib3's and socket errors
        raise translate_exception(exc, what) from exc
