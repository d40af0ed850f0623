"""Mapping HTTP-level failures (statuses, ``requests`` exceptions) to gemini_sync errors."""

from __future__ import annotations

import email.utils
import time

import requests
import urllib3.exceptions

from ..errors import APIError, AuthError, GeminiError, RateLimited, StreamInterrupted, TimeoutError

__all__ = ["error_for_status", "translate_exception", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(response: requests.Response, what: str) -> GeminiError:
    """The typed error for a non-2xx ``response`` to request ``what``."""
    status = response.status_code
    if status in (401, 403):
        return AuthError(
            f"{what} was refused with HTTP {status}: the cookies are invalid or expired. "
            "Sign in to gemini.google.com in a browser and copy fresh __Secure-1PSID and "
            "__Secure-1PSIDTS cookies."
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" (Retry-After: {retry_after:.0f}s)" if retry_after is not None else ""
        return RateLimited(
            f"{what} was rate limited with HTTP 429{hint}", status_code=429, retry_after=retry_after
        )
    if status == 400:
        return APIError(
            f"{what} was rejected with HTTP 400 (bad request: a stale access token or a malformed request)",
            status_code=400,
        )
    return APIError(f"{what} failed with HTTP {status}", status_code=status)


def translate_exception(exc: BaseException, what: str) -> GeminiError:
    """The typed error for an exception raised by ``requests`` or ``urllib3``."""
    if isinstance(exc, GeminiError):
        return exc
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return TimeoutError(f"{what} timed out ({exc.__class__.__name__})")
    if isinstance(exc, requests.ConnectionError):
        return StreamInterrupted(
            f"{what} could not connect or the connection failed ({exc.__class__.__name__})"
        )
    return StreamInterrupted(f"{what} failed: the connection broke ({exc.__class__.__name__})")
