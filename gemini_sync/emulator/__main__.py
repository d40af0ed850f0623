"""``python -m gemini_sync.emulator``: see :mod:`gemini_sync.emulator.cli`."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
