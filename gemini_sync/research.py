"""Deep Research as a job that survives a process (docs/protocol.md 11).

:meth:`_Owner.deep_research` sends the plan turn and returns a
:class:`ResearchJob` holding the plan. :meth:`ResearchJob.confirm` sends the
confirmation turn, exactly once: it is never retried after it was sent,
whatever happens, since a second one would start a second research. The
research then runs on the service for minutes; :meth:`ResearchJob.wait`
follows it by reading the conversation's last turns (``hNvQHb``) at the web
app's pace until the report is there. Everything a job needs is in the
conversation, so ``client.research_job(cid)`` resumes one in another process.
:class:`ResearchWorker` runs ``wait`` on a thread with callbacks.
"""

from __future__ import annotations

import builtins
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from . import _constants as C
from ._exports import publish
from ._log import logger
from .errors import (
    APIError,
    AuthError,
    Cancelled,
    ModelInvalid,
    ProtocolError,
    ResearchFailed,
    ResearchTimeout,
    ResearchUnavailable,
    StreamInterrupted,
    TimeoutError,
)
from .models import Model
from .protocol import rpcs
from .protocol.request import new_metadata
from .protocol.research import STATE_PLAN, ResearchScan, parse_plan, research_slots, scan_turns, turn_views
from .streaming.once import send_turn_once
from .types.research import ResearchPlan, ResearchProgress, ResearchReport

if TYPE_CHECKING:
    from ._config import Timeout
    from .transport.api import Api

__all__ = ["ResearchJob", "ResearchWorker", "start_research", "resume_research"]


class _Owner(Protocol):
    """What a research job needs of its client: the authenticated calls and the pace of polling."""

    api: Api
    poll_interval: float

    @property
    def timeout(self) -> Timeout: ...


_ids = itertools.count(1)
ProgressFn = Callable[[ResearchProgress], Any]


def start_research(client: _Owner, prompt: str, model: Model) -> ResearchJob:
    """Send the plan turn; a job holding the plan, or :class:`ResearchUnavailable`."""
    try:
        reply = send_turn_once(
            client.api, prompt, timeout=client.timeout, model=model, metadata=None, slots=research_slots()
        )
    except ModelInvalid as exc:
        raise ResearchUnavailable(
            f"Deep Research is not available with this model ({exc})", code=exc.code
        ) from exc
    plan = parse_plan(reply.cand)
    if plan is None or not reply.cid:
        said = reply.text.strip()
        raise ResearchUnavailable(
            "Deep Research is not available to this account or model: the service answered "
            + (f"{said[:200]!r}" if said else "without a plan")
        )
    return ResearchJob(client, reply.metadata, model, plan)


def resume_research(client: _Owner, cid: str, model: Model) -> ResearchJob:
    """A job rebuilt from conversation ``cid``'s history (plan, and whether it was confirmed)."""
    if not isinstance(cid, str) or not cid:
        raise ValueError("cid must be a conversation id such as 'c_...'")
    (result,) = client.api.rpc([rpcs.read_chat_call(cid, C.RESEARCH_TURNS)])
    views = turn_views(result)
    scan = scan_turns(views)
    if scan.plan is None and not scan.done and scan.state is None:
        raise ValueError(f"conversation {cid} holds no Deep Research")
    metadata = new_metadata()
    metadata[0] = cid
    if scan.plan_turn is not None:
        metadata[1], metadata[2] = scan.plan_turn.rid, scan.plan_turn.rcid
    job = ResearchJob(client, metadata, model, scan.plan or ResearchPlan(scan.title))
    # confirmed unless the newest research turn is still the plan waiting for it
    job._confirm_sent = scan.state != STATE_PLAN or scan.done
    job._absorb(scan)
    return job


class ResearchJob:
    """One Deep Research: its plan, its confirmation, and the report when it is done.

    ``cid`` identifies it for good: save it to resume with
    ``client.research_job(cid)`` after a restart.
    """

    def __init__(self, client: _Owner, metadata: list[Any], model: Model, plan: ResearchPlan) -> None:
        self._client = client
        self._metadata = list(metadata)
        self._model = model
        self.plan = plan
        self._lock = threading.Lock()
        self._confirm_sent = False
        self._cancelled = threading.Event()
        self._report: ResearchReport | None = None
        self.progress = ResearchProgress()

    def __repr__(self) -> str:
        state = "done" if self._report else "running" if self._confirm_sent else "planned"
        return f"<ResearchJob cid={self.cid!r} {state}>"

    @property
    def cid(self) -> str:
        return str(self._metadata[0] or "")

    @property
    def confirmed(self) -> bool:
        """Whether the confirmation was sent (by this job or, for a resumed one, earlier)."""
        return self._confirm_sent

    def confirm(self) -> None:
        """Start the research: send the plan's confirm label as the next turn, once.

        A second call does nothing. If the connection breaks after the
        request went out, it is not sent again (the research may well be
        running): :meth:`wait` finds out from the history. An HTTP error or an
        error code from the service is raised; the job is then not confirmed
        by this call and is not confirmed again by a later one.
        """
        with self._lock:
            if self._confirm_sent:
                logger.debug("research %s: already confirmed; not sending again", self.cid)
                return
            self._confirm_sent = True
        try:
            send_turn_once(
                self._client.api,
                self.plan.confirm_label,
                timeout=self._client.timeout,
                model=self._model,
                metadata=self._metadata,
                slots=research_slots(),
            )
        except (StreamInterrupted, TimeoutError, ProtocolError) as exc:
            logger.info(
                "research %s: the confirmation's reply was lost (%s); it is not sent again",
                self.cid,
                exc.__class__.__name__,
            )

    def cancel(self) -> None:
        """Stop :meth:`wait` (from any thread); it raises :class:`Cancelled`. The service's job goes on."""
        self._cancelled.set()

    def result(self) -> ResearchReport:
        """The report; looks at the history once if it is not known yet (``RuntimeError`` while running)."""
        if self._report is None:
            self._absorb(self._poll())
        if self._report is None:
            raise RuntimeError(f"research {self.cid} is still running; use wait()")
        return self._report

    def wait(
        self,
        timeout: float | None = C.RESEARCH_TIMEOUT,
        *,
        on_progress: ProgressFn | None = None,
        poll_interval: float | None = None,
    ) -> ResearchReport:
        """Follow the research until its report is written; return it.

        Reads the history every ``poll_interval`` seconds (default: the
        client's ``poll_interval``, the web app's pace; the first looks come
        sooner, 1, 2, 4... seconds apart, so a job that is already done or
        quick is not kept waiting) and calls
        ``on_progress`` with the progress each time it grew (new thoughts,
        new sources, a new state). Raises :class:`ResearchTimeout` after
        ``timeout`` seconds (the research keeps running on the service; the
        error carries the ``cid`` to resume with), :class:`ResearchFailed`
        if it ended without a report, :class:`Cancelled` after :meth:`cancel`.
        """
        if not self._confirm_sent:
            raise RuntimeError("the research has not started: call confirm() first")
        interval = poll_interval if poll_interval is not None else self._client.poll_interval
        ends = None if timeout is None else time.monotonic() + timeout
        seen: tuple[int | None, int, int] = (None, -1, -1)
        report = self._report
        polls = 0
        while report is None:
            if self._cancelled.is_set():
                raise Cancelled(f"waiting for research {self.cid} was cancelled; it goes on on the service")
            scan = self._poll_tolerant()
            if scan is not None:
                report = self._absorb(scan)
                if report is not None:
                    break
                progress = self.progress
                now_seen = (progress.state, len(progress.thoughts), len(progress.sources))
                if now_seen != seen:
                    seen = now_seen
                    if on_progress is not None:
                        on_progress(progress)
                if scan.failed is not None:
                    raise ResearchFailed(f"research {self.cid} failed: {scan.failed}", cid=self.cid)
            left = None if ends is None else ends - time.monotonic()
            if left is not None and left <= 0:
                raise ResearchTimeout(
                    f"research {self.cid} is not done after {timeout:g}s; it keeps running on the "
                    f"service: resume with client.research_job({self.cid!r})",
                    cid=self.cid,
                )
            pause = min(interval, C.JOB_FIRST_POLL * 2**polls)
            polls += 1
            self._cancelled.wait(pause if left is None else min(pause, left))
        return report

    def start(
        self,
        *,
        on_progress: ProgressFn | None = None,
        on_done: Callable[[ResearchReport], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        timeout: float | None = C.RESEARCH_TIMEOUT,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
    ) -> ResearchWorker:
        """Wait on a worker thread and report through callbacks (see :class:`ResearchWorker`)."""
        return ResearchWorker(self, on_progress, on_done, on_error, timeout, dispatch)

    # -- internals ---------------------------------------------------------

    def _poll(self) -> ResearchScan:
        (result,) = self._client.api.rpc([rpcs.read_chat_call(self.cid, C.RESEARCH_TURNS)])
        return scan_turns(turn_views(result))

    def _poll_tolerant(self) -> ResearchScan | None:
        """One look at the history; a failed look is logged and skipped (the next one may work)."""
        try:
            return self._poll()
        except AuthError:
            raise
        except (StreamInterrupted, TimeoutError, ProtocolError) as exc:
            logger.info("research %s: reading the history failed (%s)", self.cid, exc.__class__.__name__)
        except APIError as exc:
            if exc.status_code is None or exc.status_code < 500:
                raise
            logger.info("research %s: reading the history failed (HTTP %s)", self.cid, exc.status_code)
        return None

    def _absorb(self, scan: ResearchScan) -> ResearchReport | None:
        """Take a look's progress and, when done, its report (returned)."""
        self.progress = scan.progress
        if scan.done and self._report is None:
            title = scan.title or self.plan.title
            self._report = ResearchReport(title, scan.markdown, scan.citations, self.cid)
        return self._report


class ResearchWorker:
    """A research followed on a thread: ``on_progress``, then ``on_done(report)`` or ``on_error(exc)``.

    Callbacks run on the worker thread, or wherever ``dispatch`` puts them.
    ``cancel()`` stops following (the service's research goes on);
    ``result(timeout)`` waits for the report like a future.
    """

    def __init__(
        self,
        job: ResearchJob,
        on_progress: ProgressFn | None,
        on_done: Callable[[ResearchReport], Any] | None,
        on_error: Callable[[BaseException], Any] | None,
        timeout: float | None,
        dispatch: Callable[[Callable[[], None]], Any] | None,
    ) -> None:
        for name, callback in (("on_progress", on_progress), ("on_done", on_done), ("on_error", on_error)):
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable, not {type(callback).__name__}")
        self.job = job
        self._on_progress = on_progress
        self._on_done = on_done
        self._on_error = on_error
        self._timeout = timeout
        self._dispatch = dispatch
        self._done = threading.Event()
        self._report: ResearchReport | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"gemini-sync-research-{next(_ids)}", daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        """Stop following the research (from any thread); ``on_error`` gets :class:`Cancelled`."""
        self.job.cancel()

    def done(self) -> bool:
        return self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> ResearchReport:
        """The report, or raise the error; the builtin ``TimeoutError`` if not done within ``timeout``."""
        if not self._done.wait(timeout):
            raise builtins.TimeoutError(f"the research worker did not finish within {timeout:g}s")
        if self._error is not None:
            raise self._error
        assert self._report is not None
        return self._report

    def _call(self, fn: Callable[[], None]) -> None:
        if self._dispatch is None:
            fn()
        else:
            self._dispatch(fn)

    def _progress(self, progress: ResearchProgress) -> None:
        if self._on_progress is not None:
            callback = self._on_progress
            self._call(lambda: callback(progress))

    def _run(self) -> None:
        report: ResearchReport | None = None
        error: BaseException | None = None
        try:
            report = self.job.wait(self._timeout, on_progress=self._progress)
        except BaseException as exc:  # noqa: BLE001 - handed to on_error and result()
            error = exc
        self._call(lambda: self._finish(report, error))

    def _finish(self, report: ResearchReport | None, error: BaseException | None) -> None:
        try:
            if error is None and self._on_done is not None:
                assert report is not None
                self._on_done(report)
            elif error is not None and self._on_error is not None:
                self._on_error(error)
        except BaseException as exc:  # noqa: BLE001 - a failing callback becomes the result
            error, report = exc, None
        self._report, self._error = report, error
        self._done.set()


publish(globals())
