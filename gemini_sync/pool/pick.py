"""Which account serves a request: members, quota buckets and the order they are tried in (pure).

A request is charged to a usage bucket of its account (``client.usage()``
names them): which bucket a model uses is the service's secret, so
:func:`quota_bucket` guesses as the emulator decides: a thinking level above
standard (or a ``*_THINKING`` model) counts against ``"extended thinking"``,
a Pro model against ``"pro"``, anything else against ``"flash"``.

:func:`candidates` orders the members that may take a request now: neither
taken out nor cooling down for its bucket, accounts before guest sessions
(guests first with ``strategy="guest_first"``), then by the strategy:
``"least_used"`` (fewest streams in flight, then the lowest used share of the
bucket at the last usage reading, then the fewest requests this pool sent
there) or ``"round_robin"`` (each pick starts one member further).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._constants import PSID
from ..errors import NoAccountAvailable
from ..models import Model
from .state import AccountView

if TYPE_CHECKING:
    from ..client import GeminiClient
    from ..models import ModelLike

__all__ = ["Member", "NoAccountAvailable", "STRATEGIES", "quota_bucket", "candidates", "account_key"]

STRATEGIES = ("least_used", "round_robin", "guest_first")
_THINKING_LEVELS = frozenset({"extended", "deep"})


def account_key(client: GeminiClient, guest: bool, name: str) -> str:
    """The account's key in shared state: a hash of the service URL and the ``__Secure-1PSID``."""
    base = client.base_url or "gemini.google.com"
    psid = None if guest else next((c.value for c in iter(client.session.cookies) if c.name == PSID), None)
    if psid is None:
        return "guest-" + hashlib.sha256(f"{base}\0{name}".encode()).hexdigest()[:20]
    return hashlib.sha256(f"{base}\0{psid}".encode()).hexdigest()[:24]


@dataclass
class Member:
    """One client of a pool: ``AccountPool([Member(client, name="work", max_concurrent=4), ...])``.

    ``guest=True`` marks a guest session (no account): tried after the
    accounts, or before them with ``strategy="guest_first"``; its usage is
    never read. ``max_concurrent`` limits its streams in flight (across every
    process sharing the pool's state); ``None`` takes the pool's. A client
    given without a ``Member`` is a member named ``account-N`` (``guest-N``).
    """

    client: GeminiClient
    name: str | None = None
    guest: bool = False
    max_concurrent: int | None = None
    key: str = field(default="", init=False)
    served: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.max_concurrent is not None and (
            not isinstance(self.max_concurrent, int) or self.max_concurrent < 1
        ):
            raise ValueError("max_concurrent must be an integer >= 1 (or None for no limit)")


def quota_bucket(model: ModelLike | None, thinking: str | None) -> str:
    """The usage bucket a request for ``model`` at level ``thinking`` is charged to (a guess)."""
    name = ""
    thinks = thinking in _THINKING_LEVELS
    if isinstance(model, Model):
        name = model.model_name
        thinks = thinks or (thinking is None and model.thinking)
    elif isinstance(model, str):
        name = model
        known = Model.by_release_name(model)
        thinks = thinks or (thinking is None and known is not None and known.thinking)
    elif model is not None:  # a ModelInfo from list_models()
        name = " ".join(str(getattr(model, attr, "") or "") for attr in ("name", "display_version"))
    if thinks:
        return "extended thinking"
    return "pro" if "pro" in name.lower() else "flash"


def passed_over(view: AccountView, bucket: str, now: float) -> str | None:
    """Why a member may not take a request for ``bucket`` now, or ``None`` if it may."""
    if view.out_until is not None and view.out_until > now:
        return f"taken out ({view.out_reason})"
    until = view.cooling_until(bucket)
    if until is not None and until > now:
        return f"cooling down for {bucket!r} for {until - now:.0f} s"
    return None


def candidates(
    members: Sequence[Member],
    views: Mapping[str, AccountView],
    bucket: str,
    now: float,
    strategy: str,
    turn: int,
    exclude: frozenset[str] = frozenset(),
) -> list[Member]:
    """The members that may take a request for ``bucket`` now, best first (see the module docstring)."""
    count = len(members)
    rotated = [members[(turn + i) % count] for i in range(count)] if count else []
    usable = [m for m in rotated if m.key not in exclude and passed_over(views[m.key], bucket, now) is None]

    def load(member: Member) -> tuple[Any, ...]:
        view = views[member.key]
        return (view.in_flight, view.used_percent(bucket, now), member.served)

    if strategy != "round_robin":
        usable.sort(key=load)  # stable: ties keep the rotated order
    accounts = [m for m in usable if not m.guest]
    guests = [m for m in usable if m.guest]
    return guests + accounts if strategy == "guest_first" else accounts + guests


def refusal(
    members: Sequence[Member], views: Mapping[str, AccountView], bucket: str, now: float, busy: bool
) -> NoAccountAvailable:
    """The error for a request no member may take: each member's reason, the earliest comeback."""
    reasons = {}
    comebacks = []
    for member in members:
        view = views[member.key]
        reason = passed_over(view, bucket, now)
        if reason is None:
            reason = "busy (all its slots in flight)" if busy else "already tried for this request"
        until = view.cooling_until(bucket)
        if until is not None and until > now and view.out_until is None:
            comebacks.append(until)
        reasons[member.name or member.key] = reason
    listed = "; ".join(f"{name}: {why}" for name, why in reasons.items())
    return NoAccountAvailable(
        f"no account of the pool may take this request now ({listed})",
        reasons=reasons,
        resets_at=min(comebacks) if comebacks else None,
    )
