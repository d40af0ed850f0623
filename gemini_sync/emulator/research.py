"""Deep Research in the emulator (docs/protocol.md 11), on a scaled-down clock.

A StreamGenerate request with ``inner[49] == 1`` is a research turn. The
first one in a chat gets a plan (rich field 55, state 2) after
``plan_delay`` seconds. The next one whose prompt is the plan's confirm label
starts the job: its reply has state 3 and an empty document, and ends
without completion, as the service's does. The job is saved as a turn whose
candidate is rendered whenever the history is read: progress (field 57)
grows with the elapsed time, and after ``duration`` seconds the turn holds
state 5 and the report (document ``C[30][0]`` with cited markdown), or,
with ``fail``, a complete refusal without a report.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.service import build_candidate, build_payload, data_envelope, error_envelope
from .citing import SOURCES, source_groups
from .state import Turn

if TYPE_CHECKING:
    from .desk import Reply
    from .faults import Fault
    from .state import Conversation
    from .wire import BodyWriter

__all__ = ["ResearchDesk", "stream_research"]

_PLACEHOLDER_TASK = "agency-placeholder-task-id"
_REFUSAL = "Deep Research isn't available for your account right now. Try again later or upgrade your plan."
_FAILED = "I'm sorry, I couldn't complete this research. Please try again."
_DONE_TEXT = "I've completed your research.\n\nhttp://googleusercontent.com/immersive_entry_chip/0"
_RICH_SLOTS = 8


@dataclass
class ResearchDesk:
    """The emulator's Deep Research: its timing, its failure modes and the jobs it started.

    ``plan_delay`` and ``duration`` are real seconds (the service's ~15 s and
    5-10 min, scaled down); ``progress_steps`` thoughts appear over the
    duration, three visited sources each. ``available=False`` refuses
    research (the account's plan or model cannot use it); ``fail=True`` ends
    jobs without a report. ``started`` lists the cids of the jobs started.
    """

    plan_delay: float = 1.0
    duration: float = 5.0
    progress_steps: int = 5
    available: bool = True
    fail: bool = False
    confirm_label: str = "Start research"
    started: list[str] = field(default_factory=list)
    _plans: dict[str, str] = field(default_factory=dict)  # cid -> title of the plan awaiting confirmation
    _lock: threading.Lock = field(default_factory=threading.Lock)


def _rich(**sparse: Any) -> list[Any]:
    """A rich block ``C[12]`` with fields in sparse form (keys ``"N+1"``)."""
    return [None] * _RICH_SLOTS + [{key.lstrip("f"): value for key, value in sparse.items()}]


def _plan(title: str, label: str) -> list[Any]:
    steps = [
        [1, "Research websites", f"(1) Find overviews of {title.lower()}."],
        [2, "Analyze results", "(2) Compare what the sources say and note where they disagree."],
        [3, "Create report", "(3) Write a cited report."],
    ]
    return [
        title,
        steps,
        "Ready in a few mins",
        [label],
        ["https://gemini.google.com/deep-research", 0],
        ["Edit plan"],
    ]


def _report(title: str) -> str:
    return (
        f"# {title}\n\n## Summary\n\n"
        "Plants convert light into chemical energy [cite: 1, 3]. The pigments sit in "
        "specialised cells [cite: 2].\n\n## The light-dependent reactions\n\n"
        "They come first [cite: 4] and split water [cite: 1].\n"
    )


class _Job:
    """One running research: renders its turn's candidate for the time elapsed."""

    def __init__(self, desk: ResearchDesk, title: str, rcid: str) -> None:
        self.title = title
        self.rcid = rcid
        self.doc_id = "im_" + secrets.token_hex(8)
        self.started = time.monotonic()
        self.duration = desk.duration
        self.steps = max(1, desk.progress_steps)
        self.fail = desk.fail

    def render(self) -> list[Any]:
        elapsed = time.monotonic() - self.started
        if elapsed >= self.duration:
            return self._failed() if self.fail else self._done()
        shown = min(self.steps, math.ceil(self.steps * elapsed / self.duration))
        items: list[Any] = []
        for n in range(shown):
            items.append([None] * 5 + [[f"Step {n + 1}", f"Looking into part {n + 1} of {self.title}."]])
            for k in range(3):
                src = SOURCES[(3 * n + k) % len(SOURCES)]
                items.append([None] * 4 + [[None, None, ["", f"{src.url}#{n}-{k}", src.title, None, []]]])
        cand = build_candidate(self.rcid, "I'm on it.", done=False)
        cand[12] = _rich(f58=["task_1", [None] * 4 + [["Researching websites", None, items]]], f70=3)
        cand[30] = [self._doc("")]
        return cand

    def _doc(self, body: str) -> list[Any]:
        doc: list[Any] = [self.doc_id, None, self.title, _PLACEHOLDER_TASK, body] + [None] * 13
        if body:
            container = [None, {"44": source_groups(body)}]
            doc[5] = container
            doc[17] = [body, container]
        return doc

    def _done(self) -> list[Any]:
        cand = build_candidate(self.rcid, _DONE_TEXT, done=True)
        cand[12] = _rich(f70=5)
        cand[30] = [self._doc(_report(self.title))]
        return cand

    def _failed(self) -> list[Any]:
        cand = build_candidate(self.rcid, _FAILED, done=True)
        cand[30] = [self._doc("")]
        return cand


def _static(cand: list[Any]) -> Any:
    return lambda: cand


def stream_research(
    ex: Reply, conv: Conversation, prompt: str, model_id: str | None, fault: Fault | None
) -> None:
    """Answer a research turn: a plan, a confirmation (starting the job) or a refusal."""
    desk: ResearchDesk = ex.backend.research
    rid, rcid = "r_" + secrets.token_hex(8), "rc_" + secrets.token_hex(8)
    context = "ctx_" + secrets.token_urlsafe(24)
    with desk._lock:
        title = desk._plans.get(conv.cid)
        confirming = title is not None and prompt == desk.confirm_label and not (fault and fault.code)
        if confirming:
            desk._plans.pop(conv.cid, None)
            desk.started.append(conv.cid)
    turn = Turn(prompt, rid, rcid, "", context, model_id=model_id)
    delay = ex.backend.pace
    if fault is not None and fault.code is not None:
        frames = [[error_envelope(fault.code)]]
        live = None
    elif confirming:
        assert title is not None
        job = _Job(desk, title, rcid)
        live = job.render  # the confirmation's stream ends without completion
        frames = [[data_envelope(build_payload(conv.cid, rid, [job.render()]))]]
    elif not desk.available:
        cand = build_candidate(rcid, _REFUSAL, done=True)
        live = _static(cand)
        frames = [[data_envelope(build_payload(conv.cid, rid, [cand]))]]
    else:
        plan_title = prompt.strip().splitlines()[0][:60].rstrip("?.!") or "Research"
        cand = build_candidate(rcid, f"Here's a research plan for that topic: {plan_title}", done=True)
        cand[12] = _rich(f56=_plan(plan_title, desk.confirm_label), f70=2)
        live = _static(cand)
        frames = [[data_envelope(build_payload(conv.cid, rid, [cand], context_token=context))]]
        delay = desk.plan_delay
        with desk._lock:
            desk._plans[conv.cid] = plan_title
    if live is not None:
        turn.live = live
        ex.backend.store.add_turn(conv.cid, turn)

    def write(writer: BodyWriter) -> None:
        writer.frame([data_envelope(build_payload(conv.cid, rid, None))], data=True)
        writer.pause(delay)
        for frame in frames:
            writer.frame(frame, data=True)

    ex.stream_body(write, cut_after=fault.disconnect_after_bytes if fault else None)
