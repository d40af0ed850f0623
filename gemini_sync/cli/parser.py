"""The argument parser of the ``gemini-sync`` command: subcommands, shared options, help text.

``gemini-sync <anything that is not a command>`` means ``gemini-sync ask ...``
(:func:`with_default_command`), so ``gemini-sync "prompt"`` and
``gemini-sync --emulator "prompt"`` work as they always did. Help shows every
default worth showing.
"""

from __future__ import annotations

import argparse

from .. import _constants as C

__all__ = ["COMMANDS", "build_parser", "command_of", "with_default_command"]

#: the subcommands; ``gemini-sync <anything else>`` means ``gemini-sync ask <anything else>``.
#: To add one (issue 15's ``usage``, later ``research``): write ``_add_<name>`` here (its parser),
#: ``_cmd_<name>`` in ``_cli_commands`` (what it does), and list it here and in ``HANDLERS`` there.
COMMANDS = ("ask", "chat", "models", "usage", "research", "doctor", "capture", "emulator", "serve")
_TOP_LEVEL = ("-h", "--help", "--version", "-v", "-vv", "-vvv", "--verbose")

_Subparsers = argparse._SubParsersAction  # the type of add_subparsers()'s result


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (when it has one worth showing) and keeps epilog line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, argparse.SUPPRESS) and not isinstance(default, list)
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _common_options() -> argparse.ArgumentParser:
    """Where answers come from and how patient to be: shared by ask, chat and models."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where to connect")
    where.add_argument(
        "--emulator", action="store_true", help="use a bundled, in-process emulator (no account needed)"
    )
    where.add_argument(
        "--base-url",
        default=None,
        help=f"send every request under this URL, e.g. a running emulator "
        f"(default: ${C.ENV_BASE_URL}, else gemini.google.com)",
    )
    where.add_argument(
        "--guest",
        action="store_true",
        help="no Google account: the default model only, no history (no cookies)",
    )
    where.add_argument("--pace", type=float, default=0.08, help="with --emulator: seconds between frames")
    limits = common.add_argument_group("limits")
    limits.add_argument("--timeout", type=float, default=C.DEFAULT_TIMEOUT, help="connect/read timeout, s")
    limits.add_argument(
        "--stall-timeout",
        type=float,
        default=C.DEFAULT_STALL_TIMEOUT,
        help="give up after this long silent, s",
    )
    limits.add_argument(
        "--retries", type=int, default=C.DEFAULT_MAX_RETRIES, help="retries before any content arrives"
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help=f"log to stderr: -v info, -vv debug (or ${C.ENV_CLI_LOG}=debug)",
    )
    return common


def _answer_options() -> argparse.ArgumentParser:
    """How an answer is shown: shared by ask and chat."""
    shown = argparse.ArgumentParser(add_help=False)
    shown.add_argument(
        "--model",
        "-m",
        default=None,
        help="the model: pro, flash, flash-lite, a display name such as '3.1 Pro', an id, "
        "or a release name such as gemini-3-flash (see: models)",
    )
    shown.add_argument(
        "--thinking",
        choices=("standard", "extended", "deep"),
        default=None,
        help="how hard the model thinks (default: the service's choice; see: models)",
    )
    shown.add_argument("--thoughts", action="store_true", help="also show the model's thoughts (on stderr)")
    shown.add_argument("--json", action="store_true", help="print JSON Lines of events instead of text")
    shown.add_argument("--save-images", metavar="DIR", help="save every image of the answer into DIR")
    shown.add_argument(
        "--tool", choices=("video", "music", "image"), default=None, help="use a tool of the web app"
    )
    shown.add_argument(
        "--save-media", metavar="DIR", help="save the generated videos and music into DIR (waits for them)"
    )
    shown.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no status line on stderr (it is only shown on a terminal, until the answer starts)",
    )
    return shown


def _add_ask(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    ask = sub.add_parser(
        "ask",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="stream the answer to one prompt (the default command)",
        description="Stream the answer to one prompt to stdout, as it is generated.",
        epilog="The prompt is read from stdin when it is '-', or omitted while stdin is not a terminal:\n"
        "  git diff | gemini-sync ask -",
    )
    ask.add_argument("prompt", nargs="?", help="the prompt; '-' reads it from stdin")


def _add_chat(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    sub.add_parser(
        "chat",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="a multi-turn conversation, one prompt per line of stdin",
        description="Chat: each line you type is a turn of one conversation. "
        "Quit with Ctrl-D, 'exit' or Ctrl-C.",
    )


def _add_models(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    models = sub.add_parser(
        "models",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="list the models your account offers",
        description="List the models the account offers, with the thinking levels each offers "
        "(--known: the ones this release knows, offline).",
    )
    models.add_argument("--known", action="store_true", help="list the models this release knows, offline")
    models.add_argument("--json", action="store_true", help="one JSON object per line")


def _add_research(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    research = sub.add_parser(
        "research",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="Deep Research: plan, confirm, follow the progress, print the cited report",
        description="Ask Deep Research: show its plan, start it once confirmed, show its progress "
        "on stderr, and write the report (markdown) to stdout or a file.",
        epilog="Resume a research started earlier with: gemini-sync research --resume <cid>",
    )
    research.add_argument("prompt", nargs="?", help="the question; '-' reads it from stdin")
    research.add_argument("--model", "-m", default=None, help="model name (see: models)")
    research.add_argument("--yes", "-y", action="store_true", help="start without asking to confirm the plan")
    research.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    research.add_argument("--resume", metavar="CID", help="follow the research of conversation CID")
    research.add_argument(
        "--wait", type=float, default=C.RESEARCH_TIMEOUT, help="give up waiting after this long, s"
    )


def _add_usage(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    usage = sub.add_parser(
        "usage",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="show the account's quotas: used, left, when each resets",
        description="Show the account's usage quotas: per model or feature, the share used, "
        "the answers left, and when the quota resets (local time).",
    )
    usage.add_argument("--json", action="store_true", help="one JSON object per line")


def _add_doctor(sub: _Subparsers[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor",
        parents=parents,
        formatter_class=_HelpFormatter,
        help="check what breaks real use, with one fix per finding",
        description="Check the network (DNS, refused, TLS, proxy), the cookies (where from, how old, "
        "device-bound?), the account's status and abuse flags, the usage windows, the clock against "
        "the service's, the build label's age, and which model answers a one-word prompt. "
        "Exit status 0 only when every check passes.",
    )
    doctor.add_argument(
        "--model", "-m", default=None, help="the model to ask (default: flash; a guest: the default)"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object with every check")


def _add_emulator(sub: _Subparsers[argparse.ArgumentParser], full: bool) -> None:
    """The emulator's own parser as a subcommand; ``full`` only when it runs (its import costs ~60 ms)."""
    help_text = "serve the bundled emulator on a port (for other programs and tests)"
    if not full:
        sub.add_parser("emulator", help=help_text)
        return
    from ..emulator import cli as emulator_cli

    emulator = sub.add_parser(
        "emulator", formatter_class=_HelpFormatter, help=help_text, description=emulator_cli.DESCRIPTION
    )
    emulator_cli.add_arguments(emulator)


def _add_serve(sub: _Subparsers[argparse.ArgumentParser], full: bool) -> None:
    """``serve``: the OpenAI-compatible API (:mod:`gemini_sync.openai.serve`), options only when it runs."""
    help_text = "serve an OpenAI-compatible API (/v1/chat/completions, /v1/responses) on a port"
    if not full:
        sub.add_parser("serve", help=help_text)
        return
    from ..openai import serve

    parser = sub.add_parser(
        "serve", formatter_class=_HelpFormatter, help=help_text, description=serve.DESCRIPTION
    )
    serve.add_arguments(parser)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``gemini-sync`` and its subcommands (``argv``: the command line it will parse)."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="gemini-sync",
        formatter_class=_HelpFormatter,
        description="Stream answers from Gemini, or from the bundled emulator with --emulator.",
        epilog="examples:\n"
        '  gemini-sync --emulator "Tell me about streaming"   # no account needed\n'
        '  gemini-sync "prompt"            # the same as: gemini-sync ask "prompt"\n'
        "  gemini-sync chat --emulator\n"
        "  gemini-sync usage               # the account's quotas and when they reset\n"
        '  gemini-sync --guest "prompt"    # no account: the default model only\n'
        "  gemini-sync doctor              # what breaks real use, and how to fix it\n"
        '  gemini-sync capture "Hi" -o c.json   # a turn, secrets removed, for a bug report\n'
        '  gemini-sync research --emulator "How do tides work?"\n'
        "  gemini-sync emulator --port 8765\n"
        "  gemini-sync serve --emulator    # an OpenAI-compatible API at http://127.0.0.1:8000/v1\n"
        f"cookies: ${C.ENV_PSID} and ${C.ENV_PSIDTS} (see the README), unless --emulator.",
    )
    parser.add_argument("--version", action="version", version=f"gemini-sync {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v info, -vv debug logs on stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common, shown = _common_options(), _answer_options()
    _add_ask(sub, [common, shown])
    _add_chat(sub, [common, shown])
    _add_models(sub, [common])
    _add_research(sub, [common])
    _add_usage(sub, [common])
    _add_doctor(sub, [common])
    from .capture import add_capture

    add_capture(sub, [common], _HelpFormatter)
    _add_emulator(sub, full=argv is None or command_of(argv) == "emulator")
    _add_serve(sub, full=argv is None or command_of(argv) == "serve")
    return parser


def _first_word(argv: list[str]) -> int:
    """Where the command (or the first argument of the default one) is in ``argv``."""
    at = 0
    while at < len(argv) and argv[at] in _TOP_LEVEL:
        at += 1
    return at


def command_of(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names, if any."""
    at = _first_word(argv)
    return argv[at] if at < len(argv) and argv[at] in COMMANDS else None


def with_default_command(argv: list[str]) -> list[str]:
    """``argv`` with ``ask`` inserted unless it names a command (or only asks for help/version)."""
    at = _first_word(argv)
    if command_of(argv) is not None:
        return argv
    if at == len(argv) and any(arg in ("-h", "--help", "--version") for arg in argv):
        return argv
    rest = argv[at:]
    if "--chat" in rest:  # the flag of earlier releases
        rest.remove("--chat")
        return [*argv[:at], "chat", *rest]
    return [*argv[:at], "ask", *rest]
