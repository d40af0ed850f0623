"""The pool's stores without a network: the rules on the data, MemoryState, LocalState between "processes"."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from gemini_sync.pool import LocalState, MemoryState
from gemini_sync.pool.sealing import Sealer
from gemini_sync.pool.state import AccountView, merge_views

NOW = 1000.0


@pytest.mark.parametrize("make", [lambda p: MemoryState(), lambda p: LocalState(p)], ids=["memory", "local"])
def test_the_rules_hold_in_every_store(make: object, tmp_path: Path) -> None:
    state = make(tmp_path)  # type: ignore[operator]
    state.cool_down("a", "pro", NOW + 10, NOW)
    state.cool_down("a", "pro", NOW + 5, NOW)
    state.take_out("b", NOW + 20, "AuthError", NOW)
    views = state.views(["a", "b", "c"], NOW)
    assert views["a"].cooldowns == {"pro": NOW + 10} and views["a"].cooling_until("pro") == NOW + 10
    assert views["b"].out_reason == "AuthError" and views["c"] == AccountView()
    assert state.views(["a", "b"], NOW + 30)["a"].cooldowns == {}
    assert state.views(["b"], NOW + 30)["b"].out_until is None
    tokens = [state.acquire("a", 2, NOW, 60) for _ in range(3)]
    assert tokens[0] and tokens[1] and tokens[2] is None
    state.release("a", tokens[0])
    assert state.views(["a"], NOW)["a"].in_flight == 1
    assert state.acquire("a", 1, NOW + 61, 60) is not None  # the other slot expired
    state.record_usage("a", [{"name": "pro", "used_percent": 40.0}], NOW, 60)
    assert state.views(["a"], NOW)["a"].used_percent("pro", NOW) == 40.0
    state.cache_models("a", [{"id": "m"}], NOW + 5, NOW)
    assert state.cached_models("a", NOW) == [{"id": "m"}] and state.cached_models("a", NOW + 6) is None
    state.restore("b")
    assert state.views(["b"], NOW)["b"].out_until is None


def test_processes_on_one_directory_share_the_state_in_a_private_file(tmp_path: Path) -> None:
    one, two = LocalState(tmp_path / "cache"), LocalState(tmp_path / "cache")
    one.cool_down("a", "flash", NOW + 10, NOW)
    token = one.acquire("a", 1, NOW, 60)
    assert two.views(["a"], NOW)["a"].cooldowns == {"flash": NOW + 10}
    assert token is not None and two.acquire("a", 1, NOW, 60) is None
    one.release("a", token)
    assert two.acquire("a", 1, NOW, 60) is not None
    if os.name == "posix":
        assert stat.S_IMODE(one.path.stat().st_mode) == 0o600


def test_a_directory_without_a_lock_keeps_the_state_in_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".pool_state.lock").mkdir()  # no lock file can be made there
    state = LocalState(tmp_path)
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        state.cool_down("a", "pro", NOW + 10, NOW)
        state.cool_down("b", "pro", NOW + 10, NOW)
        assert state.acquire("a", 1, NOW, 60) is not None and state.acquire("a", 1, NOW, 60) is None
    assert state.views(["a", "b"], NOW)["b"].cooldowns == {"pro": NOW + 10}
    assert len([r for r in caplog.records if "stays in this process" in r.getMessage()]) == 1


def test_merged_views_keep_the_later_times_and_add_the_slots() -> None:
    first = AccountView(cooldowns={"pro": 5.0}, in_flight=1, out_until=3.0, out_reason="x")
    second = AccountView(cooldowns={"pro": 7.0, "flash": 2.0}, in_flight=2, usage_at=9.0)
    merged = merge_views(first, second)
    assert merged.cooldowns == {"pro": 7.0, "flash": 2.0} and merged.in_flight == 3
    assert merged.out_reason == "x" and merged.usage_at == 9.0


def test_sealed_cookies_open_only_with_the_key_account_and_generation() -> None:
    entries = [{"name": "__Secure-1PSIDTS", "value": "secret-value", "domain": ".google.com"}]
    sealer = Sealer("a key of more than sixteen bytes")
    blob = sealer.seal(entries, "acct", 3)
    assert "secret-value" not in blob
    assert sealer.open(blob, "acct", 3) == entries
    assert sealer.open(blob, "acct", 4) is None and sealer.open(blob, "other", 3) is None
    assert Sealer("another key, also long enough").open(blob, "acct", 3) is None
    assert sealer.open(blob[:-4] + "AAAA", "acct", 3) is None
    with pytest.raises(ValueError, match="16 bytes"):
        Sealer("short")
