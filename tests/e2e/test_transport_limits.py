"""Bounded memory, atomic saves, inputs checked at the call.

The memory tests run ``tests/_memprobe.py`` in a child process (its peak RSS
is its own): an 800 MB app page or batchexecute answer, and a gzip bomb
(1 GB of zeros in ~1 MB), must each end in a typed error with the peak RSS
grown by less than 100 MB.
"""

from __future__ import annotations

import io
import json
import math
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient, errors
from gemini_sync.types.images import WebImage
from tests._hostile import HostileServer, Request, client_of, respond, wait_closed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["page", "rpc", "gzip"])
def test_an_800_mb_answer_or_a_gzip_bomb_is_refused_in_bounded_memory(mode: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests._memprobe", mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["error"].startswith("ProtocolError") and "exceeds the limit" in figures["error"]
    assert figures["growth_mb"] < 100


def _image_server(bodies: list[bytes | None]) -> HostileServer:
    """Answers each image request with the next body; ``None``: half an image, then a cut."""

    def handler(conn: socket.socket, request: Request) -> None:
        body = bodies.pop(0)
        if body is None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\nhalf")
            raise OSError("cut")
        respond(conn, "200 OK", body, "Content-Type: image/png\r\n")

    return HostileServer(handler)


def test_overwrite_keeps_the_old_file_when_the_download_fails(tmp_path: Path) -> None:
    with _image_server([b"\x89PNG old", None]) as server, client_of(server) as client:
        image = WebImage(server.url + "/images/cat.png").attach(client)
        target = image.save(tmp_path)
        with pytest.raises(errors.StreamInterrupted):
            image.save(tmp_path, overwrite=True)
    assert target.read_bytes() == b"\x89PNG old"
    assert [p.name for p in tmp_path.iterdir()] == ["cat.png"]  # no temporary file left


def test_overwrite_replaces_the_file_and_a_long_url_name_is_shortened(tmp_path: Path) -> None:
    long_name = "x" * 400 + ".png"
    with _image_server([b"\x89PNG old", b"\x89PNG new", b"\x89PNG"]) as server, client_of(server) as client:
        image = WebImage(server.url + "/images/cat.png").attach(client)
        image.save(tmp_path)
        assert image.save(tmp_path, overwrite=True).read_bytes() == b"\x89PNG new"
        saved = WebImage(f"{server.url}/images/{long_name}").attach(client).save(tmp_path)
    assert len(saved.name) <= 200 and saved.name.endswith(".png")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_saved_image_gets_the_mode_open_would_give_not_a_private_temp_files(tmp_path: Path) -> None:
    """The temporary file is renamed into place: its mode must follow the umask like ``open()``."""
    import os

    old = os.umask(0o022)
    try:
        with _image_server([b"\x89PNG"]) as server, client_of(server) as client:
            saved = WebImage(server.url + "/images/cat.png").attach(client).save(tmp_path)
        plain = tmp_path / "plain"
        plain.write_bytes(b"x")
    finally:
        os.umask(old)
    assert saved.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644


def _no_server_client() -> GeminiClient:
    return GeminiClient("psid", "ts", base_url="http://127.0.0.1:9", auto_refresh=False, cookie_cache=False)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("option", ["timeout", "stall_timeout", "queue_timeout", "refresh_interval"])
def test_non_finite_durations_are_refused_at_construction(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{option} must be a positive number of seconds"):
        GeminiClient("psid", base_url="http://127.0.0.1:9", cookie_cache=False, **{option: value})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"prompt": "hi \ud800 there"}, ValueError, "lone surrogate"),
        ({"deadline": math.nan}, ValueError, "deadline must be"),
        ({"chat": [42]}, TypeError, "slot 0 must be a string"),
        ({"chat": ["c_1", "", "", {1, 2}]}, TypeError, "JSON"),
        ({"files": ["DIR"]}, ValueError, "directory"),
        ({"files": ["CLOSED"]}, ValueError, "closed file"),
        ({"files": ["WRITEONLY"]}, ValueError, "not opened for reading"),
    ],
)
def test_bad_inputs_are_refused_at_the_call_before_any_io(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    kwargs = dict(kwargs)
    files = kwargs.get("files")
    if files == ["DIR"]:
        kwargs["files"] = [tmp_path]
    elif files == ["CLOSED"]:
        closed = io.BytesIO(b"x")
        closed.close()
        kwargs["files"] = [closed]
    elif files == ["WRITEONLY"]:
        kwargs["files"] = [(tmp_path / "out.bin").open("wb")]
    prompt = kwargs.pop("prompt", "hi")
    with _no_server_client() as client, pytest.raises(error, match=match):
        client.stream(prompt, **kwargs)


def test_an_over_long_upload_name_is_shortened_keeping_its_extension() -> None:
    from gemini_sync.transport.upload import prepare_files

    (prepared,) = prepare_files([("n" * 500 + ".pdf", b"%PDF")])
    assert len(prepared.name) <= 200 and prepared.name.endswith(".pdf")


def test_a_server_that_never_answers_an_upload_is_bounded_by_the_deadline() -> None:
    started = threading.Event()

    def handler(conn: socket.socket, request: Request) -> None:
        if request.path.startswith("/app"):
            from tests._hostile import app_page

            respond(conn, "200 OK", app_page())
            return
        started.set()
        wait_closed(conn, 10)
        raise OSError("done")

    with HostileServer(handler) as server, client_of(server) as client:
        with pytest.raises(errors.TimeoutError, match="deadline"):
            client.generate_content("hi", files=[("a.txt", b"x")], deadline=0.5)
    assert started.is_set()
