"""OpenAI-shaped errors, and which HTTP status each gemini_sync error becomes.

Every refusal of the app is ``{"error": {"message", "type", "param", "code"}}``
with the matching status, so an OpenAI client raises the right exception
(``AuthenticationError`` for 401, ``RateLimitError`` for 429 and so on):

* 400 bad input (unknown model, empty messages, a bad role, unsupported
  parameters named), 401 a missing or wrong API key, 404 an unknown path or
  file, 405 a wrong method, 413 a body over the limit;
* 429 the account's usage limit (``Retry-After`` from ``resets_at``), the
  service's rate limit, or this key's concurrency limit;
* 502 the service failed or answered what cannot be used, 504 it timed out.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import (
    AttachmentRejected,
    FollowUpLimit,
    GeminiError,
    RateLimited,
    TimeoutError,
    UsageLimitExceeded,
)

__all__ = ["OpenAIError", "bad_request", "from_gemini", "retry_after"]

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    504: "server_error",
}
_DEFAULT_RETRY_AFTER = 60


@dataclass
class OpenAIError(Exception):
    """A refusal with its HTTP status, OpenAI error ``code`` and extra headers (``Retry-After``)."""

    status: int
    message: str
    code: str | None = None
    param: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def status_line(self) -> str:
        return f"{self.status} {_REASONS.get(self.status, 'Error')}"

    @property
    def kind(self) -> str:
        """The OpenAI error ``type``."""
        return _TYPES.get(self.status, "server_error")

    def payload(self) -> dict[str, Any]:
        """The error object: ``{"error": {...}}``."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def body(self) -> bytes:
        return json.dumps(self.payload(), ensure_ascii=False).encode("utf-8")


def bad_request(message: str, *, param: str | None = None, code: str = "invalid_request") -> OpenAIError:
    """A 400 for input the app cannot use."""
    return OpenAIError(400, message, code=code, param=param)


def retry_after(resets_at: float | None, now: Callable[[], float] = time.time) -> int:
    """Whole seconds until ``resets_at`` (at least 1), or a minute when the reset time is not known."""
    if resets_at is None:
        return _DEFAULT_RETRY_AFTER
    return max(1, math.ceil(resets_at - now()))


def from_gemini(error: GeminiError) -> OpenAIError:
    """The HTTP refusal that stands for ``error`` (the library's message, which holds no secret)."""
    message = str(error) or error.__class__.__name__
    if isinstance(error, UsageLimitExceeded):
        seconds = retry_after(error.resets_at)
        return OpenAIError(429, message, code="usage_limit_exceeded", headers=[("Retry-After", str(seconds))])
    if isinstance(error, RateLimited):
        seconds = max(1, math.ceil(error.retry_after)) if error.retry_after else _DEFAULT_RETRY_AFTER
        return OpenAIError(429, message, code="rate_limited", headers=[("Retry-After", str(seconds))])
    if isinstance(error, FollowUpLimit):
        return OpenAIError(429, message, code="follow_up_limit")
    if isinstance(error, AttachmentRejected):
        return OpenAIError(400, message, code="attachment_rejected")
    if isinstance(error, TimeoutError):
        return OpenAIError(504, message, code="upstream_timeout")
    return OpenAIError(502, f"the Gemini web app failed: {message}", code=error.__class__.__name__)
