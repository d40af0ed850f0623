"""Writing ``rt=c`` bodies onto the socket: chunked transfer, compression, pacing, cuts.

:class:`BodyWriter` writes a response body as HTTP/1.1 chunks, counting the
body bytes (for the ``e`` marker's total and for byte-exact disconnects),
optionally compressing it (``gzip`` or ``deflate``, flushed after every
frame so each frame can be decoded as soon as it arrives) and cutting every
piece into network chunks of ``chunk_size`` bytes. Byte counts are always
those of the uncompressed body, as the ``e`` marker counts them.
Its :meth:`BodyWriter.pause` waits between frames while watching the socket,
so a client that goes away is noticed even while nothing is written, and
:meth:`~gemini_sync.emulator.Emulator.stop` ends any wait at once.

:func:`framed_body` builds a complete body (frames plus tail) for answers
that are not streamed slowly.
"""

from __future__ import annotations

import select
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..protocol.framing import XSSI_PREFIX, encode_frame
from ..protocol.service import tail_frames

__all__ = [
    "BodyWriter",
    "ClientGone",
    "Aborted",
    "BODY_PREFIX",
    "end_frame",
    "framed_body",
    "choose_encoding",
    "ENCODINGS",
]

#: content codings the emulator can send, in order of preference, with their zlib ``wbits``
ENCODINGS = {"gzip": 31, "deflate": 15}


def choose_encoding(accept_encoding: str | None) -> str | None:
    """The coding to answer an ``Accept-Encoding`` header with (``None``: identity)."""
    offered: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        name, _, params = item.strip().lower().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        offered[name.strip()] = quality
    return next((name for name in ENCODINGS if offered.get(name, 0.0) > 0), None)


BODY_PREFIX = XSSI_PREFIX + "\n\n"
_BAD_LENGTH_DELTA = -3


class Writable(Protocol):
    """Where a body goes: the handler's ``wfile`` (or any binary writer)."""

    def write(self, data: bytes, /) -> Any: ...

    def flush(self) -> Any: ...


class ClientGone(Exception):
    """The client closed the connection before the body was complete."""


class Aborted(Exception):
    """The body was cut on purpose (injected disconnect) or the emulator is stopping."""


def end_frame(bytes_before: int) -> bytes:
    """The ``e`` frame whose total equals the whole body's byte length including itself."""
    total = bytes_before
    for _ in range(4):  # the total's own digits change the length at most a few times
        frame = encode_frame(tail_frames(total)[1]).encode()
        if bytes_before + len(frame) == total:
            return frame
        total = bytes_before + len(frame)
    return encode_frame(tail_frames(total)[1]).encode()


def framed_body(frames: Iterable[Any]) -> bytes:
    """``)]}'`` + the frames + the tail frames, with the correct ``e`` total."""
    parts = [BODY_PREFIX.encode()]
    parts += [encode_frame(frame).encode() for frame in frames]
    parts.append(encode_frame(tail_frames()[0]).encode())
    body = b"".join(parts)
    return body + end_frame(len(body))


class BodyWriter:
    """Writes one chunked response body; see the module docstring."""

    def __init__(
        self,
        sock: socket.socket,
        wfile: Writable,
        *,
        stop: threading.Event,
        chunk_size: int | None = None,
        cut_after: int | None = None,
        on_cut: Callable[[], None] | None = None,
        encoding: str | None = None,
    ) -> None:
        self._compressor = zlib.compressobj(wbits=ENCODINGS[encoding]) if encoding else None
        self._sock = sock
        self._wfile = wfile
        self._stop = stop
        self._chunk_size = chunk_size if chunk_size and chunk_size > 0 else None
        self._cut_after = cut_after
        self._on_cut = on_cut
        self.bytes_sent = 0  # body bytes, not counting the chunked-encoding lines
        self.data_frames = 0
        self.finished = False

    # --- writing ---

    def write(self, data: str | bytes) -> None:
        """Write ``data`` as part of the body (split into ``chunk_size`` network chunks)."""
        raw = data.encode() if isinstance(data, str) else data
        if self._cut_after is not None and self.bytes_sent + len(raw) >= self._cut_after:
            keep = max(0, self._cut_after - self.bytes_sent)
            self._send(raw[:keep])
            self._cut()
        self._send(raw)

    def frame(self, frame: Any, *, data: bool = False, bad_length: bool = False) -> None:
        """Write one frame; ``bad_length`` declares a length 3 units short."""
        text = encode_frame(frame)
        if bad_length:
            length, _, rest = text.partition("\n")
            text = f"{int(length) + _BAD_LENGTH_DELTA}\n{rest}"
        self.write(text)
        if data:
            self.data_frames += 1

    def tail(self) -> None:
        """Write the ``di``/``af.httprm`` frame and the ``e`` frame."""
        di = encode_frame(tail_frames()[0]).encode()
        self.write(di + end_frame(self.bytes_sent + len(di)))

    def end(self) -> None:
        """Finish the chunked body (the compressed stream's end, then the zero-length chunk)."""
        if self._compressor is not None:
            rest = self._compressor.flush(zlib.Z_FINISH)
            if rest:
                self._raw(b"%x\r\n%s\r\n" % (len(rest), rest))
        self._raw(b"0\r\n\r\n")
        self.finished = True

    def _send(self, raw: bytes) -> None:
        if self._compressor is not None:
            if not raw:
                return
            # a sync flush per write: everything written so far can be decoded on arrival
            wire = self._compressor.compress(raw) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            self._pieces(wire)
            self.bytes_sent += len(raw)
            return
        step = self._chunk_size or len(raw) or 1
        for start in range(0, len(raw), step):
            piece = raw[start : start + step]
            self._raw(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.bytes_sent += len(piece)

    def _pieces(self, wire: bytes) -> None:
        step = self._chunk_size or len(wire) or 1
        for start in range(0, len(wire), step):
            piece = wire[start : start + step]
            self._raw(b"%x\r\n%s\r\n" % (len(piece), piece))

    def _raw(self, raw: bytes) -> None:
        if self._stop.is_set():
            raise Aborted("emulator stopping")
        try:
            self._wfile.write(raw)
            self._wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            if self._stop.is_set():
                raise Aborted("emulator stopping") from None
            raise ClientGone(str(exc)) from None
        except OSError as exc:
            if self._stop.is_set():
                raise Aborted("emulator stopping") from None
            raise ClientGone(str(exc)) from None

    def _cut(self) -> None:
        if self._on_cut is not None:
            self._on_cut()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise Aborted(f"injected disconnect after {self.bytes_sent} body bytes")

    # --- waiting ---

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` while watching the socket.

        Raises :class:`ClientGone` if the client closes the connection
        meanwhile, :class:`Aborted` if the emulator stops.
        """
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            if self._stop.is_set():
                raise Aborted("emulator stopping")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                readable, _, _ = select.select([self._sock], [], [], remaining)
            except (OSError, ValueError):  # socket closed under us
                raise Aborted("socket closed") from None
            if not readable:
                continue
            if self._stop.is_set():
                raise Aborted("emulator stopping")
            try:
                peek = self._sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                raise ClientGone(str(exc)) from None
            if not peek:
                raise ClientGone("client closed the connection")
            # the client sent more data (a pipelined request): the socket can no
            # longer tell us about a close, so just wait out the pause
            if self._stop.wait(max(0.0, deadline - time.monotonic())):
                raise Aborted("emulator stopping")
            return
