"""Where the cookies come from: arguments, ``cookies=`` (a mapping or a callable), environment, cache.

Sources, in order (the first that yields a ``__Secure-1PSID`` wins):

1. the ``secure_1psid`` / ``secure_1psidts`` arguments;
2. the ``cookies=`` mapping (any extra cookies are always added), or a
   callable returning one: it is called now, and again whenever the service
   refuses the cookies and rotation cannot help (a secret store, a browser);
3. the environment variables ``GEMINI_SECURE_1PSID`` / ``GEMINI_SECURE_1PSIDTS``;
4. the cookie cache (:mod:`.cache`), newest file;
5. the browser, through ``browser-cookie3``, if that optional extra is installed
   (read again after a refusal, like a callable).

When a PSID came from 1-3 and the cache holds a rotated ``__Secure-1PSIDTS``
for the same account, bootstrap falls back to it if the given one is refused.
Every value found is registered with the log redactor.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import AuthError
from . import cache

__all__ = [
    "CookieSet",
    "CookieSource",
    "resolve_cookies",
    "browser_cookies",
    "clean_cookie",
    "clean_cookies",
    "provided_cookies",
    "forget_cached",
]

#: a ``cookies=`` callable: returns the cookies to use now (``None`` or no PSID: none to give)
CookieSource = Callable[[], "Mapping[str, str] | None"]


@dataclass
class CookieSet:
    """The cookies chosen, where they came from, and fallbacks for bootstrap."""

    cookies: dict[str, str]
    source: str
    fallbacks: list[dict[str, str]] = field(default_factory=list)
    provider: CookieSource | None = None  # asked again for fresh cookies after a refusal

    def __repr__(self) -> str:
        return f"CookieSet(source={self.source!r}, names={sorted(self.cookies)})"


def browser_cookies() -> dict[str, str] | None:
    try:
        import browser_cookie3
    except ImportError:
        return None
    try:
        jar = browser_cookie3.load(domain_name="google.com")
    except Exception as exc:  # noqa: BLE001 - any browser failure means "no cookies from there"
        logger.debug("browser cookies unavailable: %s", exc.__class__.__name__)
        return None
    found = {c.name: c.value for c in jar if c.name in (C.PSID, C.PSIDTS) and c.value}
    return found if found.get(C.PSID) else None


def clean_cookie(name: str, value: str) -> str:
    """A cookie value stripped of surrounding whitespace (as read from a file), or a ``ValueError``.

    Refused: an empty value, a control character or ``;`` inside. The message
    names the cookie, never its value.
    """
    value = value.strip()
    if not value:
        raise ValueError(f"the {name} cookie value is empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value) or ";" in value:
        raise ValueError(f"the {name} cookie value holds a control character or ';'; copy it again")
    return value


def clean_cookies(cookies: Mapping[str, str]) -> dict[str, str]:
    return {name: clean_cookie(name, value) for name, value in cookies.items()}


def provided_cookies(provider: CookieSource) -> dict[str, str]:
    """What a ``cookies=`` callable returns now, checked (``TypeError`` for anything but a mapping)."""
    found = provider()
    if found is None:
        return {}
    if not isinstance(found, Mapping):
        raise TypeError("the cookies= callable must return a mapping of cookie names to values (or None)")
    return dict(found)


def resolve_cookies(
    secure_1psid: str | None,
    secure_1psidts: str | None,
    cookies: Mapping[str, str] | CookieSource | None,
    *,
    environ: Mapping[str, str] | None = None,
    use_cache: bool = True,
    use_browser: bool = True,
) -> CookieSet:
    """Choose the cookies to use (see the module docstring); :class:`AuthError` if none."""
    env = os.environ if environ is None else environ
    provider: CookieSource | None = None
    if callable(cookies):
        provider = cookies
        cookies = provided_cookies(provider)
    extra: dict[str, str] = {}
    for name, value in (cookies or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("cookies must map cookie names to string values")
        extra[name] = value
    chosen: dict[str, str] | None = None
    source = ""
    tried: list[str] = []

    def take(found: dict[str, str], where: str) -> None:
        nonlocal chosen, source
        chosen, source = clean_cookies({**extra, **found}), where

    tried.append("the secure_1psid argument")
    if secure_1psid:
        take({C.PSID: secure_1psid, **({C.PSIDTS: secure_1psidts} if secure_1psidts else {})}, "arguments")
    tried.append("the cookies= callable" if provider else "the cookies= mapping")
    if chosen is None and extra.get(C.PSID):
        take({}, "cookies callable" if provider else "cookies mapping")
    tried.append(f"the {C.ENV_PSID} environment variable")
    if chosen is None and env.get(C.ENV_PSID):
        found = {C.PSID: env[C.ENV_PSID]}
        if env.get(C.ENV_PSIDTS):
            found[C.PSIDTS] = env[C.ENV_PSIDTS]
        take(found, "environment")
    directory = cache.cache_dir(env)
    if use_cache:
        tried.append(f"the cookie cache in {directory}")
        if chosen is None:
            newest = cache.newest_cache(directory)
            found = cache.load_cookies(newest) if newest else {}
            if found.get(C.PSID):
                take(found, "cookie cache")
    if use_browser:
        tried.append("browser cookies (when installed with: pip install 'gemini-sync[browser]')")
        if chosen is None:
            found_browser = browser_cookies()
            if found_browser:
                take(found_browser, "browser")
                provider = browser_cookies  # after a refusal, read the browser's store again
    if chosen is None:
        raise AuthError(
            f"no {C.PSID} cookie found (tried: {'; '.join(tried)}). Without an account: "
            "GeminiClient(guest=True), or gemini-sync --guest, chats with the default model (no history). "
            "With your account: sign in at "
            f"https://gemini.google.com, open the developer tools (F12) -> Application (Firefox: Storage) "
            f"-> Cookies, copy the values of {C.PSID} and {C.PSIDTS}, and pass them as "
            f"GeminiClient(secure_1psid, secure_1psidts) or set {C.ENV_PSID} and {C.ENV_PSIDTS}. "
            "To try the bundled emulator instead: gemini_sync.emulator.Emulator, or gemini-sync --emulator."
        )
    result = CookieSet(
        chosen, source, provider=provider if source in ("cookies callable", "browser") else None
    )
    if use_cache and source != "cookie cache":
        cached = cache.load_cookies(cache.cache_file(chosen[C.PSID], directory))
        if cached.get(C.PSID) == chosen[C.PSID] and cached.get(C.PSIDTS) not in (None, chosen.get(C.PSIDTS)):
            result.fallbacks.append({**chosen, **cached})
    for cookie_set in (result.cookies, *result.fallbacks):
        for value in cookie_set.values():
            register_secret(value)
    return result


def forget_cached(psid: str | None, directory: pathlib.Path | None = None) -> bool:
    """Delete the cached cookies of ``psid``: the service no longer knows them (status 1016).

    The next start then tries the cookies given by arguments, environment or
    browser instead of the dead cache (as a working client does). ``True`` if
    a file was removed.
    """
    if not psid:
        return False
    try:
        cache.cache_file(psid, directory).unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        logger.warning("could not delete the expired cookie cache (%s)", exc.__class__.__name__)
        return False
    logger.info("deleted the cached cookies: the service answered them as signed out (1016)")
    return True
