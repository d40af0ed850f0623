"""Guest mode: chatting without a Google account (``GeminiClient(guest=True)``, docs/protocol.md 13).

The service serves signed-out visitors: a preflight GET of the Google home
page collects its anonymous cookies, the signed-out app page gives the build
label and session id, and ``at`` is sent empty. What a guest may not do is
refused here, at the call, before anything is sent:

* another model than the default one (3.5 Flash-Lite, the first of a
  signed-out visitor's list), or a thinking level: the service would silently
  serve the default model and ignore the level (a working client's
  measurement), so asking for them is a ``ValueError`` that says why;
* files, gems and the web app's tools (images, video, music, Deep Research):
  they need an account (uploads are refused with 1100, tools answer "Are you
  signed in?");
* anything that reads or writes the history or the account (chats, gems,
  usage): an :class:`~gemini_sync.errors.AuthError` saying guests have no
  history. A broken stream is never read back from a history.

A guest chat keeps its ids and context token like any other; the session
cookie the app page sets carries it. There is no cookie rotation and no
cookie cache.
"""

from __future__ import annotations

from typing import Any

from .errors import AuthError
from .models import Model

__all__ = ["GUEST_MODEL_ID", "GUEST_MODEL_NAME", "check_guest_call", "guest_refusal"]

#: the model a guest gets: the first (default) model of a signed-out visitor's list
GUEST_MODEL_ID = "cf41b0e0dd7d53e5"
GUEST_MODEL_NAME = "3.5 Flash-Lite"
_NAMES = frozenset({GUEST_MODEL_ID, "flash-lite", "flash lite", "3.5 flash-lite", "unspecified"})
_SIGN_IN = "sign in (pass cookies) to use"


def _is_default(model: Any) -> bool:
    if model is None:
        return True
    if isinstance(model, str):
        return " ".join(model.lower().split()) in _NAMES
    if isinstance(model, Model):
        return model.model_id in (None, GUEST_MODEL_ID)
    return getattr(model, "id", None) == GUEST_MODEL_ID  # a ModelInfo of the guest's list


def check_guest_call(
    model: Any, thinking: str | None, *, files: bool = False, gem: bool = False, tool: str | None = None
) -> None:
    """``ValueError`` for what a guest cannot ask (see the module docstring); nothing is sent."""
    if not _is_default(model):
        raise ValueError(
            f"a guest (no Google account) gets only the default model ({GUEST_MODEL_NAME}); the service "
            f"would silently answer {model!r} with it. Leave model= out, or {_SIGN_IN} other models"
        )
    if thinking is not None:
        raise ValueError(
            f"a guest (no Google account) cannot choose thinking={thinking!r}: the service ignores "
            f"thinking levels for guests. Leave thinking= out, or {_SIGN_IN} them"
        )
    for wanted, what in ((files, "files"), (gem, "gems"), (tool is not None, f"the {tool} tool")):
        if wanted:
            raise ValueError(f"a guest (no Google account) cannot use {what}; {_SIGN_IN} {what}")


def guest_refusal(what: str) -> AuthError:
    """The error for ``what`` (e.g. ``"read_chat"``) on a guest client: guests have no history."""
    return AuthError(
        f"{what} needs a Google account: a guest (GeminiClient(guest=True)) has no history, gems or "
        "usage; pass the account's cookies instead (see the README's Authentication)"
    )
