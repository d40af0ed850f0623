"""The emulator's switches for the account's standing and the session's life (docs/protocol.md 13).

Each plays one state a real account meets, so a client (and ``gemini-sync
doctor``) can be tested against it: guests, a silent model downgrade, a
device-bound session that dies, a skewed clock, an old build label, abuse
flags and used-up usage windows. The account status itself is
:attr:`~.controls.EmulatorControls.account_status`.
"""

from __future__ import annotations

from ..protocol.request import AppTokens
from .auth import Binding
from .backend import Backend

__all__ = ["AccountControls"]

_ROTATIONS = ("refuse", "empty")


class AccountControls:
    """Guests, downgrades, bound sessions, clock skew, build label, abuse, usage; mixed into ``Emulator``."""

    _backend: Backend

    @property
    def guests(self) -> bool:
        """Whether a visitor without any cookie is served as a guest (default ``True``, as on the service)."""
        return self._backend.guests

    @guests.setter
    def guests(self, value: bool) -> None:
        self._backend.guests = bool(value)

    @property
    def downgrade(self) -> bool:
        """Serve every model request with the default model, saying so in ``E[39]``/``E[42]``."""
        return self._backend.downgrade

    @downgrade.setter
    def downgrade(self, value: bool) -> None:
        self._backend.downgrade = bool(value)

    @property
    def clock_skew(self) -> float:
        """Seconds added to every answer's ``Date`` header (a service clock ahead of ours)."""
        return self._backend.clock_skew

    @clock_skew.setter
    def clock_skew(self, value: float) -> None:
        self._backend.clock_skew = float(value)

    @property
    def build_label(self) -> str | None:
        """The build label (``cfb2h``) on the app page; set an old one to play a stale page."""
        return self._backend.tokens.build_label

    @build_label.setter
    def build_label(self, value: str) -> None:
        old = self._backend.tokens
        self._backend.tokens = AppTokens(old.access_token, value, old.session_id, old.language, old.push_id)

    @property
    def abuse(self) -> tuple[int, str] | None:
        """``(code, signal)`` that ``GPRiHf`` reports, or ``None`` for a clean account."""
        return self._backend.abuse

    @abuse.setter
    def abuse(self, value: tuple[int, str] | None) -> None:
        self._backend.abuse = None if value is None else (int(value[0]), str(value[1]))

    @property
    def usage_used(self) -> float:
        """The used share (0-1) ``jSf9Qc`` reports for the 5-hour and weekly windows."""
        return self._backend.usage_used

    @usage_used.setter
    def usage_used(self, value: float) -> None:
        if not 0 <= value <= 1:
            raise ValueError("usage_used is a fraction between 0 and 1")
        self._backend.usage_used = float(value)

    @property
    def quota_blocked(self) -> bool:
        """Whether the extra-quota check ``aPya6c`` says blocked."""
        return self._backend.quota_blocked

    @quota_blocked.setter
    def quota_blocked(self, value: bool) -> None:
        self._backend.quota_blocked = bool(value)

    @property
    def last_mode(self) -> str | None:
        """The model id a client last wrote with ``L5adhe``."""
        return self._backend.last_mode

    def bind_session(
        self, *, requests: int | None = None, seconds: float | None = None, rotation: str = "refuse"
    ) -> None:
        """Play a device-bound session (Chrome's DBSC) from now on.

        The current ``__Secure-1PSIDTS`` dies after ``requests`` more uses or
        ``seconds``; its app page is then signed out and POSTs get 401. A
        rotation is refused with 401 (``rotation="refuse"``) or answered 200
        without a new value (``"empty"``). :attr:`cookies` then gives the next
        value, as a fresh export from the browser would.
        """
        if rotation not in _ROTATIONS:
            raise ValueError(f"rotation must be one of {', '.join(_ROTATIONS)}, not {rotation!r}")
        if requests is not None and requests < 0:
            raise ValueError("requests must not be negative")
        self._backend.auth.bind(Binding(requests, seconds, rotation))

    def end_bound_session(self) -> None:
        """End the bound session's ``__Secure-1PSIDTS`` now (as ``requests``/``seconds`` would)."""
        self._backend.auth.end_bound()

    def unbind_session(self) -> None:
        """A normal, rotatable session again."""
        self._backend.auth.bind(None)

    @property
    def bound_expiries(self) -> int:
        """How many bound ``__Secure-1PSIDTS`` values have died."""
        return self._backend.auth.bound_expiries
