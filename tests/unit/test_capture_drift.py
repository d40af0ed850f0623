"""The drift report (gemini_sync/capture/drift.py): shapes without values, compared honestly.

Captures are made from the emulator's own answers (a real :class:`Emulator`
asked over plain ``requests``, each exchange noted as the recorder notes it)
and from a real body the service sent in 2026-08. A report must be empty for
two honest turns of the same kind, name every difference injected into one,
and never quote a value of either body. In order: shapes, honest turns,
injected differences, the real body, the report's text.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gemini_sync._constants import APP_PATH
from gemini_sync.capture._shapes import PAGE_VALUE_KEYS, collapse, layout, read_body
from gemini_sync.capture.drift import SHAPES_COMPARED, Difference, DriftReport, compare_captures, shapes
from gemini_sync.capture.file import BATCH, GENERATE, Capture, Exchange
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.wire import end_frame
from gemini_sync.models import Model
from gemini_sync.protocol.app import page_config
from gemini_sync.protocol.framing import XSSI_PREFIX, dumps, encode_frame
from gemini_sync.protocol.request import BatchCall, PreparedRequest, batch_request, generate_request
from tests._support.browser import TIMEOUT, Browser

# The body of a real fresh-chat turn served by 3.5 Flash-Lite (2026-08), byte-exact: zlib, then base64.
REAL_2026_08 = (
    "eNrtWFtv2kgUfs+v8PqlWsn4fsF9qSDhYgqmwdCGYgsN9hjI+pbxgO2s+t93bENEmjSttM2uquKHA5qZ853vzDnHn+BP58ubiwtB0S8W"
    "CzpDK9ZHNBPtgoChF9VHbW0aLVdiEygrURFV3tNF3bNph/nbpoWmTb99fp+4iQLZXdh0N8pXRp7uzIF0w6ufWzfdD4qrarylK9idN+b9"
    "HRi6G69/m49KXJuWZeKI0Q5+cWjHIQwV9ZsUbdpdAkn0VhpQRU9Q5Sbkq+jPk66cak/iitylrktA0yVPk2RVF90V8SUbxuOzz5mFUFKF"
    "kU2fLn7Hh3eYhfM95JPzPghSeDhffSfuTw45BJFwtrItvocoAFF9/dan0XB51bEuJ8aHqTE2l93JeLScj2eTpWFOOxOzM122rq4mHcsi"
    "52v0Q8E5Lssydh3H6wCybhxyIUhSbo85D2Bg2zuel7x7Iwt3fl+fQb/f+2sgC+Yozi20MWbXIg5ucql9W3Qn7j1W0V6yMsH6FA6sufyx"
    "m6HEn927auytjWIzex+HBp8gfH2bt/jWsDnCZmGiaDduz8PprDOYt+NbzwjGo0wcFncbPfpoKr6qrddKb6/emf3rZadtpfBq5mG1k4V5"
    "Y1P0B7OW1hvredYT3IHKm9rsstnrg84e9CISUN7vm/7jCtv0Zf9RJb8yJ9fzlXnSA5Upu/fQDXURmRN7WlDn2I2L05njmboHy+eHu+VH"
    "Tc2NPALPyyTQMI7WEJEcFOY4UzBPjm20wThJ33KcH0c4ZdcpBnjrVk2Rclsu3cQINzBEIYdgAEEKubpt0iJcxUHK1UicB32wCzAnyknO"
    "pvv160KXGZZDQRJUykkokaoM1YcMSZQEwTT9GUSOWK+S5UvgJ3kKJNIUFRRYg23Zj8JDpgj6xH/zM7gcoF4lzxew6zQfRkFg+FoX1Cb/"
    "X+vCmz2kQuBBClBRjCEV+1QR7xAVgRAyVCvYuvAPqh9nlAsiyqA2MEjKAxSOPVC8O6vKWVX+b1X51x181qSzJp016VuapInyr6dJzwrM"
    "yaLy0sQvxLNk/T6SVb2of3PFsmmJVahuANJNY7jF8PA6OOvXWb9+ef0SxSfy9eQninScVRoXCTy8HkGyTStmIE23hGiE2VV8x64A8liQ"
    "JGRKCfc4YttkoYNQjIzIj+nynnW1IuJcqEIZ29uSm9YFQSJFoIHPlneAwnpNZOiGpguSpBOhVXhNFkVdVHSySdzF6l9CSDPNE7aKpBD4"
    "i38AZiFFdw=="
)
REAL_SHA256 = "c86dcf62e5db516469bcc0cf16e512b947fc3b0bc2055149d413394933dd0492"
# values of the real body a report must never quote: its ids, its answer, its first frame's token
REAL_VALUES = ("c_a32db7a62d1648e0", "r_b28a5b25260d929d", "rc_993a793d734692cb", "Alice", "FnxbIxsuNJ3X06ZA")
Turn = tuple[Capture, list[str]]  # a capture and the values in it that a report must not show
Change = Callable[[list[Any]], Any]
EXT = "x-goog-ext-"


def real_body() -> str:
    body = zlib.decompress(base64.b64decode(REAL_2026_08))
    assert len(body) == 5356 and hashlib.sha256(body).hexdigest() == REAL_SHA256
    return body.decode("utf-8")


def exchange_of(kind: str, body: str, req: PreparedRequest | None = None) -> Exchange:
    """An exchange as the recorder notes it: names, ``f.req`` decoded, the body (``req``: what was sent)."""
    exchange = Exchange(kind=kind, method="POST", host="gemini.google.com", path="/x", body=body)
    if req is not None:
        outer = json.loads(req.data["f.req"])
        exchange.query, exchange.form, exchange.path = dict(req.params), dict(req.data), req.path
        exchange.headers = {h.lower(): v for h, v in req.headers.items() if h.lower().startswith(EXT)}
        if kind == GENERATE:
            exchange.freq = {"outer": outer, "inner": json.loads(outer[1])}
        else:
            calls = [{"rpcid": c[0], "payload": json.loads(c[1]), "rest": c[2:]} for c in outer[0]]
            exchange.freq = {"calls": calls}
            exchange.rpcids = req.params["rpcids"].split(",")
    return exchange


def body_capture(body: str) -> Capture:
    """A capture of one StreamGenerate body and nothing else (no page, no request recorded)."""
    return Capture(exchanges=[exchange_of(GENERATE, body)])


def emulator_capture(
    emu: Emulator, prompt: str, *, model: Model = Model.UNSPECIFIED, batch: bool = True
) -> Turn:
    """One turn of ``emu`` captured: its page, ``otAQ7b`` (when ``batch``) and the StreamGenerate."""
    browser = Browser(emu)
    config = page_config(browser.session.get(emu.url + APP_PATH, timeout=TIMEOUT).text)
    page = {"values": {key: config[key] for key in PAGE_VALUE_KEYS if key in config}, "keys": sorted(config)}
    requests = [(GENERATE, generate_request(prompt, browser.tokens, 110042, model=model))]
    if batch:
        requests.insert(0, (BATCH, batch_request([BatchCall("otAQ7b", [])], browser.tokens, 10042)))
    exchanges = []
    for kind, req in requests:
        sent: dict[str, Any] = {
            "params": req.params,
            "headers": req.headers,
            "data": req.data,
            "timeout": TIMEOUT,
        }
        answer = browser.session.post(emu.url + req.path, **sent)
        assert answer.status_code == 200, answer.text
        exchanges.append(exchange_of(kind, answer.content.decode("utf-8"), req))
    chat = emu.conversations[0]  # the newest first
    turn = chat.turns[-1]
    ids = [chat.cid, turn.rid, turn.rcid, turn.context_token]
    values = [*ids, prompt, turn.text, browser.tokens.access_token]
    return Capture(turn={"prompt": prompt}, page=page, exchanges=exchanges), values


def fresh_capture(prompt: str, **options: Any) -> Turn:
    """A turn of a fresh emulator of its own (nothing shared with any other capture)."""
    with Emulator(pace=0) as emu:
        return emulator_capture(emu, prompt, **options)


def frames_of(body: str) -> list[Any]:
    found = read_body(body)
    assert found.error is None and found.lengths == "valid"
    return found.frames


def framed(frames: list[Any]) -> str:
    return XSSI_PREFIX + "\n\n" + "".join(map(encode_frame, frames))


def reencode(frames: list[Any]) -> str:
    """A body of ``frames``, the last one (``e``) rewritten with the right total."""
    head = framed(frames[:-1]).encode()
    return (head + end_frame(len(head))).decode()


def rewrite(capture: Capture, when: Change, change: Change) -> Capture:
    """A copy of ``capture`` whose StreamGenerate payloads ``when`` holds went through ``change``
    (which changes the payload in place, or returns the one to send instead)."""
    copied = copy.deepcopy(capture)
    assert copied.generate is not None
    frames = frames_of(copied.generate.body)
    for env in (env for frame in frames for env in frame if env[0] == "wrb.fr" and isinstance(env[2], str)):
        payload = json.loads(env[2])
        if when(payload):
            env[2] = dumps(change(payload) or payload)
    copied.generate.body = reencode(frames)
    return copied


def keyed(key: str) -> Change:
    """A sparse-only frame that has ``key``."""
    return lambda payload: isinstance(payload[-1], dict) and key in payload[-1]


def completing(payload: list[Any]) -> bool:
    return len(payload) > 14 and payload[14] is True


def by_what(report: DriftReport) -> dict[str, Difference]:
    return {difference.what: difference for difference in report.differences}


@pytest.fixture(scope="module")
def default_turn() -> Turn:
    return fresh_capture("Hello there, how are you?")


def test_shapes_are_json_and_hold_no_value(default_turn: Turn) -> None:
    capture, values = default_turn
    found = shapes(capture)
    text = json.dumps(found)
    assert json.loads(text) == found and not [value for value in values if value in text]
    kinds = ["data-first", "data-full", "data-done", "data-context", "data-last", "[di, af.httprm]", "e"]
    assert found["frames"]["kinds"] == kinds
    assert found["frames"]["lengths"] == "valid" and found["frames"]["e total"] == "valid"
    assert found["sparse"]["context"] == {"keys": ["26", "44"], "ids": "[string, string]"}
    assert found["batchexecute"]["rpcids"] == ["otAQ7b"]
    assert found["batchexecute"]["results"]["otAQ7b"]["r"]["14"] == "int"
    assert layout([None, "a", {"26": 1, "44": True}]) == {"1": "string", "25": "int", "43": "bool"}


def test_shapes_of_the_real_body_as_found() -> None:
    found = shapes(body_capture(real_body()))
    assert not [value for value in REAL_VALUES if value in json.dumps(found)]
    frames = found["frames"]
    assert frames["prefix"] is True and frames["lengths"] == "valid" and frames["e total"] == "valid"
    assert frames["kinds"] == ["data-first", "data-full", "data-done", "error(1096)", "[di, af.httprm]", "e"]
    assert frames["e count"] == "the number of envelopes"  # 8 envelopes in 7 frames
    assert found["sparse"] == {"first": {"keys": ["18", "21", "44"], "ids": "[null, string]"}}
    assert found["trailers"] == ["error(1096)", "[di, af.httprm]", "e"] and found["errors"] == ["1096"]
    # E[42], the served model's name, on the completing frame only (the default model, docs/protocol.md 5.2)
    assert "42" in found["envelope"]["completing"] and "42" not in found["envelope"]["streaming"]
    assert "39" not in found["envelope"]["completing"]


def test_collapse_writes_repeated_runs_once() -> None:
    assert collapse(["a", "b", "b", "b", "c"]) == ["a", "b", "c"]
    assert collapse(["f", "s", "d", "s", "d", "s", "d", "d", "x"]) == ["f", "s", "d", "x"]
    assert collapse(["a", "b", "c", "a", "b", "c", "e"]) == ["a", "b", "c", "e"]
    assert collapse(["a", "b", "a"]) == ["a", "b", "a"]


def test_a_wrong_length_and_a_wrong_total_are_shown(default_turn: Turn) -> None:
    capture, _ = default_turn
    broken = copy.deepcopy(capture)
    assert broken.generate is not None
    frames = frames_of(broken.generate.body)
    length, rest = encode_frame(frames[0]).split("\n", 1)
    frames[-1][0][4] += 1  # e's total: no longer the body's length (with as many digits)
    broken.generate.body = framed([]) + f"{int(length) + 1}\n{rest}" + framed(frames[1:])[6:]
    found = shapes(broken)["frames"]
    assert found["lengths"] == "invalid" and found["e total"] == "invalid"
    assert found["kinds"] == shapes(capture)["frames"]["kinds"]  # the frames are still read
    report = by_what(compare_captures(broken, capture))
    assert report["frame lengths (UTF-16 units + 2)"].theirs == "are invalid"
    assert report["the e frame's total (body bytes)"].ours == "is valid"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.lists(_JSON, max_size=6).map(framed))
def test_any_body_has_shapes_and_compares(body: str) -> None:
    capture = body_capture(body)
    json.dumps(shapes(capture))
    assert not compare_captures(capture, capture)
    compare_captures(capture, body_capture(real_body())).text()


def test_a_capture_compared_with_itself_or_its_file_is_empty(default_turn: Turn) -> None:
    capture, _ = default_turn
    assert not compare_captures(capture, capture)
    assert not compare_captures(capture, Capture.from_json(capture.to_json()))
    real = body_capture(real_body())
    report = compare_captures(real, real)
    assert not report and report.differences == []
    assert report.text().startswith("No difference in the shapes compared.\nCompared: request, frames, ")


@pytest.mark.parametrize(
    "model", [Model.UNSPECIFIED, Model.G_3_FLASH, Model.G_3_FLASH_THINKING, Model.G_3_PRO], ids=str
)
def test_two_emulator_turns_of_the_same_kind_do_not_differ(model: Model) -> None:
    first, _ = fresh_capture("Hi", model=model)
    second, _ = fresh_capture("Please explain at some length why the sky looks blue at noon", model=model)
    assert first.generate and second.generate
    assert first.generate.body.count("\n") != second.generate.body.count("\n")  # other numbers of frames
    report = compare_captures(first, second)
    assert not report, report.text()
    assert report.compared == list(SHAPES_COMPARED)


def test_the_number_of_streaming_frames_and_the_order_of_keys_do_not_count() -> None:
    with Emulator(pace=0) as emu:
        emu.script("Short", text="One two three four five six seven eight nine ten.", chunks=2)
        emu.script("Long", text="One two three four five six seven eight nine ten.", chunks=9)
        short, _ = emulator_capture(emu, "Short")
        long, _ = emulator_capture(emu, "Long")
    random.Random(7).shuffle(long.page["keys"])
    assert not compare_captures(short, long), compare_captures(short, long).text()


def test_different_kinds_of_turn_do_differ() -> None:
    plain, _ = fresh_capture("Why?", model=Model.G_3_FLASH)
    thinking, _ = fresh_capture("Why?", model=Model.G_3_FLASH_THINKING)
    report = compare_captures(thinking, plain)
    assert {d.area for d in report.differences} == {"frames", "sparse", "candidate"}, report.text()
    assert by_what(report)["C[37] (thoughts) on every full frame"].ours == "leaves it out"
    assert by_what(report)["the status frames"].ours == "does not send them"


def test_a_moved_context_token_key_is_named(default_turn: Turn) -> None:
    ours, _ = default_turn
    theirs = rewrite(ours, keyed("26"), lambda p: p[-1].update({"27": p[-1].pop("26")}))
    report = compare_captures(theirs, ours)
    assert {d.area for d in report.differences} == {"frames", "sparse"}, report.text()
    found = by_what(report)
    context = found["the context-token frame"]
    assert context.theirs == "does not send them" and '"26" (E[25], the context token)' in context.ours
    other = found["sparse-only frames of no known role"]
    assert '"27" (E[26]' in other.theirs and other.ours == "does not send them"
    kinds = found["frame kinds (repeats collapsed)"]
    assert "data-sparse" in kinds.theirs and "data-context" in kinds.ours


def test_a_new_frame_kind_is_named(default_turn: Turn) -> None:
    ours, _ = default_turn
    theirs = copy.deepcopy(ours)
    assert theirs.generate is not None
    frames = frames_of(theirs.generate.body)
    theirs.generate.body = reencode([frames[0], [["xr", 1, None]], *frames[1:]])
    [kinds] = compare_captures(theirs, ours).differences
    assert kinds.area == "frames" and kinds.theirs.startswith("sends data-first, other(xr), data-full")
    assert "other(xr)" not in kinds.ours


def test_a_missing_envelope_slot_is_named(default_turn: Turn) -> None:
    ours, _ = default_turn
    report = compare_captures(rewrite(ours, completing, lambda p: p.__setitem__(42, None)), ours)
    assert [str(d) for d in report.differences] == [
        "envelope: E[42] (served model display name) on completing frames: "
        "the capture leaves it out; the emulator holds a string"
    ]


def test_a_field_in_the_sparse_form_keeps_its_index(default_turn: Turn) -> None:
    """docs/protocol.md 5.1: ``E[42]`` sent as key ``"43"`` of a trailing object is the same shape."""
    ours, _ = default_turn
    sparse = rewrite(ours, completing, lambda p: [*p[:40], {"43": p[42], "44": p[43]}])
    assert not compare_captures(sparse, ours), compare_captures(sparse, ours).text()
    lost = by_what(compare_captures(rewrite(ours, completing, lambda p: [*p[:40], {"43": p[42]}]), ours))
    assert list(lost) == ["E[43] (always true) on completing frames"]  # E[43] lost on the way: said so


def test_an_extra_rpc_result_slot_is_named(default_turn: Turn) -> None:
    ours, _ = default_turn
    theirs = copy.deepcopy(ours)
    [batch] = theirs.of_kind(BATCH)
    frames = frames_of(batch.body)
    [result] = [env for frame in frames for env in frame if env[0] == "wrb.fr"]
    result[2] = dumps([*json.loads(result[2]), [1, "x"]])
    batch.body = reencode(frames)
    report = compare_captures(theirs, ours)
    assert [(d.area, d.what, d.theirs, d.ours) for d in report.differences] == [
        ("rpc otAQ7b", "r[20]", "holds a list", "leaves it out")
    ]


def test_a_renamed_page_key_is_named(default_turn: Turn) -> None:
    ours, _ = default_turn
    theirs = copy.deepcopy(ours)
    keys = theirs.page["keys"]
    keys[keys.index("cfb2h")] = "cfb2hNew"
    found = {d.what: (d.area, d.theirs, d.ours) for d in compare_captures(theirs, ours).differences}
    assert found == {
        "WIZ_global_data keys only in the capture's page": ("page", "has 1: cfb2hNew", "lacks them"),
        "WIZ_global_data keys only in the emulator's page": ("page", "lacks them", "has 1: cfb2h"),
    }
    del theirs.page["values"]["SNlM0e"]  # a value the client reads, gone: said with what it is
    assert by_what(compare_captures(theirs, ours))["page value SNlM0e (access token)"].theirs == "lacks it"


def test_a_missing_stream_generate_is_one_difference(default_turn: Turn) -> None:
    ours, _ = default_turn
    theirs = Capture(page=ours.page, exchanges=ours.of_kind(BATCH))
    report = compare_captures(theirs, ours)
    none = [("request", "has none", "has one"), ("frames", "has none", "has one")]
    assert [(d.area, d.theirs, d.ours) for d in report.differences] == none


def test_the_real_2026_body_against_an_emulator_turn_of_the_default_model() -> None:
    with Emulator(pace=0) as emu:
        turn, values = emulator_capture(emu, "My name is Alice.", batch=False)
    assert turn.generate is not None
    report = compare_captures(body_capture(real_body()), body_capture(turn.generate.body))
    text, found = report.text(), by_what(report)
    # the real turn ends with an in-band 1096 after its complete answer; the emulator's does not
    codes = found["in-band error codes"]
    assert codes.theirs == "has 1096 (after a complete answer: ignored; alone: rejected)"
    assert codes.ours == "has none"
    assert found["frame kinds after the last data frame"].theirs == "sends error(1096), [di, af.httprm], e"
    assert "error(1096)" in found["frame kinds (repeats collapsed)"].theirs and "1096" in text
    # nor does it send the context-token and last frames that the emulator sends (docs/protocol.md 5.3)
    assert found["the context-token frame"].theirs == found["the last frame"].theirs == "does not send them"
    # what the emulator gets right: lengths, e's total, the first frame, E[14] and E[42] (E[39] in neither)
    assert not [what for what in found if "length" in what or "total" in what or "first frame" in what]
    right = ("E[14]", "E[39]", "E[42]", "C[0]", "C[1]", "C[8]")
    assert not [what for what in found if what.startswith(right)]
    # what it lacks: slots the real one fills on every full frame
    assert found["E[44] (action chips) on every full frame"].theirs == "holds a list"
    assert found["C[9] (language) on every full frame"].ours == "leaves it out"
    assert not [value for value in (*REAL_VALUES, *values) if value in text]


def test_the_report_text_is_grouped_and_ends_with_what_was_compared(default_turn: Turn) -> None:
    ours, values = default_turn
    report = compare_captures(body_capture(real_body()), ours)
    lines = report.text().splitlines()
    assert report and lines[0].startswith(f"Drift report: {len(report.differences)} differences between")
    assert lines[-1] == "Compared: " + ", ".join(report.compared) + "."
    headings = [line for line in lines if line.startswith("[")]
    assert headings == [f"[{area}]" for area in dict.fromkeys(d.area for d in report.differences)]
    assert len([line for line in lines if line.startswith("- ")]) == len(report.differences)
    assert all("\n" not in str(d) and str(d).startswith(d.area + ": ") for d in report.differences)
    assert not [value for value in (*REAL_VALUES, *values) if value in report.text()]
    assert by_what(report)["the app page's values"].theirs == "has none"  # no page: said, not skipped
    empty = DriftReport([], ["frames"])
    assert not empty and empty.text() == "No difference in the shapes compared.\nCompared: frames.\n"
    one = DriftReport([Difference("frames", "HTTP status", "is 400", "is 200")], ["frames"])
    assert one and "Drift report: 1 difference between" in one.text()
    assert str(one.differences[0]) == "frames: HTTP status: the capture is 400; the emulator is 200"
