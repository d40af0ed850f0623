"""MIME types of attachments, from their content (docs/protocol.md 3.5).

The service drops an attachment whose reference carries no MIME type, so
every file gets one: from its name when the name says, else from its first
bytes (PNG, JPEG, GIF, WebP, PDF), else ``application/octet-stream``.
"""

from __future__ import annotations

import mimetypes

__all__ = ["SNIFF_BYTES", "OCTET_STREAM", "sniff_mime", "mime_type", "extension_for"]

#: how many leading bytes :func:`sniff_mime` looks at
SNIFF_BYTES = 16
OCTET_STREAM = "application/octet-stream"

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


def sniff_mime(head: bytes) -> str:
    """The MIME type the first bytes of a file show, or ``application/octet-stream``."""
    for signature, mime in _SIGNATURES:
        if head.startswith(signature):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return OCTET_STREAM


def mime_type(name: str, head: bytes) -> str:
    """The type of a file called ``name`` starting with ``head``: by name, else by content."""
    return mimetypes.guess_type(name)[0] or sniff_mime(head)


def extension_for(mime: str) -> str:
    """A file extension for ``mime`` (``""`` when there is no usual one)."""
    return _EXTENSIONS.get(mime, "")
