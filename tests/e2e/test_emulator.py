"""The emulator over real sockets, driven by plain ``requests`` and the protocol decoders.

These tests use no part of the gemini_sync client: what they check is that
the emulator speaks docs/protocol.md, so the client can be tested against it.
The raw client (:class:`Browser`) lives in ``tests/_support/browser.py``.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import zlib
from contextlib import redirect_stdout
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from gemini_sync._constants import APP_PATH, GENERATE_PATH, PSID, PSIDTS, ROTATE_COOKIES_PATH, UPLOAD_PATH
from gemini_sync.emulator import Emulator, Fault
from gemini_sync.emulator.cli import main as emulator_main
from gemini_sync.emulator.codes import MODEL_INCONSISTENT, MODEL_INVALID, UNKNOWN_CHAT, UNKNOWN_GEM
from gemini_sync.models import MODEL_HEADER, Model
from gemini_sync.protocol.app import scrape_tokens
from gemini_sync.protocol.framing import FrameDecoder
from gemini_sync.protocol.payload import (
    Payload,
    parse_frame,
)
from gemini_sync.protocol.request import AppTokens, BatchCall, generate_request
from tests._support.browser import ROTATE_BODY, TIMEOUT, Browser, grows


def png_size(data: bytes) -> tuple[int, int]:
    """Check a PNG's structure (signature, chunk CRCs, IDAT size) and return its size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, width, height, idat = 8, 0, 0, b""
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        kinds.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
    return width, height


# --- app page and cookies ------------------------------------------------------


def test_app_page_carries_tokens_shared_by_all_clients(emu: Emulator) -> None:
    first, second = Browser(emu), Browser(emu, cookies={PSID: "someone-else"})
    assert first.tokens.access_token == emu.access_token == second.tokens.access_token
    assert first.tokens.access_token.startswith("AJvLN6M")
    assert first.tokens.build_label and first.tokens.session_id and first.tokens.language == "en"
    assert first.tokens.push_id.startswith("feeds/")
    assert Emulator(pace=0).access_token != emu.access_token  # per emulator


def test_app_page_without_valid_cookie_is_logged_out(emu: Emulator) -> None:
    response = requests.get(emu.url + APP_PATH, timeout=TIMEOUT)
    assert response.status_code == 200 and "<html" in response.text
    assert scrape_tokens(response.text) is None
    emu.psid = "the-only-one"
    assert Browser(emu, cookies={PSID: "another"}).tokens.access_token == "no-token"
    assert Browser(emu, cookies={PSID: "the-only-one"}).tokens.access_token == emu.access_token
    assert emu.cookies[PSID] == "the-only-one"


def test_expired_cookies_lose_the_token_and_get_401(emu: Emulator, browser: Browser) -> None:
    emu.expire_cookies()
    assert Browser(emu, cookies=dict(browser.session.cookies)).tokens.access_token == "no-token"
    assert browser.post_generate("hi").status_code == 401
    assert browser.post_batch(BatchCall("otAQ7b", [])).status_code == 401
    fresh = Browser(emu)  # emu.cookies now gives values that are logged in
    assert fresh.generate("hi").final.done


def test_rotate_cookies_issues_new_psidts_and_keeps_the_previous_valid() -> None:
    with Emulator(pace=0, psidts="initial-ts") as emu:
        session = requests.Session()
        session.cookies.update(emu.cookies)
        url = emu.url + ROTATE_COOKIES_PATH
        headers = {"Content-Type": "application/json"}
        first = session.post(url, data=ROTATE_BODY, headers=headers, timeout=TIMEOUT)
        assert first.status_code == 200
        new_value = first.cookies[PSIDTS]
        assert new_value != "initial-ts" and emu.cookies[PSIDTS] == new_value and emu.rotations == 1
        for value in ("initial-ts", new_value):  # previous and current both work
            browser = Browser(emu, cookies={PSID: emu.PSID, PSIDTS: value})
            assert browser.tokens.access_token == emu.access_token
        session.post(url, data=ROTATE_BODY, timeout=TIMEOUT)
        assert emu.rotations == 2
        assert Browser(emu, cookies={PSID: emu.PSID, PSIDTS: "initial-ts"}).tokens.access_token == "no-token"
        assert session.post(url, data=b"[0]", timeout=TIMEOUT).status_code == 400
        assert requests.post(url, data=ROTATE_BODY, timeout=TIMEOUT).status_code == 401


# --- StreamGenerate -------------------------------------------------------------


def test_stream_arrives_over_time_as_cumulative_snapshots() -> None:
    with Emulator(shapes="2025") as emu:  # default pace; the 2025 order of frames
        reply = Browser(emu).generate("Hello there")
    assert reply.status == 200 and reply.error is None and reply.decode_error is None
    assert reply.reads > 1 and reply.read_times[-1] - reply.read_times[0] >= 5 * emu.pace
    assert reply.body.startswith(b")]}'\n\n")
    first = reply.payloads[0]
    assert first.cid and first.cid.startswith("c_") and first.rid and first.rid.startswith("r_")
    assert first.candidates == []
    texts = reply.texts
    assert 6 <= len(texts) <= 12
    assert grows(texts)
    assert [c.done for c in reply.snapshots] == [False] * (len(reply.snapshots) - 1) + [True]
    assert [bool(p.context_token) for p in reply.payloads[1:]] == [False] * (len(texts) - 1) + [True]
    final = reply.final.text
    assert final.startswith("You said: Hello there")
    for piece in ("**bold**", "```python\n", "日本語", "😀", "That is all for turn 1."):
        assert piece in final
    assert reply.final.rcid.startswith("rc_")
    assert reply.end is not None and reply.end.total == len(reply.body)


def test_thinking_model_sends_thoughts_before_text(browser: Browser) -> None:
    reply = browser.generate("Why?", model=Model.G_3_FLASH_THINKING)
    thoughts = [c.thoughts for c in reply.snapshots]
    assert thoughts[0] and not reply.snapshots[0].text
    assert grows(thoughts)
    assert reply.final.thoughts == thoughts[-1] and reply.final.text.startswith("You said: Why?")
    assert not any(c.thoughts for c in browser.generate("Why?", model=Model.G_3_FLASH).snapshots)


def test_requests_are_recorded(emu: Emulator, browser: Browser) -> None:
    browser.generate("Record me", model=Model.G_3_PRO, temporary=True)
    [record] = emu.generate_requests
    assert record.prompt == "Record me" and record.model_id == Model.G_3_PRO.model_id
    assert record.headers["x-same-domain"] == record.headers["X-Same-Domain"] == "1"
    assert record.cookies[PSID] == emu.PSID and record.form["at"] == emu.access_token
    assert record.query["rt"] == "c" and record.temporary and record.status == 200
    assert record.inner is not None and len(record.inner) == 69
    assert [r.path for r in emu.requests] == [APP_PATH, GENERATE_PATH]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"cookies": {}}, 401),
        ({"data": {"f.req": '[null, "[]"]'}}, 400),  # no at
        ({"at": "wrong"}, 400),
        ({"freq": None}, 400),
        ({"freq": "not json"}, 400),
        ({"freq": '["x", "[]"]'}, 400),
        ({"freq": '[null, "{}"]'}, 400),
        ({"freq": '[null, "[[\\"\\", 0]]"]'}, 400),
        ({"freq": '[null, "[[\\"hi\\"], null, \\"meta\\"]"]'}, 400),
    ],
)
def test_malformed_generate_requests_are_refused(emu: Emulator, change: dict[str, Any], status: int) -> None:
    browser = Browser(emu, cookies=change.get("cookies"))
    data = change.get("data")
    if data is None:
        req = generate_request("hello", browser.tokens, 1, model=Model.UNSPECIFIED)
        data = dict(req.data)
        if "at" in change:
            data["at"] = change["at"]
        if "freq" in change:
            data.pop("f.req")
            if change["freq"] is not None:
                data["f.req"] = change["freq"]
    if not change.get("cookies", True):
        browser.session.cookies.clear()
    response = browser.post_generate("hello", data=data)
    assert response.status_code == status
    assert emu.conversations == []


@pytest.mark.parametrize(("shapes", "status"), [("2026", 405), ("2025", 400)])
def test_stale_build_label_is_refused(shapes: str, status: int) -> None:
    with Emulator(shapes=shapes) as emu:
        browser = Browser(emu)
        browser.tokens = AppTokens(browser.tokens.access_token, "boq_old_build", browser.tokens.session_id)
        assert browser.post_generate("hi").status_code == status


def test_unknown_or_garbled_model_gets_1052(emu: Emulator, browser: Browser) -> None:
    unknown = Model.custom("gemini-99", '[1,null,null,null,"0123456789abcdef",null,null,0,[4]]')
    for reply in (
        browser.generate("hi", model=unknown),
        browser.generate("hi", headers={MODEL_HEADER: "{not json"}),
    ):
        assert reply.status == 200 and reply.codes == [MODEL_INVALID] and reply.payloads == []
        assert reply.end is not None and reply.end.total == len(reply.body)
    emu.retire_model(Model.G_2_5_PRO)
    assert browser.generate("hi", model=Model.G_2_5_PRO).codes == [MODEL_INVALID]
    assert browser.generate("hi", model=Model.G_2_5_FLASH).final.done


def test_multi_turn_chat_keeps_cid_and_switching_model_gets_1050(emu: Emulator, browser: Browser) -> None:
    first = browser.generate("First question", model=Model.G_3_FLASH)
    second = browser.generate("Second question", model=Model.G_3_FLASH, metadata=first.metadata())
    assert second.cid == first.cid and second.rid != first.rid
    assert second.final.rcid != first.final.rcid and second.context_token != first.context_token
    assert "That is all for turn 2." in second.final.text
    [conv] = emu.conversations
    assert conv.cid == first.cid and conv.title == "First question"
    assert [t.prompt for t in conv.turns] == ["First question", "Second question"]
    assert [t.text for t in conv.turns] == [first.final.text, second.final.text]
    switched = browser.generate("Third", model=Model.G_3_PRO, metadata=second.metadata())
    assert switched.codes == [MODEL_INCONSISTENT] and switched.payloads == []
    assert len(emu.conversations[0].turns) == 2


def test_unknown_conversation_and_gem_are_errors(emu: Emulator, browser: Browser) -> None:
    meta = ["c_0000000000000000", "r_1", "rc_1", None, None, None, None, None, None, "ctx"]
    assert browser.generate("hi", metadata=meta).codes == [UNKNOWN_CHAT]
    assert browser.generate("hi", gem_id="no-such-gem").codes == [UNKNOWN_GEM]
    assert emu.conversations == []


def test_gem_shapes_the_default_answer(emu: Emulator, browser: Browser) -> None:
    gem = emu.add_gem("Pirate", prompt="Talk like a pirate")
    reply = browser.generate("hello", gem_id=gem.id)
    assert reply.final.text.startswith("*Pirate* here.")
    assert emu.conversations[0].gem_id == gem.id


def test_keep_alive_serves_several_requests_on_one_connection(emu: Emulator) -> None:
    request = f"GET {APP_PATH} HTTP/1.1\r\nHost: x\r\nCookie: {PSID}=abc\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", emu.port), timeout=TIMEOUT) as sock:
        stream = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(request)
            assert stream.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := stream.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert b"SNlM0e" in stream.read(length)


def test_unknown_paths_are_404_and_wrong_methods_405(emu: Emulator) -> None:
    assert requests.get(emu.url + "/nope", timeout=TIMEOUT).status_code == 404
    assert requests.get(emu.url + "/images/unknown.png", timeout=TIMEOUT).status_code == 404
    assert requests.get(emu.url + GENERATE_PATH, timeout=TIMEOUT).status_code == 405


# --- chunking, scripts ------------------------------------------------------------


def _raw_chunks(emu: Emulator, browser: Browser, prompt: str) -> list[bytes]:
    """POST StreamGenerate on a raw socket and return the HTTP chunks as sent."""
    req = generate_request(prompt, browser.tokens, 1, model=Model.UNSPECIFIED)
    body = urlencode(req.data).encode()
    head = f"POST {req.path} HTTP/1.1\r\nHost: x\r\nCookie: {PSID}={emu.PSID}\r\nConnection: close\r\n"
    head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", emu.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + body)
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 200")
        while stream.readline() != b"\r\n":
            pass
        chunks = []
        while (size := int(stream.readline().strip(), 16)) > 0:
            chunks.append(stream.read(size))
            assert stream.readline() == b"\r\n"
    return chunks


def test_chunk_size_splits_frames_inside_utf8_characters(emu: Emulator, browser: Browser) -> None:
    emu.chunk_size = 7
    chunks = _raw_chunks(emu, browser, "Tell me about 😀 and 日本")
    assert all(len(chunk) <= 7 for chunk in chunks) and len(chunks) > 100
    split_inside_char = [c for c in chunks if c and 0x80 <= c[0] <= 0xBF]  # starts with a continuation byte
    assert split_inside_char
    decoder = FrameDecoder()
    frames = [frame for chunk in chunks for frame in decoder.feed(chunk)] + decoder.close()
    payloads = [e for f in frames for e in parse_frame(f) if isinstance(e, Payload) and e.candidates]
    assert payloads[-1].candidates[0].text.startswith("You said: Tell me about 😀 and 日本")
    assert "😀 and 🚀" in payloads[-1].candidates[0].text


def test_script_exact_predicate_times_and_newest_first(emu: Emulator, browser: Browser) -> None:
    emu.script(lambda p: p.startswith("weather"), text="Always sunny.")
    once = emu.script("weather today", text="Rain, just this once.", times=1)
    assert browser.generate("weather today").final.text == "Rain, just this once."
    assert browser.generate("weather today").final.text == "Always sunny."
    assert browser.generate("weather tomorrow").final.text == "Always sunny."
    assert once.hits == 1
    assert browser.generate("other").final.text.startswith("You said: other")
    emu.clear_scripts()
    assert browser.generate("weather today").final.text.startswith("You said:")


def test_script_with_explicit_flickering_snapshots_and_thoughts(emu: Emulator, browser: Browser) -> None:
    snapshots = ["Use `x", "Use `x\\*", "Use `x` and\n```", "Use `x` and"]
    emu.script("q", text="Use `x` and done.", chunks=snapshots, thoughts="Let me think about x.")
    reply = browser.generate("q")
    assert reply.texts == [*snapshots, "Use `x` and done."]
    assert reply.final.thoughts == "Let me think about x."
    emu.script("n", text="0123456789", chunks=5)
    assert browser.generate("n").texts == ["01", "0123", "012345", "01234567", "0123456789"]


def test_script_images_are_served_by_the_emulator(emu: Emulator, browser: Browser) -> None:
    emu.script("pics", text="Here.", web_images=["a cat"], generated_images=["a dog"])
    final = browser.generate("pics").final
    [web], [gen] = final.web_images, final.generated_images
    assert web.alt == "a cat" and web.url.startswith(emu.url + "/images/")
    assert gen.alt == "a dog" and gen.image_id
    assert png_size(browser.session.get(web.url, timeout=TIMEOUT).content) == (16, 16)


# --- images -------------------------------------------------------------------------


def test_default_answers_with_web_and_generated_images(emu: Emulator, browser: Browser) -> None:
    web = browser.generate("show me a picture of a red fox").final
    assert len(web.web_images) == 2 and "red fox" in web.web_images[0].alt
    generated = browser.generate("Please generate an image of a castle").final
    [image] = generated.generated_images
    assert image.image_id and image.image_id in generated.text and "castle" in image.alt
    session = browser.session
    assert png_size(session.get(image.url, timeout=TIMEOUT).content) == (16, 16)
    assert png_size(session.get(image.url + "=s2048-rj", timeout=TIMEOUT).content) == (32, 32)
    [result] = browser.batch(BatchCall("c8o8Fe", [[[None], [image.image_id, 0]], [None, None, None]]))
    full = session.get(result.data[0] + "=d-I?alr=yes", timeout=TIMEOUT)
    assert full.headers["Content-Type"].startswith("text/plain")  # a pointer, to a second pointer
    second = session.get(full.text, timeout=TIMEOUT)
    assert second.headers["Content-Type"].startswith("text/plain")
    response = session.get(second.text, timeout=TIMEOUT)
    assert response.headers["Content-Type"] == "image/png" and png_size(response.content) == (64, 64)
    assert requests.get(image.url, timeout=TIMEOUT).status_code == 403  # generated: needs cookies
    assert requests.get(web.web_images[0].url, timeout=TIMEOUT).status_code == 200


# --- uploads ---------------------------------------------------------------------------


def test_upload_then_attach_files(emu: Emulator, browser: Browser) -> None:
    payload = bytes(range(256)) * 4 + b"\r\n--tricky\r\n"
    identifier = browser.upload("photo.png", payload, "image/png")
    assert identifier.startswith("/contrib_service/ttl_1d/")
    assert emu.uploads[identifier].data == payload and emu.uploads[identifier].filename == "photo.png"
    reply = browser.generate("Describe it", files=[(identifier, "photo.png")])
    assert "photo.png (1036 bytes, image/png)" in reply.final.text
    assert emu.generate_requests[-1].files == [(identifier, "photo.png")]
    bad = browser.post_generate("Describe it", files=[("/contrib_service/ttl_1d/nope", "x.png")])
    assert bad.status_code == 400


def test_upload_requires_push_id_tenant_and_a_file_part(emu: Emulator) -> None:
    url = emu.url + UPLOAD_PATH
    files = {"file": ("a.txt", b"abc")}
    tenant_only, push_only = {"X-Tenant-Id": "bard-storage"}, {"Push-ID": "feeds/x"}
    assert requests.post(url, files=files, headers=tenant_only, timeout=5).status_code == 400
    assert requests.post(url, files=files, headers=push_only, timeout=5).status_code == 400
    headers = {"Push-ID": "feeds/x", "X-Tenant-Id": "bard-storage"}
    assert requests.post(url, files={"other": ("a", b"b")}, headers=headers, timeout=5).status_code == 400
    assert requests.post(url, data=b"plain", headers=headers, timeout=5).status_code == 400


# --- disconnects and stopping ------------------------------------------------------------


def test_client_closing_a_stream_early_is_observed(emu: Emulator, browser: Browser) -> None:
    emu.pace = 0.05
    response = browser.post_generate("a long answer please")
    first = next(response.iter_content(None))
    assert first.startswith(b")]}'")
    response.close()
    assert emu.wait_for_disconnect(timeout=TIMEOUT)
    [event] = emu.disconnects
    assert event.prompt == "a long answer please" and event.body_bytes < 3000
    assert emu.conversations[0].turns == []  # the client gave up before the turn was saved


def test_stop_ends_a_stalled_stream_promptly() -> None:
    emu = Emulator(pace=0).start()
    emu.fail_next(stall=60, after_frames=1)
    response = Browser(emu).post_generate("stall me")
    received: list[bytes] = []
    errors: list[Exception] = []
    first_frame = threading.Event()

    def read() -> None:
        try:
            for chunk in response.iter_content(None):
                received.append(chunk)
                if b"r_" in b"".join(received):
                    first_frame.set()  # the frame with the rid arrived: the stall has begun
        except requests.RequestException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert first_frame.wait(TIMEOUT)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 3
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert errors  # the body never finished
    assert emu.disconnects == []  # stopping is not a client disconnect
    emu.stop()  # idempotent


def test_cli_prints_the_url_and_stops() -> None:
    ready, stop = threading.Event(), threading.Event()
    out = io.StringIO()
    status: list[int] = []

    def run() -> None:
        with redirect_stdout(out):
            status.append(emulator_main(["--port", "0", "--pace", "0"], ready=ready, stop=stop))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT)
    url = out.getvalue().strip()
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(url + APP_PATH, cookies={PSID: "x"}, timeout=TIMEOUT).status_code == 200
    stop.set()
    thread.join(TIMEOUT)
    assert status == [0]


def test_fault_needs_an_effect_and_a_fitting_path() -> None:
    with pytest.raises(ValueError):
        Fault()
    with pytest.raises(ValueError):
        Fault(path=UPLOAD_PATH, code=1013)
    with pytest.raises(ValueError):
        Fault(status=42)
    assert Fault(path=UPLOAD_PATH, status=503).replaces_response
