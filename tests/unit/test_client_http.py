"""GeminiClient over HTTP, mocked with ``responses``: bootstrap, request shape, errors, streams."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from gemini_sync import GeminiClient, Model, RetryPolicy, errors
from gemini_sync._constants import GENERATE_PATH
from gemini_sync.protocol.app import render_app_page
from gemini_sync.protocol.request import AppTokens
from gemini_sync.protocol.rpcs import parse_account
from gemini_sync.protocol.service import build_account
from tests._wire import answer_body, error_body

BASE = "http://gemini.test"
GEN_URL = BASE + GENERATE_PATH
TOKEN = "AJvLN6M-secret-token:1713000000000"
PSID = "psid-secret-value-123"
PSIDTS = "psidts-secret-value-456"
SNAPSHOTS = ["Hello", "Hello, wor", "Hello, world! 😀 你好"]
FINAL = "Hello, world! 😀 你好"


@pytest.fixture
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(BASE + "/app", body=render_app_page(AppTokens(TOKEN, "boq_test_bl", "-4242")))
        yield mock


@pytest.fixture
def client() -> Any:
    sleeps: list[float] = []
    c = GeminiClient(PSID, PSIDTS, base_url=BASE, retry=RetryPolicy(3, sleep=sleeps.append))
    c.sleeps = sleeps  # type: ignore[attr-defined]
    yield c
    c.close()


def generate_calls(mock: Any) -> list[Any]:
    return [call for call in mock.calls if urlsplit(call.request.url).path == GENERATE_PATH]


def decode_form(body: Any) -> dict[str, str]:
    text = body.decode() if isinstance(body, bytes) else body
    return {k: v[0] for k, v in parse_qs(text).items()}


def test_bootstrap_is_lazy_and_happens_once(rsps: Any, client: GeminiClient) -> None:
    assert len(rsps.calls) == 0  # constructing sends nothing
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    client.generate_content("one")
    client.generate_content("two")
    app_calls = [c for c in rsps.calls if c.request.url.endswith("/app")]
    assert len(app_calls) == 1
    for call in generate_calls(rsps):
        assert decode_form(call.request.body)["at"] == TOKEN
        query = parse_qs(urlsplit(call.request.url).query)
        assert query["bl"] == ["boq_test_bl"] and query["f.sid"] == ["-4242"]
        assert query["rt"] == ["c"] and query["hl"] == ["en"]


def test_init_bootstraps_eagerly(rsps: Any, client: GeminiClient) -> None:
    client.init()
    assert [c.request.url for c in rsps.calls] == [BASE + "/app"]
    assert "__Secure-1PSID=" + PSID in rsps.calls[0].request.headers["Cookie"]


def test_missing_token_is_an_auth_error_with_a_hint(client: GeminiClient) -> None:
    with responses.RequestsMock() as mock:
        mock.get(BASE + "/app", body=render_app_page(None))
        with pytest.raises(errors.AuthError) as info:
            client.generate_content("hi")
    message = str(info.value)
    assert "cookies" in message and "__Secure-1PSID" in message
    assert PSID not in message


@pytest.mark.parametrize("status", [401, 403])
def test_refused_app_page_is_an_auth_error(client: GeminiClient, status: int) -> None:
    with responses.RequestsMock() as mock:
        mock.get(BASE + "/app", status=status)
        with pytest.raises(errors.AuthError, match="fresh"):
            client.init()


def test_request_shape(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    client.generate_content("What is 2+2?", model=Model.G_3_FLASH, gem="gem-123", temporary=True)
    request = generate_calls(rsps)[0].request
    headers = request.headers
    assert headers["Content-Type"] == "application/x-www-form-urlencoded;charset=utf-8"
    assert headers["X-Same-Domain"] == "1"
    assert headers["x-goog-ext-525001261-jspb"] == Model.G_3_FLASH.header_value
    assert headers["x-goog-ext-73010989-jspb"] == "[0]"
    form = decode_form(request.body)
    outer = json.loads(form["f.req"])
    assert outer[0] is None and isinstance(outer[1], str)
    inner = json.loads(outer[1])
    assert len(inner) == 69
    assert inner[0][0] == "What is 2+2?"
    assert inner[19] == "gem-123" and inner[45] == 1
    request_uuid = json.loads(headers["x-goog-ext-525005358-jspb"])[0]
    assert inner[59] == request_uuid == request_uuid.upper()


def test_unspecified_model_sends_no_model_headers(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    client.generate_content("hi")
    headers = generate_calls(rsps)[0].request.headers
    assert "x-goog-ext-525001261-jspb" not in headers
    assert "x-goog-ext-73010989-jspb" not in headers


def test_model_by_name_and_custom(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    client.generate_content("hi", model="gemini-2.5-flash")
    custom = Model.custom("next-model", '[1,null,null,null,"abcdef0123456789"]')
    client.generate_content("hi", model=custom)
    first, second = (c.request.headers["x-goog-ext-525001261-jspb"] for c in generate_calls(rsps))
    assert first == Model.G_2_5_FLASH.header_value
    assert second == '[1,null,null,null,"abcdef0123456789"]'
    # a name this release does not know is looked up in the account's model list (given here)
    client._catalogue.update(parse_account(build_account(1000, [])))
    with pytest.raises(ValueError, match="gemini-3-flash"):
        client.stream("hi", model="gemini-9-ultra")


@pytest.mark.parametrize("prompt", ["", "   ", None, 42, b"bytes"])
def test_bad_prompt_is_a_value_error_before_any_io(rsps: Any, client: GeminiClient, prompt: Any) -> None:
    with pytest.raises(ValueError):
        client.stream(prompt)
    with pytest.raises(ValueError):
        client.generate_content(prompt)
    assert len(rsps.calls) == 0


def test_stream_deltas_join_to_collected_text(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    stream = client.stream("hi")
    chunks = list(stream)
    assert "".join(c.delta_text for c in chunks) == FINAL == stream.collect().text
    assert [c.is_final for c in chunks].count(True) == 1 and chunks[-1].is_final
    statuses = [None, *(c.status for c in chunks)]
    assert all(
        c.delta_text or c.delta_thoughts or c.new_images or c.status != statuses[i]
        for i, c in enumerate(chunks[:-1])
    )
    output = stream.collect()
    assert output.metadata[:3] == ["c_1111111111111111", "r_2222222222222222", "rc_3333333333333333"]
    assert output.metadata[9] == "ctx-token"


def test_collect_after_partial_consumption_returns_whole_answer(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    stream = client.stream("hi")
    first = next(iter(stream))
    assert first.text == "Hello"
    assert stream.collect().text == FINAL


def test_iterating_twice_is_an_error(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    stream = client.stream("hi")
    list(stream)
    with pytest.raises(RuntimeError, match="already iterated"):
        iter(stream)


def test_leaving_with_block_closes_the_response(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    with client.stream("hi") as stream:
        for _chunk in stream:
            break
        response = stream._reader.attempt.response  # type: ignore[union-attr]
    assert response.raw.closed
    with pytest.raises(RuntimeError):
        stream.collect()


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [
        (1037, errors.UsageLimitExceeded),
        (1050, errors.ModelInvalid),
        (1052, errors.ModelInvalid),
        (1060, errors.TemporarilyBlocked),
    ],
)
def test_error_codes_map_to_types_and_are_not_retried(
    rsps: Any, client: GeminiClient, code: int, exc_type: type[Exception]
) -> None:
    rsps.post(GEN_URL, body=error_body(code))
    with pytest.raises(exc_type) as info:
        client.generate_content("hi")
    assert info.value.code == code  # type: ignore[attr-defined]
    assert len(generate_calls(rsps)) == 1


def test_transient_1013_is_retried(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=error_body(1013))
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    assert client.generate_content("hi").text == FINAL
    assert len(generate_calls(rsps)) == 2
    assert len(client.sleeps) == 1  # type: ignore[attr-defined]


def test_429_honours_retry_after(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, status=429, headers={"Retry-After": "7"}, body="<html>Sorry</html>")
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    assert client.generate_content("hi").text == FINAL
    assert client.sleeps == [7.0]  # type: ignore[attr-defined]


def test_5xx_retries_are_bounded_and_counted(rsps: Any, client: GeminiClient) -> None:
    for _ in range(5):
        rsps.post(GEN_URL, status=503)
    with pytest.raises(errors.APIError, match="after 4 attempts") as info:
        client.generate_content("hi")
    assert info.value.status_code == 503
    assert len(generate_calls(rsps)) == 4  # 1 + max_retries(3)


def test_400_reads_the_page_again_once_and_is_not_retried_further(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, status=400)
    with pytest.raises(errors.APIError) as info:
        client.generate_content("hi")
    assert info.value.status_code == 400
    assert len(generate_calls(rsps)) == 2  # a stale token is refreshed once; then it is the answer


def test_error_after_content_carries_partial_and_is_not_retried(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=error_body(1013, before=["Hello", "Hello, wor"]))
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    received = []
    with pytest.raises(errors.APIError) as info:
        for chunk in client.stream("hi"):
            received.append(chunk.delta_text)
    assert info.value.partial is not None
    assert info.value.partial.text == "".join(received) == "Hello, wor"
    assert len(generate_calls(rsps)) == 1


def test_truncated_body_is_stream_interrupted_with_partial(rsps: Any, client: GeminiClient) -> None:
    body = answer_body(SNAPSHOTS)
    cut = body.index(b"Hello, world")  # inside the last data frame
    rsps.post(GEN_URL, body=body[:cut])
    with pytest.raises(errors.StreamInterrupted) as info:
        client.generate_content("hi", recover=False)
    assert info.value.partial is not None and FINAL.startswith(info.value.partial.text)


def test_html_instead_of_frames_is_a_protocol_error(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body="<!doctype html><html>Sorry...</html>")
    with pytest.raises(errors.ProtocolError, match="HTML"):
        client.generate_content("hi")


def test_chat_carries_metadata_and_a_failed_turn_changes_nothing(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    rsps.post(GEN_URL, body=error_body(1037))
    rsps.post(GEN_URL, body=answer_body(["Second"], rid="r_5555555555555555", rcid="rc_666"))
    chat = client.start_chat()
    chat.send_message("first")
    after_first = chat.metadata
    assert (chat.cid, chat.rid, chat.rcid) == (
        "c_1111111111111111",
        "r_2222222222222222",
        "rc_3333333333333333",
    )
    with pytest.raises(errors.UsageLimitExceeded):
        chat.send_message("fails")
    assert chat.metadata == after_first
    chat.send_message("second")
    sent = [json.loads(json.loads(decode_form(c.request.body)["f.req"])[1]) for c in generate_calls(rsps)]
    assert sent[0][2][0] == ""  # new chat
    assert sent[2][2][:3] == after_first[:3] and sent[2][2][9] == "ctx-token"
    assert chat.rid == "r_5555555555555555"


def test_secrets_never_in_reprs_errors_or_logs(
    rsps: Any, client: GeminiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gemini_sync")
    rsps.post(GEN_URL, status=401)
    with pytest.raises(errors.AuthError) as info:
        client.generate_content("hi")
    texts = [repr(client), str(info.value), repr(info.value), caplog.text, repr(client._transport)]
    for text in texts:
        for secret in (PSID, PSIDTS, TOKEN):
            assert secret not in text


def test_no_cookie_is_an_auth_error_listing_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_SECURE_1PSID", raising=False)
    with pytest.raises(errors.AuthError, match="GEMINI_SECURE_1PSID"):
        GeminiClient(base_url=BASE)


def test_env_cookies_are_used(monkeypatch: pytest.MonkeyPatch, rsps: Any) -> None:
    monkeypatch.setenv("GEMINI_SECURE_1PSID", "env-psid-value")
    monkeypatch.setenv("GEMINI_SECURE_1PSIDTS", "env-psidts-value")
    with GeminiClient(base_url=BASE) as c:
        c.init()
    cookie = rsps.calls[0].request.headers["Cookie"]
    assert "__Secure-1PSID=env-psid-value" in cookie and "__Secure-1PSIDTS=env-psidts-value" in cookie


GOOGLE = "https://gemini.google.com"


def test_real_service_endpoints_and_cookie_scoping(tmp_path: Any) -> None:
    """Without base_url every call goes to the service's own hosts, cookies only where they belong."""
    from gemini_sync.types.images import GeneratedImage, WebImage

    with responses.RequestsMock() as mock:
        mock.get(GOOGLE + "/app", body=render_app_page(AppTokens(TOKEN, "bl", "-1")))
        mock.post("https://content-push.googleapis.com/upload", body="/contrib_service/ttl_1d/abc")
        mock.post(GOOGLE + GENERATE_PATH, body=answer_body(SNAPSHOTS))
        mock.get("https://lh3.googleusercontent.com/gen", body=b"\x89PNG", content_type="image/png")
        mock.get("https://blogger.googleusercontent.com/web", body=b"\x89PNG", content_type="image/png")
        mock.get("https://example.com/pic", body=b"\x89PNG", content_type="image/png")
        with GeminiClient(PSID, PSIDTS, auto_refresh=False, cookie_cache=False) as client:
            assert client.generate_content("hi", files=[("a.txt", b"x")]).text == FINAL
            GeneratedImage("https://lh3.googleusercontent.com/gen").attach(client).save(tmp_path, "g")
            WebImage("https://blogger.googleusercontent.com/web").attach(client).save(tmp_path, "w")
            WebImage("https://example.com/pic").attach(client).save(tmp_path, "e")
        cookies = {
            urlsplit(c.request.url).hostname + urlsplit(c.request.url).path: c.request.headers.get(
                "Cookie", ""
            )
            for c in mock.calls
        }
    assert PSID in cookies["gemini.google.com/app"]
    assert PSID in cookies["gemini.google.com" + GENERATE_PATH]
    assert PSID in cookies["content-push.googleapis.com/upload"]  # PROTOCOL.md 9: the same cookies
    assert PSID in cookies["lh3.googleusercontent.com/gen"]  # a generated image is the account's
    assert cookies["blogger.googleusercontent.com/web"] == ""  # a web image is a public page's
    assert cookies["example.com/pic"] == ""


@pytest.mark.parametrize("chat", ["c_abc", b"c_abc", 42])
def test_chat_metadata_of_the_wrong_type_is_refused_at_the_call(client: GeminiClient, chat: Any) -> None:
    with pytest.raises(TypeError, match="cid="):
        client.stream("hi", chat=chat)


def test_short_chat_metadata_is_padded_to_ten_slots(rsps: Any, client: GeminiClient) -> None:
    rsps.post(GEN_URL, body=answer_body(SNAPSHOTS))
    client.generate_content("hi", chat=["c_1111111111111111"])
    inner = json.loads(json.loads(decode_form(generate_calls(rsps)[0].request.body)["f.req"])[1])
    assert inner[2] == ["c_1111111111111111", "", "", None, None, None, None, None, None, ""]


@pytest.mark.parametrize("value", ["5", 0, -1, True])
def test_bad_durations_are_clear_value_errors(value: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        GeminiClient(PSID, base_url=BASE, timeout=value, cookie_cache=False)


def test_a_file_gone_before_the_upload_is_an_upload_error(
    rsps: Any, client: GeminiClient, tmp_path: Any
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    stream = client.stream("hi", files=[path])  # checked here: it exists
    path.unlink()  # ...and gone when the stream is read
    with pytest.raises(errors.UploadError, match=r"notes\.txt") as info:
        stream.collect()
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert generate_calls(rsps) == []
