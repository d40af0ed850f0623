"""``gemini-sync capture``: record one real turn into a file for a bug report, and compare it.

``gemini-sync capture "prompt" -o capture.json`` runs the turn with the
usual connection options (cookies, ``--guest``, ``--emulator``), removes
every secret and writes the file; stderr says what was redacted. With
``--compare`` it then prints the drift report: how the capture's shapes
differ from what the bundled emulator sends for the same kind of turn.
``gemini-sync capture --compare capture.json`` prints the report of a file
recorded earlier, without running a turn.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from ..capture.file import Capture
    from ..client import GeminiClient
    from .output import Screen

__all__ = ["add_capture", "capture"]

_EPILOG = """examples:
  gemini-sync capture "Hello" -o capture.json --name "Ada Lovelace"
  gemini-sync capture --emulator "Hello" -o capture.json --compare
  gemini-sync capture --compare capture.json     # the report of a file recorded earlier
Check the file before you share it: it lists what was redacted (never a value)."""


def add_capture(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
    formatter: type[argparse.HelpFormatter],
) -> None:
    """The ``capture`` subcommand's parser."""
    parser = sub.add_parser(
        "capture",
        parents=parents,
        formatter_class=formatter,
        help="record one turn, secrets removed, into a file for a bug report (and compare it)",
        description="Record one real turn (requests, bodies as received, timing) into a JSON file with every "
        "secret removed: cookie values, tokens, f.sid, push id, account id, e-mail addresses and the names "
        "you give. Replay it with: gemini-sync emulator --replay FILE",
        epilog=_EPILOG,
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; '-' reads it from stdin")
    parser.add_argument("--output", "-o", metavar="FILE", help="where to write the capture")
    parser.add_argument("--model", "-m", default=None, help="the model (see: models)")
    parser.add_argument(
        "--thinking", choices=("standard", "extended", "deep"), default=None, help="thinking level"
    )
    parser.add_argument(
        "--tool", choices=("video", "music", "image"), default=None, help="a tool of the web app"
    )
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="TEXT",
        help="also redact TEXT wherever it appears (your display name; repeat for more)",
    )
    parser.add_argument("--note", default="", help="words for the reader of the file (what you were doing)")
    parser.add_argument(
        "--compare",
        nargs="?",
        const=True,
        default=None,
        metavar="FILE",
        help="print the drift report: of this turn, or of FILE without running a turn",
    )


def capture(
    args: argparse.Namespace,
    screen: Screen,
    client_of: Callable[[argparse.Namespace], AbstractContextManager[GeminiClient]],
    read_prompt: Callable[[argparse.Namespace], str],
) -> None:
    """Run the command (see the module docstring); raises what the command line reports."""
    from ..capture.file import Capture
    from .exits import EXIT_USAGE, CommandFailed

    if isinstance(args.compare, str):
        if args.prompt is not None or args.output:
            raise CommandFailed(
                "--compare FILE reports on a file: give no prompt and no --output", EXIT_USAGE
            )
        _report(Capture.load(args.compare), screen)
        return
    if not args.output:
        raise CommandFailed("say where to write the capture: -o capture.json", EXIT_USAGE)
    prompt = read_prompt(args)
    with client_of(args) as client:
        recorded = client.capture(
            prompt, model=args.model, thinking=args.thinking, tool=args.tool, names=args.name, note=args.note
        )
    recorded.save(args.output)
    _summary(recorded, args.output, screen)
    if args.compare:
        _report(recorded, screen)


def _summary(recorded: Capture, path: str, screen: Screen) -> None:
    kinds: dict[str, int] = {}
    for exchange in recorded.exchanges:
        kinds[exchange.kind] = kinds.get(exchange.kind, 0) + 1
    shown = ", ".join(f"{count} {kind}" for kind, count in kinds.items()) or "no exchange"
    screen.note(f"wrote {path}: {shown}")
    for line in recorded.redacted:
        screen.note(f"  redacted {line}")
    result = recorded.result or {}
    if "error" in result:
        screen.note(f"  the turn failed: {result['error']} (the capture holds it)")
    screen.note("Check the file before you share it; replay it with: gemini-sync emulator --replay " + path)


def _report(recorded: Capture, screen: Screen) -> None:
    from ..emulator.drift import drift_report

    screen.out.write(drift_report(recorded).text().rstrip("\n") + "\n")
    screen.out.flush()
