"""Stream an answer from a plain script: print deltas as they arrive, collect(), handle errors.

Run it (no account needed: the bundled emulator starts inside the process)::

    python examples/stream_script.py "Tell me a story"

``--base-url http://127.0.0.1:8765`` (or ``GEMINI_BASE_URL``) talks to a running
emulator instead (``gemini-sync emulator --port 8765``); ``--real``
talks to gemini.google.com with your cookies (``GEMINI_SECURE_1PSID`` ...).
``--simulate usage-limit`` / ``--simulate logged-out`` make the bundled emulator
fail, to show the error handling.

The pattern::

    with client.stream(prompt) as stream:       # leaving the block frees the socket
        for chunk in stream:
            print(chunk.delta_text, end="", flush=True)
        output = stream.collect()               # the whole answer as a ModelOutput

Exit status: 0 ok, 1 other error, 3 not logged in, 4 the service refused,
5 timed out or cut off, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from example_client import make_client

from gemini_sync import GeminiClient, errors
from gemini_sync.emulator import Emulator


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stream one answer to the terminal.")
    parser.add_argument("prompt", nargs="?", default="Tell me about the emulator", help="what to ask")
    parser.add_argument("--model", default=None, help="e.g. gemini-3-flash-thinking (shows thoughts)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--base-url", help="a running emulator, e.g. http://127.0.0.1:8765 (or GEMINI_BASE_URL)"
    )
    where.add_argument("--real", action="store_true", help="gemini.google.com with your cookies")
    parser.add_argument(
        "--simulate",
        choices=["usage-limit", "logged-out"],
        help="make the bundled emulator fail, to see the error handling",
    )
    return parser.parse_args(argv)


def stream_answer(client: GeminiClient, prompt: str, model: str | None = None) -> int:
    """Print the answer as it streams, then a summary from ``collect()``; return the exit status."""
    out, err = sys.stdout, sys.stderr
    kwargs = {"model": model} if model else {}
    try:
        with client.stream(prompt, **kwargs) as stream:
            in_thoughts = False
            for chunk in stream:
                if chunk.delta_thoughts:
                    if not in_thoughts:
                        err.write("[thinking] ")
                        in_thoughts = True
                    err.write(chunk.delta_thoughts)
                    err.flush()
                if chunk.delta_text:
                    if in_thoughts:
                        err.write("\n")
                        in_thoughts = False
                    out.write(chunk.delta_text)
                    out.flush()
            output = stream.collect()  # after the loop: the whole answer, nothing is sent again
    except KeyboardInterrupt:  # the with block has closed the connection
        err.write("\ninterrupted\n")
        return 130
    except errors.AuthError as exc:
        err.write(f"\nnot logged in: {exc}\n")
        return 3
    except errors.APIError as exc:  # UsageLimitExceeded, ModelInvalid, TemporarilyBlocked, RateLimited
        err.write(f"\nthe service refused: {exc.__class__.__name__} (code {exc.code}): {exc}\n")
        if exc.partial is not None and exc.partial.text:
            err.write(f"partial answer kept: {len(exc.partial.text)} characters\n")
        return 4
    except (errors.TimeoutError, errors.StreamInterrupted) as exc:
        err.write(f"\nthe answer was cut off: {exc}\n")
        if exc.partial is not None:
            err.write(f"partial answer kept: {len(exc.partial.text)} characters\n")
        return 5
    except errors.GeminiError as exc:
        err.write(f"\nfailed: {exc.__class__.__name__}: {exc}\n")
        return 1
    for image in output.images:
        out.write(f"\n[image: {image.alt or image.title}] {image.url}")
    out.write(
        f"\n---\ncollected {len(output.text)} characters, {len(output.thoughts)} of thoughts, "
        f"{len(output.images)} image(s); conversation {output.cid}\n"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.simulate and (args.real or args.base_url):
        sys.stderr.write("--simulate only works with the bundled emulator\n")
        return 2
    if args.real:
        client = GeminiClient()  # cookies from GEMINI_SECURE_1PSID, the cookie cache or the browser
    elif args.base_url:
        client = make_client(base_url=args.base_url)
    elif args.simulate:
        with Emulator(pace=0.01) as emu:
            if args.simulate == "usage-limit":
                emu.fail_next(code=1037, after_frames=3)  # after some text: the partial answer is kept
            with GeminiClient(
                cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False
            ) as c:
                if args.simulate == "logged-out":
                    emu.expire_cookies()  # the cookies we hold are signed out now
                return stream_answer(c, args.prompt, args.model)
    else:
        client = make_client(emulator=True)  # GEMINI_BASE_URL still wins if set
    with client:
        return stream_answer(client, args.prompt, args.model)


if __name__ == "__main__":
    sys.exit(main())
