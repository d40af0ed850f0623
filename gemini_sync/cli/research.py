"""``gemini-sync research``, and saving generated media (``--tool ... --save-media DIR``).

The research command shows the plan on stderr, asks to confirm it on the
terminal unless ``--yes``, follows the research with a line of progress on
stderr each time it grows, and writes the report's markdown to stdout (or
``-o FILE``). A research that outlives the command is resumed with
``--resume <cid>``: the timeout's message gives the cid.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ..client import GeminiClient
    from ..research import ResearchJob
    from ..types.output import ModelOutput
    from ..types.research import ResearchPlan, ResearchProgress
    from .output import Renderer, Screen

__all__ = ["research", "save_media"]

_EMULATOR_POLL = 0.5  # against the bundled emulator the research runs on a scaled clock


def _show_plan(plan: ResearchPlan, screen: Screen) -> None:
    screen.note(f"Plan: {plan.title}")
    for step in plan.steps:
        screen.note(f"  {step.number}. {step.label}" + (f": {step.description}" if step.description else ""))
    if plan.eta_text:
        screen.note(f"  ({plan.eta_text})")


def _confirmed(screen: Screen) -> bool:
    """Ask on the terminal; ``False`` when there is no terminal to ask on (then --yes is needed)."""
    if not sys.stdin.isatty():
        return False
    screen.err.write("Start this research? [y/N] ")
    screen.err.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _progress(screen: Screen) -> Callable[[ResearchProgress], None]:
    def show(progress: ResearchProgress) -> None:
        latest = progress.thoughts[-1].heading if progress.thoughts else "researching"
        screen.note(f"... {latest} ({len(progress.thoughts)} thoughts, {len(progress.sources)} sources)")

    return show


def _start(client: GeminiClient, args: argparse.Namespace, prompt: str | None, screen: Screen) -> ResearchJob:
    from .exits import EXIT_USAGE, CommandFailed

    model = args.model or None  # a nickname, display name or id is resolved by the client
    if args.resume:
        return client.research_job(args.resume, model=model)
    assert prompt is not None
    job = client.deep_research(prompt, model=model)
    _show_plan(job.plan, screen)
    if not (args.yes or _confirmed(screen)):
        raise CommandFailed(
            f"not started (run again with --yes to start without asking); cid {job.cid}", EXIT_USAGE
        )
    return job


def research(args: argparse.Namespace, screen: Screen, client: GeminiClient, prompt: str | None) -> None:
    """Plan (or resume), confirm, follow, and write the report."""
    if args.emulator:
        client.poll_interval = _EMULATOR_POLL
    job = _start(client, args, prompt, screen)
    job.confirm()  # nothing is sent for a resumed job that was confirmed before
    screen.note(f"Researching (conversation {job.cid}) ...")
    report = job.wait(timeout=args.wait, on_progress=_progress(screen))
    text = report.markdown.rstrip("\n") + "\n"
    if report.citations:
        text += "\n## Sources\n\n" + "".join(
            f"{c.number}. [{c.title or c.url}]({c.url})\n" for c in report.citations
        )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        screen.note(f"saved {args.output}")
    else:
        screen.write(text)


def save_media(renderer: Renderer, output: ModelOutput, directory: str) -> None:
    """Save every video and track of ``output`` into ``directory`` (waiting while they render)."""
    for media in [*output.videos, *output.audio]:
        path = media.save(directory)
        if renderer.as_json:
            renderer.event("saved", path=str(path))
        else:
            renderer.screen.note(f"saved {path}")
