"""End to end over real sockets: chats, thinking, files, images and temporary chats.

Every test runs a :class:`GeminiClient` against the bundled emulator and checks
what a user relies on: what the client sends (as the emulator recorded it),
what it gives back, and what the emulator's state says happened.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import pathlib
import re
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from gemini_sync import GeminiClient, Model, errors
from gemini_sync._constants import BATCH_EXEC_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.formats import PNG_SIGNATURE, parse_multipart
from gemini_sync.emulator.routes import FULL_SIZE, SIZED_SIZE
from gemini_sync.protocol.framing import encode_frame
from gemini_sync.protocol.service import build_payload, data_envelope
from gemini_sync.types.images import GeneratedImage, WebImage
from gemini_sync.types.output import Candidate, ModelOutput, StreamChunk
from tests._wire import make_client

UPLOAD_PATH = "/upload"
EMPTY_CHAT = ["", "", "", None, None, None, None, None, None, ""]
PREVIEW_PX = 16  # the width of the emulator's plain rendition ("=s<N>-rj" ones are larger)


def _client(emu: Emulator) -> GeminiClient:
    return make_client(emu, timeout=5)


pytestmark = pytest.mark.gemini_client(timeout=5)


def _long_text(words: int = 120) -> str:
    return " ".join(f"word{i}" for i in range(words))


# --- multi-turn chats ---------------------------------------------------------


def test_second_turn_carries_the_first_turns_ids_and_context_token(
    emu: Emulator, client: GeminiClient
) -> None:
    chat = client.start_chat()
    assert chat.metadata == EMPTY_CHAT and chat.cid == chat.rid == chat.rcid == ""

    first = chat.send_message("first question")
    assert emu.generate_requests[0].inner[2] == EMPTY_CHAT  # a new chat sends empty metadata
    conv = emu.conversation(chat.cid)
    assert conv is not None and len(conv.turns) == 1
    saved = conv.turns[0]
    after_first = chat.metadata
    assert after_first[:3] == [conv.cid, saved.rid, saved.rcid] == [chat.cid, chat.rid, chat.rcid]
    assert after_first[9] == saved.context_token  # slot 9: the context token of the saved turn
    assert first.metadata[:3] == after_first[:3]

    second = chat.send_message("second question")
    sent = emu.generate_requests[-1].inner[2]
    assert sent[:3] == after_first[:3] and sent[9] == after_first[9]
    conv = emu.conversation(chat.cid)
    assert conv is not None and [t.prompt for t in conv.turns] == ["first question", "second question"]
    assert "turn 2" in second.text  # the emulator answered inside the same conversation
    assert chat.cid == after_first[0]
    assert (chat.rid, chat.rcid) == (conv.turns[1].rid, conv.turns[1].rcid) != (saved.rid, saved.rcid)
    assert chat.metadata[9] == conv.turns[1].context_token != after_first[9]

    chat.send_message("third question")
    assert emu.generate_requests[-1].inner[2][:3] == [chat.cid, conv.turns[1].rid, conv.turns[1].rcid]


def test_send_message_stream_advances_the_chat_only_at_the_end(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("one")
    before = chat.metadata
    seen_during = []
    for chunk in chat.send_message_stream("two"):
        if not chunk.is_final:
            seen_during.append(chat.metadata)
    assert seen_during and all(meta == before for meta in seen_during)
    assert chat.rid != before[1] and chat.cid == before[0]


def _fail_by_code(emu: Emulator, chat: Any) -> None:
    emu.fail_next(code=1037)
    with pytest.raises(errors.UsageLimitExceeded):
        chat.send_message("this turn fails")


def _fail_by_code_after_content(emu: Emulator, chat: Any) -> None:
    emu.script("this turn fails", text=_long_text(), chunks=8, times=1)
    emu.fail_next(code=1037, after_frames=4)
    received = []
    with pytest.raises(errors.UsageLimitExceeded):
        for chunk in chat.send_message_stream("this turn fails"):
            received.append(chunk.delta_text)
    assert "".join(received)  # content had reached the caller before the error


def _fail_by_http_500(emu: Emulator, chat: Any) -> None:
    emu.fail_next(3, status=500)
    with pytest.raises(errors.APIError) as info:
        chat.send_message("this turn fails")
    assert info.value.status_code == 500
    sent = [r for r in emu.generate_requests if r.prompt == "this turn fails"]
    assert len(sent) == 3  # retried, then gave up


def _fail_by_cancel(emu: Emulator, chat: Any) -> None:
    emu.pace = 0.05
    emu.script("this turn fails", text=_long_text(), chunks=20, times=1)
    first_text = threading.Event()
    worker = chat.send_message_stream("this turn fails").start(on_text=lambda _delta: first_text.set())
    assert first_text.wait(5)
    worker.cancel()
    with pytest.raises(errors.Cancelled):
        worker.result(timeout=5)


def _fail_by_break(emu: Emulator, chat: Any) -> None:
    emu.pace = 0.05
    emu.script("this turn fails", text=_long_text(), chunks=20, times=1)
    stream = chat.send_message_stream("this turn fails")
    for chunk in stream:
        assert chunk.delta_text
        break
    stream.close()
    assert emu.wait_for_disconnect(timeout=5)


@pytest.mark.parametrize(
    "fail",
    [_fail_by_code, _fail_by_code_after_content, _fail_by_http_500, _fail_by_cancel, _fail_by_break],
    ids=["error-code", "error-code-after-content", "http-500-after-retries", "cancelled-worker", "break"],
)
def test_a_failed_turn_leaves_the_chat_exactly_as_before(
    emu: Emulator, client: GeminiClient, fail: Callable[[Emulator, Any], None]
) -> None:
    chat = client.start_chat()
    first = chat.send_message("first")
    before = chat.metadata
    fail(emu, chat)
    assert chat.metadata == before
    assert chat.last_output is first
    emu.pace = 0.001
    chat.send_message("after the failure")
    assert emu.generate_requests[-1].inner[2] == before  # the next turn continues from the last good one
    conv = emu.conversation(chat.cid)
    assert conv is not None and conv.turns[-1].prompt == "after the failure"
    assert (chat.rid, chat.rcid) == (conv.turns[-1].rid, conv.turns[-1].rcid)


@pytest.mark.parametrize("slots", [10, 3], ids=["whole-metadata", "cid-rid-rcid"])
def test_resume_from_saved_metadata_continues_the_same_conversation(emu: Emulator, slots: int) -> None:
    with _client(emu) as first_process:
        chat = first_process.start_chat()
        chat.send_message("remember the number 42")
        saved = json.loads(json.dumps(chat.metadata[:slots]))  # as an app would store it
    with _client(emu) as later_process:
        resumed = later_process.start_chat(metadata=saved)
        assert resumed.metadata[:slots] == saved and len(resumed.metadata) == 10
        output = resumed.send_message("what was the number?")
    assert emu.generate_requests[-1].inner[2][:slots] == saved
    assert output.cid == saved[0] and "turn 2" in output.text
    conv = emu.conversation(saved[0])
    assert conv is not None and [t.prompt for t in conv.turns] == [
        "remember the number 42",
        "what was the number?",
    ]
    assert len(emu.conversations) == 1


def test_a_turn_run_on_a_worker_advances_the_chat(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    done = threading.Event()
    worker = chat.send_message_stream("second").start(on_done=lambda _output: done.set())
    output = worker.result(timeout=10)
    assert done.wait(5)
    assert chat.last_output is output and chat.rid == output.rid and chat.rcid == output.rcid
    conv = emu.conversation(chat.cid)
    assert conv is not None and chat.rid == conv.turns[-1].rid


def test_resume_from_a_chat_id_continues_the_same_conversation(emu: Emulator, client: GeminiClient) -> None:
    cid = client.generate_content("a conversation started elsewhere").cid
    assert cid
    chat = client.start_chat(cid=cid)
    assert chat.cid == cid
    output = chat.send_message("continue it")
    assert emu.generate_requests[-1].inner[2][0] == cid
    assert output.cid == cid and "turn 2" in output.text
    conv = emu.conversation(cid)
    assert conv is not None and len(conv.turns) == 2 and chat.rid == conv.turns[1].rid
    assert len(emu.conversations) == 1


def test_choose_candidate_changes_the_rcid_sent_next(emu: Emulator, client: GeminiClient) -> None:
    # The emulator answers with one candidate only; the second candidate is added to the
    # answer the chat received, as if the service had sent two.
    chat = client.start_chat()
    output = chat.send_message("give me options")
    assert chat.last_output is output and len(output.candidates) == 1
    output.candidates.append(Candidate("rc_00000000000000aa", "the other draft"))
    chosen = chat.choose_candidate(1)
    assert chosen.rcid == "rc_00000000000000aa" and chat.rcid == chosen.rcid
    assert output.text == "the other draft"
    chat.send_message("go on")
    assert emu.generate_requests[-1].inner[2][2] == "rc_00000000000000aa"
    with pytest.raises(IndexError):
        chat.choose_candidate(5)


def test_choose_candidate_before_any_answer_is_refused(client: GeminiClient) -> None:
    with pytest.raises(ValueError, match="no answer yet"):
        client.start_chat().choose_candidate(0)


def _first_frame_end() -> int:
    """Body bytes up to and including the first data frame (cid and rid, no text yet)."""
    ids_only = build_payload("c_" + "0" * 16, "r_" + "0" * 16, None)  # ids have fixed lengths
    return len(")]}'\n\n") + len(encode_frame([data_envelope(ids_only)]).encode())


def test_a_turn_cut_after_the_conversation_id_is_not_resent(emu: Emulator, client: GeminiClient) -> None:
    cut = _first_frame_end()
    chat = client.start_chat()
    emu.fail_next(disconnect_after_bytes=cut)  # the cid arrived, then the connection dropped
    with pytest.raises(errors.StreamInterrupted):
        chat.send_message("do not duplicate me", recover=False)
    assert len(emu.generate_requests) == 1
    assert chat.metadata == EMPTY_CHAT
    assert len([c for c in emu.conversations if c.title == "do not duplicate me"]) == 1


def test_a_turn_cut_after_content_is_not_resent(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata
    emu.script("cut me", text=_long_text(200), chunks=10, times=1)
    emu.fail_next(disconnect_after_bytes=1500)
    received = []
    with pytest.raises(errors.StreamInterrupted) as info:
        for chunk in chat.send_message_stream("cut me", recover=False):
            received.append(chunk.delta_text)
    assert received and info.value.partial is not None and info.value.partial.text == "".join(received)
    assert len([r for r in emu.generate_requests if r.prompt == "cut me"]) == 1
    assert chat.metadata == before


def test_a_cut_turn_saved_by_the_service_is_recovered_and_the_chat_advances(
    emu: Emulator, client: GeminiClient
) -> None:
    chat = client.start_chat()
    chat.send_message("first")
    before = chat.metadata
    text = _long_text(200)
    emu.script("recover me", text=text, chunks=10, times=1)
    emu.fail_next(disconnect_after_bytes=1500, finish_server_side=True)
    chunks = list(chat.send_message_stream("recover me"))
    assert "".join(c.delta_text for c in chunks) == text and chunks[-1].is_final
    assert len([r for r in emu.generate_requests if r.prompt == "recover me"]) == 1
    conv = emu.conversation(chat.cid)
    assert conv is not None and conv.turns[-1].prompt == "recover me"
    assert chat.cid == before[0]
    assert (chat.rid, chat.rcid) == (conv.turns[-1].rid, conv.turns[-1].rcid)
    chat.send_message("next")
    assert emu.generate_requests[-1].inner[2][:3] == [chat.cid, conv.turns[-1].rid, conv.turns[-1].rcid]


# --- thinking models ------------------------------------------------------------------


def test_thinking_model_gives_thoughts_in_chunks_and_output(emu: Emulator, client: GeminiClient) -> None:
    stream = client.stream("Why is the sky blue?", model="gemini-3-flash-thinking")
    chunks = list(stream)
    output = stream.collect()
    conv = emu.conversations[0]
    assert output.thoughts and output.thoughts == conv.turns[0].thoughts
    assert "".join(c.delta_thoughts for c in chunks) == output.thoughts
    first_thought = next(i for i, c in enumerate(chunks) if c.delta_thoughts)
    first_text = next(i for i, c in enumerate(chunks) if c.delta_text)
    assert first_thought < first_text  # thoughts stream before the answer
    assert chunks[-1].thoughts == output.thoughts and output.candidates[0].thoughts == output.thoughts
    assert "Why is the sky blue?" in output.text and "Reading the request" not in output.text


def test_non_thinking_model_has_no_thoughts(client: GeminiClient) -> None:
    stream = client.stream("hi", model=Model.G_3_FLASH)
    assert not any(c.delta_thoughts for c in stream) and stream.collect().thoughts == ""


def test_thinking_model_in_a_chat(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat(model=Model.G_3_FLASH_THINKING)
    assert chat.send_message("one").thoughts and chat.send_message("two").thoughts


# --- files ---------------------------------------------------------------------------


def _uploads(emu: Emulator) -> list[tuple[Any, str | None, bytes]]:
    """(request, multipart filename, multipart bytes) of every upload the emulator received."""
    out = []
    for record in emu.requests_to(UPLOAD_PATH):
        parts = parse_multipart(record.body, record.headers.get("Content-Type", ""))
        assert [p.name for p in parts] == ["file"]
        out.append((record, parts[0].filename, parts[0].data))
    return out


_PNG_BYTES = PNG_SIGNATURE + b"not really a picture \x00\xff" * 20


# each maker: (input, expected file name pattern, bytes, MIME type sent in the part and the reference)
def _as_str_path(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    path = tmp / "notes.txt"
    path.write_bytes(b"some notes\n")
    return str(path), "notes.txt", b"some notes\n", "text/plain"


def _as_pathlib(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    path = tmp / "photo.png"
    path.write_bytes(_PNG_BYTES)
    return path, "photo.png", _PNG_BYTES, "image/png"


def _as_bytes(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    # bytes without a name: no fake ".txt" name, a type from the content
    return b"raw bytes \x00\x01\x02", r"file_\d{7}", b"raw bytes \x00\x01\x02", "application/octet-stream"


def _as_png_bytes(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    return _PNG_BYTES, r"file_\d{7}\.png", _PNG_BYTES, "image/png"


def _as_named_bytes(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    return ("table.csv", b"a,b\n1,2\n"), "table.csv", b"a,b\n1,2\n", "text/csv"


def _as_binary_file(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    path = tmp / "report.pdf"
    path.write_bytes(b"%PDF-1.4 fake" * 100)
    return path.open("rb"), "report.pdf", b"%PDF-1.4 fake" * 100, "application/pdf"


def _as_bytesio(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    jpeg = b"\xff\xd8\xff\xe0 in memory"
    return io.BytesIO(jpeg), r"file_\d{7}\.jpg", jpeg, "image/jpeg"


def _as_named_file(tmp: pathlib.Path) -> tuple[Any, str, bytes, str]:
    data = b"\x00" * 300
    return ("renamed.bin", io.BytesIO(data)), "renamed.bin", data, "application/octet-stream"


@pytest.mark.parametrize(
    "make",
    [
        _as_str_path,
        _as_pathlib,
        _as_bytes,
        _as_png_bytes,
        _as_named_bytes,
        _as_binary_file,
        _as_bytesio,
        _as_named_file,
    ],
    ids=["str", "pathlib", "bytes", "png-bytes", "name-bytes", "binary-file", "bytesio", "name-fileobj"],
)
def test_each_kind_of_file_input_is_uploaded_and_attached(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path, make: Callable[[pathlib.Path], Any]
) -> None:
    item, name_pattern, data, mime = make(tmp_path)
    try:
        output = client.generate_content("Describe the attachment", files=[item])
    finally:
        if hasattr(item, "close"):
            item.close()
    ((record, filename, body),) = _uploads(emu)
    assert record.headers["Push-ID"] == emu.tokens.push_id
    assert record.headers["X-Tenant-Id"] == "bard-storage"
    assert filename is not None and re.fullmatch(name_pattern, filename)
    assert body == data
    ((identifier, upload),) = emu.uploads.items()
    assert upload.data == data and upload.filename == filename and upload.content_type == mime
    generate = emu.generate_requests[-1]
    # the browser's reference shape, MIME type included (docs/protocol.md 3.5)
    assert generate.inner[0][3] == [[[identifier, 1, None, mime], filename, *[None] * 6, [0]]]
    assert f"{filename} ({len(data)} bytes" in output.text  # the service saw the file


def test_several_files_keep_their_order(emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"second")
    client.generate_content("two files", files=[("a.txt", b"first"), path])
    names = [filename for _record, filename, _data in _uploads(emu)]
    assert names == ["a.txt", "b.txt"]
    attached = emu.generate_requests[-1].inner[0][3]
    assert [ref[1] for ref in attached] == ["a.txt", "b.txt"]
    assert [emu.uploads[ref[0][0]].data for ref in attached] == [b"first", b"second"]


def test_files_in_a_chat_turn(emu: Emulator, client: GeminiClient) -> None:
    chat = client.start_chat()
    chat.send_message("hello")
    output = chat.send_message("look at this", files=[("note.md", b"# title")])
    assert "note.md (7 bytes" in output.text
    assert emu.generate_requests[-1].inner[0][3][0][1] == "note.md"


def test_a_missing_file_fails_before_any_request(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        client.stream("hi", files=[("ok.txt", b"fine"), tmp_path / "nope.txt"])
    with pytest.raises(FileNotFoundError):
        client.start_chat().send_message("hi", files=[str(tmp_path / "nope.txt")])
    assert emu.requests == []


def test_a_text_mode_file_fails_before_any_request(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "text.txt"
    path.write_text("text")
    with path.open("r") as handle, pytest.raises(TypeError, match="binary"):
        client.generate_content("hi", files=[handle])
    with pytest.raises(TypeError, match="binary"):
        client.generate_content("hi", files=[("name.txt", io.StringIO("text"))])
    with pytest.raises(TypeError):
        client.generate_content("hi", files=[12345])  # type: ignore[list-item]
    assert emu.requests == []


_MEMORY_PROBE = r"""
import sys, tracemalloc
from gemini_sync import GeminiClient
url, psid, path = sys.argv[1], sys.argv[2], sys.argv[3]
with GeminiClient(cookies={"__Secure-1PSID": psid}, base_url=url, auto_refresh=False,
                  cookie_cache=False) as client:
    client.init()
    tracemalloc.start()
    output = client.generate_content("Summarise the big file", files=[path])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
print(peak)
print(output.text)
"""


def test_a_large_file_is_streamed_from_disk(emu: Emulator, tmp_path: pathlib.Path) -> None:
    size = 8 * 1024 * 1024
    path = tmp_path / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
    with path.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
    # The client runs in its own process so that its memory is measured apart from the
    # emulator's (which keeps every upload in memory).
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).resolve().parents[2]))
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, emu.url, emu.cookies["__Secure-1PSID"], str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    peak_line, text = done.stdout.split("\n", 1)
    (upload,) = emu.uploads.values()
    assert upload.filename == "big.bin" and upload.size == size
    assert upload.data == path.read_bytes()
    assert f"big.bin ({size} bytes" in text
    (record,) = emu.requests_to(UPLOAD_PATH)
    assert int(record.headers["Content-Length"]) == len(record.body) > size
    assert int(peak_line) < 4 * 1024 * 1024, f"uploading used {int(peak_line) / 2**20:.1f} MiB at its peak"


def test_a_file_object_is_read_in_blocks(emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path) -> None:
    class Recording(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.sizes: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.sizes.append(len(data))
            return data

    payload = os.urandom(3 * 1024 * 1024)
    source = Recording(payload)
    client.generate_content("blocks", files=[("blob.bin", source)])
    assert max(source.sizes) <= 1024 * 1024 and sum(source.sizes) == len(payload)
    (upload,) = emu.uploads.values()
    assert upload.data == payload


def test_unusual_file_names_reach_the_service_intact(emu: Emulator, client: GeminiClient) -> None:
    name = 'résumé "final" 日本.txt'
    client.generate_content("odd names", files=[(name, b"cv"), ("empty.txt", b"")])
    assert [filename for _record, filename, _data in _uploads(emu)] == [name, "empty.txt"]
    assert [ref[1] for ref in emu.generate_requests[-1].inner[0][3]] == [name, "empty.txt"]
    assert sorted(u.size for u in emu.uploads.values()) == [0, 2]


def test_an_upload_retried_after_a_failure_sends_the_whole_file_again(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.fail_next(path=UPLOAD_PATH, status=500)  # the emulator reads the whole body, then fails
    source = io.BytesIO(b"header|" + b"x" * 5000)
    source.seek(len(b"header|"))  # uploads start where the file object stands
    client.generate_content("retry the upload", files=[("data.bin", source)])
    statuses = [r.status for r in emu.requests_to(UPLOAD_PATH)]
    assert statuses == [500, 200]
    (upload,) = emu.uploads.values()
    assert upload.data == b"x" * 5000
    [ref] = emu.generate_requests[-1].inner[0][3]
    assert ref[0][0] == upload.identifier and ref[1] == "data.bin"


def test_a_failed_second_upload_is_retried_and_every_file_is_attached(
    emu: Emulator, client: GeminiClient
) -> None:
    uploads_seen = itertools.count()
    emu.fail_next(path=UPLOAD_PATH, status=500, match=lambda _key: next(uploads_seen) == 1)
    output = client.generate_content("two files", files=[("a.txt", b"first"), ("b.txt", b"second")])
    attached = emu.generate_requests[-1].inner[0][3]
    assert [ref[1] for ref in attached] == ["a.txt", "b.txt"]  # no file silently dropped
    assert "b.txt (6 bytes" in output.text


# --- images --------------------------------------------------------------------------


def _png_width(data: bytes) -> int:
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    return int(struct.unpack(">I", data[16:20])[0])


def _served(emu: Emulator, url: str) -> bytes:
    response = requests.get(url, cookies=emu.cookies, timeout=5)
    response.raise_for_status()
    return response.content


def _check_new_images(chunks: list[StreamChunk]) -> None:
    seen: list[str] = []
    for chunk in chunks:
        now = [i.url for i in (*chunk.web_images, *chunk.generated_images)]
        fresh = [u for u in now if u not in seen]
        assert [i.url for i in chunk.new_images] == fresh  # exactly those first seen here
        seen += fresh
    assert len(seen) == len(set(seen))


def test_generated_image_arrives_once_and_placeholder_is_stripped(
    emu: Emulator, client: GeminiClient
) -> None:
    stream = client.stream("Generate an image of a red fox")
    chunks = list(stream)
    output = stream.collect()
    _check_new_images(chunks)
    news = [image for chunk in chunks for image in chunk.new_images]
    assert len(news) == 1 and isinstance(news[0], GeneratedImage)
    assert news[0].image_id.startswith("http://googleusercontent.com/image_generation_content/")
    assert news[0].alt == "a red fox"
    final = chunks[-1]
    assert final.generated_images == output.generated_images == news and final.web_images == []
    assert output.images == news
    assert "googleusercontent.com" not in output.text and "red fox" in output.text


def test_web_images_arrive_once_each_and_final_chunk_has_all(emu: Emulator, client: GeminiClient) -> None:
    stream = client.stream("Show me a picture of mountains")
    chunks = list(stream)
    _check_new_images(chunks)
    news = [image for chunk in chunks for image in chunk.new_images]
    assert len(news) == 2 and all(type(image) is WebImage for image in news)
    assert chunks[-1].web_images == news == stream.collect().web_images
    assert not chunks[-1].generated_images
    assert [i.alt for i in news] == ["mountains (1)", "mountains (2)"]


def test_scripted_web_and_generated_images_together(emu: Emulator, client: GeminiClient) -> None:
    emu.script("both", text="Here you go.", web_images=["w1", "w2", "w3"], generated_images=["g1"])
    seen = []
    worker = client.stream("both").start(on_image=seen.append)
    output = worker.result(timeout=10)
    assert [i.alt for i in output.web_images] == ["w1", "w2", "w3"]
    assert [i.alt for i in output.generated_images] == ["g1"]
    assert seen == output.images  # on_image: each image once


def test_image_save_writes_the_served_png(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    output = client.generate_content("Generate an image of a cat")
    (image,) = output.generated_images
    written = image.save(tmp_path)
    assert isinstance(written, pathlib.Path) and written.parent == tmp_path and written.suffix == ".png"
    data = written.read_bytes()
    assert data == _served(emu, image.url) and _png_width(data) == PREVIEW_PX
    assert os.listdir(tmp_path) == [written.name]


def test_web_image_save_with_a_name_gets_the_extension_from_the_content_type(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    image = client.generate_content("picture of dogs").web_images[0]
    written = image.save(tmp_path / "sub", filename="dog")
    assert written == tmp_path / "sub" / "dog.png"
    assert written.read_bytes() == _served(emu, image.url)


@pytest.mark.parametrize("bad", ["../evil.png", "sub/../../evil.png", "..", "/tmp/evil.png", "a/b.png"])
def test_image_save_refuses_names_that_leave_the_directory(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path, bad: str
) -> None:
    image = client.generate_content("Generate an image of a cat").generated_images[0]
    target = tmp_path / "out"
    target.mkdir()
    before = {r.path for r in emu.requests}
    if bad.startswith("/"):
        bad = str(tmp_path / "evil.png")  # an absolute path, even one that exists nearby
    with pytest.raises(ValueError, match="refusing"):
        image.save(target, filename=bad)
    assert list(target.iterdir()) == [] and not (tmp_path / "evil.png").exists()
    assert {r.path for r in emu.requests} == before  # refused before any download


def test_image_save_never_overwrites_unless_asked(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    image = client.generate_content("Generate an image of a cat").generated_images[0]
    existing = tmp_path / "cat.png"
    existing.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        image.save(tmp_path, filename="cat.png")
    with pytest.raises(FileExistsError):
        image.save(tmp_path, filename="cat")  # the extension is added, then the name exists
    assert existing.read_bytes() == b"precious"
    assert image.save(tmp_path, filename="cat.png", overwrite=True) == existing
    assert existing.read_bytes() == _served(emu, image.url)


def test_full_size_fetches_the_original_through_the_full_size_rpc(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    output = client.generate_content("Generate an image of a cat")
    image = output.generated_images[0]
    assert image.turn_ids == tuple(output.metadata[:3])
    small = image.save(tmp_path, filename="small.png")
    large = image.save(tmp_path, filename="large.png", full_size=True)
    assert _png_width(small.read_bytes()) == PREVIEW_PX
    assert _png_width(large.read_bytes()) == FULL_SIZE
    calls = [c.rpcid for r in emu.requests_to(BATCH_EXEC_PATH) for c in r.calls]
    assert "c8o8Fe" in calls
    image_requests = [r.path for r in emu.requests if r.path.startswith("/images/")]
    # the service's chain: "=d-I?alr=yes" answers a text pointer, which answers another, then the bytes
    assert [path.rsplit("=", 1)[-1] for path in image_requests[-3:]] == ["d-I", "rd-gg-dl", "s0"]


def test_the_full_size_chain_answers_any_client_whatever_its_headers(
    emu: Emulator, client: GeminiClient
) -> None:
    import requests

    image = client.generate_content("Generate an image of a cat").generated_images[0]
    cid, rid, rcid = image.turn_ids
    from gemini_sync.protocol import rpcs

    (result,) = client.api.rpc([rpcs.full_size_call(image.image_id, rid, rcid, cid)])
    url = result[0] + "=d-I?alr=yes"
    odd = {"User-Agent": "curl/8.0", "Accept": "*/*", "X-Whatever": "1"}  # no Origin, no Referer
    with requests.Session() as plain:
        plain.cookies.update(emu.cookies)
        for _hop in range(2):
            pointer = plain.get(url, headers=odd, timeout=10)
            assert pointer.status_code == 200 and pointer.headers["Content-Type"].startswith("text/plain")
            url = pointer.text.strip()
        final = plain.get(url, headers=odd, timeout=10)
    assert final.status_code == 200 and final.headers["Content-Type"] == "image/png"
    assert _png_width(final.content) == FULL_SIZE


def test_full_size_falls_back_to_the_larger_rendition(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    image = client.generate_content("Generate an image of a cat").generated_images[0]
    # e.g. an image from an older cache: the full-size RPC cannot be asked (images are values: a copy)
    image = dataclasses.replace(image, turn_ids=()).attach(client)
    large = image.save(tmp_path, filename="large.png", full_size=True)
    assert _png_width(large.read_bytes()) == SIZED_SIZE
    image_requests = [r.path for r in emu.requests if r.path.startswith("/images/")]
    assert image_requests[-1].endswith("=s2048-rj")


def test_a_missing_image_is_an_error_and_writes_nothing(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    gone = WebImage(emu.url + "/images/0000000000000000.png", "gone", "gone")
    with pytest.raises(errors.APIError) as info:
        client.save_image(gone, tmp_path, "gone.png")
    assert info.value.status_code == 404
    assert list(tmp_path.iterdir()) == []


def test_cookies_are_not_sent_to_other_image_hosts(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    image = client.generate_content("picture of owls").web_images[0]
    assert image.url.startswith("http://127.0.0.1:")
    image.save(tmp_path, "service.png")
    elsewhere = WebImage(image.url.replace("127.0.0.1", "localhost"), image.title, image.alt)
    client.save_image(elsewhere, tmp_path, "elsewhere.png")
    own_host, other_host = [r for r in emu.requests if r.path.startswith("/images/")]
    assert own_host.cookies.get("__Secure-1PSID") == emu.cookies["__Secure-1PSID"]
    assert other_host.cookies == {}  # a host that is not the service's gets no cookies


def test_a_deserialised_image_needs_the_client_to_save(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    output = client.generate_content("Generate an image of a cat")
    restored = ModelOutput.from_json(output.to_json())
    (image,) = restored.generated_images
    assert isinstance(image, GeneratedImage) and image == output.generated_images[0]
    with pytest.raises(errors.GeminiError, match=r"client\.save_image"):
        image.save(tmp_path)
    assert list(tmp_path.iterdir()) == []
    written = client.save_image(image, tmp_path, "restored")
    assert written.name == "restored.png" and written.read_bytes() == _served(emu, image.url)
    web = WebImage.from_json(WebImage(image.url, "t", "a").to_json())
    assert client.save_image(web, tmp_path, "web.png").exists()
    again = image.attach(client).save(tmp_path, "attached")  # attached again, it saves by itself
    assert again.read_bytes() == written.read_bytes()


def test_images_read_back_from_the_history_can_save(
    emu: Emulator, client: GeminiClient, tmp_path: pathlib.Path
) -> None:
    output = client.generate_content("Generate an image of a cat")
    assert output.cid is not None
    (turn,) = client.read_chat(output.cid)
    (image,) = turn.candidates[0].generated_images
    written = image.save(tmp_path, "from-history")
    assert written.read_bytes() == _served(emu, image.url)


# --- temporary chats ---------------------------------------------------------------------


def test_a_temporary_chat_is_flagged_and_kept_out_of_the_history(emu: Emulator, client: GeminiClient) -> None:
    kept = client.generate_content("keep this one")
    secret = client.generate_content("forget this one", temporary=True)
    normal, temporary = emu.generate_requests
    assert normal.inner[45] is None and temporary.inner[45] == 1
    listed = {chat.cid for chat in client.list_chats()}
    assert kept.cid in listed and secret.cid not in listed
    conv = emu.conversation(secret.cid or "")
    assert conv is not None and conv.temporary


def test_a_stream_that_ends_normally_keeps_the_delta_contract(client: GeminiClient) -> None:
    # sanity for the helpers above: images, text and thoughts together
    stream = client.stream("Generate an image of a boat", model=Model.G_3_FLASH_THINKING)
    chunks = list(stream)
    output = stream.collect()
    assert "".join(c.delta_text for c in chunks) == output.text
    assert "".join(c.delta_thoughts for c in chunks) == output.thoughts
    assert [c.is_final for c in chunks].count(True) == 1 and chunks[-1].is_final


# --- JSON --------------------------------------------------------------------------------


def test_model_output_with_images_and_thoughts_round_trips(client: GeminiClient) -> None:
    output = client.generate_content("Generate an image of a boat", model=Model.G_3_FLASH_THINKING)
    assert output.generated_images and output.thoughts
    again = ModelOutput.from_json(output.to_json())
    assert again == output and again.text == output.text and again.metadata == output.metadata
    assert all(image._saver is None for image in again.images)
    assert json.loads(again.to_json()) == json.loads(output.to_json())


def test_stream_chunks_round_trip(client: GeminiClient) -> None:
    for prompt in ("Generate an image of a boat", "picture of boats"):
        for chunk in client.stream(prompt):
            again = StreamChunk.from_json(chunk.to_json())
            assert again == chunk, prompt
            assert [type(i) for i in again.new_images] == [type(i) for i in chunk.new_images]


def test_candidates_and_images_round_trip(client: GeminiClient) -> None:
    output = client.generate_content("picture of trees")
    candidate = output.candidates[0]
    assert Candidate.from_json(candidate.to_json()) == candidate
    for image in output.web_images:
        assert WebImage.from_json(image.to_json()) == image
    generated = GeneratedImage("http://x/y.png", "t", "a", image_id="id-1")
    assert GeneratedImage.from_json(generated.to_json()) == generated
    assert "_saver" not in json.loads(output.to_json())["candidates"][0]["web_images"][0]
