"""Deep Research on the wire (docs/protocol.md 11): the request slots and how to read the turns.

Deep Research is an ordinary multi-turn chat. The plan turn and the confirm
turn carry ``inner[49] = 1`` (the tool), ``inner[54]``/``inner[55]``, and a
``"!"``-prefixed filler in slot 3 with a fresh 32-hex nonce in slot 4. The
reply's rich block ``C[12]`` holds the plan (field 55, older code: 56), the
state (field 69: 2 = plan awaiting confirmation, 3 = researching, 5 = done)
and the progress (field 57); the report is the document ``C[30][0]`` (title
at [2], markdown at [4], its citations at [17][1] or [5]).

Pure functions. Every field is read in dense and sparse form, and a value of
an unexpected shape is treated as absent, never as an error.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from ..types.output import Citation
from ..types.research import ResearchPlan, ResearchProgress, ResearchSource, ResearchStep, ResearchThought
from .citations import document_citations
from .jspb import as_list, dig

__all__ = [
    "RESEARCH_TOOL",
    "STATE_PLAN",
    "STATE_RUNNING",
    "STATE_DONE",
    "DEFAULT_CONFIRM_LABEL",
    "research_slots",
    "parse_plan",
    "parse_state",
    "parse_progress",
    "TurnView",
    "ResearchScan",
    "scan_turns",
    "turn_views",
]

RESEARCH_TOOL = 1
STATE_PLAN = 2
STATE_RUNNING = 3
STATE_DONE = 5
DEFAULT_CONFIRM_LABEL = "Start research"

_PLAN_FIELDS = (55, 56)  # 55 is current; older code also tried 56
_STATE_FIELD = 69
_PROGRESS_FIELD = 57
_FILLER_CHARS = 2600
_STATUS_DONE = 2


def _filler() -> str:
    """Slot 3: ``"!"`` + ~2600 random url-safe characters (no whitespace), fresh every request."""
    return "!" + secrets.token_urlsafe(_FILLER_CHARS)[:_FILLER_CHARS]


def research_slots() -> dict[int, Any]:
    """The inner slots of a Deep Research turn (plan and confirm alike)."""
    return {
        3: _filler(),
        4: secrets.token_hex(16),
        49: RESEARCH_TOOL,
        54: [[[[[1]]]]],
        55: [[1]],
    }


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_plan(cand: Any) -> ResearchPlan | None:
    """The plan of a plan turn: ``[title, [[n, label, desc], ...], eta_text, [confirm_label], ...]``."""
    rich = dig(cand, 12)
    for number in _PLAN_FIELDS:
        plan = dig(rich, number)
        if type(plan) is list and isinstance(dig(plan, 0), str):
            steps = []
            for index, step in enumerate(as_list(dig(plan, 1))):
                n = dig(step, 0)
                steps.append(
                    ResearchStep(n if type(n) is int else index + 1, _str(dig(step, 1)), _str(dig(step, 2)))
                )
            label = _str(dig(plan, 3, 0)) or DEFAULT_CONFIRM_LABEL
            return ResearchPlan(plan[0], steps, _str(dig(plan, 2)), label)
    return None


def parse_state(cand: Any) -> int | None:
    """Field 69 of ``C[12]``: 2, 3 or 5 (read as a number or a one-item list)."""
    value = dig(cand, 12, _STATE_FIELD)
    if type(value) is list:
        value = dig(value, 0)
    return value if type(value) is int else None


def parse_progress(cand: Any) -> tuple[list[ResearchThought], list[ResearchSource]]:
    """Field 57: the thoughts and visited sources so far (items at ``f57[1][4][2]``)."""
    thoughts: list[ResearchThought] = []
    sources: list[ResearchSource] = []
    for item in as_list(dig(cand, 12, _PROGRESS_FIELD, 1, 4, 2)):
        thought = dig(item, 5)
        if type(thought) is list:
            thoughts.append(ResearchThought(_str(dig(thought, 0)), _str(dig(thought, 1))))
            continue
        source = dig(item, 4, 2)
        url = dig(source, 1)
        if isinstance(url, str) and url:
            sources.append(ResearchSource(url, _str(dig(source, 2)), _str(dig(source, 0))))
    return thoughts, sources


def _document(cand: Any) -> list[Any] | None:
    doc = dig(cand, 30, 0)
    return doc if type(doc) is list else None


@dataclass
class TurnView:
    """What one turn's candidate says about a research: ids, state, document, done flag."""

    rid: str
    rcid: str
    cand: Any
    state: int | None
    done: bool

    @property
    def doc(self) -> list[Any] | None:
        return _document(self.cand)

    @property
    def body(self) -> str:
        """The report's markdown: ``doc[4]``, else the mirror ``doc[17][0]``."""
        doc = self.doc
        return _str(dig(doc, 4)) or _str(dig(doc, 17, 0))

    @property
    def is_research(self) -> bool:
        return self.state is not None or self.doc is not None or parse_plan(self.cand) is not None


def turn_views(result: Any) -> list[TurnView]:
    """``hNvQHb`` turns (newest first, as sent) with their first candidate."""
    views = []
    for turn in as_list(dig(result, 0)):
        cand = dig(turn, 3, 0, 0)
        if type(cand) is not list:
            continue
        views.append(
            TurnView(
                _str(dig(turn, 0, 1)),
                _str(dig(cand, 0)),
                cand,
                parse_state(cand),
                dig(cand, 8, 0) == _STATUS_DONE,
            )
        )
    return views


@dataclass
class ResearchScan:
    """One look at the history: the report when done, the progress, or a failure."""

    state: int | None = None
    title: str = ""
    markdown: str = ""
    citations: list[Citation] = dc_field(default_factory=list)
    progress: ResearchProgress = dc_field(default_factory=ResearchProgress)
    failed: str | None = None  # the service's words when the research ended without a report
    plan: ResearchPlan | None = None
    plan_turn: TurnView | None = None

    @property
    def done(self) -> bool:
        return bool(self.markdown)


def scan_turns(views: list[TurnView]) -> ResearchScan:
    """Read the last turns (newest first): done = state 5 (or no state) and a non-empty body.

    The report can sit on an earlier turn than the newest one, so every turn
    is searched. Failure is a guess (no capture shows one): the newest
    research turn is complete, carries no body and a state that is neither
    "plan" nor "researching" nor "done".
    """
    scan = ResearchScan()
    newest = next((v for v in views if v.is_research), None)
    if newest is not None:
        scan.state = newest.state
        thoughts, sources = parse_progress(newest.cand)
        scan.progress = ResearchProgress(newest.state, thoughts, sources)
    for view in views:
        if scan.plan is None:
            plan = parse_plan(view.cand)
            if plan is not None:
                scan.plan, scan.plan_turn = plan, view
        if not scan.markdown and view.body and view.state in (STATE_DONE, None):
            doc = view.doc
            scan.title = _str(dig(doc, 2))
            scan.markdown = view.body
            scan.citations = [Citation(c.number, c.url, c.title, c.snippet) for c in document_citations(doc)]
    if (
        not scan.markdown
        and newest is not None
        and newest.done
        and newest.state not in (STATE_PLAN, STATE_RUNNING, STATE_DONE)
    ):
        scan.failed = _str(dig(newest.cand, 1, 0)) or "the research ended without a report"
    return scan
