"""pytest fixtures for testing apps that use gemini_sync, against the bundled emulator.

Installing gemini-sync registers this module as a pytest plugin, so any test
can ask for:

* ``gemini_emulator``: a running :class:`~gemini_sync.emulator.Emulator`
  (fresh per test; script answers with ``gemini_emulator.script(...)``, inject
  faults with ``gemini_emulator.fail_next(...)``, inspect
  ``gemini_emulator.requests``);
* ``gemini_client``: a :class:`~gemini_sync.GeminiClient` pointed at it.

The emulator runs fast in tests (``pace=0.001``); nothing here ever talks to
the real service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import GeminiClient
from .emulator import Emulator

__all__ = ["gemini_emulator", "gemini_client"]


@pytest.fixture
def gemini_emulator() -> Iterator[Emulator]:
    """A running emulator on an ephemeral 127.0.0.1 port, stopped after the test."""
    with Emulator(pace=0.001) as emulator:
        yield emulator


@pytest.fixture
def gemini_client(gemini_emulator: Emulator) -> Iterator[GeminiClient]:
    """A client of ``gemini_emulator`` (no retries' back-off sleeps longer than needed)."""
    with GeminiClient(
        cookies=gemini_emulator.cookies,
        base_url=gemini_emulator.url,
        timeout=10.0,
        stall_timeout=10.0,
        auto_refresh=False,
    ) as client:
        yield client
