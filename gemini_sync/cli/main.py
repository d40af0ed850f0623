"""The ``gemini-sync`` command: ask, chat, list models, or serve the emulator.

``gemini-sync "prompt"`` is ``gemini-sync ask "prompt"``: the answer is
printed as it arrives. ``--emulator`` starts the bundled emulator in-process,
so everything works without a Google account; ``gemini-sync emulator --port
8765`` serves it for other programs (``GEMINI_BASE_URL`` points them at it).
The parser is in :mod:`.parser`, the subcommands in :mod:`.commands`, the
output in :mod:`.output`, the exit statuses in :mod:`.exits`.

This module imports only what the interpreter has already loaded; everything
else is imported inside :func:`main`, so Ctrl-C at any moment (start-up
included) ends the command with status 130 and no traceback.

"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported before main() runs
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_CTRL_C = 130  # as in .exits, written here so that Ctrl-C during start-up needs no import


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gemini-sync`` and ``python -m gemini_sync``; returns the exit status."""
    screen = None
    try:
        from .commands import run
        from .output import Screen

        screen = Screen()
        return run(list(sys.argv[1:] if argv is None else argv), screen)
    except KeyboardInterrupt:
        if screen is not None:
            screen.end_line()  # the shell's prompt then starts on a line of its own
        return EXIT_CTRL_C
