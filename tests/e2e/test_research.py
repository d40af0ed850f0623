"""Deep Research (PROTOCOL-2026 section 2): plan -> confirm -> progress -> report, against the emulator.

The emulator runs research on a scaled clock (a plan in tens of milliseconds,
a report after a fraction of a second) and the clients poll every 10 ms, so
no test waits for seconds.
"""

from __future__ import annotations

import builtins
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.errors import APIError, Cancelled, ResearchFailed, ResearchTimeout, ResearchUnavailable
from gemini_sync.protocol.research import STATE_DONE, scan_turns, turn_views
from gemini_sync.protocol.service import build_candidate
from gemini_sync.types.research import ResearchProgress, ResearchReport
from tests._wire import make_client

PROMPT = "How does photosynthesis work?"
POLL = 0.01


@pytest.fixture
def research_emu(emu: Emulator) -> Emulator:
    emu.research.plan_delay = 0.02
    emu.research.duration = 0.25
    emu.research.progress_steps = 3
    return emu


@pytest.fixture
def rclient(research_emu: Emulator) -> Iterator[GeminiClient]:
    with make_client(research_emu) as c:
        c.poll_interval = POLL
        yield c


def _research_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.generate_requests if r.inner is not None and r.inner[49:50] == [1]]


def test_plan_confirm_progress_report(research_emu: Emulator, rclient: GeminiClient) -> None:
    job = rclient.deep_research(PROMPT)
    assert job.cid.startswith("c_") and not job.confirmed
    assert job.plan.title == "How does photosynthesis work"
    assert [s.number for s in job.plan.steps] == [1, 2, 3] and job.plan.steps[0].label
    assert job.plan.eta_text and job.plan.confirm_label == "Start research"
    assert research_emu.research.started == []  # nothing runs before the confirmation

    job.confirm()
    seen: list[ResearchProgress] = []
    report = job.wait(timeout=10, on_progress=seen.append)

    assert isinstance(report, ResearchReport) and report.cid == job.cid
    assert report.title == job.plan.title and report.markdown.startswith("# ")
    assert "[cite: 1, 3]" in report.markdown
    assert [c.number for c in report.citations] == [1, 2, 3, 4]
    assert "[[1]](https://" in report.linked_markdown()
    assert job.result() == report
    # progress grew: more thoughts and sources each time it was reported
    assert seen and all(p.state == 3 for p in seen)
    counts = [(len(p.thoughts), len(p.sources)) for p in seen]
    assert counts == sorted(set(counts)) and counts[-1][1] > 0
    assert seen[-1].sources[0].url.startswith("https://")

    plan_req, confirm_req = _research_requests(research_emu)
    assert confirm_req.prompt == "Start research"
    assert confirm_req.metadata is not None and confirm_req.metadata[0] == job.cid
    conversation = research_emu.conversation(job.cid)
    assert conversation is not None
    plan_turn = conversation.turns[0]
    assert confirm_req.metadata[1:3] == [plan_turn.rid, plan_turn.rcid]  # the plan turn's metadata
    assert confirm_req.metadata[9] == plan_turn.context_token
    assert confirm_req.model_id == plan_req.model_id
    for req in (plan_req, confirm_req):
        inner = req.inner
        assert inner[54] == [[[[[1]]]]] and inner[55] == [[1]] and len(inner) >= 80
        assert inner[3].startswith("!") and len(inner[3]) >= 2600 and not re.search(r"\s", inner[3])
        assert re.fullmatch(r"[0-9a-f]{32}", inner[4])
    assert plan_req.inner[3] != confirm_req.inner[3] and plan_req.inner[4] != confirm_req.inner[4]


def test_confirm_is_sent_once_when_the_connection_breaks_right_after(
    research_emu: Emulator, rclient: GeminiClient
) -> None:
    job = rclient.deep_research(PROMPT)
    research_emu.fail_next(match="Start research", disconnect_after_bytes=8)
    job.confirm()  # the reply is lost; the research may be running: no error, no resend
    job.confirm()  # a second call sends nothing either
    report = job.wait(timeout=10)
    assert report.markdown
    confirms = [r for r in research_emu.generate_requests if r.prompt == "Start research"]
    assert len(confirms) == 1
    assert research_emu.research.started == [job.cid]


def test_a_refused_confirmation_raises_and_is_never_resent(
    research_emu: Emulator, rclient: GeminiClient
) -> None:
    job = rclient.deep_research(PROMPT)
    research_emu.fail_next(match="Start research", code=1013)
    with pytest.raises(APIError):
        job.confirm()
    job.confirm()
    assert len([r for r in research_emu.generate_requests if r.prompt == "Start research"]) == 1


def test_resume_from_the_cid_in_a_fresh_client(research_emu: Emulator, rclient: GeminiClient) -> None:
    job = rclient.deep_research(PROMPT)
    job.confirm()
    cid = job.cid
    rclient.close()
    with make_client(research_emu) as fresh:
        fresh.poll_interval = POLL
        resumed = fresh.research_job(cid)
        assert resumed.confirmed and resumed.plan.title == job.plan.title
        report = resumed.wait(timeout=10)
    assert report.cid == cid and [c.number for c in report.citations] == [1, 2, 3, 4]
    assert len([r for r in research_emu.generate_requests if r.prompt == "Start research"]) == 1


def test_resume_a_job_that_awaits_its_confirmation(research_emu: Emulator, rclient: GeminiClient) -> None:
    job = rclient.deep_research(PROMPT)
    resumed = rclient.research_job(job.cid)
    assert not resumed.confirmed and resumed.plan == job.plan
    with pytest.raises(RuntimeError, match="confirm"):
        resumed.wait(timeout=1)
    resumed.confirm()
    assert resumed.wait(timeout=10).markdown
    assert research_emu.research.started == [job.cid]


def test_resume_a_conversation_without_research(rclient: GeminiClient) -> None:
    cid = rclient.generate_content("Hello").cid
    assert cid is not None
    with pytest.raises(ValueError, match="no Deep Research"):
        rclient.research_job(cid)


def test_timeout_names_the_cid_and_the_job_keeps_running(
    research_emu: Emulator, rclient: GeminiClient
) -> None:
    research_emu.research.duration = 60.0
    job = rclient.deep_research(PROMPT)
    job.confirm()
    with pytest.raises(ResearchTimeout) as info:
        job.wait(timeout=0.05)
    assert info.value.cid == job.cid and job.cid in str(info.value)
    assert "keeps running" in str(info.value) and isinstance(info.value, builtins.TimeoutError)


def test_worker_reports_progress_and_the_report(research_emu: Emulator, rclient: GeminiClient) -> None:
    job = rclient.deep_research(PROMPT)
    job.confirm()
    progress: list[ResearchProgress] = []
    done = threading.Event()
    reports: list[ResearchReport] = []
    worker = job.start(
        on_progress=progress.append, on_done=lambda r: (reports.append(r), done.set()), timeout=10
    )
    assert worker.result(timeout=10).markdown
    assert done.is_set() and reports == [worker.result()] and progress and worker.done()


def test_worker_cancel(research_emu: Emulator, rclient: GeminiClient) -> None:
    research_emu.research.duration = 60.0
    job = rclient.deep_research(PROMPT)
    job.confirm()
    errors: list[BaseException] = []
    first = threading.Event()
    worker = job.start(on_progress=lambda p: first.set(), on_error=errors.append, timeout=30)
    assert first.wait(5)
    worker.cancel()
    with pytest.raises(Cancelled):
        worker.result(timeout=5)
    assert len(errors) == 1 and isinstance(errors[0], Cancelled)


def test_unavailable_account(research_emu: Emulator, rclient: GeminiClient) -> None:
    research_emu.research.available = False
    with pytest.raises(ResearchUnavailable, match="not available"):
        rclient.deep_research(PROMPT)


def test_unavailable_model_code(research_emu: Emulator, rclient: GeminiClient) -> None:
    research_emu.fail_next(code=1052)
    with pytest.raises(ResearchUnavailable) as info:
        rclient.deep_research(PROMPT)
    assert info.value.code == 1052


def test_research_that_fails_on_the_service(research_emu: Emulator, rclient: GeminiClient) -> None:
    research_emu.research.fail = True
    job = rclient.deep_research(PROMPT)
    job.confirm()
    with pytest.raises(ResearchFailed) as info:
        job.wait(timeout=10)
    assert info.value.cid == job.cid


def test_empty_prompt_is_refused_before_any_request(emu: Emulator, client: GeminiClient) -> None:
    with pytest.raises(ValueError):
        client.deep_research("  ")
    assert emu.generate_requests == []


# --- reading the history (pure) ---------------------------------------------------


def _turn(rid: str, cand: list[Any]) -> list[Any]:
    return [["c_1", rid], ["c_1", rid, cand[0]], [["prompt"], 1, None, 0], [[cand]]]


def test_the_report_can_sit_on_an_earlier_turn_and_state_reads_either_form() -> None:
    report = build_candidate("rc_a", "I've completed your research.", done=True)
    report[12] = [None] * 69 + [[STATE_DONE]]  # dense, as a one-item list
    report[30] = [["im_1", None, "Title", "agency-placeholder-task-id", "# Body [cite: 1]"]]
    later = build_candidate("rc_b", "Anything else?", done=True)
    later[12] = [None, {"70": 3}]
    scan = scan_turns(turn_views([[_turn("r_b", later), _turn("r_a", report)]]))
    assert scan.done and scan.title == "Title" and scan.markdown == "# Body [cite: 1]"
    assert scan.failed is None and scan.state == 3


def test_odd_history_is_not_an_error() -> None:
    for result in (None, [], [[None, "x", [1, 2]]], json.loads('[[[null, null, null, [[["rc"]]]]]]')):
        scan = scan_turns(turn_views(result))
        assert not scan.done and scan.failed is None
