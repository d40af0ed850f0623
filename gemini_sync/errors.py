"""Exceptions raised by gemini_sync.

Every exception is a :class:`GeminiError`. Each carries ``.partial``: for an
error raised by a stream, the :class:`~gemini_sync.types.ModelOutput` that had
already been delivered to the caller when the failure happened (empty text
when nothing was, with the conversation ids if they had arrived); ``None`` for
errors of other calls. Messages never contain cookie values or the access token.
Every class here is also importable from ``gemini_sync``; :class:`TimeoutError`
subclasses the builtin one, so ``except TimeoutError`` catches it either way.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from ._exports import publish

if TYPE_CHECKING:
    from .types.output import ModelOutput

__all__ = [
    "GeminiError",
    "AuthError",
    "APIError",
    "UsageLimitExceeded",
    "ModelInvalid",
    "FollowUpLimit",
    "AttachmentRejected",
    "RequestRejected",
    "TemporarilyBlocked",
    "AccountRestricted",
    "ModelDowngraded",
    "RateLimited",
    "NoAccountAvailable",
    "TimeoutError",
    "StreamInterrupted",
    "Cancelled",
    "ProtocolError",
    "StreamDiverged",
    "UploadError",
    "ResearchUnavailable",
    "ResearchFailed",
    "ResearchTimeout",
    "MediaFailed",
    "error_for_code",
    "rejection_error",
]

_ErrorT = TypeVar("_ErrorT", bound="GeminiError")


class GeminiError(Exception):
    """Base class of every error raised by gemini_sync.

    ``attempts`` is how many attempts a retried call made before this error (``None``: not retried).
    """

    attempts: int | None = None

    def __init__(self, message: str = "", *, partial: ModelOutput | None = None) -> None:
        super().__init__(message)
        self.partial: ModelOutput | None = partial

    def with_partial(self: _ErrorT, partial: ModelOutput | None) -> _ErrorT:
        """Attach the output delivered so far (only if none is attached yet); returns this error."""
        if self.partial is None:
            self.partial = partial
        return self


class AuthError(GeminiError):
    """Cookies are missing, expired or rejected; get fresh ones from the browser.

    ``code`` is set when the refusal came as a status rather than an HTTP
    error (7: a batchexecute call not permitted, docs/protocol.md 6.2).
    """

    def __init__(
        self, message: str = "", *, code: int | None = None, partial: ModelOutput | None = None
    ) -> None:
        super().__init__(message, partial=partial)
        self.code = code


class APIError(GeminiError):
    """The service answered with an error code or an unexpected HTTP status.

    ``code`` is the in-band error code (e.g. 1013) when there is one;
    ``status_code`` is the HTTP status when the error came from one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        code: int | None = None,
        status_code: int | None = None,
        partial: ModelOutput | None = None,
    ) -> None:
        super().__init__(message, partial=partial)
        self.code = code
        self.status_code = status_code


class UsageLimitExceeded(APIError):
    """Error 1037: the usage limit for this model has been reached.

    ``resets_at`` (Unix seconds) is when the quota refills, if the service
    told us, else ``None``. The error frame carries no time, so after a 1037
    in an answer the client asks for the quotas once (``qpEbW``, never
    retried, a few seconds at most) and takes the reset time of the bucket
    that is used up (the latest, if several are). Which bucket belongs to
    which model is not known: this is a guess.
    """

    def __init__(self, message: str = "", *, resets_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resets_at = resets_at

    def learn_reset(self, resets_at: float) -> None:
        """Record the reset time and say it in the message."""
        when = datetime.fromtimestamp(resets_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.resets_at = resets_at
        self.args = (f"{self.args[0] if self.args else ''}; the quota resets at {when}",)


class ModelInvalid(APIError):
    """Errors 1050/1052: the model header is unknown, stale, or differs from the chat's."""


class FollowUpLimit(APIError):
    """Error 1097: the account's limit on follow-up turns was reached; start a new chat or wait."""


class AttachmentRejected(APIError):
    """Error 1100: the service refused an attachment (type, size or content)."""


class RequestRejected(APIError):
    """The service rejected the request without answering it.

    Error 1096 with no content (often a dead session: fresh cookies may help),
    or HTTP 400 whose body carries an ``"er"`` frame. Never retried.
    """


class TemporarilyBlocked(APIError):
    """Error 1060: the IP is temporarily blocked or the region is not supported."""


class AccountRestricted(APIError):
    """The account may not use Gemini now: its status (``otAQ7b``) forbids it; never retried.

    ``status`` is the account-status code (e.g. 1040: new terms to accept,
    1060: region not supported); the message says what the user must do.
    """

    def __init__(self, message: str = "", *, status: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


class NoAccountAvailable(GeminiError):
    """No member of the pool may take the request now: all are taken out, cooling down or busy.

    ``reasons`` maps each member's name to why it was passed over;
    ``resets_at`` (Unix seconds) is the earliest time a member cooling down
    for this request's quota comes back, or ``None`` when none is.
    """

    def __init__(
        self, message: str = "", *, reasons: Mapping[str, str] | None = None, resets_at: float | None = None
    ) -> None:
        super().__init__(message)
        self.reasons = dict(reasons or {})
        self.resets_at = resets_at


class ModelDowngraded(APIError):
    """The service answered with another model than the one asked for (``expect_model=``).

    ``requested`` names the model asked for, ``served`` the one the service
    reports (``E[42]``, else its id ``E[39]``); ``partial`` holds what arrived
    before the difference was seen. Never retried: asking again gets the same.
    """

    def __init__(
        self, message: str = "", *, requested: str | None = None, served: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.requested = requested
        self.served = served


class RateLimited(APIError):
    """HTTP 429 after the retries were used up."""

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TimeoutError(GeminiError, builtins.TimeoutError):  # noqa: A001 - deliberate, documented
    """A connect/read timeout, a stall longer than ``stall_timeout``, or a deadline."""


class StreamInterrupted(GeminiError):
    """The connection dropped or the body ended before the final frame."""


class Cancelled(GeminiError):
    """The stream was cancelled by the caller (``StreamWorker.cancel()``)."""


class ProtocolError(GeminiError):
    """The response could not be understood: bad framing, not JSON, an HTML page."""


class UploadError(GeminiError):
    """A file given in ``files=`` could not be read when it was to be uploaded."""


class StreamDiverged(GeminiError):
    """The final answer contradicts text already delivered as deltas.

    Raised instead of emitting a correction that would splice two texts.
    ``output`` holds the service's final answer so nothing is lost.
    """

    def __init__(
        self, message: str = "", *, output: ModelOutput | None = None, partial: ModelOutput | None = None
    ) -> None:
        super().__init__(message, partial=partial)
        self.output = output


class ResearchUnavailable(APIError):
    """Deep Research (or a media tool) is not offered to this account or model (plan, model, region)."""


class ResearchFailed(GeminiError):
    """The research ended on the service without a report; ``cid`` is its conversation."""

    def __init__(self, message: str = "", *, cid: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cid = cid


class ResearchTimeout(TimeoutError):
    """Waiting for a research (or a media job) ran out of time; the job keeps running on the service.

    ``cid`` is its conversation: ``client.research_job(cid)`` resumes waiting.
    """

    def __init__(self, message: str = "", *, cid: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cid = cid


class MediaFailed(GeminiError):
    """A video or music job ended without a file, or its file could not be fetched."""


_CODE_MEANINGS: dict[int, tuple[type[APIError], str]] = {
    1013: (APIError, "temporary server error (1013)"),
    1037: (UsageLimitExceeded, "usage limit for this model reached (1037)"),
    1050: (ModelInvalid, "model is inconsistent with this conversation (1050)"),
    1052: (ModelInvalid, "model header invalid or model unavailable (1052)"),
    1060: (TemporarilyBlocked, "IP temporarily blocked or region not supported (1060)"),
    1096: (
        RequestRejected,
        "a rejection without an answer (1096); this is often a dead session: "
        "sign in to gemini.google.com in a browser and copy fresh cookies",
    ),
    1097: (FollowUpLimit, "the account's limit on follow-up turns reached (1097); start a new chat"),
    1100: (AttachmentRejected, "an attachment rejected (1100)"),
}


def error_for_code(code: int) -> APIError:
    """Map an in-band error code (docs/protocol.md 6.1) to a typed exception."""
    cls, text = _CODE_MEANINGS.get(code, (APIError, f"service error code {code}"))
    return cls(f"Gemini answered with {text}", code=code)


def rejection_error(code: int | None, status: int | None = 400) -> RequestRejected:
    """The error for a request the service answered with an ``"er"`` frame (docs/protocol.md 6.3)."""
    what = f" (code {code})" if code is not None else ""
    return RequestRejected(
        f"Gemini rejected the request with HTTP {status or 400}{what} without answering it; if this "
        "persists the session may be dead: sign in to gemini.google.com in a browser and copy fresh cookies",
        code=code,
        status_code=status or 400,
    )


publish(globals())
