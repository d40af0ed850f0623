"""Command line: ``python -m gemini_sync.emulator --port 8765 [--pace 0.05]``.

Starts an :class:`~gemini_sync.emulator.Emulator`, prints its URL (and
nothing else), and serves until interrupted (Ctrl-C). Any non-empty
``__Secure-1PSID`` cookie is accepted unless ``--psid`` is given.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from .server import Emulator

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the emulator command."""
    parser = argparse.ArgumentParser(
        prog="python -m gemini_sync.emulator",
        description="Run a local emulator of the Gemini web service (never the real service).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 = any free one (default 8765)")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between frames (default 0.02)")
    parser.add_argument("--chunk-size", type=int, default=None, help="cut frames into chunks of N bytes")
    parser.add_argument("--psid", default=None, help="require this __Secure-1PSID value (default: any value)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the emulator until Ctrl-C (or until ``stop`` is set); returns the exit status.

    ``ready`` is set once the URL is printed (for tests that run this in a thread).
    """
    args = build_parser().parse_args(argv)
    try:
        emulator = Emulator(args.host, args.port, pace=args.pace, chunk_size=args.chunk_size, psid=args.psid)
        emulator.start()
    except (OSError, ValueError) as exc:
        print(f"error: cannot start the emulator: {exc}", file=sys.stderr)
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
