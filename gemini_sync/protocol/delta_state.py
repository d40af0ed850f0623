"""The per-candidate state of a stream being assembled: what each text field already showed.

:class:`FieldState` applies the flicker-safe rule to one text field (answer or
thoughts); :class:`CandidateState` holds one candidate's fields, images and
extras; :class:`~.delta.StreamAssembler` drives them (docs/protocol.md 5.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ..types.images import GeneratedImage, ImageView, WebImage
from ..types.output import Candidate, Citation
from .payload import CandidateSnapshot
from .text import clean, final_end, final_text, volatile_start

if TYPE_CHECKING:
    from ..types.media import GeneratedAudio, GeneratedVideo

__all__ = ["FieldState", "CandidateState", "image_view", "NO_IMAGES"]

_I = TypeVar("_I", bound=WebImage)

NO_IMAGES: ImageView[Any] = ImageView(())  # immutable, so one empty view can serve every chunk


def image_view(images: list[_I]) -> ImageView[_I]:
    """A view of the images so far (O(1)); the shared empty one when there are none."""
    return ImageView(images) if images else NO_IMAGES


class FieldState:
    """Delivered text of one field (text or thoughts) of one candidate.

    ``source[:stable]`` is the raw prefix whose cleaned form is ``emitted``;
    ``source`` is the snapshot it was cut from, so the prefix is kept without
    a copy of it. When a new snapshot extends it (the usual case), only the
    new part is examined and cleaned: the cumulative text is not re-processed
    for every frame. While clean-up has changed nothing (``verbatim``),
    ``emitted`` is a slice of the snapshot, the snapshot itself when nothing is
    held back: no second copy of the text is built.
    """

    __slots__ = ("diverged", "emitted", "source", "stable", "verbatim")

    def __init__(self) -> None:
        self.emitted = ""
        self.source = ""
        self.stable = 0
        self.diverged = False
        self.verbatim = True  # emitted == source[:stable]

    def _extends(self, raw: str) -> bool:
        """Whether ``raw`` starts with the stable raw prefix (no copy when it extends the whole snapshot)."""
        source = self.source
        if raw.startswith(source):
            return True
        return raw.startswith(source[: self.stable])  # a held-back tail was taken back

    def advance_raw(self, raw: str, done: bool) -> str:
        """Take a raw snapshot (``done``: the final one); return the new stable text."""
        if self.diverged:
            return ""
        if raw.startswith(self.source) or self._extends(raw):  # the usual case first, without a call
            # the raw text before ``prev`` is stable: only what follows is examined and cleaned
            prev = self.stable
            cut = final_end(raw) if done else volatile_start(raw, prev)
            self.source = raw
            if cut == prev:
                return ""
            piece_raw = raw[prev:cut]
            piece = clean(piece_raw)
            self.stable = cut
            if self.verbatim and piece is piece_raw:
                self.emitted = raw[:cut]  # ``raw`` itself when nothing is held back
            else:
                self.verbatim = False
                self.emitted += piece
            return piece
        # the raw text changed before the point already streamed: compare cleaned texts
        cut = final_end(raw) if done else volatile_start(raw)
        stable = clean(raw[:cut])
        delta = self.advance(stable)
        if delta:
            self.source, self.stable = raw, cut
        return delta

    def advance(self, stable: str) -> str:
        emitted = self.emitted
        if self.diverged or len(stable) <= len(emitted):
            if not self.diverged and not emitted.startswith(stable):
                self.diverged = True
            return ""
        if not stable.startswith(emitted):
            self.diverged = True
            return ""
        self.emitted = stable
        self.verbatim = False
        return stable[len(emitted) :]

    def show(self, raw: str, done: bool) -> bool:
        """Follow ``raw`` wherever it goes (a candidate that is not streamed); whether the text changed."""
        if self.advance_raw(raw, done):
            return True
        if not self.diverged:
            return False
        before = self.emitted
        cut = final_end(raw) if done else volatile_start(raw)
        self.source, self.stable = raw, cut
        self.emitted = clean(raw[:cut])
        self.verbatim = False
        self.diverged = False
        return self.emitted != before

    def finish(self, final: str) -> str | None:
        """Release the rest of ``final``; ``None`` if it contradicts what was emitted."""
        emitted = self.emitted
        if not final.startswith(emitted):
            return None
        self.emitted = final
        self.verbatim = False
        return final[len(emitted) :]


class CandidateState:
    """What is known of one candidate; ``web``/``generated`` only ever grow or are replaced whole."""

    __slots__ = (
        "audio",
        "citations",
        "done",
        "generated",
        "has_status",
        "index",
        "raw_text",
        "raw_thoughts",
        "rcid",
        "text",
        "thoughts",
        "videos",
        "web",
    )

    def __init__(self, rcid: str, index: int) -> None:
        self.rcid = rcid
        self.index = index
        self.raw_text = ""
        self.raw_thoughts = ""
        self.done = False
        self.has_status = False  # whether any snapshot carried the completion field
        self.text = FieldState()
        self.thoughts = FieldState()
        self.web: list[WebImage] = []
        self.generated: list[GeneratedImage] = []
        self.citations: list[Citation] = []
        self.videos: list[GeneratedVideo] = []
        self.audio: list[GeneratedAudio] = []

    def take_extras(self, snap: CandidateSnapshot, saver: Any) -> None:
        """Keep the sources and media of the latest snapshot that has any (a later one may omit them)."""
        if snap.citations:
            self.citations = [Citation(c.number, c.url, c.title, c.snippet) for c in snap.citations]
        if snap.media:
            from .generated_media import public_media  # loaded with the first media (payload.py)

            self.videos, self.audio = public_media(snap.media, saver)

    def public(self, final: bool = False) -> Candidate:
        """A new :class:`Candidate` of the current state (images as views: O(1))."""
        if final:
            text, thoughts = final_text(self.raw_text), final_text(self.raw_thoughts)
        else:
            text, thoughts = self.text.emitted, self.thoughts.emitted
        web, generated = self.web, self.generated
        citations, videos, audio = self.citations, self.videos, self.audio
        # image_view inline, and a new empty list where there is nothing to copy (this runs for every chunk)
        return Candidate(
            self.rcid,
            text,
            thoughts,
            ImageView(web) if web else NO_IMAGES,
            ImageView(generated) if generated else NO_IMAGES,
            list(citations) if citations else [],
            list(videos) if videos else [],
            list(audio) if audio else [],
        )
