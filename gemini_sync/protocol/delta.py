"""Snapshots -> chunks: the flicker-safe delta rule (docs/protocol.md 5.4).

The service sends cumulative snapshots. :class:`StreamAssembler` keeps, per
candidate, the text already handed to the caller and emits only what extends
it. Each non-final snapshot is cut to its stable part first (see
:mod:`.text`), so a tail the service later takes back is never emitted. If a
stable part ever contradicts what was emitted, nothing more is emitted for
that field; at the end the final text either extends what was emitted (the
rest is released) or the stream fails with
:class:`~gemini_sync.errors.StreamDiverged`, which carries the final answer.
Text is never spliced.

A chunk costs what changed, not what came before: a frame's text is cleaned
from where the last stable cut left off, images are appended to per-stream
lists that chunks see through immutable :class:`~gemini_sync.types.ImageView` s,
and a non-final chunk lists only the candidates that changed since the last one.

It also follows what the service says it is doing (:mod:`.status`): a chunk
is handed out when that status changes, even with no new text, and carries
the status as of that chunk (``None`` once answer text arrives, and on the
final chunk).
"""

from __future__ import annotations

from typing import Any

from ..errors import APIError, StreamDiverged, StreamInterrupted, error_for_code, rejection_error
from ..types.images import GeneratedImage, ImageView, WebImage
from ..types.output import Candidate, ModelOutput, Status, StreamChunk
from .delta_state import NO_IMAGES, CandidateState
from .payload import CandidateSnapshot, EndMarker, Envelope, Payload, RawImage, Rejection, StatusCode
from .request import new_metadata
from .status import QUEUED, THINKING, payload_status
from .text import final_text

__all__ = ["StreamAssembler"]

_CONTEXT_SLOT = 9


class StreamAssembler:
    """Turns the envelopes of one StreamGenerate response into :class:`StreamChunk` s.

    ``saver`` is attached to every image so ``image.save()`` can download it.
    ``feed`` raises the typed error of a status envelope that arrives before
    the answer is complete; ``finish`` builds the final chunk or raises.
    """

    def __init__(self, saver: Any = None) -> None:
        self._saver = saver
        self._cands: dict[str, CandidateState] = {}
        self._chosen: CandidateState | None = None
        self._changed: dict[str, CandidateState] = {}  # candidates changed since the last chunk
        self._image_urls: set[str] = set()
        self._web: list[WebImage] = []  # append-only: chunks hold views of a prefix
        self._generated: list[GeneratedImage] = []
        self._meta: list[Any] = new_metadata()
        self.cid: str | None = None
        self.context_token: str | None = None
        self.data_payloads = 0
        self.delivered = False  # any text, thoughts or image handed out
        self.busy = False
        self.ended = False
        self.late_status: int | None = None
        self.model_name: str | None = None  # E[42]: the model that served the answer
        self.model_id: str | None = None  # E[39]
        self.activity: str | None = None  # the latest thinking headline (E[6][5][0])
        self.status: Status | None = None  # what the service says it is doing (see .status)

    # -- public state -----------------------------------------------------

    @property
    def complete(self) -> bool:
        """The chosen candidate reported completion (``cand[8][0] == 2``)."""
        return self._chosen is not None and self._chosen.done

    @property
    def metadata(self) -> list[Any]:
        return self._meta

    def partial(self) -> ModelOutput:
        """What was delivered so far, as a :class:`ModelOutput`."""
        cands = [c.public() for c in self._ordered()]
        return ModelOutput(
            metadata=list(self._meta), candidates=cands, model_name=self.model_name, model_id=self.model_id
        )

    def final_output(self) -> ModelOutput:
        """The service's final answer for every candidate (processed, nothing held); a new object."""
        cands = [c.public(final=True) for c in self._ordered()]
        return ModelOutput(
            metadata=list(self._meta), candidates=cands, model_name=self.model_name, model_id=self.model_id
        )

    # -- feeding ----------------------------------------------------------

    def feed(self, events: list[Envelope]) -> list[StreamChunk]:
        """Feed the envelopes of one frame; return the chunks they produce."""
        chunks: list[StreamChunk] = []
        for event in events:
            chunk = self.feed_event(event)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def feed_event(self, event: Envelope) -> StreamChunk | None:
        """Feed one envelope; a chunk if it carries something new for the caller."""
        if type(event) is Payload:
            return self._on_payload(event)
        if type(event) is StatusCode:
            return self._on_status(event)
        if type(event) is EndMarker:
            self.ended = True
        elif type(event) is Rejection:
            raise rejection_error(event.code, event.status)
        return None

    def finish(self) -> StreamChunk:
        """The final chunk, releasing every held-back tail; raises if the answer is incomplete."""
        if self.data_payloads == 0:
            if not self.ended:
                raise StreamInterrupted("the response ended before its first data frame")
            raise APIError("the service rejected the request: the response held no data frames")
        chosen = self._chosen
        if (
            chosen is not None
            and not chosen.done
            and not chosen.has_status
            and self.ended
            and self.context_token
        ):
            # a service that never sends the completion field: the end marker and the saved
            # turn's context token tell that the answer is whole (docs/protocol.md 5.4)
            chosen.done = True
        if chosen is None or not chosen.done:
            raise StreamInterrupted(
                "the response ended before the answer was complete"
                + (" (no candidate was received)" if chosen is None else "")
            )
        delta_text = chosen.text.finish(final_text(chosen.raw_text))
        delta_thoughts = chosen.thoughts.finish(final_text(chosen.raw_thoughts))
        if delta_text is None or delta_thoughts is None:
            field = "text" if delta_text is None else "thoughts"
            raise StreamDiverged(
                f"the final {field} contradicts {field} already streamed; "
                "the final answer is in .output, what was streamed in .partial",
                output=self.final_output(),
            )
        cands = [c.public(final=c is not chosen) for c in self._ordered()]
        self._changed.clear()
        self.status = None
        return self._chunk(chosen, delta_text, delta_thoughts, [], cands, final=True)

    def _chunk(
        self,
        chosen: CandidateState,
        delta_text: str,
        delta_thoughts: str,
        new_images: list[WebImage],
        candidates: list[Candidate],
        *,
        final: bool,
    ) -> StreamChunk:
        web, generated = self._web, self._generated
        # positional, in StreamChunk's field order, _view inline: this runs for every chunk
        return StreamChunk(
            chosen.text.emitted,
            delta_text,
            chosen.thoughts.emitted,
            delta_thoughts,
            ImageView(web) if web else NO_IMAGES,
            ImageView(generated) if generated else NO_IMAGES,
            ImageView(new_images) if new_images else NO_IMAGES,
            list(self._meta),
            candidates,
            final,
            self.model_name if final else None,
            self.model_id if final else None,
            self.status,
        )

    def _status_chunk(self) -> StreamChunk:
        """A chunk that only says the status changed (nothing new to read)."""
        chosen = self._chosen
        if chosen is None:
            return StreamChunk(metadata=list(self._meta), status=self.status)
        return self._chunk(chosen, "", "", [], self._changed_candidates(chosen), final=False)

    def _changed_candidates(self, chosen: CandidateState) -> list[Candidate]:
        """The candidates a non-final chunk lists: those changed since the last chunk, the chosen one too."""
        changed = self._changed
        changed[chosen.rcid] = chosen
        if len(changed) == 1:
            cands = [chosen.public()]
        else:
            cands = [c.public() for c in sorted(changed.values(), key=lambda c: c.index)]
        changed.clear()
        return cands

    # -- internals --------------------------------------------------------

    def _ordered(self) -> list[CandidateState]:
        return sorted(self._cands.values(), key=lambda c: c.index)

    def _on_status(self, event: StatusCode) -> StreamChunk | None:
        if event.code is None:
            self.busy = True  # queueing / waiting: no payload and no code
            if self.delivered or self.status == QUEUED:
                return None  # "queued" is only read before content (.status)
            self.status = QUEUED
            return self._status_chunk()
        if self.complete:
            self.late_status = event.code  # e.g. 1096 after a full answer: not an error
            return None
        raise error_for_code(event.code)

    def _next_status(self, payload: Payload, delta_text: str, delta_thoughts: str) -> bool:
        """Update :attr:`status` from one payload; whether it changed."""
        status = (payload_status(payload) if payload.busy or payload.tool else None) or self.status
        if delta_text:
            status = None  # the service writes the answer: no longer waiting
        elif delta_thoughts and (status is None or status == QUEUED):
            status = THINKING
        changed = status != self.status
        self.status = status
        return changed

    def _set_meta(self, slot: int, value: Any) -> None:
        if value is not None and self._meta[slot] != value:
            meta = list(self._meta)
            meta[slot] = value
            self._meta = meta

    def _on_payload(self, payload: Payload) -> StreamChunk | None:
        self.data_payloads += 1
        self.busy = payload.busy
        if payload.activity:
            self.activity = payload.activity
        if payload.model_name:
            self.model_name = payload.model_name
        if payload.model_id:
            self.model_id = payload.model_id
        meta = self._meta
        if payload.cid:
            self.cid = payload.cid
            if meta[0] != payload.cid:  # the check of _set_meta, inline: it runs for every frame
                self._set_meta(0, payload.cid)
        if payload.rid and meta[1] != payload.rid:
            self._set_meta(1, payload.rid)
        if payload.context_token:
            self.context_token = payload.context_token
            self._set_meta(_CONTEXT_SLOT, payload.context_token)
        if not payload.candidates:
            return self._status_chunk() if self._next_status(payload, "", "") else None
        delta_text = delta_thoughts = ""
        new_images: list[WebImage] = []
        for snap in payload.candidates:
            state = self._cands.get(snap.rcid)
            if state is None:
                state = self._cands[snap.rcid] = CandidateState(snap.rcid, snap.index)
                self._changed[snap.rcid] = state
                if self._chosen is None:
                    self._chosen = state
                    self._set_meta(2, snap.rcid)
            if state is self._chosen:
                delta_text, delta_thoughts, new_images = self._advance_chosen(state, snap)
            elif self._update_other(state, snap):
                self._changed[snap.rcid] = state
        status_changed = self._next_status(payload, delta_text, delta_thoughts)
        if not (delta_text or delta_thoughts or new_images or status_changed):
            return None
        chosen = self._chosen
        assert chosen is not None
        self.delivered = self.delivered or bool(delta_text or delta_thoughts or new_images)
        cands = self._changed_candidates(chosen)
        return self._chunk(chosen, delta_text, delta_thoughts, new_images, cands, final=False)

    def _advance_chosen(
        self, state: CandidateState, snap: CandidateSnapshot
    ) -> tuple[str, str, list[WebImage]]:
        done = state.done or snap.done
        state.has_status = state.has_status or snap.has_status
        if snap.citations or snap.media:
            state.take_extras(snap, self._saver)
        delta_text = delta_thoughts = ""
        if snap.text != state.raw_text or done != state.done:
            state.raw_text = snap.text
            delta_text = state.text.advance_raw(snap.text, done)
        thoughts = snap.thoughts or state.raw_thoughts  # a final snapshot may omit the thoughts
        if thoughts != state.raw_thoughts or done != state.done:
            state.raw_thoughts = thoughts
            delta_thoughts = state.thoughts.advance_raw(thoughts, done)
        state.done = done
        new_images: list[WebImage] = []
        if snap.web_images or snap.generated_images:
            new_images = self._add_images(state, snap)
        return delta_text, delta_thoughts, new_images

    def _update_other(self, state: CandidateState, snap: CandidateSnapshot) -> bool:
        """Follow a candidate that is not streamed; whether what it shows changed."""
        done = state.done or snap.done
        state.take_extras(snap, self._saver)
        changed = False
        if snap.text != state.raw_text or done != state.done:
            state.raw_text = snap.text
            changed = state.text.show(snap.text, done)
        thoughts = snap.thoughts or state.raw_thoughts
        if thoughts != state.raw_thoughts or done != state.done:
            state.raw_thoughts = thoughts
            changed = state.thoughts.show(thoughts, done) or changed
        state.done = done
        if snap.web_images or snap.generated_images:
            if [i.url for i in state.web] != [r.url for r in snap.web_images]:
                state.web = [self._web_image(i) for i in snap.web_images]
                changed = True
            if [i.url for i in state.generated] != [r.url for r in snap.generated_images]:
                state.generated = [self._generated_image(i, state.rcid) for i in snap.generated_images]
                changed = True
        return changed

    def _web_image(self, raw: RawImage) -> WebImage:
        return WebImage(raw.url, raw.title or "[Image]", raw.alt).attach(self._saver)

    def _generated_image(self, raw: RawImage, rcid: str) -> GeneratedImage:
        turn = [str(self._meta[0] or ""), str(self._meta[1] or ""), rcid]
        return GeneratedImage(
            raw.url, raw.title, raw.alt, image_id=raw.image_id or "", turn_ids=tuple(turn)
        ).attach(self._saver)

    def _add_images(self, state: CandidateState, snap: CandidateSnapshot) -> list[WebImage]:
        """Append the images not seen before (to lists chunks only see prefixes of); return them."""
        new: list[WebImage] = []
        for raw in snap.web_images:
            if raw.url not in self._image_urls:
                self._image_urls.add(raw.url)
                image = self._web_image(raw)
                self._web.append(image)
                new.append(image)
        for raw in snap.generated_images:
            if raw.url not in self._image_urls:
                self._image_urls.add(raw.url)
                gen = self._generated_image(raw, state.rcid)
                self._generated.append(gen)
                new.append(gen)
        state.web = self._web
        state.generated = self._generated
        return new
