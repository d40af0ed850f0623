"""Random UUIDs as the web app sends them, without importing the ``uuid`` module.

The request id (inner slot 59 and its header) and the session id of the model
header are upper-case version 4 UUIDs (docs/protocol.md 3). ``uuid`` imports
``platform``, about 2.5 ms of every program's ``from gemini_sync import
GeminiClient``, to offer far more than sixteen random bytes in a fixed format.
"""

from __future__ import annotations

import os

__all__ = ["random_uuid"]


def random_uuid() -> str:
    """A random version 4 UUID (RFC 4122 variant) in upper case, with dashes."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    digits = raw.hex().upper()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
