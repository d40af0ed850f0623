"""Helpers shared by tests: build realistic response bodies with the protocol encoders."""

from __future__ import annotations

from typing import Any

from gemini_sync import GeminiClient, RetryPolicy
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.framing import encode_body
from gemini_sync.protocol.service import (
    build_candidate,
    build_payload,
    data_envelope,
    error_envelope,
    tail_frames,
)


def answer_frames(
    snapshots: list[str],
    *,
    cid: str = "c_1111111111111111",
    rid: str = "r_2222222222222222",
    rcid: str = "rc_3333333333333333",
    thoughts: list[str] | None = None,
    context_token: str = "ctx-token",
    done: bool = True,
) -> list[Any]:
    """Frames of a cumulative answer: ids first, then snapshots, the last one done."""
    frames: list[Any] = [[data_envelope(build_payload(cid, rid, None))]]
    for i, text in enumerate(snapshots):
        last = i == len(snapshots) - 1
        cand = build_candidate(
            rcid,
            text,
            thoughts=thoughts[i] if thoughts else None,
            done=done and last,
        )
        payload = build_payload(cid, rid, [cand], context_token=context_token if (last and done) else None)
        frames.append([data_envelope(payload)])
    return frames


def answer_body(snapshots: list[str], **kwargs: Any) -> bytes:
    frames = answer_frames(snapshots, **kwargs)
    return encode_body([*frames, *tail_frames(0)]).encode()


def error_body(code: int, *, before: list[str] | None = None) -> bytes:
    frames = answer_frames(before, done=False) if before else []
    return encode_body([*frames, [error_envelope(code)], *tail_frames(0)]).encode()


def make_client(emu: Emulator, **overrides: Any) -> GeminiClient:
    """A client of the emulator ``emu``: no rotation thread, no cookie cache, quick retries."""
    options: dict[str, Any] = {
        "cookies": emu.cookies,
        "base_url": emu.url,
        "auto_refresh": False,
        "cookie_cache": False,
        "timeout": 10,
        "stall_timeout": 5,
        "retry": RetryPolicy(2, initial=0.01, maximum=0.02),
    }
    if "max_retries" in overrides:  # the quick delays, with that many retries (both at once is a TypeError)
        options["retry"] = RetryPolicy(overrides.pop("max_retries"), initial=0.01, maximum=0.02)
    options.update(overrides)
    return GeminiClient(**options)
