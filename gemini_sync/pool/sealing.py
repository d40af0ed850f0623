"""Cookie values sealed for Redis: authenticated encryption (AES-GCM) with ``cryptography``.

What :class:`~gemini_sync.pool.RedisState` publishes of a rotated cookie is a
sealed blob: ``base64(nonce || ciphertext+tag)`` of the cookie entries' JSON.
The 256-bit key is derived from the user's ``secret_key`` with HKDF-SHA256,
so any random string of at least 16 bytes serves (``secrets.token_urlsafe(32)``);
the same key must be given on every host. The account's key and the
generation are the associated data: a blob copied to another account or
generation fails to open, as does one altered or sealed with another key.

:meth:`Sealer.tag` is a keyed digest (HMAC-SHA256, another key derived from
the same ``secret_key``) of an account's two auth cookies: published next to
the blob, it tells hosts whether they hold the same cookie without revealing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from .._constants import PSID, PSIDTS

__all__ = ["Sealer"]

_NONCE = 12
_MIN_KEY = 16


class Sealer:
    """Seals and opens cookie entries with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str | bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        material = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
        if len(material) < _MIN_KEY:
            raise ValueError(f"secret_key must be at least {_MIN_KEY} bytes (e.g. secrets.token_urlsafe(32))")
        key = HKDF(hashes.SHA256(), 32, salt=b"gemini_sync", info=b"redis cookie values").derive(material)
        self._aead = AESGCM(key)
        tags = HKDF(hashes.SHA256(), 32, salt=b"gemini_sync", info=b"redis cookie tags")
        self._tag_key = tags.derive(material)

    def __repr__(self) -> str:
        return "<Sealer key=<hidden>>"

    def seal(self, entries: list[dict[str, Any]], account: str, generation: int) -> str:
        """The sealed blob of ``entries`` for ``account`` at ``generation``."""
        nonce = os.urandom(_NONCE)
        plain = json.dumps(entries, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, f"{account}:{generation}".encode())
        return base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, blob: str | bytes, account: str, generation: int) -> list[dict[str, Any]] | None:
        """The entries of ``blob``, or ``None`` if it is not one sealed with this key for them."""
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(blob, validate=True)
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], f"{account}:{generation}".encode())
            entries = json.loads(plain)
        except (InvalidTag, ValueError):
            return None
        if not isinstance(entries, list):
            return None
        return [e for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]

    def tag(self, cookies: Mapping[str, str], account: str) -> str:
        """A keyed digest (hex) of the ``__Secure-1PSID`` and ``__Secure-1PSIDTS`` in ``cookies``."""
        plain = "\0".join((account, cookies.get(PSID, ""), cookies.get(PSIDTS, ""))).encode()
        return hmac.new(self._tag_key, plain, hashlib.sha256).hexdigest()[:32]
