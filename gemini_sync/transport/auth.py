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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import Cookie

import requests
from requests.cookies import get_cookie_header

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import AuthError, GeminiError
from . import cache
from .rotation import AccountCache, CoordinatorFactory, RotationCoordinator
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


def _clean(name: str, value: str) -> str:
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


def _cleaned(cookies: Mapping[str, str]) -> dict[str, str]:
    return {name: _clean(name, value) for name, value in cookies.items()}


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
        chosen, source = _cleaned({**extra, **found}), where

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
        tried.append("browser cookies (when installed with: pip install 'gemini-sync[browser]')")
        if chosen is None:
            found_browser = _browser_cookies()
            if found_browser:
                take(found_browser, "browser")
    if chosen is None:
        raise AuthError(
            f"no {C.PSID} cookie found (tried: {'; '.join(tried)}). To get them: sign in at "
            f"https://gemini.google.com, open the developer tools (F12) -> Application (Firefox: Storage) "
            f"-> Cookies, copy the values of {C.PSID} and {C.PSIDTS}, and pass them as "
            f"GeminiClient(secure_1psid, secure_1psidts) or set {C.ENV_PSID} and {C.ENV_PSIDTS}. "
            "To try without an account, use the bundled emulator (gemini_sync.emulator.Emulator, "
            "or the command gemini-sync --emulator)."
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


def _rotation_cookie_header(transport: Transport) -> str:
    """``Cookie`` header for RotateCookies: only the two ``__Secure-1PSID*`` cookies (docs/protocol.md 2.4).

    The service refuses a rotation (401) that carries other Google cookies
    from a browser export (SID, HSID, ...). The values are the ones the jar
    would send to the rotation URL (the first of each name, as a server reads them).
    """
    probe = requests.Request("GET", transport.endpoints.rotate).prepare()
    header = get_cookie_header(transport.session.cookies, probe) or ""  # type: ignore[no-untyped-call]
    chosen: dict[str, str] = {}
    for pair in header.split(";"):
        name, _, value = pair.strip().partition("=")
        if name in (C.PSID, C.PSIDTS) and name not in chosen:
            chosen[name] = value
    return "; ".join(f"{name}={value}" for name, value in chosen.items())


def rotate_cookies(transport: Transport) -> str | None:
    """POST RotateCookies (docs/protocol.md 2.4); the new ``__Secure-1PSIDTS`` or ``None``.

    Only the two auth cookies are sent (an explicit ``Cookie`` header wins
    over the jar). ``requests`` merges the answer's cookies into the shared
    jar, so every thread sees the new value from its next request on.
    """
    response = transport.request(
        "POST",
        transport.endpoints.rotate,
        "rotating cookies",
        data=ROTATE_BODY,
        headers={
            "Content-Type": "application/json",
            "Origin": "https://accounts.google.com",
            "Cookie": _rotation_cookie_header(transport),
        },
        timeout=min(transport.timeout, C.ROTATE_TIMEOUT),
    )
    value = response.cookies.get(C.PSIDTS)
    if value:
        register_secret(value)
        return str(value)
    logger.warning("cookie rotation answered without a new %s; will try again later", C.PSIDTS)
    return None


class CookieRefresher:
    """Rotates the cookies every ``interval`` seconds on a daemon thread, once per account.

    Started lazily (on a client's first request), stopped by ``stop()``. With
    the cookie cache on (``write_cache``), every process sharing the cache
    directory and the ``__Secure-1PSID`` coordinates through
    :class:`~.rotation.AccountCache`: the thread wakes when the cache's last
    rotation is ``interval`` old, *tries* the lock (never waits for it), and
    the holder rotates only if nobody did meanwhile; the others take the new
    cookie from the cache before their next request (:meth:`sync`). A failed
    rotation is logged and retried with a doubled delay (up to 8x the
    interval); it never touches streams in flight. ``coordinator`` makes
    another :class:`~.rotation.RotationCoordinator` than the file lock
    (``RedisState(...).rotation``: one rotation per interval across hosts).
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
        clock: Callable[[], float] = time.time,
        coordinator: CoordinatorFactory | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("refresh interval must be positive")
        self._transport = transport
        self._psid = psid
        self.interval = interval
        make = coordinator or AccountCache  # who rotates: this host's file lock, or e.g. Redis
        self._shared: RotationCoordinator | None = (
            make(psid, cache_dir or cache.cache_dir()) if write_cache else None
        )
        self._wait = wait or (lambda event, seconds: event.wait(seconds))
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one rotation at a time in this process
        self._state_lock = threading.Lock()  # the generation and the cookies taken from the cache
        self._sync_lock = threading.Lock()  # held for a stat (and, when the file changed, a read)
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_rotated = clock()  # by this process; the cache's time wins when there is one
        # the cache as it is now is the baseline: only a later write is taken over our own cookies
        self.generation = self._shared.baseline().generation if self._shared else 0
        if self._shared:
            self._shared.changed()
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

    def sync(self) -> bool:
        """Take a newer cookie another process wrote to the cache; ``True`` if one was taken.

        Called before every request: one ``stat`` when the file did not change.
        """
        if self._shared is None:
            return False
        with self._sync_lock:  # a thread that sees no change must not pass one still being taken
            return self._shared.changed() and self._adopt(self._shared.read())

    def _adopt(self, state: cache.CacheState) -> bool:
        with self._state_lock:
            if state.generation <= self.generation or state.cookies.get(C.PSID) != self._psid:
                return False
            self.generation = state.generation
            taken = {name: value for name, value in state.cookies.items() if name != C.PSID}
            for value in taken.values():
                register_secret(value)
            self._transport.set_cookies(taken)
        logger.debug("took the cookies another process rotated (generation %d)", state.generation)
        return True

    def rotate_now(self, *, lock_timeout: float = C.ROTATE_TIMEOUT) -> bool:
        """Rotate once, unless the cache already holds a newer cookie; ``True`` if the cookies are new.

        Used after a refusal (401/403): first the cache is re-read (another
        process may have rotated); then, holding the account's lock (waiting
        at most ``lock_timeout`` for a rotation in flight elsewhere), it is
        read again and the cookies are rotated only if it has nothing newer.
        """
        if self.sync():
            return True
        return self._rotate(lock_timeout, due_only=False) in ("rotated", "taken")

    def _rotate(self, lock_timeout: float, *, due_only: bool) -> str:
        """One try: ``rotated``, ``taken`` (cache was newer), ``fresh`` (not due), ``busy`` or ``failed``.

        The background thread (``due_only``) gives up when another process
        holds the lock; a refused request, or any rotation where no lock can
        be made (a read-only directory), goes on without it: the write then
        still never replaces a newer file.
        """
        with self._lock:
            if self._shared is None:
                return "rotated" if self._call_service(None) else "failed"
            with self._shared.locked(lock_timeout) as held:
                if held is False and due_only:
                    return "busy"
                state = self._shared.read()
                if self._adopt(state) and not due_only:
                    return "taken"
                if due_only and state.rotated_at is not None and not self._is_due(state.rotated_at):
                    return "fresh"
                return "rotated" if self._call_service(state) else "failed"

    def _is_due(self, rotated_at: float) -> bool:
        return self._clock() - rotated_at >= self.interval

    def _call_service(self, state: cache.CacheState | None) -> bool:
        """Rotate at the service and write the cache one generation past ``state`` (the file as read)."""
        value = rotate_cookies(self._transport)
        if value is None:
            return False
        self.rotations += 1
        self._last_rotated = self._clock()
        if self._shared is not None:
            with self._state_lock:
                self.generation = max(self.generation, state.generation if state else 0) + 1
                generation = self.generation
            self._shared.write(self._jar_cookies(), generation, self._last_rotated, self._cookie_domains())
        logger.debug("cookies rotated")
        return True

    def _jar_cookies(self) -> list[Cookie]:
        return list(iter(self._transport.session.cookies))

    def _cookie_domains(self) -> tuple[str, ...]:
        endpoints = self._transport.endpoints
        return (endpoints.cookie_domain.lstrip("."),) if endpoints.base_url else ("google.com",)

    def _delay_until_due(self) -> float:
        """Seconds until the account's last rotation (by any process) is ``interval`` old."""
        rotated_at = self._shared.read().rotated_at if self._shared else None
        last = self._last_rotated if rotated_at is None else rotated_at
        return max(last + self.interval - self._clock(), C.ROTATION_MIN_DELAY)

    def _run(self) -> None:
        delay = self._delay_until_due()
        backoff = self.interval
        while not self._wait(self._stop, delay):
            try:
                outcome = self._rotate(0, due_only=True)
            except GeminiError as exc:
                outcome = "failed"
                logger.warning("cookie rotation failed (%s)", exc.__class__.__name__)
            if outcome == "failed":
                self.failures += 1
                backoff = min(backoff * 2, self.interval * 8)
                delay = backoff
                logger.warning("next cookie rotation try in %.0fs", delay)
            elif outcome == "busy":  # another process is rotating: look again soon
                delay = min(self.interval / 4, C.ROTATION_BUSY_RETRY)
            else:
                backoff = self.interval
                delay = self._delay_until_due()
