"""Cookies: where they come from, rotation in the background, and the cache.

Sources, in order (the first that yields a ``__Secure-1PSID`` wins):

1. the ``secure_1psid`` / ``secure_1psidts`` arguments;
2. the ``cookies=`` mapping (any extra cookies are always added);
3. the environment variables ``GEMINI_SECURE_1PSID`` / ``GEMINI_SECURE_1PSIDTS``;
4. the cookie cache (:mod:`.cache`), newest file;
5. the browser, through ``browser-cookie3``, if that optional extra is installed.

When a PSID came from 1-3 and the cache holds a rotated ``__Secure-1PSIDTS``
for the same account, bootstrap falls back to it if the given one is refused.
Every value found is registered with the log redactor.
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import AuthError, GeminiError
from . import cache
from .session import Transport

__all__ = ["CookieSet", "resolve_cookies", "rotate_cookies", "CookieRefresher", "ROTATE_BODY"]

#: the RotateCookies body, byte for byte (not valid JSON: leading zeros)
ROTATE_BODY = b'[000,"-0000000000000000000"]'


@dataclass
class CookieSet:
    """The cookies chosen, where they came from, and fallbacks for bootstrap."""

    cookies: dict[str, str]
    source: str
    fallbacks: list[dict[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"CookieSet(source={self.source!r}, names={sorted(self.cookies)})"


def _browser_cookies() -> dict[str, str] | None:
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


def resolve_cookies(
    secure_1psid: str | None,
    secure_1psidts: str | None,
    cookies: Mapping[str, str] | None,
    *,
    environ: Mapping[str, str] | None = None,
    use_cache: bool = True,
    use_browser: bool = True,
) -> CookieSet:
    """Choose the cookies to use (see the module docstring); :class:`AuthError` if none."""
    env = os.environ if environ is None else environ
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
        chosen, source = {**extra, **found}, where

    tried.append("the secure_1psid argument")
    if secure_1psid:
        take({C.PSID: secure_1psid, **({C.PSIDTS: secure_1psidts} if secure_1psidts else {})}, "arguments")
    tried.append("the cookies= mapping")
    if chosen is None and extra.get(C.PSID):
        take({}, "cookies mapping")
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
        tried.append("browser cookies (pip install gemini-sync[browser])")
        if chosen is None:
            found_browser = _browser_cookies()
            if found_browser:
                take(found_browser, "browser")
    if chosen is None:
        raise AuthError(
            f"no {C.PSID} cookie found (tried: {'; '.join(tried)}). Sign in to gemini.google.com in a "
            f"browser, copy the {C.PSID} and {C.PSIDTS} cookies, and pass them to GeminiClient(...) "
            f"or set {C.ENV_PSID} and {C.ENV_PSIDTS}."
        )
    result = CookieSet(chosen, source)
    if use_cache and source != "cookie cache":
        cached = cache.load_cookies(cache.cache_file(chosen[C.PSID], directory))
        if cached.get(C.PSID) == chosen[C.PSID] and cached.get(C.PSIDTS) not in (None, chosen.get(C.PSIDTS)):
            result.fallbacks.append({**chosen, **cached})
    for cookie_set in (result.cookies, *result.fallbacks):
        for value in cookie_set.values():
            register_secret(value)
    return result


def rotate_cookies(transport: Transport) -> str | None:
    """POST RotateCookies (PROTOCOL.md 2.4); the new ``__Secure-1PSIDTS`` or ``None``.

    ``requests`` merges the answer's cookies into the shared jar, so every
    thread sees the new value from its next request on.
    """
    response = transport.request(
        "POST",
        transport.endpoints.rotate,
        "rotating cookies",
        data=ROTATE_BODY,
        headers={"Content-Type": "application/json", "Origin": "https://accounts.google.com"},
        timeout=min(transport.timeout, C.ROTATE_TIMEOUT),
    )
    value = response.cookies.get(C.PSIDTS)
    if value:
        register_secret(value)
        return str(value)
    logger.warning("cookie rotation answered without a new %s; will try again later", C.PSIDTS)
    return None


class CookieRefresher:
    """Rotates the cookies every ``interval`` seconds on a daemon thread.

    Started lazily (on a client's first request), stopped by ``stop()``. A
    failed rotation is logged and retried with a doubled delay (up to 8x the
    interval); it never touches streams in flight. After each rotation the
    cookie cache is rewritten (unless ``write_cache`` is false).
    """

    def __init__(
        self,
        transport: Transport,
        psid: str,
        *,
        interval: float = C.DEFAULT_REFRESH_INTERVAL,
        cache_dir: pathlib.Path | None = None,
        wait: Callable[[threading.Event, float], bool] | None = None,
        write_cache: bool = True,
    ) -> None:
        if interval <= 0:
            raise ValueError("refresh interval must be positive")
        self._transport = transport
        self._psid = psid
        self.interval = interval
        self._cache_dir = cache_dir
        self._write_cache = write_cache
        self._wait = wait or (lambda event, seconds: event.wait(seconds))
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one rotation at a time
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.rotations = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the thread once (no-op if running or stopped). Cheap: called on every request."""
        if self._thread is not None:
            return
        with self._start_lock:  # not the rotation lock: a slow rotation must not block requests
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="gemini-sync-cookie-refresh", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = C.ROTATE_TIMEOUT + 1) -> None:
        """Stop the thread and wait for it: at once, or when a rotation in flight ends (bounded)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def rotate_now(self) -> bool:
        """Rotate once and write the cache; ``True`` if a new cookie was received."""
        with self._lock:
            value = rotate_cookies(self._transport)
            if value is None:
                return False
            self.rotations += 1
            if self._write_cache:
                self.save_cache()
            logger.debug("cookies rotated")
            return True

    def save_cache(self) -> pathlib.Path | None:
        """Write the current cookies of the account to the cache."""
        base = self._transport.endpoints.base_url
        domains = (self._transport.endpoints.cookie_domain.lstrip("."),) if base else ("google.com",)
        cookies = list(iter(self._transport.session.cookies))
        return cache.save_cookies(cookies, self._psid, directory=self._cache_dir, domains=domains)

    def _run(self) -> None:
        delay = self.interval
        while not self._wait(self._stop, delay):
            try:
                self.rotate_now()
                delay = self.interval
            except GeminiError as exc:
                self.failures += 1
                delay = min(delay * 2, self.interval * 8)
                logger.warning(
                    "cookie rotation failed (%s); next try in %.0fs", exc.__class__.__name__, delay
                )
