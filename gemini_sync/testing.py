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

Markers configure them, on a test, a class or a module (``pytestmark``); the
closest one wins:

* ``@pytest.mark.gemini_emulator(pace=0.005, shapes="2025", shared=True)``:
  seconds between streamed frames (default 1 ms), the service's shapes to
  speak (``"2026"``, the service as it is now, or ``"2025"``), and
  ``shared=True`` for one emulator per module, reset before each test (its
  scripts, faults and recorded requests; see ``Emulator.reset``), so a
  module of many tests pays one start;
  the ini option ``gemini_emulator_pace`` sets the default pace of a project;
  ``replay="capture.json"`` answers every turn with a capture (``gemini-sync
  capture``), as fast as it goes unless ``replay_speed=1.0`` (the recorded pace);
* ``@pytest.mark.gemini_client(**options)``: ``GeminiClient`` options of
  ``gemini_client`` (and the defaults of ``gemini_client_factory``).

``gemini_emulator`` can also be parametrized by shapes:
``@pytest.mark.parametrize("gemini_emulator", ["2026", "2025"], indirect=True)``.

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

__all__ = ["gemini_emulator", "gemini_client", "gemini_client_factory", "marker_options"]

_PACE = 0.001  # seconds between streamed frames: fast, but still several network writes
_TIMEOUT = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "gemini_emulator_pace",
        "default seconds between the frames gemini_emulator streams (a marker's pace wins)",
        default=str(_PACE),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        'gemini_emulator(pace=0.001, shapes="2026", shared=False, replay=None, replay_speed=0.0): '
        "the gemini_emulator settings",
    )
    config.addinivalue_line("markers", "gemini_client(**options): GeminiClient options of gemini_client")


def marker_options(node: pytest.Item | pytest.Collector, name: str) -> dict[str, Any]:
    """The keyword arguments of every ``name`` marker on ``node`` and its parents; the closest wins."""
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(name))):
        options.update(marker.kwargs)
    return options


def _merge(settings: dict[str, Any], new: dict[str, Any]) -> None:
    """``settings`` updated with ``new``, where an option given replaces the defaults it conflicts with.

    ``retry=`` replaces ``max_retries=`` (and the reverse), ``timeouts=`` the
    older single bounds: giving both is a ``TypeError`` of ``GeminiClient``.
    """
    if "retry" in new:
        settings.pop("max_retries", None)
    if "max_retries" in new:
        settings.pop("retry", None)
    if "timeouts" in new:
        for legacy in ("timeout", "stall_timeout", "busy_stall_timeout", "queue_timeout"):
            settings.pop(legacy, None)
    settings.update(new)


class _ModuleEmulators:
    """The emulators shared by one module's tests (``shared=True``), one per shapes, stopped at its end."""

    def __init__(self) -> None:
        self.running: dict[str, Emulator] = {}

    def get(self, shapes: str, pace: float) -> Emulator:
        emulator = self.running.get(shapes)
        if emulator is None:
            from .emulator import Emulator

            emulator = self.running[shapes] = Emulator(pace=pace, shapes=shapes).start()
        return emulator

    def stop(self) -> None:
        for emulator in self.running.values():
            emulator.stop()


@pytest.fixture(scope="module")
def _gemini_module_emulators() -> Iterator[_ModuleEmulators]:
    shared = _ModuleEmulators()
    yield shared
    shared.stop()


@pytest.fixture
def gemini_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator on an ephemeral 127.0.0.1 port, stopped after the test (see the markers)."""
    options = marker_options(request.node, "gemini_emulator")
    pace = options.get("pace", float(request.config.getini("gemini_emulator_pace")))
    shapes = getattr(request, "param", None) or options.get("shapes", "2026")
    replay = options.get("replay")
    if options.get("shared", False):
        emulator = request.getfixturevalue("_gemini_module_emulators").get(shapes, pace)
        emulator.reset(pace=pace)
        if replay is not None:
            emulator.replay(replay, speed=options.get("replay_speed", 0.0))
        yield emulator
        return
    from .emulator import Emulator

    with Emulator(pace=pace, shapes=shapes) as emulator:
        if replay is not None:
            emulator.replay(replay, speed=options.get("replay_speed", 0.0))
        yield emulator


@pytest.fixture
def gemini_client_factory(
    gemini_emulator: Emulator, request: pytest.FixtureRequest
) -> Iterator[Callable[..., GeminiClient]]:
    """``make(**options) -> GeminiClient``: clients of ``gemini_emulator``, closed after the test.

    Defaults: the emulator's cookies and URL, ``max_retries=0``, 10 s
    ``timeout`` and ``stall_timeout``, no cookie rotation thread
    (``auto_refresh=False``) and no cookie cache on disk, then the
    ``gemini_client`` marker's options; ``options`` override any of them,
    e.g. ``make(max_retries=2)``; ``make(guest=True)`` is a guest's client (no cookies).
    """
    from .client import GeminiClient

    made: list[GeminiClient] = []
    marked = marker_options(request.node, "gemini_client")

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
        _merge(settings, marked)
        _merge(settings, options)
        if settings.get("guest"):  # a guest's client has no cookies at all
            settings.pop("cookies", None)
        client = GeminiClient(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def gemini_client(gemini_client_factory: Callable[..., GeminiClient]) -> GeminiClient:
    """A client of ``gemini_emulator`` with no retries: an injected fault surfaces as its error.

    Made by ``gemini_client_factory()`` (see its defaults and the marker) and closed after the test.
    """
    return gemini_client_factory()
