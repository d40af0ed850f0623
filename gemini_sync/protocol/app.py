"""The app page (PROTOCOL.md 2.2): scraping its tokens, and rendering one for the emulator."""

from __future__ import annotations

import json
import re

from .._constants import DEFAULT_LANGUAGE, DEFAULT_PUSH_ID
from .request import AppTokens

__all__ = ["scrape_tokens", "render_app_page"]

_KEYS = ("SNlM0e", "cfb2h", "FdrFJe", "TuX5cc", "qKIAYe")
_PATTERNS = {key: re.compile(rf'"{key}":\s*"(.*?)"') for key in _KEYS}


def _find(html: str, key: str) -> str | None:
    match = _PATTERNS[key].search(html)
    return match.group(1) if match else None


def scrape_tokens(html: str) -> AppTokens | None:
    """The tokens of a logged-in app page, or ``None`` if it has no access token."""
    token = _find(html, "SNlM0e")
    if not token:
        return None
    return AppTokens(
        access_token=token,
        build_label=_find(html, "cfb2h"),
        session_id=_find(html, "FdrFJe"),
        language=_find(html, "TuX5cc") or DEFAULT_LANGUAGE,
        push_id=_find(html, "qKIAYe") or DEFAULT_PUSH_ID,
    )


def render_app_page(tokens: AppTokens | None) -> str:
    """An app page carrying ``tokens`` in its config script; logged out when ``None``."""
    config: dict[str, str] = {"TuX5cc": DEFAULT_LANGUAGE}
    if tokens is not None:
        config = {
            "SNlM0e": tokens.access_token,
            "cfb2h": tokens.build_label or "",
            "FdrFJe": tokens.session_id or "",
            "TuX5cc": tokens.language,
            "qKIAYe": tokens.push_id,
        }
    return (
        "<!doctype html><html><head><title>Gemini</title></head><body>"
        f"<script>window.WIZ_global_data = {json.dumps(config)};</script>"
        "</body></html>"
    )
