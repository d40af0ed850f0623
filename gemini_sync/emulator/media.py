"""Video and music jobs in the emulator (docs/protocol.md 12), on a scaled-down clock.

A StreamGenerate request with ``inner[49]`` 11 (video) or 21 (music) starts
a job as soon as it is accepted. Its stream ends quickly without completion
(a "queued" answer followed by status frames), as the service's does. The
job is saved as a turn rendered whenever the history is read: after
``render_time`` seconds it is complete and carries the media (field 59 for
video, field 86 for music), or, with ``fail``, a complete apology without
any. The file's URL answers 206 (still rendering) for ``file_delay`` more
seconds, then 200 with small but real MP4/MP3 bytes. ``available=False``
refuses with a complete text and no job, as an ineligible plan does; quota
errors are injected with ``fail_next(code=1037)``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.service import (
    build_candidate,
    build_music_field,
    build_payload,
    build_video_field,
    data_envelope,
    error_envelope,
)
from .state import Turn

if TYPE_CHECKING:
    from .desk import Reply
    from .faults import Fault
    from .state import Conversation
    from .wire import BodyWriter

__all__ = ["MediaDesk", "MediaFile", "stream_media", "handle_media", "MEDIA_PREFIX", "MEDIA_TOOLS"]

MEDIA_PREFIX = "/media/"
MEDIA_TOOLS = {11: "video", 21: "music"}
_QUEUE_FRAMES = 2
_RICH_SLOTS = 8
_NOUN = {"video": "video", "music": "track"}


@dataclass(frozen=True)
class MediaFile:
    """A file the emulator serves under ``/media/``: 206 until ``ready_at`` (monotonic), then 200."""

    content_type: str
    data: bytes
    ready_at: float


@dataclass
class MediaDesk:
    """The emulator's video and music tools: timing, failure modes and the jobs started.

    ``render_time`` is the seconds from the request until the job lands in
    the history (the service takes minutes); ``file_delay`` the seconds its
    file then still answers 206. ``started`` lists ``(kind, cid)`` of every
    job started, so a test can see that none was started twice.
    """

    render_time: float = 2.0
    file_delay: float = 0.5
    available: bool = True
    fail: bool = False
    started: list[tuple[str, str]] = field(default_factory=list)
    _files: dict[str, MediaFile] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_file(self, content_type: str, data: bytes, ready_at: float, extension: str) -> str:
        key = secrets.token_hex(8) + extension
        with self._lock:
            self._files[key] = MediaFile(content_type, data, ready_at)
        return key

    def file(self, key: str) -> MediaFile | None:
        with self._lock:
            return self._files.get(key)


def make_mp4(seed: str) -> bytes:
    """A tiny ISO base media file: an ``ftyp`` box and an ``mdat`` box."""
    ftyp = b"ftyp" + b"isom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41"
    payload = seed.encode()[:32].ljust(32, b"\0")
    return (
        (8 + len(ftyp) - 4).to_bytes(4, "big")
        + ftyp
        + (8 + len(payload)).to_bytes(4, "big")
        + b"mdat"
        + payload
    )


def make_mp3(seed: str) -> bytes:
    """An ID3v2 tag and one silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz: 417 bytes)."""
    frame = b"\xff\xfb\x90\x64" + seed.encode()[:16].ljust(413, b"\0")
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame


class _Job:
    """One video or music job: renders its turn's candidate for the time elapsed."""

    def __init__(self, ex: Reply, desk: MediaDesk, kind: str, rcid: str, prompt: str) -> None:
        self.kind = kind
        self.rcid = rcid
        self.done_at = time.monotonic() + desk.render_time
        self.fail = desk.fail
        self.notice = f"I'm generating your {_NOUN[kind]}. This can take a few minutes."
        ready = self.done_at + desk.file_delay
        base = ex.backend.base_url + MEDIA_PREFIX
        thumb = ex.backend.store.add_image("generated", f"cover of {prompt[:40]}")
        self.thumbnail = ex.backend.base_url + f"/images/{thumb.key}.png"
        if kind == "video":
            self.urls = [base + desk.add_file("video/mp4", make_mp4(rcid), ready, ".mp4")]
        else:
            self.urls = [
                base + desk.add_file("audio/mpeg", make_mp3(rcid), ready, ".mp3"),
                base + desk.add_file("video/mp4", make_mp4(rcid), ready, ".mp4"),
            ]

    def render(self) -> list[Any]:
        if time.monotonic() < self.done_at:
            return build_candidate(self.rcid, self.notice, done=False)
        if self.fail:
            return build_candidate(
                self.rcid, self.notice + f"\n\nSorry, I couldn't make that {_NOUN[self.kind]}.", done=True
            )
        cand = build_candidate(self.rcid, self.notice + f"\n\nYour {_NOUN[self.kind]} is ready.", done=True)
        if self.kind == "video":
            cand[12] = [None] * _RICH_SLOTS + [{"60": build_video_field(self.urls[0], self.thumbnail)}]
        else:
            cand[12] = [None] * _RICH_SLOTS + [
                {"87": build_music_field(self.urls[0], self.urls[1], self.thumbnail)}
            ]
        return cand


def stream_media(
    ex: Reply, conv: Conversation, prompt: str, model_id: str | None, fault: Fault | None, tool: int
) -> None:
    """Answer a video or music request: start a job and end the stream while it is queued."""
    desk: MediaDesk = ex.backend.media
    kind = MEDIA_TOOLS[tool]
    rid, rcid = "r_" + secrets.token_hex(8), "rc_" + secrets.token_hex(8)
    turn = Turn(prompt, rid, rcid, "", "ctx_" + secrets.token_urlsafe(24), model_id=model_id)
    frames: list[Any]
    if fault is not None and fault.code is not None:
        frames = [[error_envelope(fault.code)]]
    elif not desk.available:
        refusal = build_candidate(
            rcid, f"I can't create a {_NOUN[kind]} for you with your current plan.", done=True
        )
        turn.live = lambda: refusal
        ex.backend.store.add_turn(conv.cid, turn)
        frames = [[data_envelope(build_payload(conv.cid, rid, [refusal]))]]
    else:
        job = _Job(ex, desk, kind, rcid, prompt)
        with desk._lock:
            desk.started.append((kind, conv.cid))
        turn.live = job.render
        ex.backend.store.add_turn(conv.cid, turn)
        frames = [[data_envelope(build_payload(conv.cid, rid, [job.render()]))]]
        frames += [[error_envelope(None)]] * _QUEUE_FRAMES  # "queueing": status frames, no payload

    def write(writer: BodyWriter) -> None:
        writer.frame([data_envelope(build_payload(conv.cid, rid, None))], data=True)
        for frame in frames:
            writer.pause(ex.backend.pace)
            writer.frame(frame, data=frame[0][2] is not None)

    ex.stream_body(write, cut_after=fault.disconnect_after_bytes if fault else None)


def handle_media(ex: Reply) -> None:
    """``GET /media/<key>``: 206 while the file renders, then 200 with its bytes (logged-in cookies only)."""
    media = ex.backend.media.file(ex.record.path[len(MEDIA_PREFIX) :])
    if media is None:
        ex.respond_text(404, "no such file")
        return
    if not ex.logged_in():
        ex.respond_text(403, "this file needs the account's cookies")
        return
    if time.monotonic() < media.ready_at:
        ex.respond(206, b"", content_type=media.content_type)
        return
    ex.respond(200, media.data, content_type=media.content_type)
