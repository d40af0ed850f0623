"""Byte formats the emulator writes and reads: small PNG images, multipart uploads.

:func:`make_png` writes a valid, minimal PNG (signature, ``IHDR``, one
zlib-compressed ``IDAT``, ``IEND``, each chunk with its CRC) filled with a
colour derived from a seed, so different images have different bytes.
:func:`parse_multipart` reads a ``multipart/form-data`` body byte-exactly
(the ``cgi`` module is gone and ``email`` rewrites line endings).
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass

__all__ = ["PNG_SIGNATURE", "make_png", "Part", "parse_multipart", "MultipartError"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BIT_DEPTH = 8
_COLOUR_RGB = 2
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM = re.compile(r';\s*([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def make_png(width: int, height: int, seed: str = "") -> bytes:
    """A ``width`` x ``height`` RGB PNG: a colour from ``seed`` with a darker diagonal."""
    if width < 1 or height < 1:
        raise ValueError("a PNG needs at least one pixel")
    red, green, blue = hashlib.sha256(seed.encode()).digest()[:3]
    plain = bytes((red, green, blue))
    dark = bytes((red // 2, green // 2, blue // 2))
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter type 0 (none)
        for x in range(width):
            row += dark if x == y * width // height else plain
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, _BIT_DEPTH, _COLOUR_RGB, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


class MultipartError(ValueError):
    """The body is not a well-formed ``multipart/form-data`` body."""


@dataclass(frozen=True)
class Part:
    """One part of a multipart body."""

    name: str | None
    filename: str | None
    content_type: str
    data: bytes


def _params(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        quoted, plain = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain.strip()
        params[match.group(1).lower()] = value
    return params


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a ``multipart/form-data`` body; :class:`MultipartError` if malformed."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("Content-Type must be multipart/form-data")
    found = _BOUNDARY.search(content_type)
    if not found:
        raise MultipartError("Content-Type has no boundary")
    delimiter = b"--" + found.group(1).strip().encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise MultipartError("body does not contain delimited parts ending with the close delimiter")
    parts: list[Part] = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise MultipartError("a part is not framed by CRLF")
        inner = piece[2:-2]
        if inner.startswith(b"\r\n"):  # a part without headers
            head, data = b"", inner[2:]
        else:
            head, sep, data = inner.partition(b"\r\n\r\n")
            if not sep:
                raise MultipartError("a part has no blank line after its headers")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""))
        parts.append(
            Part(
                disposition.get("name"),
                disposition.get("filename"),
                headers.get("content-type", "application/octet-stream"),
                data,
            )
        )
    return parts
