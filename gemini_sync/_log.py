"""The library's logger: a ``NullHandler`` and a filter that redacts secrets.

Every module logs through :data:`logger` (name ``"gemini_sync"``). Values that
must never be logged (cookie values, the access token) are registered with
:func:`register_secret`; the filter replaces them in every record, whatever the
level, before any handler sees it.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("gemini_sync")
logger.addHandler(logging.NullHandler())

_REDACTED = "<redacted>"
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MIN_SECRET_LEN = 6


def register_secret(value: str | None) -> None:
    """Remember a value that must be redacted from every log record."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message so no registered secret survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = redact(record.getMessage())
            record.msg = message
            record.args = None
        return True


logger.addFilter(RedactingFilter())
