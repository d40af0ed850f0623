"""Injected faults: each kind, seen over a real socket with plain ``requests``."""

from __future__ import annotations

import time

import pytest
import requests

from gemini_sync._constants import APP_PATH, BATCH_EXEC_PATH, ROTATE_COOKIES_PATH, UPLOAD_PATH
from gemini_sync.emulator import Emulator, Fault
from gemini_sync.errors import ProtocolError, StreamInterrupted
from gemini_sync.protocol.framing import FrameDecoder
from gemini_sync.protocol.payload import Payload, StatusCode, parse_frame
from gemini_sync.protocol.request import BatchCall
from gemini_sync.protocol.text import stable_text
from tests._support.browser import ROTATE_BODY, TIMEOUT, Browser, decode, grows


def test_code_before_any_data_is_a_lone_error_frame(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(code=1037)
    reply = browser.generate("hi")
    assert reply.status == 200 and reply.payloads == [] and reply.codes == [1037]
    assert reply.end is not None and reply.end.total == len(reply.body)
    assert emu.generate_requests[0].fault == Fault(code=1037)
    assert emu.conversations[0].turns == []  # not saved
    assert browser.generate("hi").final.done  # used up


def test_code_after_some_frames_follows_partial_text(browser: Browser, emu: Emulator) -> None:
    emu.fail_next(code=1013, after_frames=3)
    reply = browser.generate("hi")
    assert len(reply.payloads) == 3 and reply.codes == [1013]
    assert reply.texts and not any(c.done for c in reply.snapshots)
    assert isinstance(reply.events[3], StatusCode)


def test_http_status_faults_with_headers_and_body(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(status=429, headers={"Retry-After": "2"})
    response = browser.post_generate("hi")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert "unusual traffic" in response.text and response.headers["Content-Type"].startswith("text/html")
    emu.fail_next(2, status=503, body="busy", headers={"Content-Type": "text/plain"})
    assert [browser.post_generate("hi").status_code for _ in range(3)] == [503, 503, 200]
    emu.fail_next(status=500, path=BATCH_EXEC_PATH)
    assert browser.post_batch(BatchCall("otAQ7b", [])).status_code == 500
    emu.fail_next(status=429, path=ROTATE_COOKIES_PATH)
    rotate = browser.session.post(emu.url + ROTATE_COOKIES_PATH, data=ROTATE_BODY, timeout=TIMEOUT)
    assert rotate.status_code == 429 and emu.rotations == 0
    emu.fail_next(status=401, path=APP_PATH)
    assert browser.session.get(emu.url + APP_PATH, timeout=TIMEOUT).status_code == 401
    emu.fail_next(status=400, path=UPLOAD_PATH)
    assert browser.session.post(emu.url + UPLOAD_PATH, timeout=TIMEOUT).status_code == 400


def test_status_fault_applies_even_to_a_malformed_request(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(status=503)
    assert browser.post_generate("hi", data={}).status_code == 503


def test_faults_match_prompts_and_rpc_ids(emu: Emulator, browser: Browser) -> None:
    rule = emu.fail_next(code=1060, match="blocked prompt")
    emu.add_fault(Fault(code=1013, path=BATCH_EXEC_PATH), times=None, match=lambda ids: "MaZiqc" in ids)
    assert browser.generate("fine prompt").final.done
    assert browser.generate("blocked prompt").codes == [1060]
    assert rule.hits == 1 and rule.exhausted
    [ok] = browser.batch(BatchCall("otAQ7b", []))
    list_chats = BatchCall("MaZiqc", [13, None, [0, None, 1]])
    [failed, also_failed] = browser.batch(list_chats, BatchCall("otAQ7b", []))
    assert ok.code is None and failed.code == also_failed.code == 1013 and failed.rpcid == "MaZiqc"
    assert [r.fault.path for r in emu.faults] == [BATCH_EXEC_PATH]  # the unlimited one stays
    emu.clear_faults()
    assert emu.faults == []


def test_stall_then_continue(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(stall=0.3, after_frames=2)
    started = time.monotonic()
    reply = browser.generate("hi")
    assert time.monotonic() - started >= 0.3
    assert reply.final.done and reply.error is None


def test_disconnect_after_exact_byte_count(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(disconnect_after_bytes=123)
    reply = browser.generate("hi")
    assert reply.error is not None and len(reply.body) == 123
    with pytest.raises(StreamInterrupted):
        decode(reply.body)
    assert emu.disconnects == []  # the server cut it, the client did not leave
    [conv] = emu.conversations
    assert conv.turns == []  # cid was sent, turn not saved
    emu.fail_next(disconnect_after_bytes=10**6)  # longer than the body: completes
    assert browser.generate("hi").final.done


def test_finish_server_side_saves_the_turn_for_recovery(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(disconnect_after_bytes=900, finish_server_side=True)
    cut = browser.generate("recover me")
    assert cut.error is not None and len(cut.body) == 900
    whole_frames = FrameDecoder().feed(cut.body)  # the frames that arrived whole
    cid = next(e.cid for f in whole_frames for e in parse_frame(f) if isinstance(e, Payload) and e.cid)
    [result] = browser.batch(BatchCall("hNvQHb", [cid, 10, None, 1, [1], [4], None, 1]))
    [turn] = result.data[0]
    assert turn[2][0][0] == "recover me"
    [candidate] = turn[3][0]
    assert candidate[8] == [2] and candidate[1][0].startswith("You said: recover me")


def test_bad_length_breaks_framing(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(bad_length=True, after_frames=1)
    reply = browser.generate("hi")
    assert reply.error is None and isinstance(reply.decode_error, ProtocolError)


def test_html_instead_of_frames(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(html=True)
    reply = browser.generate("hi")
    assert reply.status == 200 and isinstance(reply.decode_error, ProtocolError)
    assert "HTML" in str(reply.decode_error)


def test_only_tail_frames(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(only_tail=True)
    reply = browser.generate("hi")
    assert reply.status == 200 and reply.payloads == [] and reply.statuses == []
    assert reply.end is not None and reply.end.total == len(reply.body)


def test_late_code_after_a_complete_answer(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(late_code=1096)
    reply = browser.generate("hi")
    assert reply.final.done and reply.codes == [1096]
    assert isinstance(reply.events[-2], StatusCode) and reply.events[-2].code == 1096
    assert len(emu.conversations[0].turns) == 1


def test_queue_phase_before_the_first_data(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(queue=3)
    reply = browser.generate("hi")
    assert reply.codes == [None, None, None] and all(isinstance(e, StatusCode) for e in reply.events[:3])
    assert isinstance(reply.events[3], Payload) and reply.final.done


def test_flicker_tails_are_withdrawn_later(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(flicker=True)
    reply = browser.generate("show me code")
    texts = reply.texts
    final = reply.final.text
    assert not grows(texts)
    assert any(t.endswith("\n```") and not final.startswith(t) for t in texts[:-1])
    assert any(t.endswith("\\*") for t in texts[:-1])
    assert all(final.startswith(stable_text(t)) for t in texts[:-1])  # the client's rule copes


def test_stall_on_another_path_delays_the_answer(emu: Emulator, browser: Browser) -> None:
    emu.fail_next(stall=0.2, path=APP_PATH)
    response = browser.session.get(emu.url + APP_PATH, timeout=TIMEOUT)
    assert response.status_code == 200 and response.elapsed.total_seconds() >= 0.2


def test_times_and_unlimited_rules(emu: Emulator, browser: Browser) -> None:
    rule = emu.add_fault(Fault(code=1013), times=None)
    assert [browser.generate("hi").codes for _ in range(3)] == [[1013]] * 3
    assert rule.hits == 3 and rule.remaining is None
    with pytest.raises(ValueError):
        emu.add_fault(Fault(code=1), times=0)


def test_requests_see_plain_http_errors_not_hangs(emu: Emulator) -> None:
    emu.fail_next(status=500, path=APP_PATH)
    assert requests.get(emu.url + APP_PATH, timeout=TIMEOUT).status_code == 500
