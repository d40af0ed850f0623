"""Generated video and music on the wire (docs/protocol.md 12): tool ids, fields 59 and 86.

A tool is chosen by its id in ``inner[49]``: 11 video (Veo), 21 music
(Lyria), 14 "Create images". The media arrive in the rich block ``C[12]``:
video in field 59 (sparse key ``"60"``), whose ``[0][0][0]`` is the info
block with ``info[0][7] = [thumbnail_url, video_url]``; music in field 86
(key ``"87"``): ``[0]`` the mp3 entry and ``[1]`` the mp4 entry (the track
with its cover art), each with ``entry[1][7] = [thumbnail_url, url]``.

Tolerance: those paths come from working client code, not from captures,
so when the documented path holds no URL the field is searched for the
first ``[thumbnail_url, url]`` pair of http(s) URLs instead. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..types.media import GeneratedAudio, GeneratedVideo
from .jspb import as_list, dig

__all__ = [
    "TOOLS",
    "tool_slots",
    "RawMedia",
    "parse_media",
    "public_media",
    "VIDEO_FIELD",
    "MUSIC_FIELD",
]

#: the tool ids of ``inner[49]``, by the names ``client.stream(tool=...)`` takes
TOOLS = {"video": 11, "music": 21, "image": 14}


def tool_slots(tool: str | None) -> dict[int, Any] | None:
    """The inner slots of a tool (``inner[49]``, docs/protocol.md), or ``None`` without one."""
    if tool is None:
        return None
    number = TOOLS.get(tool) if isinstance(tool, str) else None
    if number is None:
        raise ValueError(f"tool must be one of {', '.join(map(repr, TOOLS))} or None, not {tool!r}")
    return {49: number}


VIDEO_FIELD = 59
MUSIC_FIELD = 86
_SEARCH_DEPTH = 8


@dataclass(frozen=True, slots=True)
class RawMedia:
    """A generated file as read from a candidate: ``kind`` is "video", "mp3" or "mp4"."""

    kind: str
    url: str
    thumbnail_url: str = ""


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _pair(value: Any) -> tuple[str, str] | None:
    """``[thumbnail_url, url]`` (the thumbnail may be empty)."""
    if type(value) is list and len(value) >= 2 and _is_url(value[1]):
        thumb = value[0] if isinstance(value[0], str) else ""
        return thumb, value[1]
    return None


def _search(value: Any, depth: int = 0) -> tuple[str, str] | None:
    """The first ``[url, url]`` pair anywhere in ``value`` (the tolerant reading)."""
    if type(value) is dict:
        value = list(value.values())
    if type(value) is not list or depth > _SEARCH_DEPTH:
        return None
    if len(value) >= 2 and _is_url(value[0]) and _is_url(value[1]):
        return value[0], value[1]
    for item in value:
        found = _search(item, depth + 1)
        if found is not None:
            return found
    return None


def parse_media(cand: Any) -> list[RawMedia]:
    """The videos and music tracks of a candidate, in that order (empty when there are none)."""
    rich = dig(cand, 12)
    if type(rich) is not list:
        return []
    found: list[RawMedia] = []
    video = dig(rich, VIDEO_FIELD)
    if video is not None:
        pair = _pair(dig(video, 0, 0, 0, 0, 7)) or _search(video)
        if pair is not None:
            found.append(RawMedia("video", pair[1], pair[0]))
    music = dig(rich, MUSIC_FIELD)
    if music is not None:
        entries = as_list(music)
        for kind, entry in zip(("mp3", "mp4"), entries, strict=False):
            pair = _pair(dig(entry, 1, 7))
            if pair is not None:
                found.append(RawMedia(kind, pair[1], pair[0]))
        if not any(m.kind != "video" for m in found):
            pair = _search(music)
            if pair is not None:
                found.append(RawMedia("mp3", pair[1], pair[0]))
    return found


def public_media(media: list[RawMedia], saver: Any) -> tuple[list[GeneratedVideo], list[GeneratedAudio]]:
    """The public videos and audio of ``media``, attached to ``saver`` (the client) for ``save()``."""
    videos = [GeneratedVideo(m.url, m.thumbnail_url).attach(saver) for m in media if m.kind == "video"]
    audio = [GeneratedAudio(m.url, m.thumbnail_url, m.kind).attach(saver) for m in media if m.kind != "video"]
    return videos, audio


# --- encoders (used by the emulator) -------------------------------------------
