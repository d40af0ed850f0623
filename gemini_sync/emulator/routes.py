"""The small endpoints: home page, app page, upload, cookie rotation, image bytes (docs/protocol.md 2, 8, 9).

StreamGenerate and batchexecute have their own modules
(:mod:`~gemini_sync.emulator.generate`, :mod:`~gemini_sync.emulator.batch`).
"""

from __future__ import annotations

import re
import secrets

from .._constants import PSID, PSIDTS
from .._log import logger
from ..protocol.app import render_app_page
from ..protocol.framing import XSSI_PREFIX, dumps
from ..transport.auth import ROTATE_BODY
from .auth import new_tokens
from .backend import image_path
from .exchange import HTML_TYPE, TEXT_TYPE, Exchange
from .formats import MultipartError, make_png, parse_multipart

__all__ = [
    "handle_home",
    "handle_app",
    "handle_sign_in",
    "SIGN_IN_PATH",
    "handle_upload",
    "handle_rotate",
    "handle_image",
    "ROTATE_BODY",
    "IMAGE_PREFIX",
    "PREVIEW_SIZE",
    "SIZED_SIZE",
    "FULL_SIZE",
]

IMAGE_PREFIX = "/images/"
SIGN_IN_PATH = "/v3/signin/identifier"
ACCOUNT_ID = "108234567890123456789"
ACCOUNT_EMAIL = "emulated.user@example.com"
#: pixel sizes: the plain URL, a ``=s<N>...`` URL, and the full size (``=s0``)
PREVIEW_SIZE = 16
SIZED_SIZE = 32
FULL_SIZE = 64
_SIZE_SUFFIX = re.compile(r"s(\d+)(?:-[\w-]*)?")
_TENANT = "bard-storage"
_JSON = "application/json; charset=utf-8"


_YEAR = 400 * 24 * 3600


def _anonymous_cookie(name: str) -> str:
    return f"{name}={secrets.token_urlsafe(24)}; Max-Age={_YEAR}; Path=/; HttpOnly"


def handle_home(ex: Exchange) -> None:
    """``GET /`` (``www.google.com``): a home page that sets the anonymous cookies ``NID`` and ``AEC``."""
    ex.respond(
        200,
        "<!doctype html><html><head><title>Google</title></head><body></body></html>",
        content_type=HTML_TYPE,
        headers=[("Set-Cookie", _anonymous_cookie("NID")), ("Set-Cookie", _anonymous_cookie("AEC"))],
    )


def handle_app(ex: Exchange) -> None:
    """``GET /app``: the page with the tokens, or the signed-out page (still 200).

    With ``app_page == "sign_in_redirect"`` (2026): a 302 to a sign-in page on
    another host (``localhost`` instead of ``127.0.0.1``) that has a token of its own.
    """
    backend = ex.backend
    if backend.app_page == "sign_in_redirect":
        port = backend.base_url.rsplit(":", 1)[-1]
        target = f"http://localhost:{port}{SIGN_IN_PATH}?continue=https%3A%2F%2Fgemini.google.com%2Fapp"
        ex.respond(302, "", content_type=HTML_TYPE, headers={"Location": target})
        return
    page = render_app_page(
        backend.tokens,
        signed_in=ex.logged_in(),
        account=ACCOUNT_ID,
        email=ACCOUNT_EMAIL,
        second_token=backend.second_token,
        with_snlm0e=backend.app_page != "without_snlm0e",
        modern=backend.modern,
    )
    # a visitor without an account gets a session cookie that carries its conversation
    session = [("Set-Cookie", _anonymous_cookie("NID"))] if ex.guest else None
    ex.respond(200, page, content_type=HTML_TYPE, headers=session)


def handle_sign_in(ex: Exchange) -> None:
    """``GET /v3/signin/identifier``: a sign-in page that carries its own ``SNlM0e``."""
    page = render_app_page(new_tokens(), account="", email=None, second_token=None, modern=False)
    ex.respond(200, page, content_type=HTML_TYPE)


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

    As the service does (docs/protocol.md 2.4), a rotation that carries any cookie
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
    binding = ex.backend.auth.binding
    if binding is not None and binding.rotation == "refuse":
        ex.respond_text(401, "these cookies are bound to another device")
        return
    if binding is not None:  # "empty": accepted, but no new value (only the CC cookies would change)
        ex.respond(200, XSSI_PREFIX + "\n\n" + dumps([["identity.hfcr", 600]]), content_type=_JSON)
        return
    if not ex.logged_in():
        ex.respond_text(401, "cookies are not valid")
        return
    value = ex.backend.auth.rotate()
    ex.respond(
        200,
        XSSI_PREFIX + "\n\n" + dumps([["identity.hfcr", 600], ["di", 53]]),
        content_type="application/json; charset=utf-8",
        headers={"Set-Cookie": f"{PSIDTS}={value}; Path=/; HttpOnly"},
    )


def handle_image(ex: Exchange) -> None:
    """``GET /images/<key>.png[=suffix]``: PNG bytes; ``=d-I`` starts the full-size chain of text pointers.

    ``=d-I?alr=yes`` answers (as text) the URL ``...=rd-gg-dl``, which answers
    the URL ``...=s0``, which answers the bytes: three requests, whatever
    headers a client sends (docs/protocol.md 9).

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
    if suffix.startswith("d-I"):  # the service's chain: a pointer, a second pointer, then the bytes
        ex.respond(200, ex.backend.base_url + image_path(key) + "=rd-gg-dl", content_type=TEXT_TYPE)
        return
    if suffix == "rd-gg-dl":
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
