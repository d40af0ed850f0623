"""The ``gemini-sync`` command: ask, chat, list models, or serve the emulator.

``gemini-sync "prompt"`` is ``gemini-sync ask "prompt"``: the answer is
printed as it arrives. ``--emulator`` starts the bundled emulator in-process,
so everything works without a Google account; ``gemini-sync emulator --port
8765`` serves it for other programs (``GEMINI_BASE_URL`` points them at it).
The parser is in :mod:`gemini_sync._cli_parser`, the subcommands in
:mod:`gemini_sync._cli_commands`, the output in :mod:`gemini_sync._cli_output`.

This module imports only what the interpreter has already loaded; everything
else is imported inside :func:`main`, so Ctrl-C at any moment (start-up
included) ends the command with status 130 and no traceback.

Exit codes: 0 ok, 1 local error (e.g. a file), 2 usage, 3 auth, 4 API error,
5 timeout or interrupted stream, 130 interrupted by Ctrl-C (the stream is closed first).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported before main() runs
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_API, EXIT_INTERRUPTED, EXIT_CTRL_C = 0, 1, 2, 3, 4, 5, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gemini-sync`` and ``python -m gemini_sync``; returns the exit status."""
    screen = None
    try:
        from ._cli_commands import run
        from ._cli_output import Screen

        screen = Screen()
        return run(list(sys.argv[1:] if argv is None else argv), screen)
    except KeyboardInterrupt:
        if screen is not None:
            screen.end_line()  # the shell's prompt then starts on a line of its own
        return EXIT_CTRL_C
