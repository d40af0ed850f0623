"""The small endpoints: app page, upload, cookie rotation, image bytes (PROTOCOL.md 2, 9, 10).

StreamGenerate and batchexecute have their own modules
(:mod:`~gemini_sync.emulator.generate`, :mod:`~gemini_sync.emulator.batch`).
"""

from __future__ import annotations

import re

from .._constants import PSID, PSIDTS
from .._log import logger
from ..protocol.app import render_app_page
from .backend import image_path
from .exchange import HTML_TYPE, TEXT_TYPE, Exchange
from .formats import MultipartError, make_png, parse_multipart

__all__ = [
    "handle_app",
    "handle_upload",
    "handle_rotate",
    "handle_image",
    "ROTATE_BODY",
    "IMAGE_PREFIX",
    "PREVIEW_SIZE",
    "SIZED_SIZE",
    "FULL_SIZE",
]

#: the exact body of a RotateCookies request (not valid JSON: leading zeros)
ROTATE_BODY = b'[000,"-0000000000000000000"]'
IMAGE_PREFIX = "/images/"
#: pixel sizes: the plain URL, a ``=s<N>...`` URL, and the full size (``=s0``)
PREVIEW_SIZE = 16
SIZED_SIZE = 32
FULL_SIZE = 64
_SIZE_SUFFIX = re.compile(r"s(\d+)(?:-[\w-]*)?")
_TENANT = "bard-storage"


def handle_app(ex: Exchange) -> None:
    """``GET /app``: the page with the tokens, or the logged-out page (still 200)."""
    tokens = ex.backend.tokens if ex.logged_in() else None
    ex.respond(200, render_app_page(tokens), content_type=HTML_TYPE)


def handle_upload(ex: Exchange) -> None:
    """``POST /upload``: store the part named ``file``, answer its identifier.

    Cookies are not required: on the real service the upload host is not a
    ``google.com`` host, so a browser's Google cookies do not reach it.
    """
    headers = ex.record.headers
    if not headers.get("Push-ID"):
        ex.respond_text(400, "Push-ID header is missing")
        return
    if headers.get("X-Tenant-Id") != _TENANT:
        ex.respond_text(400, f"X-Tenant-Id must be {_TENANT}")
        return
    try:
        parts = parse_multipart(ex.record.body, headers.get("Content-Type", ""))
    except MultipartError as exc:
        ex.respond_text(400, str(exc))
        return
    files = [part for part in parts if part.name == "file"]
    if len(files) != 1:
        ex.respond_text(400, "the body must have exactly one part named 'file'")
        return
    part = files[0]
    upload = ex.backend.store.add_upload(part.filename or "file", part.content_type, part.data)
    logger.debug("emulator: stored upload of %d bytes", upload.size)
    ex.respond(200, upload.identifier, content_type=TEXT_TYPE)


def handle_rotate(ex: Exchange) -> None:
    """``POST /RotateCookies``: a new ``__Secure-1PSIDTS`` for logged-in cookies.

    As the service does (PROTOCOL 13.8), a rotation that carries any cookie
    besides the two ``__Secure-1PSID*`` ones (a browser export's SID, HSID,
    ...) is refused with 401 and counted in ``AuthState.refused_rotations``.
    """
    if ex.record.body != ROTATE_BODY:
        ex.respond_text(400, "unexpected RotateCookies body")
        return
    others = set(ex.record.cookies) - {PSID, PSIDTS}
    if others:
        ex.backend.auth.refuse_rotation()
        ex.respond_text(401, "RotateCookies takes only the __Secure-1PSID and __Secure-1PSIDTS cookies")
        return
    if not ex.logged_in():
        ex.respond_text(401, "cookies are not valid")
        return
    value = ex.backend.auth.rotate()
    ex.respond(
        200,
        ')]}\'\n\n[["identity.hfcr",600],["di",53]]',
        content_type="application/json; charset=utf-8",
        headers={"Set-Cookie": f"{PSIDTS}={value}; Path=/; HttpOnly"},
    )


def handle_image(ex: Exchange) -> None:
    """``GET /images/<key>.png[=suffix]``: PNG bytes, or for ``=d-I`` the full-size URL as text.

    No suffix: a small preview; ``=s<N>-rj``: a larger image; ``=s0``: full
    size. Generated images need logged-in cookies (403 otherwise).
    """
    name = ex.record.path[len(IMAGE_PREFIX) :]
    base, _, suffix = name.partition("=")
    suffix = suffix.rsplit("=", 1)[-1]  # a client may append a suffix to a suffixed URL
    key = base.removesuffix(".png")
    record = ex.backend.store.image(key) if base.endswith(".png") else None
    if record is None:
        ex.respond_text(404, "no such image")
        return
    if record.kind == "generated" and not ex.logged_in():
        ex.respond_text(403, "this image needs the account's cookies")
        return
    if suffix.startswith("d-I"):
        ex.respond(200, ex.backend.base_url + image_path(key) + "=s0", content_type=TEXT_TYPE)
        return
    if not suffix:
        size = PREVIEW_SIZE
    else:
        sized = _SIZE_SUFFIX.fullmatch(suffix)
        if sized is None:
            ex.respond_text(404, "unknown image size suffix")
            return
        size = FULL_SIZE if int(sized.group(1)) == 0 else SIZED_SIZE
    ex.respond(
        200,
        make_png(size, size, seed=key),
        content_type="image/png",
        headers={"Cache-Control": "private, max-age=86400"},
    )
