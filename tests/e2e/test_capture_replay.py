"""Capture a turn against the emulator (playing a real account), then replay it: the same chunks, no secret.

Also: every capture in ``tests/captures/`` (the real 2026 bodies the service
published through others' fixtures, and ours) replays into the text, ids,
context token and served model its ``result`` says.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from gemini_sync import GeminiClient, StreamChunk
from gemini_sync.capture.file import BATCH, GENERATE, PAGE, Capture
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.framing import FrameDecoder, utf16_len

CAPTURES = Path(__file__).resolve().parents[1] / "captures"

pytestmark = pytest.mark.gemini_emulator(pace=0.03)  # frames far enough apart to arrive in reads of their own


def _chunks(client: GeminiClient, prompt: str, **options: object) -> list[dict[str, object]]:
    return [chunk.to_dict() for chunk in client.stream(prompt, **options)]  # type: ignore[arg-type]


def _frames(body: bytes) -> list[object]:
    decoder = FrameDecoder()
    frames, error = decoder.decode(body)
    rest, end_error = decoder.finish()
    assert error is None and end_error is None
    return frames + rest


def test_capture_then_replay_gives_the_live_runs_chunks(emu: Emulator, client: GeminiClient) -> None:
    emu.script("Tell me", text="One. Two, three: four five six seven.", chunks=4)
    live: list[StreamChunk] = []
    capture = client.capture("Tell me a story", on_chunk=live.append)
    emu.replay(capture, speed=1.0)
    replayed = _chunks(client, "Tell me a story")
    assert replayed == [chunk.to_dict() for chunk in live]
    assert len(live) >= 4 and live[-1].is_final
    assert capture.result is not None and capture.result["text"] == live[-1].text
    assert capture.result["cid"] == live[-1].metadata[0]


def test_a_capture_holds_the_turn_as_sent_and_received(emu: Emulator, client: GeminiClient) -> None:
    capture = client.capture("What is a frame?", model="flash")
    kinds = [exchange.kind for exchange in capture.exchanges]
    assert kinds[0] == PAGE and kinds[-1] == GENERATE and BATCH in kinds  # the page, the catalogue, the turn
    page = capture.page["values"]
    token = emu.access_token
    assert page["SNlM0e"] != token and len(page["SNlM0e"]) == len(token)  # a placeholder of the same length
    assert page["cfb2h"] == emu.tokens.build_label  # not a secret: kept
    assert set(capture.page["keys"]) >= {"SNlM0e", "cfb2h", "FdrFJe", "oPEP7c"}
    turn = capture.generate
    assert turn is not None and turn.prompt == "What is a frame?"
    assert {"bl", "f.sid", "hl", "_reqid", "rt"} <= set(turn.query)
    assert turn.query["f.sid"] != emu.tokens.session_id
    assert any(name.startswith("x-goog-ext-") for name in turn.headers)
    assert set(turn.form) == {"f.req", "at"} and turn.form["at"] != token
    assert turn.headers["cookie"].startswith("names: ")
    body = turn.body_bytes
    assert turn.reads and turn.reads[-1][1] == len(body)
    assert [end for _, end in turn.reads] == sorted(end for _, end in turn.reads)
    frames = _frames(body)
    assert frames[-1][0][0] == "e" and frames[-1][0][4] == len(body)
    assert "otAQ7b" in {rpc for exchange in capture.of_kind(BATCH) for rpc in exchange.rpcids}
    assert capture.result is not None and capture.result["served_model"]
    assert any(line.startswith("access token") for line in capture.redacted)
    assert Capture.from_json(capture.to_json()) == capture


def _encodings(secret: str) -> list[str]:
    raw = secret.encode()
    forms = [secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]]
    forms.append(json.dumps(json.dumps(secret)[1:-1])[1:-1])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.append(encode(raw).decode().rstrip("="))
    return [form for form in forms if len(form) >= 6]


@pytest.mark.gemini_emulator(pace=0.002)
def test_no_secret_survives_in_any_encoding(emu: Emulator, client: GeminiClient) -> None:
    name = "Ada Lovelace-" + secrets.token_hex(3)
    email = f"ada.{secrets.token_hex(3)}@example.org"
    cookie = emu.cookies["__Secure-1PSID"]
    blob = base64.b64encode(b"xy" + f"{name}|{email}".encode()).decode()
    emu.script(
        "Who am I",
        text=f"You are {name} <{email}>; see https://x.test/?u={quote(email)}&n={quote_plus(name)} {blob}",
    )
    capture = client.capture("Who am I?", names=[name])
    text = capture.to_json()
    held = [cookie, *emu.cookies.values(), emu.access_token, emu.second_token, name, email]
    held += [value for value in (emu.tokens.session_id, emu.tokens.push_id) if value]
    for value in held:
        for form in _encodings(value):
            assert form not in text, "a secret survived"
    assert any(line.startswith("display name") for line in capture.redacted)
    assert all(value not in line for line in capture.redacted for value in held)
    turn = capture.generate
    assert turn is not None
    body = turn.body_bytes
    assert _frames(body)[-1][0][4] == len(body)  # lengths and the e total still right
    emu.replay(capture, speed=0)
    answer = client.stream("Who am I?").collect()
    assert answer.text.startswith("You are ") and name not in answer.text and email not in answer.text
    assert utf16_len(answer.text) == utf16_len(capture.result["text"])  # type: ignore[index]


def test_a_failed_turn_is_captured_with_its_error(emu: Emulator, client: GeminiClient) -> None:
    emu.set_quota("flash", total=0)
    capture = client.capture("Hello", model="flash")
    assert capture.result is not None and capture.result["error"] == "UsageLimitExceeded"
    turn = capture.generate
    assert turn is not None and "1037" in turn.body


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.json")), ids=lambda path: path.stem)
def test_every_stored_capture_replays_to_what_its_note_says(
    emu: Emulator, client: GeminiClient, path: Path
) -> None:
    capture = Capture.load(path)
    expected = capture.result
    assert expected is not None and capture.note
    emu.replay(path, speed=0)
    chunks = list(client.stream(capture.generate.prompt or "Hello"))  # type: ignore[union-attr]
    output = chunks[-1]
    assert output.is_final
    assert output.text == expected["text"]
    assert (output.metadata[:3]) == [expected["cid"], expected["rid"], expected["rcid"]]
    token = output.metadata[9] if len(output.metadata) > 9 and output.metadata[9] else None
    assert token == expected["context_token"]
    assert output.model_name == expected["served_model"]
    assert output.model_id == expected["served_model_id"]


def test_replay_refuses_what_is_not_a_capture(emu: Emulator, tmp_path: Path) -> None:
    from gemini_sync.capture.file import CaptureError

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(CaptureError, match="not a capture"):
        emu.replay(bad)
    with pytest.raises(CaptureError, match="no StreamGenerate"):
        emu.replay(Capture())
    with pytest.raises(ValueError, match="speed"):
        emu.replay(CAPTURES / "real-2026-08-flash-lite.json", speed=-1)
