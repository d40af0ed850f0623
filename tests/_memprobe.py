"""Child process of the memory tests: one hostile answer of 800 MB (or a gzip bomb), peak RSS.

    python -m tests._memprobe page|rpc|gzip

Serves the answer from a raw socket in this process (generated block by
block, never held), lets the client read it, and prints one JSON line:
the error type and the growth of the peak RSS (``VmHWM``) in MB.
"""

from __future__ import annotations

import json
import socket
import sys
import zlib

from gemini_sync import errors
from tests._hostile import HostileServer, Request, app_page, client_of, read_body, respond

HUGE = 800 * 1024 * 1024
BLOCK = b"a" * (1024 * 1024)


def _gzip_member() -> bytes:
    """1 MB of zeros as one gzip member; members concatenated are one valid gzip body."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(b"\0" * (1024 * 1024)) + packer.flush()


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main(mode: str) -> None:
    member = _gzip_member()

    def handler(conn: socket.socket, request: Request) -> None:
        huge_page = request.path.startswith("/app") and mode in ("page", "gzip")
        if request.path.startswith("/app") and not huge_page:
            respond(conn, "200 OK", app_page())
            return
        read_body(conn, request)
        if mode == "gzip":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
            for _ in range(1024):  # 1 GB once decompressed, ~1 MB on the wire
                conn.sendall(member)
        else:
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE}\r\n\r\n".encode())
            for _ in range(HUGE // len(BLOCK)):
                conn.sendall(BLOCK)
        raise OSError("done")

    with HostileServer(handler) as server, client_of(server) as client:
        if mode == "rpc":
            client.init()
        before = _peak_mb()
        error = ""
        try:
            client.list_chats() if mode == "rpc" else client.init()
        except errors.GeminiError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        print(json.dumps({"error": error, "growth_mb": round(_peak_mb() - before, 1)}))


if __name__ == "__main__":
    main(sys.argv[1])
