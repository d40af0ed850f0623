"""RedisState on a real redis-server: shared pool state, the outage and its end, what Redis may hold.

Two ``RedisState`` objects on one server stand for two hosts (each has its
own local fallback directory).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.pool import AccountPool, LocalState, Member, RedisState
from gemini_sync.transport.rotation import AccountCache
from tests._support.redis import RedisServer, serve

pytestmark = pytest.mark.timeout(60)

SECRET = "a secret key for these tests only"
NOW = 1_900_000_000.0


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    yield from serve()


@pytest.fixture
def redis_url(server: RedisServer) -> str:
    if not server.ping():
        server.start()
    server.flush()
    return server.url


@pytest.fixture
def hosts(redis_url: str, tmp_path: Path) -> Iterator[Any]:
    made: list[RedisState] = []

    def make(name: str, **options: Any) -> RedisState:
        options.setdefault("fallback", LocalState(tmp_path / name))
        state = RedisState(redis_url, retry_interval=0.05, **options)
        made.append(state)
        return state

    yield make
    for state in made:
        state.close()


def _all_values(state: RedisState) -> bytes:
    client = state.link.client
    found = b""
    for key in client.scan_iter("*"):
        kind = client.type(key)
        if kind == b"hash":
            found += b" ".join(v for pair in client.hgetall(key).items() for v in pair)
        elif kind == b"string":
            found += client.get(key) or b""
        elif kind == b"zset":
            found += b" ".join(client.zrange(key, 0, -1))
        found += b" " + key
    return found


def test_two_hosts_share_cool_downs_take_outs_slots_and_the_catalogue(hosts: Any) -> None:
    one, two = hosts("one"), hosts("two")
    one.cool_down("acct", "pro", NOW + 100, NOW)
    one.cool_down("acct", "pro", NOW + 50, NOW)  # an earlier time never shortens a cool-down
    one.take_out("other", NOW + 10, "AuthError", NOW)
    views = two.views(["acct", "other"], NOW)
    assert views["acct"].cooldowns == {"pro": NOW + 100}
    assert views["other"].out_reason == "AuthError"
    assert two.views(["other"], NOW + 11)["other"].out_until is None
    first = one.acquire("acct", 2, NOW, 30)
    second = two.acquire("acct", 2, NOW, 30)
    assert first and second and one.acquire("acct", 2, NOW, 30) is None  # the limit holds across hosts
    assert two.views(["acct"], NOW)["acct"].in_flight == 2
    one.release("acct", first)
    assert two.acquire("acct", 2, NOW, 30) is not None
    assert one.acquire("acct", 2, NOW + 31, 30) is not None  # slots of a dead host expire
    one.cache_models("acct", [{"id": "m1", "name": "Model"}], NOW + 60, NOW)
    assert two.cached_models("acct", NOW) == [{"id": "m1", "name": "Model"}]
    assert two.cached_models("acct", NOW + 61) is None
    two.restore("acct")
    assert one.views(["acct"], NOW)["acct"].cooldowns == {}


def test_redis_down_means_local_state_said_once_and_written_back_when_it_returns(
    server: RedisServer, redis_url: str, hosts: Any, caplog: pytest.LogCaptureFixture
) -> None:
    one = hosts("one")
    one.cool_down("acct", "flash", NOW + 100, NOW)
    server.stop()
    with caplog.at_level(logging.INFO, logger="gemini_sync"):
        one.cool_down("acct", "pro", NOW + 200, NOW)  # kept in the local fallback
        token = one.acquire("acct", 1, NOW, 30)
        assert token is not None and one.acquire("acct", 1, NOW, 30) is None
        views = one.views(["acct"], NOW)
        assert views["acct"].cooldowns == {"pro": NOW + 200}
        one.release("acct", token)
        server.start()  # empty: what it held is gone
        one.link._down_until = 0.0  # the retry pause is over
        merged = one.views(["acct"], NOW)["acct"]
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert merged.cooldowns == {"pro": NOW + 200}
    other = hosts("other")  # another host sees what was written back
    assert other.views(["acct"], NOW)["acct"].cooldowns == {"pro": NOW + 200}


def _client(emu: Emulator, state: RedisState) -> GeminiClient:
    cookies = {PSID: emu.psid or Emulator.PSID, PSIDTS: Emulator.PSIDTS}
    return GeminiClient(
        cookies=cookies, base_url=emu.url, auto_refresh=False, max_retries=0, rotation=state.rotation
    )


def test_a_cookie_rotated_on_one_host_is_used_on_another_and_stored_sealed(
    hosts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(pace=0.001, psid="sealed-psid", psidts=Emulator.PSIDTS) as emu:
        monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "host-a"))
        state_a = hosts("a", secret_key=SECRET, sync_interval=0)
        a = _client(emu, state_a)
        monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "host-b"))
        state_b = hosts("b", secret_key=SECRET, sync_interval=0)
        b = _client(emu, state_b)
        a.init()
        b.init()
        assert a._refresher.rotate_now() and a._refresher.rotate_now()  # B's first cookie is refused now
        assert b.generate_content("on host b").text
        assert emu.generate_requests[-1].cookies[PSIDTS] == emu.cookies[PSIDTS]
        assert emu.rotations == 2 and b._refresher.rotations == 0
        assert all(r.status == 200 for r in emu.requests)
        stored = _all_values(state_a)
        assert b"gen" in stored and emu.cookies[PSIDTS].encode() not in stored
        assert b"sealed-psid" not in stored and Emulator.PSIDTS.encode() not in stored
        a.close()
        b.close()


def test_without_a_key_rotation_stays_per_host_and_no_cookie_reaches_redis(
    hosts: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = hosts("plain")
    with caplog.at_level(logging.INFO, logger="gemini_sync"):
        coordinator = state.rotation("plain-psid", tmp_path / "cache")
        state.rotation("plain-psid-2", tmp_path / "cache")
    assert isinstance(coordinator, AccountCache)
    assert sum("without secret_key" in r.getMessage() for r in caplog.records) == 1
    with Emulator(pace=0.001, psid="plain-psid") as emu:
        client = GeminiClient(cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False)
        pool = AccountPool([Member(client, name="plain")], state=state)
        assert pool.generate_content("hello").text
        stored = _all_values(state)
        assert b"plain-psid" not in stored and emu.cookies[PSIDTS].encode() not in stored
        assert b"usage" in stored  # the pool's state is there
        pool.close()
