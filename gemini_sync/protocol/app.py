"""The app page (docs/protocol.md 2): reading its config, and rendering one for the emulator.

The page carries ``window.WIZ_global_data = {...}``, a JSON object. It is read
as JSON (a regex per key only if that fails) and turned into
:class:`~.request.AppTokens`, but only for a page that the service's own host
served and that belongs to a signed-in account: a sign-in page on another
host carries a token of its own, and a signed-out page of the service still
has a build label. Everything else is an :class:`~gemini_sync.errors.AuthError`
that says the cookies have expired and how to get new ones.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from .._constants import DEFAULT_LANGUAGE, DEFAULT_PUSH_ID
from ..errors import AuthError
from .request import AppTokens

__all__ = [
    "page_config",
    "read_app_page",
    "read_guest_page",
    "scrape_tokens",
    "render_app_page",
    "build_date",
    "COOKIES_EXPIRED",
]

COOKIES_EXPIRED = (
    "the cookies have expired or belong to a signed-out session. Sign in to gemini.google.com in "
    "a browser and copy fresh __Secure-1PSID and __Secure-1PSIDTS cookies (or set "
    "GEMINI_SECURE_1PSID / GEMINI_SECURE_1PSIDTS)."
)

# patterns compiled on first use (by re's cache): reading a page is the first request's work, not import's
_CONFIG_START = r"WIZ_global_data\s*=\s*"
_KEYS = ("SNlM0e", "thykhd", "cfb2h", "FdrFJe", "TuX5cc", "qKIAYe", "S06Grb", "oPEP7c")


def page_config(html: str) -> dict[str, Any]:
    """The ``WIZ_global_data`` object of an app page (``{}`` when the page has none)."""
    found = re.search(_CONFIG_START, html)
    if found is not None:
        try:
            value, _ = json.JSONDecoder().raw_decode(html, found.end())
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    # not JSON (or cut): fall back to one pattern per known string key
    config: dict[str, Any] = {}
    for key in _KEYS:
        match = re.search(rf'"{key}":\s*"(.*?)"', html)
        if match:
            config[key] = match.group(1)
    return config


def _text(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    return value if isinstance(value, str) and value else None


def _signed_in(config: dict[str, Any]) -> bool:
    """Signed in: the account id ``S06Grb`` is non-empty or the e-mail ``oPEP7c`` is set."""
    if "S06Grb" not in config and "oPEP7c" not in config:
        return _text(config, "SNlM0e") is not None  # a page of 2025 and before: the token says it
    return _text(config, "S06Grb") is not None or _text(config, "oPEP7c") is not None


def scrape_tokens(html: str) -> AppTokens | None:
    """The tokens of a signed-in app page, or ``None`` (signed out, or no token at all).

    The access token is ``SNlM0e``, else ``thykhd`` (docs/protocol.md 2.2).
    This does not check where the page came from: :func:`read_app_page` does.
    """
    config = page_config(html)
    token = _text(config, "SNlM0e") or _text(config, "thykhd")
    if not token or not _signed_in(config):
        return None
    return AppTokens(
        access_token=token,
        build_label=_text(config, "cfb2h"),
        session_id=_text(config, "FdrFJe"),
        language=_text(config, "TuX5cc") or DEFAULT_LANGUAGE,
        push_id=_text(config, "qKIAYe") or DEFAULT_PUSH_ID,
    )


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def read_app_page(html: str, final_url: str, app_url: str) -> AppTokens:
    """The tokens of the app page fetched from ``app_url`` that ended at ``final_url``.

    :class:`~gemini_sync.errors.AuthError` unless the page was served by the
    host of ``app_url`` (a redirect to a sign-in page never yields a token)
    and belongs to a signed-in account.
    """
    host = _host(final_url)
    if host != _host(app_url):
        raise AuthError(f"loading the app page was redirected to {host or 'another site'}: {COOKIES_EXPIRED}")
    tokens = scrape_tokens(html)
    if tokens is None:
        raise AuthError(f"the app page is signed out: {COOKIES_EXPIRED}")
    return tokens


def read_guest_page(html: str, final_url: str, app_url: str) -> AppTokens:
    """The tokens of a signed-out visitor's app page: no access token (``at`` is sent empty).

    The page is taken as soon as it carries a build label or a session id
    (``cfb2h``, ``FdrFJe``), as a working client does (docs/protocol.md 13);
    a page from another host, or one with neither, is an ``AuthError``.
    """
    host = _host(final_url)
    if host != _host(app_url):
        raise AuthError(f"loading the app page as a guest was redirected to {host or 'another site'}")
    config = page_config(html)
    label, session = _text(config, "cfb2h"), _text(config, "FdrFJe")
    if label is None and session is None:
        raise AuthError("the app page served to a guest carries no build label or session id")
    return AppTokens(
        access_token="",
        build_label=label,
        session_id=session,
        language=_text(config, "TuX5cc") or DEFAULT_LANGUAGE,
        push_id=_text(config, "qKIAYe") or DEFAULT_PUSH_ID,
    )


def build_date(label: str | None) -> tuple[int, int, int] | None:
    """The release date in a build label (``..._20260806.17_p0`` -> ``(2026, 8, 6)``), if it has one."""
    found = re.search(r"_(20\d{2})(\d{2})(\d{2})\.", label or "")
    return (int(found.group(1)), int(found.group(2)), int(found.group(3))) if found else None


def render_app_page(
    tokens: AppTokens | None,
    *,
    signed_in: bool = True,
    account: str = "108234567890123456789",
    email: str | None = "user@example.com",
    second_token: str | None = None,
    with_snlm0e: bool = True,
    modern: bool = True,
) -> str:
    """An app page whose config carries ``tokens`` (the inverse of :func:`scrape_tokens`).

    Signed out when ``tokens`` is ``None`` or ``signed_in`` is false. ``modern``
    writes the 2026 page (``thykhd``, ``S06Grb``, ``oPEP7c``, ``KnDnFf``; a
    signed-out page keeps its build label with a null token); ``with_snlm0e=False``
    leaves ``SNlM0e`` out, as some accounts' pages do since 2026.
    """
    live = tokens is not None and signed_in
    config: dict[str, Any] = {"TuX5cc": DEFAULT_LANGUAGE}
    if tokens is not None and (live or modern):
        config = {
            "SNlM0e": tokens.access_token if live else None,
            "cfb2h": tokens.build_label or "",
            "FdrFJe": tokens.session_id or "",
            "TuX5cc": tokens.language,
            "qKIAYe": tokens.push_id,
        }
    if modern:
        config["thykhd"] = second_token if live else None
        config["S06Grb"] = account if live else ""
        config["oPEP7c"] = email if live else None
        config.setdefault("SNlM0e", None)
        if tokens is not None:
            config["KnDnFf"] = tokens.push_id
        if not with_snlm0e:
            config.pop("SNlM0e")
    return (
        "<!doctype html><html><head><title>Gemini</title></head><body>"
        f"<script>window.WIZ_global_data = {json.dumps(config)};</script>"
        "</body></html>"
    )
