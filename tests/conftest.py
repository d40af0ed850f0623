"""Our tests use the fixtures the package ships (``gemini_sync.testing``), under short names.

* ``emu`` is the plugin's ``gemini_emulator`` (2 ms between frames here);
  ``pytest.mark.gemini_emulator(pace=..., shared=True)`` configures it;
* ``client`` is a ``gemini_client_factory`` client with quick retries and a
  5 s stall bound; ``pytest.mark.gemini_client(**options)`` changes them;
* ``module_emu`` is the module's shared emulator (for module-scoped fixtures);
* ``browser`` is plain ``requests`` calls to ``emu``, for testing the emulator itself.

Every test that uses the emulator runs against its 2026 shapes (the service
as it is now); the modules in :data:`BOTH_SHAPES`, a representative
end-to-end subset, also run against the 2025 shapes. Running every module
twice would double the suite's time for little extra coverage: the
shape-specific code is the payload reader and the emulator's frame plan,
which those modules exercise completely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gemini_sync import GeminiClient, RetryPolicy
from gemini_sync.emulator import Emulator
from gemini_sync.testing import marker_options
from tests._support.browser import Browser
from tests._support.display import display  # noqa: F401 - the X display fixture of the Tk tests

#: modules whose tests also run against ``Emulator(shapes="2025")``
BOTH_SHAPES = frozenset(
    {"tests.e2e.test_e2e_stream", "tests.e2e.test_chat_commit", "tests.e2e.test_account_rpcs"}
)


def quick_retries(count: int = 2) -> RetryPolicy:
    """Retries with millisecond delays: the tests' default."""
    return RetryPolicy(count, initial=0.01, maximum=0.02)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every emulator test on the 2026 shapes, and those of :data:`BOTH_SHAPES` on 2025 too."""
    if "gemini_emulator" not in metafunc.fixturenames:
        return
    shapes = ["2026", "2025"] if metafunc.module.__name__ in BOTH_SHAPES else ["2026"]
    metafunc.parametrize("gemini_emulator", shapes, indirect=True)


@pytest.fixture
def emu(gemini_emulator: Emulator) -> Emulator:
    """The plugin's emulator (see the module docstring)."""
    return gemini_emulator


@pytest.fixture(scope="module")
def module_emu(_gemini_module_emulators: Any, request: pytest.FixtureRequest) -> Emulator:
    """The module's shared emulator (2026 shapes), for fixtures that live as long as the module."""
    pace = marker_options(request.node, "gemini_emulator").get(
        "pace", float(request.config.getini("gemini_emulator_pace"))
    )
    emulator: Emulator = _gemini_module_emulators.get("2026", pace)
    return emulator


@pytest.fixture
def browser(emu: Emulator) -> Browser:
    """Plain ``requests`` calls to ``emu``, for testing the emulator itself."""
    return Browser(emu)


@pytest.fixture
def client(
    gemini_client_factory: Callable[..., GeminiClient], request: pytest.FixtureRequest
) -> GeminiClient:
    """A client of ``emu``: quick retries and a 5 s stall bound unless ``mark.gemini_client`` says so."""
    options: dict[str, Any] = {"stall_timeout": 5, "retry": quick_retries()}
    marked = marker_options(request.node, "gemini_client")
    if "max_retries" in marked:  # that many retries, still with the quick delays
        marked["retry"] = quick_retries(marked.pop("max_retries"))
    options.update(marked)
    return gemini_client_factory(**options)
