"""Cookie rotation in the background, the cache shared between processes, and device-bound sessions.

Where the cookies come from is :mod:`.sources` (re-exported here). A
:class:`CookieRefresher` rotates ``__Secure-1PSIDTS`` on a timer and after a
refusal; when a refused rotation cannot help and the cookies came from a
``cookies=`` callable (or the browser), it asks that source again, once per
refusal, and shares the fresh cookies through the cache like a rotation.

A rotation refused with 401/403, or answered without a new
``__Secure-1PSIDTS``, is the sign of a device-bound session (Chrome's Device
Bound Session Credentials, docs/protocol.md 13): :attr:`CookieRefresher.bound_sign`
says so, and the client's ``AuthError`` then names the remedy (:data:`BOUND_ADVICE`).
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Callable
from http.cookiejar import Cookie

import requests
from requests.cookies import get_cookie_header

from .. import _constants as C
from .._log import logger, register_secret
from ..errors import AuthError, GeminiError
from . import cache
from .rotation import AccountCache, CoordinatorFactory, RotationCoordinator
from .session import Transport
from .sources import CookieSet, CookieSource, clean_cookies, provided_cookies, resolve_cookies

__all__ = [
    "CookieSet",
    "CookieSource",
    "resolve_cookies",
    "rotate_cookies",
    "CookieRefresher",
    "ROTATE_BODY",
    "BOUND_ADVICE",
]

BOUND_ADVICE = (
    "If the cookies were copied from Chrome, they are probably device-bound (Device Bound Session "
    "Credentials): the service will not renew a copy taken from the browser, so it dies within hours. "
    "Copy the cookies from Firefox instead (its sessions are not bound), pass cookies= a function that "
    "reads fresh ones, or use GeminiClient(guest=True) for the default model without an account."
)

#: the RotateCookies body, byte for byte (not valid JSON: leading zeros)
ROTATE_BODY = b'[000,"-0000000000000000000"]'


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
        provider: CookieSource | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("refresh interval must be positive")
        self._transport = transport
        self._psid = psid
        self.interval = interval
        self._make = coordinator or AccountCache  # who rotates: this host's file lock, or e.g. Redis
        self._cache_dir = cache_dir or cache.cache_dir()
        self._shared: RotationCoordinator | None = self._make(psid, self._cache_dir) if write_cache else None
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
        self._provider = provider
        self.renewals = 0  # fresh cookies taken from the provider after a refusal
        #: why the session looks device-bound (a refused or empty rotation), or ``None``
        self.bound_sign: str | None = None

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
        return self._rotate(lock_timeout, due_only=False) in ("rotated", "taken", "renewed")

    def _rotate(self, lock_timeout: float, *, due_only: bool) -> str:
        """One try: ``rotated``, ``taken`` (cache was newer), ``fresh`` (not due), ``busy`` or ``failed``.

        The background thread (``due_only``) gives up when another process
        holds the lock; a refused request, or any rotation where no lock can
        be made (a read-only directory), goes on without it: the write then
        still never replaces a newer file.
        """
        with self._lock:
            if self._shared is None:
                return self._rotate_or_renew(None, due_only)
            with self._shared.locked(lock_timeout) as held:
                if held is False and due_only:
                    return "busy"
                state = self._shared.read()
                if self._adopt(state) and not due_only:
                    return "taken"
                if due_only and state.rotated_at is not None and not self._is_due(state.rotated_at):
                    return "fresh"
                return self._rotate_or_renew(state, due_only)

    def _rotate_or_renew(self, state: cache.CacheState | None, due_only: bool) -> str:
        """Rotate; after a refusal (not on the timer), ask the provider for fresh cookies instead."""
        try:
            if self._call_service(state):
                return "rotated"
        except AuthError:
            if due_only or self._provider is None:
                raise
        if not due_only and self._provider is not None and self._renew(state):
            return "renewed"
        return "failed"

    def _renew(self, state: cache.CacheState | None) -> bool:
        """Take fresh cookies from the provider (called once per refusal) and share them like a rotation."""
        try:
            found = provided_cookies(self._provider) if self._provider is not None else {}
            fresh = clean_cookies(found) if found.get(C.PSID) else {}
        except Exception as exc:  # noqa: BLE001 - a failing secret store or browser: no fresh cookies
            logger.warning("the cookies= source failed (%s); no fresh cookies", exc.__class__.__name__)
            return False
        self.renewals += 1
        if not fresh:
            logger.warning("the cookies= source gave no %s after the service refused the cookies", C.PSID)
            return False
        for value in fresh.values():
            register_secret(value)
        if fresh[C.PSID] != self._psid and self._shared is not None:  # another account: its own cache
            self._psid = fresh[C.PSID]
            self._shared = self._make(self._psid, self._cache_dir)
            state = self._shared.read()
        self._transport.set_cookies(fresh)
        self._last_rotated = self._clock()
        if self._shared is not None:
            with self._state_lock:
                self.generation = max(self.generation, state.generation if state else 0) + 1
                generation = self.generation
            self._shared.write(self._jar_cookies(), generation, self._last_rotated, self._cookie_domains())
        self.bound_sign = None
        logger.info("took fresh cookies from the cookies= source after a refusal")
        return True

    def _is_due(self, rotated_at: float) -> bool:
        return self._clock() - rotated_at >= self.interval

    def _call_service(self, state: cache.CacheState | None) -> bool:
        """Rotate at the service and write the cache one generation past ``state`` (the file as read)."""
        try:
            value = rotate_cookies(self._transport)
        except AuthError:
            self.bound_sign = "the cookie rotation was refused"
            raise
        if value is None:
            self.bound_sign = f"the cookie rotation answered without a new {C.PSIDTS}"
            return False
        self.bound_sign = None
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
