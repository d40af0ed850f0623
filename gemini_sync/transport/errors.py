"""Mapping HTTP-level failures (statuses, ``requests`` exceptions) to gemini_sync errors.

A failed connection is worded by its root cause (DNS, refused, TLS, proxy), found by
walking the exceptions ``requests`` and ``urllib3`` wrap around each other.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..errors import (
    APIError,
    AuthError,
    GeminiError,
    RateLimited,
    StreamInterrupted,
    TimeoutError,
    rejection_error,
)
from ..protocol.framing import FrameDecoder
from ..protocol.payload import Rejection, parse_frame

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
        rejected = _rejection(response)
        if rejected is not None:
            return rejected
        return APIError(
            f"{what} was rejected with HTTP 400 (bad request: a stale access token or a malformed request)",
            status_code=400,
        )
    return APIError(f"{what} failed with HTTP {status}", status_code=status)


_MAX_ERROR_BODY = 64 * 1024


def _rejection(response: requests.Response) -> GeminiError | None:
    """The typed error of a 400 whose (small) body carries an ``"er"`` frame, if it does."""
    try:
        body = next(response.iter_content(_MAX_ERROR_BODY), b"")
        decoder = FrameDecoder()
        frames = decoder.feed(body) + decoder.close()
    except (GeminiError, requests.RequestException, ValueError, TypeError):
        return None  # not a framed body (an HTML page): a plain 400
    for frame in frames:
        for event in parse_frame(frame) if isinstance(frame, list) else ():
            if isinstance(event, Rejection):
                return rejection_error(event.code, event.status)
    return None


def translate_exception(exc: BaseException, what: str) -> GeminiError:
    """The typed error for an exception raised by ``requests`` or ``urllib3``, naming its root cause."""
    if isinstance(exc, GeminiError):
        return exc
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return TimeoutError(f"{what} timed out ({exc.__class__.__name__})")
    if isinstance(exc, requests.ConnectionError):
        return StreamInterrupted(f"{what} could not connect: {_network_cause(exc)}")
    return StreamInterrupted(f"{what} failed: the connection broke ({exc.__class__.__name__})")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``reason``, ``args[0]``, ``__cause__``/``__context__``), outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((arg for arg in current.args if isinstance(arg, BaseException)), None)
        current = inner or current.__cause__ or current.__context__
    return chain


def _network_cause(exc: requests.ConnectionError) -> str:
    """What went wrong, in words: DNS, a refused connection, TLS, the proxy (never the proxy's URL)."""
    url = exc.request.url if exc.request is not None and exc.request.url else ""
    parts = urlsplit(str(url))
    host = parts.hostname or "the server"
    where = f"{host}:{parts.port}" if parts.port else host
    chain = _causes(exc)
    last = chain[-1]
    detail = str(last) or type(last).__name__
    if isinstance(last, OSError) and last.strerror:
        detail = last.strerror
    if any(isinstance(e, (requests.exceptions.ProxyError, urllib3.exceptions.ProxyError)) for e in chain):
        return f"the proxy failed ({detail}); check the proxy= setting or HTTPS_PROXY/HTTP_PROXY"
    if any(isinstance(e, (urllib3.exceptions.NameResolutionError, socket.gaierror)) for e in chain):
        return f"DNS lookup of {host} failed ({detail}); check the host name and your network"
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return (
            f"the TLS handshake with {where} failed ({detail}); a proxy or antivirus intercepting "
            "HTTPS, or an outdated certificate store, are the usual causes"
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return f"{where} refused the connection; is the server running and is the port right?"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return f"{where} reset the connection ({detail})"
    return f"the connection to {where} failed ({detail})"
