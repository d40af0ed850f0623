"""End to end over real sockets: GeminiClient against the bundled emulator."""

from __future__ import annotations

import json
import time

import pytest

from gemini_sync import GeminiClient, Model, errors
from gemini_sync._constants import APP_PATH
from gemini_sync.emulator import Emulator
from tests._wire import make_client


def _check_contracts(chunks: list, final_text: str) -> None:  # type: ignore[type-arg]
    assert "".join(c.delta_text for c in chunks) == final_text
    assert [c.is_final for c in chunks].count(True) == 1 and chunks[-1].is_final
    statuses = [None, *(c.status for c in chunks)]
    assert all(
        c.delta_text or c.delta_thoughts or c.new_images or c.status != statuses[i]
        for i, c in enumerate(chunks[:-1])
    )
    for chunk in chunks:
        assert final_text.startswith(chunk.text)


def test_stream_arrives_piece_by_piece_and_joins_to_collect(emu: Emulator, client: GeminiClient) -> None:
    emu.pace = 0.02
    stream = client.stream("Tell me something")
    arrivals = []
    chunks = []
    for chunk in stream:
        arrivals.append(time.monotonic())
        chunks.append(chunk)
    output = stream.collect()
    assert len(chunks) >= 4
    assert arrivals[-2] - arrivals[0] > 0.04  # frames are delivered as they come, not at the end
    _check_contracts(chunks, output.text)
    assert "Tell me something" in output.text and "😀" in output.text
    assert output.metadata[0].startswith("c_") and output.metadata[1].startswith("r_")
    assert output.metadata[2].startswith("rc_") and output.metadata[9]


def test_generate_content_and_seed_names(client: GeminiClient) -> None:
    output = client.generate_content("Hi")
    chunks = list(client.generate_content_stream("Hi"))
    assert chunks[-1].text == output.text
    assert str(chunks[-1]) == output.text and "is_final=True" in repr(chunks[-1])


def test_thinking_model_streams_thoughts(client: GeminiClient) -> None:
    stream = client.stream("Think about it", model=Model.G_3_FLASH_THINKING)
    chunks = list(stream)
    output = stream.collect()
    assert output.thoughts
    assert "".join(c.delta_thoughts for c in chunks) == output.thoughts
    _check_contracts(chunks, output.text)


def test_flicker_is_never_emitted_then_contradicted(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(flicker=True)
    stream = client.stream("Show me code")
    chunks = list(stream)
    _check_contracts(chunks, stream.collect().text)
    assert "```python" in stream.collect().text


def test_network_chunks_split_inside_characters(emu: Emulator, client: GeminiClient) -> None:
    emu.chunk_size = 7
    stream = client.stream("Unicode please")
    chunks = list(stream)
    output = stream.collect()
    _check_contracts(chunks, output.text)
    assert "日本語" in output.text and "😀" in output.text


def test_early_break_closes_the_connection(emu: Emulator, client: GeminiClient) -> None:
    emu.pace = 0.05
    with client.stream("long answer please") as stream:
        for _chunk in stream:
            break
    assert emu.wait_for_disconnect(timeout=5)


def test_closing_a_stream_without_with_frees_the_socket(emu: Emulator, client: GeminiClient) -> None:
    emu.pace = 0.05
    stream = client.stream("long answer please")
    next(iter(stream))
    stream.close()
    assert emu.wait_for_disconnect(timeout=5)


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [
        (1037, errors.UsageLimitExceeded),
        (1050, errors.ModelInvalid),
        (1052, errors.ModelInvalid),
        (1060, errors.TemporarilyBlocked),
        (1096, errors.APIError),
    ],
)
def test_error_codes_raise_typed_errors_without_retry(
    emu: Emulator, client: GeminiClient, code: int, exc_type: type[errors.APIError]
) -> None:
    emu.fail_next(3, code=code)
    with pytest.raises(exc_type) as info:
        client.generate_content("hi")
    assert info.value.code == code
    assert len(emu.generate_requests) == 1  # only 1013 among codes is transient


def test_1013_is_retried_then_succeeds(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(code=1013)
    assert client.generate_content("hi").text
    assert len(emu.generate_requests) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_retried(emu: Emulator, client: GeminiClient, status: int) -> None:
    emu.fail_next(status=status)
    assert client.generate_content("hi").text
    assert len(emu.generate_requests) == 2


def test_429_with_retry_after_is_retried(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(status=429, headers={"Retry-After": "0"})
    assert client.generate_content("hi").text
    assert len(emu.generate_requests) == 2


def test_429_after_retries_is_rate_limited(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(5, status=429, headers={"Retry-After": "0"})
    with pytest.raises(errors.RateLimited, match="after 3 attempts"):
        client.generate_content("hi")


def test_error_after_content_keeps_partial_and_sends_once(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(code=1013, after_frames=3)
    received = []
    with pytest.raises(errors.APIError) as info:
        for chunk in client.stream("hi", recover=False):
            received.append(chunk.delta_text)
    assert received and info.value.partial is not None
    assert info.value.partial.text == "".join(received)
    assert len(emu.generate_requests) == 1


def test_late_status_after_complete_answer_is_not_an_error(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(late_code=1096)
    assert client.generate_content("hi").text


def test_only_tail_frames_is_a_rejected_request(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(3, only_tail=True)
    with pytest.raises(errors.APIError, match="no data frames"):
        client.generate_content("hi")


def test_html_page_is_a_protocol_error(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(html=True)
    with pytest.raises(errors.ProtocolError, match="HTML"):
        client.generate_content("hi")


def test_bad_frame_length_is_a_protocol_error_with_partial(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(bad_length=True, after_frames=3)
    with pytest.raises(errors.ProtocolError) as info:
        client.generate_content("hi", recover=False)
    assert info.value.partial is not None


def test_stall_raises_timeout_with_partial(emu: Emulator) -> None:
    emu.fail_next(stall=5.0, after_frames=3)
    with GeminiClient(
        cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False, stall_timeout=0.3
    ) as client:
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="stalled") as info:
            client.generate_content("hi", recover=False)
        assert time.monotonic() - started < 3
    assert isinstance(info.value, TimeoutError)
    assert info.value.partial is not None and info.value.partial.text


def test_queueing_phase_then_answer(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(queue=3)
    assert client.generate_content("hi").text


def test_disconnect_before_content_is_retried(emu: Emulator, client: GeminiClient) -> None:
    emu.fail_next(disconnect_after_bytes=3)
    assert client.generate_content("hi").text
    assert len(emu.generate_requests) == 2


def test_disconnect_after_content_is_recovered_from_history(emu: Emulator, client: GeminiClient) -> None:
    full = client.generate_content("recover me").text
    emu.clear_requests()
    emu.fail_next(disconnect_after_bytes=900, finish_server_side=True)
    stream = client.stream("recover me")
    chunks = list(stream)
    _check_contracts(chunks, stream.collect().text)
    assert stream.collect().text == full
    assert len(emu.generate_requests) == 1  # never re-sent


def test_disconnect_after_content_without_recovery_is_interrupted(
    emu: Emulator, client: GeminiClient
) -> None:
    emu.fail_next(disconnect_after_bytes=900)
    received = []
    with pytest.raises(errors.StreamInterrupted) as info:
        for chunk in client.stream("hi", recover=False):
            received.append(chunk.delta_text)
    assert info.value.partial is not None and info.value.partial.text == "".join(received)
    assert len(emu.generate_requests) == 1


def test_a_failed_read_back_says_so_and_names_the_conversation(emu: Emulator, client: GeminiClient) -> None:
    """The turn never finishes in the history: the break's own error, saying where it looked and how long."""
    emu.fail_next(disconnect_after_bytes=900)  # cut after content; the turn is never saved
    with pytest.raises(errors.StreamInterrupted) as info:
        client.generate_content("hi", deadline=1.0)  # the deadline bounds the read-back too
    cid = emu.conversations[0].cid  # most recently updated first: this turn's
    assert f"read back from the history of {cid}: it did not finish there" in str(info.value)
    assert len(emu.generate_requests) == 1  # never re-sent


def test_a_stale_token_reads_the_page_again_once_and_succeeds(emu: Emulator, client: GeminiClient) -> None:
    client.init()
    client._transport._tokens = type(client._transport._tokens)("wrong-token")  # type: ignore[misc,union-attr]
    assert client.generate_content("hi").text.startswith("You said: hi")
    assert [r.status for r in emu.generate_requests] == [400, 200]
    assert len(emu.requests_to(APP_PATH)) == 2  # the first bootstrap and the one refresh


def test_expired_cookies_are_an_auth_error(emu: Emulator) -> None:
    cookies = emu.cookies
    emu.expire_cookies()
    with GeminiClient(cookies=cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False) as client:
        with pytest.raises(errors.AuthError, match="expired"):
            client.generate_content("hi")


def test_unknown_custom_model_is_model_invalid(client: GeminiClient) -> None:
    bogus = Model.custom("bogus", '[1,null,null,null,"0000000000000000",null,null,0,[4]]')
    with pytest.raises(errors.ModelInvalid):
        client.generate_content("hi", model=bogus)


def test_request_recorded_by_emulator_has_the_documented_shape(emu: Emulator, client: GeminiClient) -> None:
    client.generate_content("shape", model=Model.G_3_PRO, temporary=True)
    request = emu.generate_requests[-1]
    assert request.prompt == "shape"
    assert request.headers["x-goog-ext-525001261-jspb"] == Model.G_3_PRO.header_value
    assert request.form["at"] == emu.access_token
    outer = json.loads(request.form["f.req"])
    assert json.loads(outer[1])[45] == 1


def test_an_endless_queueing_phase_is_bounded(emu: Emulator) -> None:
    emu.pace = 0.01
    emu.fail_next(queue=200)  # a status frame without content every 10 ms, for 2 s
    with GeminiClient(
        cookies=emu.cookies,
        base_url=emu.url,
        auto_refresh=False,
        cookie_cache=False,
        stall_timeout=1.0,  # never silent for that long: only the queue bound can stop it
        queue_timeout=0.2,
        max_retries=0,
    ) as client:
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError, match="waiting"):
            client.generate_content("hi")
        assert time.monotonic() - started < 1.5


def test_deadline_bounds_the_bootstrap_too(emu: Emulator) -> None:
    emu.fail_next(path="/app", stall=5.0)
    with make_client(emu, max_retries=3) as client:
        started = time.monotonic()
        with pytest.raises(errors.TimeoutError):
            client.generate_content("hi", deadline=0.5)
        assert time.monotonic() - started < 2.0
