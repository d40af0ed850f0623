"""``gemini-sync --guest``: an answer without any cookie; without cookies, the message offers it first.

In-process (``cli.commands.run``), against the test's emulator.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gemini_sync._constants import ENV_PSID, ENV_PSIDTS, PSID
from gemini_sync.cli.commands import run
from gemini_sync.cli.output import Screen
from gemini_sync.emulator import Emulator


@pytest.fixture(autouse=True)
def _no_cookies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in (ENV_PSID, ENV_PSIDTS, "GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path))
    monkeypatch.setattr("gemini_sync.transport.sources.browser_cookies", lambda: None)
    library = logging.getLogger("gemini_sync")
    handlers, level = list(library.handlers), library.level
    yield
    library.handlers[:], library.level = handlers, level


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run(list(argv), Screen(out=out, err=err))
    return status, out.getvalue(), err.getvalue()


def test_guest_answers_without_cookies(emu: Emulator) -> None:
    status, out, err = _run("--guest", "--base-url", emu.url, "-q", "hello there")
    assert status == 0, err
    assert "You said: hello there" in out
    assert all(PSID not in r.cookies for r in emu.requests)


def test_guest_refuses_a_model_with_a_usage_error(emu: Emulator) -> None:
    status, _, err = _run("--guest", "--base-url", emu.url, "-q", "--model", "pro", "hello")
    assert status == 2 and "only the default model" in err
    assert not emu.generate_requests


def test_no_cookies_offers_guest_first() -> None:
    status, _, err = _run("-q", "hello")
    assert status == 3
    assert err.index("--guest") < err.index("--emulator") < err.index("sign in")
