"""``python -m gemini_sync``: the same as the ``gemini-sync`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
