"""The ``gemini-sync`` command: stream an answer to the terminal.

``gemini-sync "prompt"`` prints the answer as it arrives. ``--emulator``
starts the bundled emulator in-process, so it works without a Google
account; ``gemini-sync emulator --port 8765`` runs the emulator as a server.

Exit codes: 0 ok, 1 local error (e.g. a file), 2 usage, 3 auth, 4 API error, 5 timeout or interrupted
stream, 130 interrupted by Ctrl-C (the stream is closed first).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from . import __version__
from . import _constants as C
from .client import GeminiClient
from .errors import APIError, AuthError, Cancelled, GeminiError, StreamInterrupted, TimeoutError
from .models import Model
from .stream import Stream

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_API, EXIT_INTERRUPTED, EXIT_CTRL_C = 0, 1, 2, 3, 4, 5, 130
_DIM, _RESET = "\x1b[2m", "\x1b[0m"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemini-sync",
        description="Stream an answer from Gemini (or from the bundled emulator with --emulator).",
        epilog="Run 'gemini-sync emulator --help' to serve the emulator. Cookies come from "
        "GEMINI_SECURE_1PSID / GEMINI_SECURE_1PSIDTS unless --emulator is given.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt (omit with --chat)")
    parser.add_argument("--model", "-m", default=None, help="model name, e.g. gemini-3-flash")
    parser.add_argument("--thoughts", action="store_true", help="also show the model's thoughts")
    parser.add_argument("--json", action="store_true", help="print one JSON chunk per line")
    parser.add_argument("--chat", action="store_true", help="interactive multi-turn chat on stdin")
    parser.add_argument("--emulator", action="store_true", help="run against a bundled, in-process emulator")
    parser.add_argument("--save-images", metavar="DIR", help="save every image of the answer into DIR")
    parser.add_argument("--base-url", help="send every request under this URL (e.g. a running emulator)")
    parser.add_argument(
        "--timeout", type=float, default=C.DEFAULT_TIMEOUT, help="connect/read timeout in seconds"
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=C.DEFAULT_STALL_TIMEOUT,
        help="give up after this many silent seconds mid-stream",
    )
    parser.add_argument(
        "--retries", type=int, default=C.DEFAULT_MAX_RETRIES, help="retries before any content arrives"
    )
    parser.add_argument("--pace", type=float, default=0.08, help="with --emulator: seconds between frames")
    parser.add_argument("--version", action="version", version=f"gemini-sync {__version__}")
    return parser


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[GeminiClient]:
    options = {"timeout": args.timeout, "stall_timeout": args.stall_timeout, "max_retries": args.retries}
    if args.emulator:
        from .emulator import Emulator

        with Emulator(pace=args.pace) as emu:
            with GeminiClient(cookies=emu.cookies, base_url=emu.url, cookie_cache=False, **options) as client:
                yield client
        return
    with GeminiClient(base_url=args.base_url, **options) as client:
        yield client


def _print_stream(stream: Stream, args: argparse.Namespace, out: TextIO) -> None:
    dim = out.isatty() and not os.environ.get("NO_COLOR")
    in_thoughts = False
    try:
        for chunk in stream:
            if args.json:
                out.write(chunk.to_json(ensure_ascii=False) + "\n")
            else:
                if args.thoughts and chunk.delta_thoughts:
                    if not in_thoughts:
                        out.write(_DIM if dim else "[thoughts] ")
                        in_thoughts = True
                    out.write(chunk.delta_thoughts)
                if chunk.delta_text:
                    if in_thoughts:
                        out.write(_RESET + "\n" if dim else "\n[answer] ")
                        in_thoughts = False
                    out.write(chunk.delta_text)
            out.flush()
            if args.save_images:
                for image in chunk.new_images:
                    path = image.save(args.save_images)
                    print(f"saved {path}", file=sys.stderr)
    finally:
        stream.close()
        if in_thoughts and dim:
            out.write(_RESET)
    if not args.json:
        out.write("\n")
        out.flush()


def _run(args: argparse.Namespace, out: TextIO) -> int:
    model = Model.from_name(args.model) if args.model else Model.UNSPECIFIED
    with _client(args) as client:
        if not args.chat:
            _print_stream(client.stream(args.prompt, model=model), args, out)
            return EXIT_OK
        chat = client.start_chat(model=model)
        for line in sys.stdin:
            prompt = line.strip()
            if prompt in ("exit", "quit"):
                break
            if prompt:
                _print_stream(chat.send_message_stream(prompt), args, out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gemini-sync`` and ``python -m gemini_sync``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from .emulator.cli import main as emulator_main

        return emulator_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.chat == bool(args.prompt):
        parser.print_usage(sys.stderr)
        print("gemini-sync: give a prompt, or --chat (not both)", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args, sys.stdout)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_CTRL_C
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ValueError as exc:
        print(f"gemini-sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AuthError as exc:
        print(f"gemini-sync: authentication failed: {exc}", file=sys.stderr)
        return EXIT_AUTH
    except (TimeoutError, StreamInterrupted) as exc:
        print(f"gemini-sync: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Cancelled:
        return EXIT_CTRL_C
    except (APIError, GeminiError) as exc:
        print(f"gemini-sync: {exc}", file=sys.stderr)
        return EXIT_API
    except OSError as exc:  # e.g. --save-images into an unwritable directory
        print(f"gemini-sync: {exc}", file=sys.stderr)
        return EXIT_ERROR
