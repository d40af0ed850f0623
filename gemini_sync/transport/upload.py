"""File upload (docs/protocol.md 8): inputs normalised up front, bodies streamed from disk.

:func:`prepare_files` checks every input before anything is sent (a missing
or unreadable file fails at the call). :class:`_MultipartBody` streams one
``multipart/form-data`` part from its source, so a large file is read once, in
blocks, and never held in memory whole.
"""

from __future__ import annotations

import io
import mimetypes
import os
import pathlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Union

from .._constants import FILE_BLOCK_SIZE, GEMINI_ORIGIN, MAX_UPLOAD_ANSWER_BYTES
from .._exports import publish
from ..errors import APIError, UploadError
from ..protocol.media import SNIFF_BYTES, extension_for, mime_type, sniff_mime
from .images import shorten_name
from .session import Transport, read_body

__all__ = ["FileInput", "UploadFile", "prepare_files", "upload_file"]

FileInput = Union[str, "os.PathLike[str]", bytes, "tuple[str, bytes | IO[bytes]]", IO[bytes]]


@dataclass
class UploadFile:
    """One file ready to upload: a name, a size and a way to open its bytes."""

    name: str
    size: int
    path: pathlib.Path | None = None
    data: bytes | None = None
    stream: IO[bytes] | None = None
    offset: int = 0  # where the stream's bytes start: a retried upload reads them again from there
    head: bytes = b""  # the first bytes, for the MIME type of a file whose name does not tell it

    @property
    def content_type(self) -> str:
        """By name, else sniffed from the content (docs/protocol.md 3.5); never left out."""
        return mime_type(self.name, self.head)

    def open(self) -> IO[bytes]:
        if self.path is not None:
            return self.path.open("rb")
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.stream is not None
        self.stream.seek(self.offset)
        return self.stream


def _file_name(name: str) -> str:
    """The base name of ``name``, shortened (keeping its extension) if it is over-long."""
    return shorten_name(os.path.basename(name))


def _needs_sniffing(name: object) -> bool:
    """Whether the content must tell the type: no name, or a name whose extension does not."""
    return not (isinstance(name, str) and name and mimetypes.guess_type(name)[0])


def _nameless(head: bytes) -> str:
    """A name for bytes given without one, with the extension their content shows (if any)."""
    return f"file_{random.randint(0, 9_999_999):07d}{extension_for(sniff_mime(head))}"


def _from_stream(stream: Any, name: str | None) -> UploadFile:
    if isinstance(stream, io.TextIOBase) or "b" not in getattr(stream, "mode", "b"):
        raise TypeError("file objects must be opened in binary mode ('rb')")
    if not hasattr(stream, "read"):
        raise TypeError(f"cannot upload a {type(stream).__name__}")
    if getattr(stream, "closed", False):
        raise ValueError(f"cannot upload a closed file object ({type(stream).__name__})")
    readable = getattr(stream, "readable", None)
    if callable(readable) and not readable():
        raise ValueError(f"cannot upload a file object not opened for reading ({type(stream).__name__})")
    raw_name = name or getattr(stream, "name", None)
    try:
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)
        head = b""
        if _needs_sniffing(raw_name):  # only then: a file object is otherwise read once, in blocks
            head = stream.read(SNIFF_BYTES)
            stream.seek(start)
    except (OSError, AttributeError, ValueError):
        data = stream.read()
        if not isinstance(data, bytes):
            raise TypeError("file objects must return bytes from read()") from None
        head = data[:SNIFF_BYTES]
        named = _file_name(raw_name) if isinstance(raw_name, str) and raw_name else _nameless(head)
        return UploadFile(named, len(data), data=data, head=head)
    head = head if isinstance(head, bytes) else b""
    named = _file_name(raw_name) if isinstance(raw_name, str) and raw_name else _nameless(head)
    return UploadFile(named, size, stream=stream, offset=start, head=head)


def _prepare_one(item: Any) -> UploadFile:
    if isinstance(item, (str, os.PathLike)):
        path = pathlib.Path(item)
        if path.is_dir():
            raise ValueError(f"cannot upload {str(path)!r}: it is a directory; pass the files in it")
        if not path.is_file():
            raise FileNotFoundError(f"cannot upload {str(path)!r}: no such file")
        if not os.access(path, os.R_OK):
            raise PermissionError(f"cannot upload {str(path)!r}: the file is not readable")
        head = b""
        if _needs_sniffing(path.name):
            with path.open("rb") as file:
                head = file.read(SNIFF_BYTES)
        return UploadFile(_file_name(path.name), path.stat().st_size, path=path, head=head)
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        return UploadFile(_nameless(data), len(data), data=data, head=data[:SNIFF_BYTES])
    if isinstance(item, tuple):
        if len(item) != 2 or not isinstance(item[0], str):
            raise TypeError("a file given as a tuple must be (filename, bytes or binary file object)")
        name, content = item
        if isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
            head = data[:SNIFF_BYTES]
            return UploadFile(_file_name(name) or _nameless(head), len(data), data=data, head=head)
        return _from_stream(content, name)
    if hasattr(item, "read"):
        return _from_stream(item, None)
    raise TypeError(
        f"cannot upload a {type(item).__name__}: "
        "pass a path, bytes, (filename, bytes) or a binary file object"
    )


def prepare_files(files: Sequence[Any] | None) -> list[UploadFile]:
    """Check and normalise ``files=`` before anything is sent."""
    if files is None:
        return []
    if isinstance(files, (str, bytes, os.PathLike)) or not isinstance(files, Sequence):
        files = [files]
    return [_prepare_one(item) for item in files]


class _MultipartBody:
    """A one-part multipart body read in blocks; ``len()`` gives Content-Length.

    Not an ``io`` subclass on purpose: requests measures a body with ``len()``
    and ``tell()``, and ``io`` objects that cannot seek confuse that.
    """

    def __init__(self, file: UploadFile, boundary: str) -> None:
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quote(file.name)}"\r\n'
            f"Content-Type: {file.content_type}\r\n\r\n"
        ).encode()
        self._parts: list[bytes | IO[bytes]] = [head, file.open(), f"\r\n--{boundary}--\r\n".encode()]
        self._owned = file.path is not None
        self._length = len(head) + file.size + len(self._parts[2])  # type: ignore[arg-type]
        self._sent = 0

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        return self._sent

    def read(self, size: int | None = -1) -> bytes:
        size = FILE_BLOCK_SIZE if size is None or size < 0 else size
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                self._parts.pop(0)
                if part:
                    self._sent += len(part)
                    return part
                continue
            data = part.read(size)
            if data:
                self._sent += len(data)
                return data
            self._parts.pop(0)
            if self._owned:
                part.close()
        return b""

    def close(self) -> None:
        for part in self._parts:
            if not isinstance(part, bytes) and self._owned:
                part.close()
        self._parts = []


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def upload_file(transport: Transport, file: UploadFile, push_id: str, *, timeout: float | None = None) -> str:
    """Upload one file and return its identifier for ``file_data``.

    A file that can no longer be read (deleted, closed since the call) raises
    :class:`~gemini_sync.errors.UploadError`.
    """
    boundary = os.urandom(16).hex()  # not uuid: its import costs ~2.5 ms at start-up
    url = transport.endpoints.upload
    headers = {
        "Push-ID": push_id,
        "X-Tenant-Id": "bard-storage",
        "Origin": GEMINI_ORIGIN,
        "Referer": GEMINI_ORIGIN + "/",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }  # the cookies come from the jar, scoped to the upload host too (docs/protocol.md 8)
    what = f"uploading {file.name!r}"
    try:
        body = _MultipartBody(file, boundary)
        try:
            response = transport.request(
                "POST", url, what, data=body, headers=headers, timeout=timeout, stream=True
            )
        finally:
            body.close()
    except (OSError, ValueError) as exc:  # the file itself, not the network (those are GeminiErrors)
        raise UploadError(f"{what}: the file could not be read ({exc.__class__.__name__}: {exc})") from exc
    answer = read_body(response, MAX_UPLOAD_ANSWER_BYTES, what)
    identifier = answer.decode("utf-8", errors="replace").strip()
    if not identifier:
        raise APIError(
            f"uploading {file.name!r} returned no file identifier", status_code=response.status_code
        )
    return identifier


publish(globals())
