"""The drift report against the emulator: a capture's shapes next to what the emulator sends.

:func:`emulator_capture` asks a fresh emulator the same kind of turn the
capture holds (the same prompt, model, thinking level, tool, guest or not)
and captures it the same way; :func:`drift_report` compares the two with
:func:`~gemini_sync.capture.drift.compare_captures`. The comparison itself
is pure (:mod:`gemini_sync.capture.drift`); only this part runs a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._log import logger
from ..errors import GeminiError

if TYPE_CHECKING:
    from ..capture.drift import DriftReport
    from ..capture.file import Capture

__all__ = ["emulator_capture", "drift_report"]


def emulator_capture(capture: Capture) -> Capture:
    """The same kind of turn as ``capture``'s, answered by a fresh emulator and captured."""
    from ..client import GeminiClient
    from .server import Emulator

    turn = capture.turn
    asked = turn.get("prompt")
    prompt: str = asked if isinstance(asked, str) and asked else "Hello"
    options: dict[str, Any] = {"thinking": turn.get("thinking"), "tool": turn.get("tool")}
    with Emulator(pace=0.0) as emu:
        if turn.get("guest"):
            client = GeminiClient(guest=True, base_url=emu.url)
        else:
            client = GeminiClient(cookies=emu.cookies, base_url=emu.url, cookie_cache=False)
        with client:
            try:
                return client.capture(prompt, model=turn.get("model"), **options)
            except (GeminiError, ValueError, TypeError) as exc:  # a model or level this emulator lacks
                logger.info(
                    "the emulator cannot play the captured model (%s): its default model answers", exc
                )
                return client.capture(prompt, **options)


def drift_report(capture: Capture) -> DriftReport:
    """How ``capture``'s shapes differ from the emulator's for the same kind of turn."""
    from ..capture.drift import compare_captures

    return compare_captures(capture, emulator_capture(capture))
