"""Downloading images to disk (PROTOCOL.md 10).

Cookies go only to the service's own hosts: the cookie jar is scoped to the
service's domain, and image hosts of the service (``*.googleusercontent.com``)
get the cookie header explicitly; any other host gets none, and ``requests``
drops that header on a redirect. A file name that would leave the target
directory is refused, and an existing file is never replaced unless asked.
"""

from __future__ import annotations

import os
import pathlib
import re
from urllib.parse import unquote, urlsplit

import requests

from ..errors import GeminiError
from ..types import GeneratedImage, WebImage
from .errors import translate_exception
from .session import Transport

__all__ = ["save_image", "full_size_url", "is_service_host"]

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
_SERVICE_SUFFIXES = (".google.com", ".googleusercontent.com")
_BLOCK = 64 * 1024


def is_service_host(transport: Transport, url: str) -> bool:
    """Whether ``url`` belongs to the service, so cookies may be sent to it."""
    host = (urlsplit(url).hostname or "").lower()
    if transport.endpoints.base_url is not None:
        return host in transport.endpoints.hosts
    return host in ("google.com", "googleusercontent.com") or host.endswith(_SERVICE_SUFFIXES)


def full_size_url(image: WebImage) -> str:
    """The larger rendition of a generated image: its size suffix set to ``=s2048-rj``."""
    if not isinstance(image, GeneratedImage):
        return image.url
    return _SIZE_SUFFIX.sub("", image.url) + "=s2048-rj"


def _default_name(url: str) -> str:
    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    segment = _SIZE_SUFFIX.sub("", segment)
    return _UNSAFE.sub("_", segment).strip("._") or "image"


def _target(directory: pathlib.Path, name: str) -> pathlib.Path:
    if not name or name in (".", "..") or os.path.isabs(name) or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(
            f"refusing image file name {name!r}: it must be a plain name inside {str(directory)!r}"
        )
    target = (directory / name).resolve()
    if target.parent != directory.resolve():
        raise ValueError(f"refusing image file name {name!r}: it would leave {str(directory)!r}")
    return target


def save_image(
    transport: Transport,
    image: WebImage,
    path: str | os.PathLike[str] = ".",
    filename: str | None = None,
    *,
    full_size: bool = False,
    overwrite: bool = False,
) -> pathlib.Path:
    """Download ``image`` into directory ``path``; return the written file's path."""
    directory = pathlib.Path(path)
    if filename is not None:
        _target(directory, filename)  # refuse a bad name before any I/O
    url = full_size_url(image) if full_size else image.url
    headers = {"Referer": "https://gemini.google.com/"}
    host = (urlsplit(url).hostname or "").lower()
    if (
        transport.endpoints.base_url is None
        and is_service_host(transport, url)
        and not host.endswith("google.com")
    ):
        # the jar is scoped to .google.com; the service's image hosts need the cookies too
        cookie = "; ".join(f"{c.name}={c.value}" for c in transport.session.cookies if c.value is not None)
        if cookie:
            headers["Cookie"] = cookie
    response = transport.request("GET", url, "downloading an image", stream=True, headers=headers)
    try:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith("image/"):
            raise GeminiError(f"the image URL returned {content_type!r}, not an image")
        extension = _EXTENSIONS.get(content_type, "")
        name = filename or _default_name(image.url)
        if extension and not os.path.splitext(name)[1]:
            name += extension
        directory.mkdir(parents=True, exist_ok=True)
        target = _target(directory, name)
        mode = "wb" if overwrite else "xb"
        try:
            handle = target.open(mode)
        except FileExistsError:
            raise FileExistsError(
                f"{str(target)!r} already exists; pass overwrite=True to replace it"
            ) from None
        try:
            with handle:
                for block in response.iter_content(_BLOCK):
                    handle.write(block)
        except requests.RequestException as exc:
            target.unlink(missing_ok=True)
            raise translate_exception(exc, "downloading an image") from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target
    finally:
        response.close()
