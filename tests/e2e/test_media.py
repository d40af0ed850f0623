"""Generated video and music (PROTOCOL-2026 section 4): jobs followed in the history, never sent twice.

The emulator renders on a scaled clock (a tenth of a second) and the clients
poll every 10 ms, so no test waits for seconds.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.errors import (
    APIError,
    GeminiError,
    RateLimited,
    StreamInterrupted,
    TimeoutError,
    UsageLimitExceeded,
)
from gemini_sync.protocol.generated_media import parse_media
from gemini_sync.protocol.service import build_candidate, build_music_field, build_video_field
from gemini_sync.types.media import GeneratedAudio, GeneratedVideo
from gemini_sync.types.output import ModelOutput
from tests._wire import make_client

POLL = 0.01
READ_CHAT = "hNvQHb"


@pytest.fixture
def media_emu(emu: Emulator) -> Emulator:
    emu.media.render_time = 0.1
    emu.media.file_delay = 0.05
    return emu


@pytest.fixture
def mclient(media_emu: Emulator) -> Iterator[GeminiClient]:
    with make_client(media_emu) as c:
        c.poll_interval = POLL
        yield c


def _media_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.generate_requests if r.inner is not None and r.inner[49:50] in ([11], [21], [14])]


def test_a_queued_video_job_is_followed_to_completion_without_a_second_request(
    media_emu: Emulator, mclient: GeminiClient
) -> None:
    output = mclient.generate_content("A fox running through snow", tool="video")
    (video,) = output.videos
    assert video.url.endswith(".mp4") and video.thumbnail_url.startswith("http")
    assert output.audio == [] and "is ready" in output.text
    (request,) = media_emu.generate_requests
    assert request.inner is not None and request.inner[49] == 11 and len(request.inner) >= 80
    assert media_emu.media.started == [("video", output.cid)]
    assert any(READ_CHAT in r.rpcids for r in media_emu.requests if r.calls is not None)


def test_music_gives_the_mp3_and_the_mp4(media_emu: Emulator, mclient: GeminiClient) -> None:
    output = mclient.generate_content("A calm piano tune", tool="music")
    assert [a.format for a in output.audio] == ["mp3", "mp4"]
    assert output.videos == [] and all(a.thumbnail_url for a in output.audio)
    assert _media_requests(media_emu)[0].inner[49] == 21


def test_save_waits_across_206_then_writes_the_file(
    media_emu: Emulator, mclient: GeminiClient, tmp_path: pathlib.Path
) -> None:
    media_emu.media.file_delay = 0.15
    output = mclient.generate_content("A fox", tool="video")
    path = output.videos[0].save(tmp_path, timeout=10)
    statuses = [r.status for r in media_emu.requests if r.path.startswith("/media/")]
    assert statuses[0] == 206 and statuses[-1] == 200 and set(statuses[:-1]) == {206}
    data = path.read_bytes()
    assert data[4:12] == b"ftypisom" and path.suffix == ".mp4" and path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    with pytest.raises(FileExistsError):
        output.videos[0].save(tmp_path)
    assert output.videos[0].save(tmp_path, overwrite=True) == path
    audio = mclient.generate_content("A tune", tool="music").audio[0].save(tmp_path, filename="tune.mp3")
    assert audio.name == "tune.mp3" and audio.read_bytes().startswith(b"ID3")


def test_save_refuses_a_name_outside_the_directory_before_any_request(
    media_emu: Emulator, mclient: GeminiClient, tmp_path: pathlib.Path
) -> None:
    video = mclient.generate_content("A fox", tool="video").videos[0]
    before = len(media_emu.requests)
    with pytest.raises(ValueError):
        video.save(tmp_path, filename="../escape.mp4")
    assert len(media_emu.requests) == before


def test_save_gives_up_while_still_rendering(
    media_emu: Emulator, mclient: GeminiClient, tmp_path: pathlib.Path
) -> None:
    media_emu.media.file_delay = 60.0
    video = mclient.generate_content("A fox", tool="video").videos[0]
    with pytest.raises(TimeoutError, match="still rendering"):
        video.save(tmp_path, timeout=0.05)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"status": 500}, APIError),
        ({"status": 429, "headers": {"Retry-After": "0"}}, RateLimited),
        ({"code": 1013}, APIError),
        ({"disconnect_after_bytes": 100}, StreamInterrupted),  # before any cid: nothing to follow
        ({"disconnect_after_bytes": 400}, "video"),  # cut after the ids: followed in the history
        ({"queue": 2}, "video"),
    ],
    ids=["http500", "http429", "code1013", "cut-early", "cut", "queued"],
)
def test_no_duplicate_job_on_any_fault(
    media_emu: Emulator, mclient: GeminiClient, fault: dict[str, Any], outcome: Any
) -> None:
    media_emu.fail_next(**fault)
    if outcome == "video":
        assert len(mclient.generate_content("A fox", tool="video").videos) == 1
    else:
        with pytest.raises(outcome):
            mclient.generate_content("A fox", tool="video")
    assert len(media_emu.generate_requests) == 1  # an ordinary request would have been retried
    assert len(media_emu.media.started) <= 1


def test_an_ordinary_request_is_still_retried(media_emu: Emulator, mclient: GeminiClient) -> None:
    media_emu.fail_next(status=500)
    assert mclient.generate_content("Hello").text
    assert len(media_emu.generate_requests) == 2


def test_refusal_quota_and_failed_job(media_emu: Emulator, mclient: GeminiClient) -> None:
    media_emu.media.available = False
    refused = mclient.generate_content("A fox", tool="video")
    assert refused.videos == [] and "can't create" in refused.text
    media_emu.media.available = True
    media_emu.fail_next(code=1037)
    with pytest.raises(UsageLimitExceeded):
        mclient.generate_content("A fox", tool="video")
    media_emu.media.fail = True
    failed = mclient.generate_content("A fox", tool="video")
    assert failed.videos == [] and "couldn't" in failed.text
    assert len(media_emu.generate_requests) == 3


def test_chat_tool_and_the_history(
    media_emu: Emulator, mclient: GeminiClient, tmp_path: pathlib.Path
) -> None:
    chat = mclient.start_chat()
    output = chat.send_message("A fox", tool="video")
    assert output.videos and chat.cid == output.cid
    (turn,) = mclient.read_chat(chat.cid)
    assert turn.candidates[0].videos == output.videos
    assert turn.candidates[0].videos[0].save(tmp_path).stat().st_size > 0


def test_tool_image_and_a_bad_tool(emu: Emulator, client: GeminiClient) -> None:
    output = client.generate_content("A cat on a sofa", tool="image")
    assert emu.generate_requests[-1].inner[49] == 14
    assert len(output.generated_images) == 1
    with pytest.raises(ValueError, match="tool"):
        client.stream("A fox", tool="opera")
    assert len(emu.generate_requests) == 1


def test_media_json_round_trip_and_detached_save(media_emu: Emulator, mclient: GeminiClient) -> None:
    output = mclient.generate_content("A tune", tool="music")
    again = ModelOutput.from_json(output.to_json())
    assert again.audio == output.audio and isinstance(again.audio[0], GeneratedAudio)
    with pytest.raises(GeminiError, match="attach"):
        again.audio[0].save(".")
    video = GeneratedVideo("https://v.example/a.mp4", "https://v.example/a.png")
    assert GeneratedVideo.from_json(video.to_json()) == video


# --- parsing (pure) ------------------------------------------------------------------


def _with_rich(rich: list[Any]) -> list[Any]:
    cand = build_candidate("rc", "x", done=True)
    cand[12] = rich
    return cand


def test_media_fields_dense_sparse_and_tolerant() -> None:
    video = build_video_field("https://v.example/a.mp4", "https://v.example/a.png")
    sparse = parse_media(_with_rich([None] * 8 + [{"60": video}]))
    dense = parse_media(_with_rich([None] * 59 + [video]))
    assert sparse == dense and sparse[0].url == "https://v.example/a.mp4"
    music = build_music_field("https://m.example/a.mp3", "https://m.example/a.mp4", "https://m.example/c.png")
    assert [m.kind for m in parse_media(_with_rich([None, {"87": music}]))] == ["mp3", "mp4"]
    # another nesting of the same pair is still found
    odd = [[["https://v.example/t.png", "https://v.example/b.mp4"]]]
    assert parse_media(_with_rich([None, {"60": odd}]))[0].url == "https://v.example/b.mp4"
    for rich in (None, [], [None, {"60": "junk"}], [None, {"87": [[None, None]]}]):
        assert parse_media(_with_rich(rich)) == []  # type: ignore[arg-type]
