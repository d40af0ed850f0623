"""The account's standing: its status code, abuse flags, usage windows (``client.account_status()``).

The status codes are those ``otAQ7b`` reports at ``r[14]`` (a working
client's table, gemini_webapi 2.1.1 ``AccountStatus``; docs/protocol.md 13).
Each code maps to what it means and what the user must do, and to the typed
error a call raises when the status forbids use: :func:`status_error`.
1016 (not signed in) is an :class:`~gemini_sync.errors.AuthError`; 1033
(untrusted for some features) does not stop use; every other code except
1000 is an :class:`~gemini_sync.errors.AccountRestricted` with ``.status``.
An unknown code is treated as a refusal, as that client does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._exports import publish
from .._json import JsonMixin
from ..errors import AccountRestricted, AuthError, GeminiError
from .account import Quota

__all__ = [
    "AccountStatus",
    "AbuseStatus",
    "UsageWindow",
    "QuotaCheck",
    "Usage",
    "STATUS_CODES",
    "describe_status",
    "status_error",
    "GUEST_ADVICE",
]

GUEST_ADVICE = "GeminiClient(guest=True) or gemini-sync --guest chats without an account (default model only)"
_COOKIES = (
    "sign in at https://gemini.google.com in a browser and copy fresh __Secure-1PSID and "
    "__Secure-1PSIDTS cookies (Firefox's are not device-bound and last longer), or use "
)
_SITE = "https://gemini.google.com"

#: code -> (name, what it means, what to do, usable)
STATUS_CODES: dict[int, tuple[str, str, str, bool]] = {
    1000: ("available", "the account may use Gemini", "", True),
    1014: (
        "temporarily unavailable",
        "access is unavailable for now (the region, the network or this session)",
        f"try again later or from another network; open {_SITE} in a browser to see the reason",
        False,
    ),
    1016: (
        "not signed in",
        "the service sees no signed-in account: the cookies have expired or were never valid",
        _COOKIES + GUEST_ADVICE,
        False,
    ),
    1021: (
        "rejected",
        "this Google Account may not use Gemini",
        f"check the account's settings (age, a Workspace administrator's policy); {_SITE} says why",
        False,
    ),
    1033: (
        "untrusted",
        "the account failed a trust check: some features may be limited",
        "nothing for plain chats; a feature that is refused needs the account verified in a browser",
        True,
    ),
    1040: (
        "terms to accept",
        "the Gemini terms of service have not been accepted on this account",
        f"accept the terms at {_SITE} in a browser signed in to this account",
        False,
    ),
    1042: (
        "new terms to accept",
        "the Gemini terms of service changed and the new ones are not accepted yet",
        f"accept the new terms at {_SITE} in a browser signed in to this account",
        False,
    ),
    1054: (
        "blocked by a guardian",
        "a parent or guardian turned Gemini off for this account",
        "ask the guardian to allow Gemini (Family Link)",
        False,
    ),
    1057: (
        "guardian approval needed",
        "a parent or guardian must approve Gemini for this account first",
        "ask the guardian to approve Gemini (Family Link)",
        False,
    ),
    1060: (
        "region not supported",
        "Gemini is not offered where the service thinks you are",
        "use it from a supported country (a proxy there also works)",
        False,
    ),
}
_AVAILABLE = 1000
_GUEST = 1016


@dataclass
class AbuseStatus(JsonMixin):
    """The abuse flags ``GPRiHf`` reports: ``clean``, else a ``code`` and a ``signal``."""

    clean: bool = True
    code: int | None = None
    signal: str | None = None


@dataclass
class AccountStatus(JsonMixin):
    """The account's status code, what it means, what to do, and its abuse flags.

    ``usable`` is False when the status forbids use (a call that needs the
    catalogue raises then); ``guest`` is True for a client without an account
    (its 1016 is expected and usable for the default model).
    """

    code: int | None
    name: str
    meaning: str
    action: str = ""
    usable: bool = True
    guest: bool = False
    abuse: AbuseStatus | None = None

    def __str__(self) -> str:
        text = f"{self.code} ({self.name}): {self.meaning}"
        return f"{text}; {self.action}" if self.action else text


@dataclass
class UsageWindow(JsonMixin):
    """One usage window of ``jSf9Qc``: the 5-hour window, the week, or AI credits.

    ``kind`` is the service's number (1 five hours, 2 weekly, 3 credits),
    ``used_percent`` 0-100, ``remaining`` what is left (credits), ``resets_at``
    Unix seconds; ``None`` where the service did not say.
    """

    name: str
    kind: int
    used_percent: float | None = None
    remaining: float | None = None
    resets_at: float | None = None


@dataclass
class QuotaCheck(JsonMixin):
    """``aPya6c``, the extra-quota check: ``blocked``, the share used (0-100) and the reset time."""

    blocked: bool = False
    used_percent: float | None = None
    resets_at: float | None = None


class Usage(list[Quota]):
    """``client.usage()``: the quota buckets (a list, as before) plus the usage windows.

    ``windows`` are the compute-based windows (5 hours, weekly), ``tier`` the
    tier ``jSf9Qc`` reports (1 free, 2 Pro, 4 Plus, 3/6 Ultra), ``check`` the
    extra-quota check; each is empty or ``None`` when the service did not answer.
    """

    def __init__(
        self,
        quotas: list[Quota] | None = None,
        *,
        windows: list[UsageWindow] | None = None,
        tier: int | None = None,
        check: QuotaCheck | None = None,
    ) -> None:
        super().__init__(quotas or [])
        self.windows: list[UsageWindow] = list(windows or [])
        self.tier = tier
        self.check = check

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON values."""
        return {
            "quotas": [q.to_dict(encode_json=True) for q in self],
            "windows": [w.to_dict(encode_json=True) for w in self.windows],
            "tier": self.tier,
            "check": self.check.to_dict(encode_json=True) if self.check else None,
        }


def describe_status(
    code: int | None, *, guest: bool = False, abuse: AbuseStatus | None = None
) -> AccountStatus:
    """The :class:`AccountStatus` of ``code`` (``None``: the service said nothing, read as available)."""
    if code is None or code == _AVAILABLE:
        name, meaning, action, usable = STATUS_CODES[_AVAILABLE]
    elif guest and code == _GUEST:
        name, meaning, action = "guest", "no account: the default model only, no history", ""
        usable = True
    elif code in STATUS_CODES:
        name, meaning, action, usable = STATUS_CODES[code]
    else:
        name, meaning = "unknown", f"the service reported status {code}, which this release does not know"
        action, usable = f"open {_SITE} in a browser to see what it asks of the account", False
    return AccountStatus(code, name, meaning, action, usable, guest, abuse)


def status_error(status: AccountStatus) -> GeminiError | None:
    """The error a call raises for ``status``, or ``None`` when it allows use."""
    if status.usable:
        return None
    message = f"account status {status.code} ({status.name}): {status.meaning}. To fix: {status.action}"
    if status.code == _GUEST:
        return AuthError(message, code=status.code)
    return AccountRestricted(message, status=status.code, code=status.code)


publish(globals())
