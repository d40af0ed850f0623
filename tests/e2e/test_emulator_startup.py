"""The emulator answers the start-up sequence of a third-party 2026 client with result envelopes.

The calls and payloads are those gemini_webapi 2.1.1 sends at ``init()`` (a
working client; docs/protocol.md 13.2): a ``wrb.fr`` result for each, never
an error envelope, so such a client starts against the emulator unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync.emulator import Emulator
from gemini_sync.protocol.request import BatchCall
from tests._support.browser import Browser

STARTUP: list[tuple[str, Any]] = [
    ("otAQ7b", []),
    ("ESY5D", [[["bard_activity_enabled", "last_selected_mode_id_on_web", "enable_memory"]]]),
    ("ESY5D", [[["bard_activity_enabled"]]]),
    ("MaZiqc", [13, None, [1, None, 1]]),
    ("MaZiqc", [13, None, [0, None, 1]]),
    ("jSf9Qc", []),
    ("qpEbW", [[[1, 11], [2, 11], [6, 11]]]),
    ("qpEbW", [[[1, 4], [6, 6], [1, 15]]]),
    ("aPya6c", []),
    ("GPRiHf", []),
    (
        "L5adhe",
        [
            [None, None, None, None, None, None, None, None, "cf41b0e0dd7d53e5"],
            [["last_selected_mode_id_on_web"]],
        ],
    ),
]


@pytest.mark.parametrize(("rpcid", "payload"), STARTUP, ids=[f"{r}-{n}" for n, (r, _) in enumerate(STARTUP)])
def test_each_startup_call_gets_a_result(emu: Emulator, browser: Browser, rpcid: str, payload: Any) -> None:
    (result,) = browser.batch(BatchCall(rpcid, payload))
    assert result.code is None and not result.failed, result
    assert result.rpcid == rpcid


def test_the_shapes_a_working_client_reads(emu: Emulator, browser: Browser) -> None:
    account = browser.call("otAQ7b", [])
    assert len(account) >= 20 and account[14] == 1000 and account[15][0][0]
    usage = browser.call("jSf9Qc", [])
    assert usage[0] == 1 and [w[2] for w in usage[1]] == [1, 2] and isinstance(usage[1][0][3][0][0], int)
    assert browser.call("aPya6c", [])[0] is False
    assert browser.call("GPRiHf", []) == []
    written = browser.call("L5adhe", STARTUP[-1][1])
    assert written == "cf41b0e0dd7d53e5" == emu.last_mode
