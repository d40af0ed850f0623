"""Cookies and tokens of the emulated account (docs/protocol.md 2).

:class:`AuthState` decides whether a request's cookies are logged in:

* ``__Secure-1PSID`` is required. Without a configured value any non-empty
  value is accepted; with one (``psid=``) it must match.
* ``__Secure-1PSIDTS`` is checked only when a value was configured
  (``psidts=``): then it must be the current one or the one before the last
  rotation (a client that rotated concurrently still gets through).
* :meth:`AuthState.expire` kills every cookie value seen so far (and the
  configured one) and hands out a fresh value, as a new login would.
* :meth:`AuthState.bind` plays a device-bound session (docs/protocol.md 13):
  the ``__Secure-1PSIDTS`` a client holds dies after ``requests`` uses or
  ``seconds``, a rotation of it is refused (401) or answered without a new
  value, and :meth:`cookies` hands out the next value (a fresh export).

:func:`new_tokens` makes the app-page tokens of one emulator.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .._constants import PSID, PSIDTS
from ..protocol.request import AppTokens

__all__ = [
    "AuthState",
    "Binding",
    "new_tokens",
    "new_second_token",
    "next_build",
    "DEFAULT_PSID",
    "DEFAULT_PSIDTS",
    "BUILD_LABEL",
]

DEFAULT_PSID = "emulator-psid"
DEFAULT_PSIDTS = "emulator-psidts"
#: today's build label, in the service's format (``..._20260806.17_p0`` was a real one)
BUILD_LABEL = time.strftime("boq_assistant-bard-web-server_%Y%m%d.17_p0", time.gmtime())


def new_tokens(language: str = "en", *, build_label: str = BUILD_LABEL) -> AppTokens:
    """Fresh app-page tokens: access token (``SNlM0e``), build label, f.sid and push id."""
    access = f"AJvLN6M{secrets.token_urlsafe(18)}:{int(time.time() * 1000)}"
    session_id = str(-secrets.randbelow(10**18) - 10**18)
    push_id = "feeds/" + secrets.token_hex(7)
    return AppTokens(access, build_label, session_id, language, push_id)


def new_second_token() -> str:
    """A fresh ``thykhd`` value (the 2026 page's second token, usable as ``at``)."""
    return f"AFHm{secrets.token_urlsafe(21)}:{int(time.time() * 1000)}"


def next_build(label: str | None) -> str:
    """The build label of the next release after ``label`` (``..._p0`` -> ``..._p1``)."""
    base, _, release = (label or BUILD_LABEL).rpartition("_p")
    return f"{base}_p{int(release) + 1 if release.isdigit() else 1}"


@dataclass(frozen=True)
class Binding:
    """A device-bound session: how long an exported ``__Secure-1PSIDTS`` lives, how rotation answers.

    ``rotation`` is ``"refuse"`` (401, what a working client reports for
    Chrome's bound cookies) or ``"empty"`` (200 without a new value).
    """

    requests: int | None = None
    seconds: float | None = None
    rotation: str = "refuse"


class AuthState:
    """Which cookie values are logged in; rotation of ``__Secure-1PSIDTS``."""

    def __init__(
        self,
        psid: str | None = None,
        psidts: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.binding: Binding | None = None
        self._bound_uses = 0
        self._bound_since = 0.0
        self._dead_psidts: set[str] = set()
        self.bound_expiries = 0  # how many bound values died
        self._strict_psid = psid is not None
        self._strict_psidts = psidts is not None
        self._psid = psid or DEFAULT_PSID
        self._psidts = psidts or DEFAULT_PSIDTS
        self._previous_psidts: str | None = None
        self._seen: set[str] = set()
        self._dead: set[str] = set()
        self._generation = 1
        self.rotations = 0
        self.refused_rotations = 0  # rotations refused for carrying other cookies (docs/protocol.md 2.4)

    @property
    def psid(self) -> str | None:
        """The required ``__Secure-1PSID`` value, or ``None`` if any value is accepted."""
        with self._lock:
            return self._psid if self._strict_psid else None

    @psid.setter
    def psid(self, value: str | None) -> None:
        with self._lock:
            self._strict_psid = value is not None
            if value is not None:
                self._psid = value
                self._dead.discard(value)

    @property
    def psidts(self) -> str:
        """The current ``__Secure-1PSIDTS`` value."""
        with self._lock:
            return self._psidts

    def cookies(self) -> dict[str, str]:
        """Cookies that are logged in right now."""
        with self._lock:
            return {PSID: self._psid, PSIDTS: self._psidts}

    def check(self, cookies: Mapping[str, str]) -> bool:
        """True if ``cookies`` are logged in."""
        psid = cookies.get(PSID, "")
        with self._lock:
            if not psid or psid in self._dead:
                return False
            if self._strict_psid and not secrets.compare_digest(psid, self._psid):
                return False
            if self._strict_psidts and cookies.get(PSIDTS) not in (self._psidts, self._previous_psidts):
                return False
            if self.binding is not None and not self._bound_use(cookies.get(PSIDTS)):
                return False
            self._seen.add(psid)
            return True

    def _bound_use(self, psidts: str | None) -> bool:
        """One use of a bound ``__Secure-1PSIDTS`` (lock held): False once it has died."""
        binding = self.binding
        assert binding is not None
        if psidts is None or psidts in self._dead_psidts or psidts != self._psidts:
            return False
        self._bound_uses += 1
        used_up = binding.requests is not None and self._bound_uses > binding.requests
        too_old = binding.seconds is not None and self._clock() - self._bound_since >= binding.seconds
        if used_up or too_old:
            self._end_bound()
            return False
        return True

    def _end_bound(self) -> None:
        """The current bound value dies (lock held); the next one is handed out by :meth:`cookies`."""
        self._dead_psidts.add(self._psidts)
        self._psidts = f"bound-{secrets.token_urlsafe(18)}"
        self._previous_psidts = None
        self._bound_uses, self._bound_since = 0, self._clock()
        self.bound_expiries += 1

    def end_bound(self) -> None:
        """End the bound session now, as its time running out would."""
        with self._lock:
            if self.binding is None:
                raise RuntimeError("no bound session: call bind() first")
            self._end_bound()

    def bind(self, binding: Binding | None) -> None:
        """Play a device-bound session from now on (``None``: a normal one again)."""
        with self._lock:
            self.binding = binding
            self._bound_uses, self._bound_since = 0, self._clock()
            if binding is not None:
                self._strict_psidts = True

    def expire(self) -> None:
        """Invalidate every cookie value in use; :meth:`cookies` then gives fresh ones."""
        with self._lock:
            self._dead |= self._seen | {self._psid}
            self._seen.clear()
            self._generation += 1
            base = self._psid.rsplit("~", 1)[0]
            self._psid = f"{base}~{self._generation}"
            self._previous_psidts = None
            self._psidts = f"{DEFAULT_PSIDTS}~{secrets.token_hex(6)}"

    def rotate(self) -> str:
        """Issue a new ``__Secure-1PSIDTS``; the previous value stays valid."""
        with self._lock:
            self._previous_psidts = self._psidts
            self._psidts = f"sidts-{secrets.token_urlsafe(24)}"
            self.rotations += 1
            return self._psidts

    def refuse_rotation(self) -> None:
        """Count a rotation refused because it carried other Google cookies."""
        with self._lock:
            self.refused_rotations += 1
