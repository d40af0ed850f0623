"""Bounded waits on what the emulator saw (no sleeps): shared by the worker and example tests."""

from __future__ import annotations

import time

from gemini_sync.emulator import Emulator

__all__ = ["assert_disconnected"]


def assert_disconnected(emu: Emulator, prompt: str, timeout: float) -> None:
    """Wait (at most ``timeout`` s) until the emulator saw the client close the stream of ``prompt``."""
    deadline = time.monotonic() + timeout
    while not any(d.prompt == prompt for d in emu.disconnects):
        left = deadline - time.monotonic()
        assert left > 0, f"the emulator never saw the client close the stream of {prompt!r}"
        emu.wait_for_disconnect(left, count=len(emu.disconnects) + 1)
