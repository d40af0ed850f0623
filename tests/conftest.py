"""Fixtures shared by the end-to-end tests: an emulator, a client of it, a raw "browser".

A test module that needs other settings defines its own ``emu`` or ``client``
fixture, which takes precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from tests._support.browser import Browser
from tests._wire import make_client


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fast emulator (2 ms between frames: answers still arrive in several reads)."""
    with Emulator(pace=0.002) as emulator:
        yield emulator


@pytest.fixture
def browser(emu: Emulator) -> Browser:
    """Plain ``requests`` calls to ``emu``, for testing the emulator itself."""
    return Browser(emu)


@pytest.fixture
def client(emu: Emulator) -> Iterator[GeminiClient]:
    """A client of ``emu`` with short retry delays and a 5 s stall bound."""
    with make_client(emu) as c:
        yield c
