"""Command line of the emulator: ``gemini-sync emulator --port 8765 [--pace 0.05]``.

Starts an :class:`~gemini_sync.emulator.Emulator`, prints its URL (and
nothing else) on stdout, and serves until interrupted (Ctrl-C). Any non-empty
``__Secure-1PSID`` cookie is accepted unless ``--psid`` is given. ``--replay
capture.json`` answers every turn with a capture's recorded body.
``python -m gemini_sync.emulator`` is the same command; ``gemini-sync``
mounts :func:`add_arguments` as its ``emulator`` subcommand.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

__all__ = ["main", "build_parser", "add_arguments", "serve", "DESCRIPTION"]

DESCRIPTION = (
    "Run a local emulator of the Gemini web service (never the real service): it prints its URL,\n"
    "then serves until Ctrl-C. Point a client at it with GEMINI_BASE_URL=<url> (any cookie value works)."
)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and the description's line breaks kept."""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the emulator's options to ``parser`` (its own or a ``gemini-sync`` subparser)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 = any free one")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between streamed frames")
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="cut frames into network chunks of N bytes"
    )
    parser.add_argument("--psid", default=None, help="require this __Secure-1PSID value (default: any value)")
    parser.add_argument(
        "--queue-seconds", type=float, default=0.0, help="seconds each answer stays queued first (default 0)"
    )
    parser.add_argument(
        "--replay",
        metavar="CAPTURE",
        default=None,
        help="answer every StreamGenerate request with this capture's recorded body (gemini-sync capture -o)",
    )
    parser.add_argument(
        "--replay-speed", type=float, default=1.0, help="with --replay: 1 = the recorded pace, 0 = at once"
    )
    return parser


def build_parser(prog: str = "gemini-sync emulator") -> argparse.ArgumentParser:
    """The argument parser of the emulator command."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, formatter_class=_Formatter)
    return add_arguments(parser)


def serve(
    args: argparse.Namespace,
    *,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the emulator ``args`` describe until Ctrl-C (or ``stop``); returns the exit status."""
    from ..errors import GeminiError
    from .server import Emulator

    try:
        emulator = Emulator(
            args.host,
            args.port,
            pace=args.pace,
            chunk_size=args.chunk_size,
            psid=args.psid,
            queue_seconds=args.queue_seconds,
        )
        if args.replay:
            emulator.replay(args.replay, speed=args.replay_speed)
        emulator.start()
    except (OSError, ValueError, GeminiError) as exc:
        print(f"gemini-sync emulator: cannot start: {exc}", file=sys.stderr)
        return 2
    print(emulator.url, flush=True)
    if ready is not None:
        ready.set()
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the emulator until Ctrl-C (or until ``stop`` is set); returns the exit status.

    ``ready`` is set once the URL is printed (for tests that run this in a thread).
    """
    return serve(build_parser().parse_args(argv), ready=ready, stop=stop)
