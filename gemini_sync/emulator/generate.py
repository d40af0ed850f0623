"""StreamGenerate (docs/protocol.md 3-6): check a request like the service, then stream the answer.

Checks, in order: cookies (401), the ``at`` token (400; ``SNlM0e`` or
``thykhd``), ``f.req`` (400), ``bl`` (405 with the 2026 shapes, 400 before)
and ``f.sid`` (400) when sent, attachments (400, must be uploaded here),
then in-band errors with HTTP 200: model header (1052; also a thinking
level, ``inner[80]`` or header ``[15]``, that the model does not offer), conversation id
(:data:`~.codes.UNKNOWN_CHAT`), model switch inside a conversation (1050),
gem id (:data:`~.codes.UNKNOWN_GEM`), usage quota (1037, :mod:`.quotas`; an
accepted answer is charged to its bucket).

A signed-out visitor (no cookie, ``at`` empty or absent; docs/protocol.md 13)
is served as the service serves one: any model as the default one (``E[39]``
and ``E[42]`` say so), no extended thinking, a tool or gem answered with a
plain "Are you signed in?", and a file reference refused with 1100. With
``downgrade`` on, every model request is served by the default model too.

The body is streamed with chunked transfer (compressed when the client asks,
2026 shapes): ``)]}'``, "queued" status envelopes for ``queue_seconds`` if
set, the turn's payloads in the order of
:mod:`.turns`, then the tail frames. A turn is saved in its conversation
right before its completing frame is sent (so a cut inside that frame still
leaves it saved), or at once with ``Fault(finish_server_side=True)``. A new
conversation exists as soon as the request is accepted, as on the service.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..models import MODEL_HEADER, header_tier
from ..protocol.generated_media import TOOLS
from ..protocol.payload import RawImage
from ..protocol.research import RESEARCH_TOOL
from ..protocol.service import data_envelope, error_envelope
from .answers import Answer, AttachedFile, add_flicker, default_answer, split_snapshots
from .backend import Backend
from .catalogue import DEFAULT_ID, DEFAULT_SERVED
from .codes import GUEST_FILE, MODEL_INCONSISTENT, MODEL_INVALID, UNKNOWN_CHAT, UNKNOWN_GEM, USAGE_LIMIT
from .desk import Reply
from .faults import Fault
from .media import MEDIA_TOOLS, stream_media
from .records import FreqError, parse_generate_freq
from .replay import serve_generate
from .research import stream_research
from .state import Conversation, Turn
from .turns import TurnFrames
from .wire import BodyWriter

__all__ = ["handle_generate", "check_access"]

_NO_MODEL = object()
_IMAGE_TOOL = TOOLS["image"]
_QUEUE_TICK = 0.25  # seconds between "queued" envelopes while an answer waits
_SIGN_IN = "Are you signed in? Sign in to use this feature."  # a guest's tool or gem request


@dataclass
class _Plan:
    """Everything about the turn being answered."""

    conv: Conversation
    prompt: str
    model_id: str | None
    files: list[tuple[str, str]]
    answer: Answer
    web: list[RawImage]
    generated: list[RawImage]
    rid: str = field(default_factory=lambda: "r_" + secrets.token_hex(8))
    rcid: str = field(default_factory=lambda: "rc_" + secrets.token_hex(8))
    context_token: str = field(default_factory=lambda: "ctx_" + secrets.token_urlsafe(24))
    downgraded: bool = False  # served by the default model whatever was asked

    def turn(self) -> Turn:
        return Turn(
            self.prompt,
            self.rid,
            self.rcid,
            self.answer.text,
            self.context_token,
            thoughts=self.answer.final_thoughts,
            web_images=list(self.web),
            generated_images=list(self.generated),
            files=list(self.files),
            model_id=self.model_id,
            sources=self.answer.sources,
        )

    def frames(
        self, backend: Backend, snapshots: list[str], *, fresh: bool, level: int | None, tier: int | None
    ) -> TurnFrames:
        return TurnFrames.plan(
            backend.shapes,
            cid=self.conv.cid,
            fresh=fresh,
            rid=self.rid,
            rcid=self.rcid,
            answer=self.answer,
            snapshots=snapshots,
            web=self.web,
            generated=self.generated,
            context_token=self.context_token,
            model_name=DEFAULT_SERVED if self.downgraded else backend.served_name(self.model_id, tier),
            model_id=DEFAULT_ID if self.downgraded else self.model_id,
            thinking=backend.is_thinking(self.model_id, level),
        )


def check_access(ex: Reply) -> bool:
    """Cookies (401) and the ``at`` token (400) of a POST to the app; answers and returns False on failure.

    A guest (no cookie at all) sends ``at`` empty or not at all.
    """
    backend = ex.backend
    at = ex.record.form.get("at") or ""
    guest = ex.guest and not at
    if not guest and not ex.logged_in():
        ex.respond_text(401, "Your session has expired or the cookies are not valid.")
        return False
    valid = [backend.tokens.access_token] + ([backend.second_token] if backend.modern else [])
    if not guest and not any(secrets.compare_digest(at, token) for token in valid):
        ex.respond_text(400, "missing or invalid 'at' token")
        return False
    tokens, query = backend.tokens, ex.record.query
    if "bl" in query and query["bl"] != tokens.build_label:
        # the service answers an old build label with 405 (docs/protocol.md 2.3)
        ex.respond_text(405 if backend.modern else 400, "unknown build label 'bl'")
        return False
    if "f.sid" in query and query["f.sid"] != tokens.session_id:
        ex.respond_text(400, "unknown session id 'f.sid'")
        return False
    return True


def _model_id(ex: Reply) -> Any:
    """The requested model id, ``None`` for the default model, ``_NO_MODEL`` if invalid."""
    value = ex.record.headers.get(MODEL_HEADER)
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return _NO_MODEL
    model_id = parsed[4] if isinstance(parsed, list) and len(parsed) > 4 else None
    if not isinstance(model_id, str) or not ex.backend.accepts(model_id):
        return _NO_MODEL
    return model_id


def handle_generate(ex: Reply) -> None:
    """``POST StreamGenerate``: validate, then stream (see the module docstring)."""
    if not check_access(ex):
        return
    try:
        inner = parse_generate_freq(ex.record.form)
    except FreqError as exc:
        ex.respond_text(400, str(exc))
        return
    if ex.backend.replay is not None:
        serve_generate(ex, ex.backend.replay)
        return
    record, store = ex.record, ex.backend.store
    prompt: str = inner[0][0]
    uploads = []
    for identifier, _ in record.files:
        upload = store.upload(identifier)
        if upload is None:
            ex.respond_text(400, "unknown file identifier in file data")
            return
        uploads.append(upload)
    guest = not ex.logged_in()  # check_access let it through: a signed-out visitor
    if guest and record.files:
        ex.respond_frames([[error_envelope(GUEST_FILE)]])
        return
    model_id = _model_id(ex)
    level = None if guest else record.thinking_level  # a guest's extended thinking is ignored
    if model_id is _NO_MODEL or not ex.backend.offers(model_id, level):
        ex.respond_frames([[error_envelope(MODEL_INVALID)]])
        return
    meta = record.metadata or []
    cid = meta[0] if meta and isinstance(meta[0], str) and meta[0] else None
    conv = store.conversation(cid) if cid else None
    if cid and conv is None:
        ex.respond_frames([[error_envelope(UNKNOWN_CHAT)]])
        return
    if conv is not None and conv.model_id != model_id:
        ex.respond_frames([[error_envelope(MODEL_INCONSISTENT)]])
        return
    signed_in_only = guest and bool(record.gem_id or (len(inner) > 49 and inner[49]))
    gem = store.gem(record.gem_id) if record.gem_id and not signed_in_only else None
    if record.gem_id and gem is None and not signed_in_only:
        ex.respond_frames([[error_envelope(UNKNOWN_GEM)]])
        return
    fault = ex.take_fault(early=False)
    fresh = conv is None
    backend = ex.backend
    served = backend.models.get(model_id) if model_id else None
    thinking = backend.is_thinking(model_id, level)
    bucket = backend.quotas.bucket_for(served.model_name if served else None, thinking)
    if not backend.quotas.charge(bucket):
        ex.respond_frames([[error_envelope(USAGE_LIMIT)]])
        return
    if conv is None:
        conv = store.new_conversation(
            prompt, model_id=model_id, gem_id=record.gem_id, temporary=record.temporary
        )
    tool = inner[49] if len(inner) > 49 else None
    if not signed_in_only and tool == RESEARCH_TOOL:
        stream_research(ex, conv, prompt, model_id, fault)
        return
    if not signed_in_only and tool in MEDIA_TOOLS:
        stream_media(ex, conv, prompt, model_id, fault, inner[49])
        return
    with store.lock:
        turn_number = len(conv.turns) + 1
    script = None if signed_in_only else ex.backend.scripts.take(prompt, record)
    if signed_in_only:
        answer = Answer(split_snapshots(_SIGN_IN))
    elif script is not None:
        answer = script.answer()
    else:
        image_tool = inner[49:50] == [_IMAGE_TOOL]  # "Create images": an image whatever the wording
        answer = default_answer(
            f"Generate an image of {prompt}" if image_tool else prompt,
            thinking=ex.backend.is_thinking(model_id, level),
            files=[AttachedFile(u.filename, u.size, u.content_type) for u in uploads],
            gem_name=gem.name if gem else None,
            turn=turn_number,
            image_id=store.next_image_id,
        )
    plan = _Plan(
        conv,
        prompt,
        model_id,
        record.files,
        answer,
        [ex.backend.materialize(spec, "web") for spec in answer.web_images],
        [ex.backend.materialize(spec, "generated") for spec in answer.generated_images],
        downgraded=(guest or backend.downgrade) and model_id not in (None, DEFAULT_ID),
    )
    snapshots = add_flicker(answer.snapshots) if fault and fault.flicker else answer.snapshots
    tier = header_tier(record.headers.get(MODEL_HEADER))
    turn = plan.frames(ex.backend, snapshots, fresh=fresh, level=level, tier=tier)
    _stream(ex, plan, turn, fault)


def _stream(ex: Reply, plan: _Plan, turn: TurnFrames, fault: Fault | None) -> None:
    backend = ex.backend
    pace = backend.pace
    payloads = turn.payloads
    saved = False

    def save() -> None:
        nonlocal saved
        if not saved:
            saved = True
            backend.store.add_turn(plan.conv.cid, plan.turn())

    if fault and fault.finish_server_side:
        save()

    def write(writer: BodyWriter) -> None:
        if fault and fault.only_tail:
            return
        for _ in range(fault.queue if fault else 0):
            writer.frame([error_envelope(None)])
            writer.pause(pace)
        _wait_in_queue(writer, backend.queue_seconds)
        for index in range(len(payloads) + 1):
            if fault and index == fault.after_frames:
                if fault.stall:
                    writer.pause(fault.stall)
                if fault.code is not None:
                    writer.frame([error_envelope(fault.code)])
                    return
            if index == len(payloads):
                break
            if index:
                writer.pause(pace)
            if index == turn.save_index:
                save()
            bad = bool(fault and fault.bad_length and index == fault.after_frames)
            writer.frame([data_envelope(payloads[index])], data=True, bad_length=bad)
        if fault and fault.late_code is not None:
            writer.pause(pace)
            writer.frame([error_envelope(fault.late_code)])

    ex.stream_body(write, cut_after=fault.disconnect_after_bytes if fault else None)


def _wait_in_queue(writer: BodyWriter, seconds: float) -> None:
    """Keep the answer "queued" for ``seconds``: a status envelope now and every :data:`_QUEUE_TICK`."""
    left = seconds
    while left > 0:
        writer.frame([error_envelope(None)])
        writer.pause(min(_QUEUE_TICK, left))
        left -= _QUEUE_TICK
