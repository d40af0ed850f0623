"""pytest fixtures for testing apps that use gemini_sync, against the bundled emulator.

Installing gemini-sync registers this module as a pytest plugin, so any test
can ask for:

* ``gemini_emulator``: a running :class:`~gemini_sync.emulator.Emulator`,
  fresh for each test: script answers with ``gemini_emulator.script(...)``,
  inject faults with ``gemini_emulator.fail_next(...)``, inspect
  ``gemini_emulator.requests``;
* ``gemini_client``: a :class:`~gemini_sync.GeminiClient` of that emulator
  with **no retries**, so a fault you inject reaches your code;
* ``gemini_client_factory``: makes more clients of that emulator, with any
  :class:`~gemini_sync.GeminiClient` option changed (``max_retries=2`` for a
  test of your retry handling); each is closed after the test.

pytest imports this module in every project where gemini-sync is installed,
so it imports nothing of gemini_sync at import time: the emulator and the
client are imported when a fixture first runs. Nothing here ever talks to the
real service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .client import GeminiClient
    from .emulator import Emulator

__all__ = ["gemini_emulator", "gemini_client", "gemini_client_factory"]

_PACE = 0.001  # seconds between streamed frames: fast, but still several network writes
_TIMEOUT = 10.0


@pytest.fixture
def gemini_emulator() -> Iterator[Emulator]:
    """A running emulator on an ephemeral 127.0.0.1 port (1 ms between frames), stopped after the test."""
    from .emulator import Emulator

    with Emulator(pace=_PACE) as emulator:
        yield emulator


@pytest.fixture
def gemini_client_factory(gemini_emulator: Emulator) -> Iterator[Callable[..., GeminiClient]]:
    """``make(**options) -> GeminiClient``: clients of ``gemini_emulator``, closed after the test.

    Defaults: the emulator's cookies and URL, ``max_retries=0``, 10 s
    ``timeout`` and ``stall_timeout``, no cookie rotation thread
    (``auto_refresh=False``) and no cookie cache on disk; ``options`` override
    any of them, e.g. ``make(max_retries=2)``.
    """
    from .client import GeminiClient

    made: list[GeminiClient] = []

    def make(**options: Any) -> GeminiClient:
        settings: dict[str, Any] = {
            "cookies": gemini_emulator.cookies,
            "base_url": gemini_emulator.url,
            "max_retries": 0,
            "timeout": _TIMEOUT,
            "stall_timeout": _TIMEOUT,
            "auto_refresh": False,
            "cookie_cache": False,
        }
        settings.update(options)
        client = GeminiClient(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def gemini_client(gemini_client_factory: Callable[..., GeminiClient]) -> GeminiClient:
    """A client of ``gemini_emulator`` with no retries: an injected fault surfaces as its error.

    Made by ``gemini_client_factory()`` (see its defaults) and closed after the test.
    """
    return gemini_client_factory()
