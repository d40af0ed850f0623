"""What each ``gemini-sync`` subcommand does, and how failures become messages and exit codes.

:func:`run` parses the arguments (:mod:`gemini_sync.cli.parser`), sets up
logging (``-v``/``-vv`` or ``GEMINI_SYNC_LOG``) and runs the subcommand;
streams are shown by :mod:`gemini_sync.cli.output`. Messages say what to do
next (how to get cookies, that ``--emulator`` needs no account, that any
cookie value works against an emulator).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from .. import _constants as C
from .exits import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_CTRL_C,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
)
from .output import Renderer, Screen
from .parser import build_parser, with_default_command

if TYPE_CHECKING:
    import argparse

    from ..chat import ChatSession
    from ..client import GeminiClient
    from ..models import Model
    from ..streaming.stream import Stream
    from ..types.account import ModelInfo

__all__ = ["run"]

_T = TypeVar("_T")

_QUIT_WORDS = ("exit", "quit", "/exit", "/quit")
_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


# --- logging -----------------------------------------------------------------------------------


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to the screen's stderr, erasing the status line first so a record starts a clean line."""

    def __init__(self, screen: Screen) -> None:
        super().__init__(screen.err)
        self._screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        self._screen.clear_status()
        super().emit(record)


def _setup_logging(verbose: int, screen: Screen) -> None:
    """Log ``gemini_sync`` records to stderr: warnings by default, more with -v/-vv or the env var."""
    level = logging.WARNING
    if verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
    else:
        wanted = os.environ.get(C.ENV_CLI_LOG, "").strip().lower()
        level = _LOG_LEVELS.get(wanted, level)
    handler = _LogHandler(screen)
    detail = "%(asctime)s " if level <= logging.DEBUG else ""
    handler.setFormatter(logging.Formatter(f"{detail}gemini-sync: %(levelname)s: %(name)s: %(message)s"))
    library = logging.getLogger("gemini_sync")
    library.addHandler(handler)
    library.setLevel(level)


# --- connecting --------------------------------------------------------------------------------


def _missing_cookies(base_url: str | None) -> str:
    if base_url:
        return (
            f"no cookies for {base_url}. Against the emulator any value works:\n"
            f"  export {C.ENV_PSID}=test\n"
            "(a real account's cookies are only needed for gemini.google.com)"
        )
    return (
        "no Gemini cookies found. Either:\n"
        '  * chat without an account (the default model, no history): gemini-sync --guest "prompt"\n'
        '  * or try the bundled emulator: gemini-sync --emulator "prompt"\n'
        "  * or use your account: sign in at https://gemini.google.com, open the developer tools (F12) ->\n"
        "    Application (Firefox: Storage) -> Cookies, and copy two values:\n"
        f"      export {C.ENV_PSID}='<__Secure-1PSID>' {C.ENV_PSIDTS}='<__Secure-1PSIDTS>'\n"
        "  * or let gemini-sync read them from your browser: pip install 'gemini-sync[browser]'"
    )


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[GeminiClient]:
    from ..client import GeminiClient
    from ..errors import AuthError

    options = {"timeout": args.timeout, "stall_timeout": args.stall_timeout, "max_retries": args.retries}
    if args.emulator:
        from ..emulator import Emulator

        with Emulator(pace=args.pace) as emu:
            cookies = {"guest": True} if args.guest else {"cookies": emu.cookies, "cookie_cache": False}
            with GeminiClient(base_url=emu.url, **cookies, **options) as client:
                yield client
        return
    base_url = args.base_url or os.environ.get(C.ENV_BASE_URL) or None
    try:
        client = GeminiClient(base_url=base_url, guest=args.guest, **options)
    except AuthError:
        raise CommandFailed(_missing_cookies(base_url), EXIT_AUTH) from None
    with client:
        yield client


# --- commands ----------------------------------------------------------------------------------


def _read_prompt(args: argparse.Namespace) -> str:
    prompt: str | None = args.prompt
    if prompt == "-" or (prompt is None and not sys.stdin.isatty()):
        prompt = sys.stdin.read()
    if prompt is None:
        raise CommandFailed('give a prompt: gemini-sync "prompt" (or pipe one in; see --help)', EXIT_USAGE)
    if not prompt.strip():
        raise CommandFailed("the prompt is empty", EXIT_USAGE)
    return prompt.strip()


def _renderer(args: argparse.Namespace, screen: Screen) -> Renderer:
    return Renderer(
        screen, as_json=args.json, thoughts=args.thoughts, save_images=args.save_images, quiet=args.quiet
    )


def _cmd_ask(args: argparse.Namespace, screen: Screen) -> int:
    prompt = _read_prompt(args)
    renderer = _renderer(args, screen)
    with _client(args) as client:
        options = {"model": args.model, "thinking": args.thinking, "tool": args.tool}
        _guarded(renderer, lambda: _show(renderer, client.stream(prompt, **options), args))
    return EXIT_OK


def _show(renderer: Renderer, stream: Stream, args: argparse.Namespace) -> None:
    """Show an answer, then save its generated videos and music (``--save-media``)."""
    output = renderer.show(stream)
    if args.save_media:
        from .research import save_media

        save_media(renderer, output, args.save_media)


def _cmd_chat(args: argparse.Namespace, screen: Screen) -> int:
    renderer = _renderer(args, screen)
    interactive = sys.stdin.isatty()
    with _client(args) as client:
        chat = _guarded_value(renderer, lambda: client.start_chat(model=args.model, thinking=args.thinking))
        if interactive:
            where = "the bundled emulator" if args.emulator else (client.base_url or "Gemini")
            screen.note(f"Chatting with {where}. Type a message and press Enter; Ctrl-D or 'exit' quits.")
        while True:
            try:
                line = _prompt_line(screen) if interactive else sys.stdin.readline()
            except EOFError:
                line = ""
            if not line:  # end of input (Ctrl-D)
                if interactive:
                    screen.note("")
                return EXIT_OK
            prompt = line.strip()
            if prompt.lower() in _QUIT_WORDS:
                return EXIT_OK
            if prompt:
                _guarded(renderer, functools.partial(_show_turn, renderer, chat, prompt, args))


def _show_turn(renderer: Renderer, chat: ChatSession, prompt: str, args: argparse.Namespace) -> None:
    _show(renderer, chat.send_message_stream(prompt, tool=args.tool), args)


def _prompt_line(screen: Screen) -> str:
    """One line typed at ``> `` (with line editing when stdout is the terminal); ``""`` at Ctrl-D."""
    if screen.out.isatty():
        return input("> ") + "\n"
    screen.err.write("> ")
    screen.err.flush()
    return sys.stdin.readline()


def _cmd_models(args: argparse.Namespace, screen: Screen) -> int:
    from ..models import Model

    if args.known:
        _show_known(Model.known(), args.json, screen)
        return EXIT_OK
    with _client(args) as client:
        listed = client.list_models()
    _show_listed(listed, args.json, screen)
    return EXIT_OK


def _show_known(models: list[Model], as_json: bool, screen: Screen) -> None:
    """This release's models, by the names ``--model`` takes."""
    for model in models:
        if model.model_id is None:  # "unspecified": the account's default, not a choice
            continue
        if as_json:
            fields = {"name": model.name, "id": model.model_id, "option": model.name}
            screen.write(json.dumps({**fields, "thinking": model.thinking, "paid": model.paid}) + "\n")
            continue
        traits = [t for t, on in (("thinking", model.thinking), ("paid", model.paid)) if on]
        screen.write(model.name + (f"  [{', '.join(traits)}]" if traits else "") + "\n")


def _show_listed(listed: list[ModelInfo], as_json: bool, screen: Screen) -> None:
    """The account's models: display name, id, the nickname ``--model`` takes, thinking levels."""
    from ..catalogue import NICKNAMES
    from ..models import Model

    release = {m.model_id: m.name for m in reversed(Model.known()) if m.model_id}
    numbers = [info.number for info in listed]
    by_number = {number: name for name, number in reversed(NICKNAMES.items())}
    for info in listed:
        unique = info.number is not None and numbers.count(info.number) == 1
        nickname = by_number.get(info.number) if unique and info.number is not None else None
        levels = list(info.thinking_levels) if info.thinking_levels is not None else None
        if as_json:
            fields = {"name": info.label, "id": info.id, "option": release.get(info.id), "nickname": nickname}
            more = {"number": info.number, "tier": info.tier, "thinking_levels": levels}
            screen.write(json.dumps({**fields, **more}) + "\n")
            continue
        names = ", ".join(n for n in (nickname, release.get(info.id)) if n)
        shown_levels = ", ".join(levels) if levels else "not listed"
        line = f"{info.label}  {info.id}" + (f"  (--model {names})" if names else "")
        screen.write(f"{line}  thinking: {shown_levels}\n")


def _cmd_usage(args: argparse.Namespace, screen: Screen) -> int:
    """The account's quotas: a table, or one JSON object per quota (``resets_at`` in Unix seconds)."""
    import time

    from .output import quota_rows

    with _client(args) as client:
        quotas = client.usage()
    if args.json:
        for quota in quotas:
            screen.write(json.dumps(quota.to_dict(encode_json=True)) + "\n")
    else:
        for row in quota_rows(quotas, time.time()):
            screen.write(row + "\n")
    return EXIT_OK


def _cmd_research(args: argparse.Namespace, screen: Screen) -> int:
    from .research import research

    prompt = None if args.resume else _read_prompt(args)
    with _client(args) as client:
        research(args, screen, client, prompt)
    return EXIT_OK


def _cmd_capture(args: argparse.Namespace, screen: Screen) -> int:
    from .capture import capture

    capture(args, screen, _client, _read_prompt)
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace, screen: Screen) -> int:
    from .doctor import doctor

    return doctor(args, screen)


def _cmd_emulator(args: argparse.Namespace, screen: Screen) -> int:
    from ..emulator.cli import serve

    return serve(args)


def _cmd_serve(args: argparse.Namespace, screen: Screen) -> int:
    from ..openai.serve import run

    return run(args)


# --- errors ------------------------------------------------------------------------------------


def _guarded(renderer: Renderer, show: Callable[[], None]) -> None:
    """Run ``show``; a library error is reported by ``renderer`` (as a JSON event too) and re-raised."""
    from ..errors import GeminiError

    try:
        show()
    except GeminiError as exc:
        renderer.failed(exc, _describe(exc))
        raise CommandFailed("", _exit_code(exc)) from exc


def _guarded_value(renderer: Renderer, make: Callable[[], _T]) -> _T:
    """``make()``, with a library error reported as by :func:`_guarded`."""
    made: list[_T] = []
    _guarded(renderer, lambda: made.append(make()))
    return made[0]


def _describe(exc: BaseException) -> str:
    from ..errors import AuthError

    if isinstance(exc, AuthError):
        return f'{exc}\nWithout an account: gemini-sync --guest "prompt" (or try gemini-sync --emulator)'
    resets_at = getattr(exc, "resets_at", None)  # UsageLimitExceeded (1037), when the service said
    if resets_at is not None:
        import time

        from .output import local_time

        return f"{exc}\nThat is {local_time(resets_at, time.time())} here; every quota: gemini-sync usage"
    return str(exc)


def _exit_code(exc: BaseException) -> int:
    from ..errors import AuthError, Cancelled, StreamInterrupted, TimeoutError

    if isinstance(exc, AuthError):
        return EXIT_AUTH
    if isinstance(exc, (TimeoutError, StreamInterrupted)):
        return EXIT_INTERRUPTED
    if isinstance(exc, Cancelled):
        return EXIT_CTRL_C
    return EXIT_API


HANDLERS: dict[str, Callable[[argparse.Namespace, Screen], int]] = {
    "ask": _cmd_ask,
    "chat": _cmd_chat,
    "models": _cmd_models,
    "usage": _cmd_usage,
    "research": _cmd_research,
    "doctor": _cmd_doctor,
    "capture": _cmd_capture,
    "emulator": _cmd_emulator,
    "serve": _cmd_serve,
}


def run(argv: list[str], screen: Screen) -> int:
    """Run the command line ``argv`` (without the program name); returns the exit status."""
    try:
        argv = with_default_command(argv)
        args = build_parser(argv).parse_args(argv)
        _setup_logging(getattr(args, "verbose", 0) or 0, screen)
        return HANDLERS[args.command](args, screen)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - _report re-raises what it does not know
        return _report(exc, screen)


def _report(exc: Exception, screen: Screen) -> int:
    """Say what went wrong on stderr and return the exit status; re-raise what is not ours to word."""
    errors = sys.modules.get("gemini_sync.errors")  # imported if the library raised anything
    if isinstance(exc, CommandFailed):
        if str(exc):
            screen.error(str(exc))
        return exc.code
    if errors is not None and isinstance(exc, errors.GeminiError):
        screen.error(_describe(exc))
        return _exit_code(exc)
    if isinstance(exc, BrokenPipeError):  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    if isinstance(exc, ValueError):  # an unknown model name, a bad option value
        screen.error(str(exc))
        return EXIT_USAGE
    if isinstance(exc, OSError):  # e.g. --save-images into an unwritable directory
        screen.error(str(exc))
        return EXIT_ERROR
    raise exc
