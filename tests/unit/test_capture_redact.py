"""Redaction of captures (gemini_sync.capture.redact): no secret survives, in any field or encoding.

What a user attaching a capture to a bug report relies on: every value that
identifies or authenticates the account is gone from the file, however the
service or the file spelled it (plain, URL-encoded, JSON-escaped at depths 1-3,
base64 at every alignment); the bodies still decode (frame lengths and the
``e`` total are true again); the file says what was removed but never a
value; and everything that is not a secret is left exactly as it was.

The encoded forms are computed here with urllib.parse/json/base64, independently
of the module's own patterns, and looked for as substrings.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gemini_sync.capture.file import BATCH, GENERATE, OTHER, Capture, Exchange
from gemini_sync.capture.redact import (
    KINDS,
    Secret,
    find_emails,
    fix_body,
    leaks,
    placeholder,
    redact_capture,
    redact_text,
)
from gemini_sync.emulator.wire import framed_body
from gemini_sync.protocol.framing import FrameDecoder, encode_body, encode_frame, utf16_len

CAPTURES = Path(__file__).resolve().parents[1] / "captures"

_CHARS = list("abcmxyzABCMXYZ0123456789") + list("\"\\=+/%&' <>!?#;:,.-_~()[]{}*$^|") + list("éüß中ж😀")
_SECRET = st.text(st.sampled_from(_CHARS), min_size=8, max_size=40).filter(lambda s: len(set(s)) >= 4)
_LABELS = ["cookie __Secure-1PSID", "access token", "f.sid"]


def _service_json(value: Any) -> str:
    """JSON as the service writes it: ``= < > & '`` as ``\\u003d`` etc., where Python would not."""
    text = json.dumps(value, ensure_ascii=False)
    for ch in "=<>&'":
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def _escaped(value: str) -> list[str]:
    """The JSON string contents ``value`` may become (without the quotes)."""
    return [
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        _service_json(value)[1:-1],
    ]


def _cores(raw: bytes) -> list[str]:
    """The base64 characters determined by ``raw`` alone, at alignments 0-2, both alphabets."""
    forms = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for k in range(3):
            encoded = encode(b"\0" * k + raw).decode()
            forms.append(encoded[-(-8 * k // 6) : (8 * k + 8 * len(raw)) // 6])
    return forms


def _lower_hex(text: str) -> str:
    """``%3D`` as ``%3d``: what some encoders write."""
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), text)


def _encodings(secret: str) -> list[str]:
    """Every spelling of ``secret`` the capture below holds, as it is in the capture's strings."""
    url = [quote(secret, safe=""), quote(secret), quote_plus(secret), _lower_hex(quote(secret, safe=""))]
    once = _escaped(secret)
    twice = [form for inner in once for form in _escaped(inner)]
    cores = _cores(secret.encode())
    return [secret, *url, *once, *twice, *cores, *(quote(core, safe="") for core in cores)]


def _blobs(raw: bytes) -> list[str]:
    """``raw`` inside longer base64 blobs, at the three alignments, in both alphabets."""
    return [
        encode(b"\x01\x02\x03\x04\x05"[: 3 + k] + raw + b"\xfe\xff tail").decode()
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
        for k in range(3)
    ]


def _framed(frames: list[Any]) -> str:
    return framed_body(frames).decode()


def _capture(secrets: list[str]) -> Capture:
    """A capture holding every secret in every field and encoding."""
    joined = " | ".join(secrets)
    blobs = [blob for secret in secrets for blob in _blobs(secret.encode())]
    payload = json.dumps([None, ["c_1", "r_1"], None, None, [["rc_1", [f"Hi {joined}!"]]], blobs])
    service = _service_json([None, [joined, [quote(s, safe="") for s in secrets]], {"26": blobs}])
    generate = _framed(
        [
            [["wrb.fr", None, payload, None, None, None, joined]],  # depth 1: the frame's own string
            [["wrb.fr", None, service]],  # depth 2, the service's escaping
            [["wrb.fr", None, json.dumps([json.dumps([joined])])]],  # depth 3 inside the body
        ]
    )
    length = len(generate.encode())
    exchange = Exchange(
        kind=GENERATE,
        method="POST",
        host="gemini.google.com",
        path="/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate",
        query={
            "bl": "boq_assistant-bard-web-server_20260806.17_p0",
            "f.sid": quote(joined, safe=""),
            "plus": quote_plus(joined),
            "lower": _lower_hex(quote(joined, safe="")),
        },
        headers={"x-goog-ext-525001261-jspb": json.dumps([1, None, joined]), "x-plain": joined},
        form={"at": joined, "f.req": json.dumps([None, json.dumps([[joined], None, blobs])])},
        freq={"outer": [None, json.dumps([[joined]])], "inner": [[joined, {"k": [quote_plus(joined)]}]]},
        rpcids=["ESY5D"],
        response_headers={"set-cookie": f"__Secure-1PSIDTS={joined}; Path=/", "x-blob": blobs[0]},
        body=generate,
        reads=[[0.0, 7], [0.01, length // 2], [0.02, length]],
    )
    batch = _framed([[["wrb.fr", "ESY5D", json.dumps([[joined], blobs]), None, None, None, "generic"]]])
    plain = f"plain {joined} and {quote(joined)} text"
    binary = b"\xff\xfe\x00" + joined.encode() + b"\x00\xff" + quote(joined).encode() + b"\x80"
    return Capture(
        turn={"prompt": f"say {joined} please", "model": "gemini-flash", "guest": False},
        page={"values": {"SNlM0e": joined, "cfb2h": "boq_x"}, "keys": ["SNlM0e", "cfb2h", joined]},
        exchanges=[
            exchange,
            Exchange(kind=BATCH, method="POST", host="gemini.google.com", path="/batchexecute", body=batch),
            Exchange(kind=OTHER, method="GET", host="gemini.google.com", path="/x", body=plain),
            Exchange(
                kind=OTHER,
                method="GET",
                host="lh3.googleusercontent.com",
                path="/img",
                body=base64.b64encode(binary).decode(),
                body_base64=True,
                reads=[[0.0, len(binary)]],
            ),
        ],
        result={"text": f"Hello {joined}", "cid": "c_1"},
        note=f"recorded by {joined}",
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _frames(body: bytes) -> list[Any]:
    decoder = FrameDecoder()
    return decoder.feed(body) + decoder.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SECRET, min_size=1, max_size=3, unique=True))
def test_no_secret_survives_in_any_field_or_encoding_and_bodies_stay_valid(values: list[str]) -> None:
    secrets = [Secret(KINDS[i], _LABELS[i], value) for i, value in enumerate(values)]
    original = _capture(values)
    capture = redact_capture(original, secrets)
    text = capture.to_json()
    assert leaks(text, secrets) == []
    strings = list(_strings(capture.to_dict()))
    binary = capture.exchanges[3].body_bytes
    for value in values:
        for form in _encodings(value):
            assert form not in text and json.dumps(form, ensure_ascii=False)[1:-1] not in text
            assert not any(form in string for string in strings)
            assert form.encode() not in binary
    for exchange in capture.exchanges[:2]:  # the framed bodies: true lengths, a true e total
        body = exchange.body_bytes
        frames = _frames(body)
        assert frames[-1][0][0] == "e" and frames[-1][0][4] == len(body)
        for frame in frames[:-2]:
            json.loads(frame[0][2])  # each payload is still JSON
    reads = capture.exchanges[0].reads
    assert reads[-1][1] == len(capture.exchanges[0].body_bytes)
    assert [offset for _, offset in reads] == sorted(offset for _, offset in reads)
    assert capture.exchanges[3].reads == [[0.0, len(binary)]] and len(binary) == len(
        original.exchanges[3].body_bytes
    )
    for label in _LABELS[: len(values)]:
        assert any(line.startswith(f"{label}: ") and "place" in line for line in capture.redacted)
    assert not any(value in line for value in values for line in capture.redacted)
    # what is not a secret stays as it was
    assert [e.kind for e in capture.exchanges] == [e.kind for e in original.exchanges]
    assert capture.exchanges[0].query["bl"] == original.exchanges[0].query["bl"]
    assert capture.exchanges[0].path == original.exchanges[0].path and capture.turn["model"] == "gemini-flash"


def test_the_original_capture_is_not_changed() -> None:
    original = _capture(["s3cr3t-value=="])
    before = original.to_json()
    redact_capture(original, [Secret("token", "access token", "s3cr3t-value==")])
    assert original.to_json() == before


@pytest.mark.parametrize("length", [0, 1, 5, 13, 14, 40, 200])
@pytest.mark.parametrize("kind", KINDS)
def test_placeholders_are_fixed_letters_of_the_length_asked(kind: str, length: int) -> None:
    value = placeholder(kind, length)
    assert len(value) == length and value == placeholder(kind, length)
    assert all(ch.isascii() and ch.isalnum() for ch in value)
    assert value == ("REDACTED" + kind.upper() + "X" * 200)[:length]


def test_a_match_is_replaced_by_a_placeholder_of_its_utf16_length() -> None:
    secret = Secret("name", "display name", "Zoë 😀 Ünal")
    for form in (secret.value, json.dumps(secret.value)[1:-1], quote(secret.value), quote_plus(secret.value)):
        text = f"[{form}]"
        redacted, counts = redact_text(text, [secret])
        assert redacted == "[" + placeholder("name", utf16_len(form)) + "]"
        assert counts == {"display name": 1}
    body = _framed([[["wrb.fr", None, json.dumps([secret.value, "😀 kept"], ensure_ascii=False)]]])
    redacted, _ = redact_text(body, [secret])
    assert utf16_len(redacted) == utf16_len(body) and "😀 kept" in redacted
    assert len(redacted.encode()) != len(body.encode())  # bytes move: fix_body's work


def test_redacted_lists_every_label_with_a_count_and_never_a_value() -> None:
    secrets = [
        Secret("cookie", "cookie __Secure-1PSID", "g.a000xyzCOOKIE"),
        Secret("cookie", "cookie __Secure-1PSIDTS", "sidts-NOT-PRESENT"),
        Secret("token", "access token", "AJvLN6tokenvalue:1723456789"),
        Secret("name", "display name", "Bo"),
    ]
    capture = _capture(["g.a000xyzCOOKIE", "AJvLN6tokenvalue:1723456789", "Bo"])
    redacted = redact_capture(capture, secrets)
    lines = redacted.redacted
    assert lines[1] == "cookie __Secure-1PSIDTS: not found"
    assert lines[0].startswith("cookie __Secure-1PSID: ") and lines[0].endswith(" places")
    assert lines[3].startswith("display name: ") and "shorter than 4 characters" in lines[3]
    assert not any(secret.value in line for secret in secrets for line in lines)
    assert "g.a000xyzCOOKIE" not in repr(secrets[0]) and "cookie __Secure-1PSID" in repr(secrets[0])
    with pytest.raises(ValueError):
        Secret("password", "a password", "x")


def test_a_short_secret_is_redacted_plain_and_json_but_not_searched_as_url_or_base64() -> None:
    secret = Secret("name", "display name", "Bé")
    text = 'plain Bé json "B\\u00e9" url B%C3%A9 b64 ' + base64.b64encode(b"xxBe").decode()
    redacted, counts = redact_text(text, [secret])
    assert "Bé" not in redacted and "B\\u00e9" not in redacted and counts["display name"] == 2
    assert "B%C3%A9" in redacted  # too short: an URL or base64 spelling this short matches anything


def test_emails_are_found_in_plain_percent40_and_escaped_forms_and_redacted_everywhere() -> None:
    assert find_emails("mail ada@example.org now") == {"ada@example.org"}
    assert find_emails("q=ada%40example.org&x=1") == {"ada@example.org"}
    assert find_emails('["ada\\u0040example.org"]') == {"ada@example.org"}
    assert find_emails("a+b%40mail.example.co.uk") == {"a+b@mail.example.co.uk"}
    assert find_emails("no address @ here, nor x@y or @example.org") == set()
    blob = base64.b64encode(b"\x00ada@example.org\x00").decode()
    capture = Capture(
        turn={"prompt": "write to ada@example.org"},
        exchanges=[
            Exchange(
                kind=OTHER,
                method="GET",
                host="h",
                path="/p",
                query={"to": "ada%40example.org"},
                body=f'{blob} ["ada\\u0040example.org"]',  # its base64, and JSON-escaped
            )
        ],
    )
    redacted = redact_capture(capture, [])
    text = redacted.to_json()
    assert "ada" not in text and redacted.redacted == ["e-mail: 4 places"]
    assert all(core not in text for core in _cores(b"ada@example.org"))  # its base64 went too


def test_fix_body_repairs_a_wrong_length_and_a_wrong_e_total() -> None:
    frame = [["wrb.fr", None, json.dumps(["😀 text é"], ensure_ascii=False)]]
    body = _framed([frame])
    assert fix_body(body) is body  # a true body comes back as it was
    good = encode_frame(frame)
    broken = body.replace(good, "7" + good)  # a length off by 700
    broken = broken.replace(f",{len(body.encode())}]]", ",12]]")
    assert broken != body and fix_body(broken) == body
    _frames(fix_body(broken).encode())  # decodes
    # a total whose own digits change the length: 9 -> 10 ... settles
    short = encode_body([[["wrb.fr", None, "x" * n]] for n in range(3)]) + encode_frame(
        [["e", 4, None, None, 1]]
    )
    fixed = fix_body(short)
    assert _frames(fixed.encode())[-1][0][4] == len(fixed.encode())


def test_fix_body_leaves_other_bodies_and_cut_frames_alone() -> None:
    for body in ("<html>not framed</html>", ')]}\'\n\n[["wrb.fr",null,"[]"]]', "", ")]}'\n\nabc\n[1]\n"):
        assert fix_body(body) == body
    cut = _framed([[["wrb.fr", None, "[1]"]]])[:-30]  # ends inside a frame: its length is kept
    assert fix_body(cut) == cut


def test_a_body_without_secrets_comes_out_byte_identical() -> None:
    path = CAPTURES / "real-2026-08-flash-lite.json"
    original = Capture.load(path)
    secrets = [Secret("cookie", "cookie __Secure-1PSID", "g.a000-not-in-this-file"), Secret(*_EMAIL_ABSENT)]
    redacted = redact_capture(original, secrets)
    assert [e.body for e in redacted.exchanges] == [e.body for e in original.exchanges]
    assert dataclasses.replace(redacted, redacted=original.redacted).to_json() == original.to_json()
    assert redacted.redacted[-2:] == ["cookie __Secure-1PSID: not found", "e-mail: not found"]
    text = "plain text with \\u003d escapes, %3D and == base64 and 😀"
    assert redact_text(text, secrets) == (text, {})


_EMAIL_ABSENT = ("email", "e-mail", "nobody@example.invalid")


def test_a_binary_body_has_the_raw_bytes_replaced_with_as_many() -> None:
    secret = Secret("cookie", "cookie NID", "nid-value-123")
    data = b"\x89PNG\r\n\x1a\n\xff" + b"nid-value-123" + b"\x00\xfe" + "nid-value-123".encode("utf-16-le")
    exchange = Exchange(
        kind=OTHER, method="GET", host="h", path="/i", body=base64.b64encode(data).decode(), body_base64=True
    )
    redacted = redact_capture(Capture(exchanges=[exchange]), [secret]).exchanges[0]
    out = redacted.body_bytes
    assert redacted.body_base64 and len(out) == len(data)
    assert out.startswith(b"\x89PNG\r\n\x1a\n\xff" + placeholder("cookie", 13).encode() + b"\x00\xfe")
    assert b"nid-value-123" not in out


def test_reads_are_scaled_to_the_new_length() -> None:
    secret = Secret("name", "display name", "😀😀 Ünal 😀😀")
    body = _framed([[["wrb.fr", None, json.dumps([secret.value], ensure_ascii=False)]]])
    size = len(body.encode())
    exchange = Exchange(
        kind=GENERATE,
        method="POST",
        host="h",
        path="/g",
        body=body,
        reads=[[0.0, 5], [0.5, size - 1], [1.0, size]],
    )
    redacted = redact_capture(Capture(exchanges=[exchange]), [secret]).exchanges[0]
    new_size = len(redacted.body_bytes)
    assert new_size < size and redacted.reads[-1] == [1.0, new_size]
    assert [t for t, _ in redacted.reads] == [0.0, 0.5, 1.0]
    assert redacted.reads[0][1] <= redacted.reads[1][1] <= new_size
