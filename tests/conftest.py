"""Fixtures shared by the end-to-end tests: an emulator, a client of it, a raw "browser".

One set, configured per module (or per test) with markers instead of copies:

* ``pytest.mark.emulator(pace=0.005)``: the seconds between frames
  (default :data:`DEFAULT_PACE`);
* ``pytest.mark.emulator(shared=True)``: one emulator for the whole module
  (``module_emu``), reset before each test (pace, faults, scripts, recorded
  requests), for modules whose many tests would otherwise pay a start each;
* ``pytest.mark.client(timeout=20, ...)``: :class:`GeminiClient` options that
  replace those of :func:`tests._wire.make_client`.

The ``emu`` fixture runs every test that uses it against the emulator's 2026
shapes (the service as it is now); the modules in :data:`BOTH_SHAPES`, a
representative end-to-end subset, also run against the 2025 shapes
(``Emulator(shapes="2025")``). Running every module twice would double the
suite's time for little extra coverage: the shape-specific code is the payload
reader and the emulator's frame plan, which those modules exercise completely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from tests._support.browser import Browser
from tests._support.display import display  # noqa: F401 - the X display fixture of the Tk tests
from tests._wire import make_client

DEFAULT_PACE = 0.002  # 2 ms between frames: answers still arrive in several reads

#: modules whose tests also run against ``Emulator(shapes="2025")``
BOTH_SHAPES = frozenset({"tests.test_e2e_stream", "tests.test_chat_commit", "tests.test_account_rpcs"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator(pace=0.002, shared=False): the emu fixture's settings")
    config.addinivalue_line("markers", "client(**options): GeminiClient options of the client fixture")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the 2025 variant of the shared ``emu`` fixture only in :data:`BOTH_SHAPES`."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        shapes = callspec.params.get("emu") if callspec is not None else None
        module = getattr(item, "module", None)
        if shapes == "2025" and getattr(module, "__name__", "") not in BOTH_SHAPES:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _marker_options(node: pytest.Item | pytest.Collector, name: str) -> dict[str, Any]:
    """The keyword arguments of every ``name`` marker on ``node``; the closest one wins."""
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(name))):
        options.update(marker.kwargs)
    return options


@pytest.fixture(scope="module")
def module_emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One emulator for the whole module; tests get it (reset) as ``emu`` when the module is shared."""
    pace = _marker_options(request.node, "emulator").get("pace", DEFAULT_PACE)
    with Emulator(pace=pace) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def module_emu_2025(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """:func:`module_emu` speaking the 2025 shapes."""
    pace = _marker_options(request.node, "emulator").get("pace", DEFAULT_PACE)
    with Emulator(pace=pace, shapes="2025") as emulator:
        yield emulator


@pytest.fixture(params=["2026", "2025"])
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator: a fresh one per test, or the module's one reset (``shared=True``)."""
    options = _marker_options(request.node, "emulator")
    pace = options.get("pace", DEFAULT_PACE)
    shapes: str = request.param
    if options.get("shared", False):
        emulator: Emulator = request.getfixturevalue("module_emu" if shapes == "2026" else "module_emu_2025")
        emulator.pace = pace
        emulator.clear_faults()
        emulator.clear_scripts()
        emulator.clear_requests()
        yield emulator
        return
    with Emulator(pace=pace, shapes=shapes) as emulator:
        yield emulator


@pytest.fixture
def browser(emu: Emulator) -> Browser:
    """Plain ``requests`` calls to ``emu``, for testing the emulator itself."""
    return Browser(emu)


@pytest.fixture
def client(emu: Emulator, request: pytest.FixtureRequest) -> Iterator[GeminiClient]:
    """A client of ``emu``: short retry delays and a 5 s stall bound unless ``mark.client`` says otherwise."""
    with make_client(emu, **_marker_options(request.node, "client")) as c:
        yield c
