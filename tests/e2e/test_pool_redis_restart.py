"""Hosts sharing cookies through a real redis-server that is stopped and restarted empty between them.

Each "host" is a :class:`RedisState` (its own fallback directory) and a client
with its own cookie cache directory, in this process; the account is an
emulator checking ``__Secure-1PSIDTS`` strictly (the current value or the one
before the last rotation). No background rotation runs (``auto_refresh=False``):
every rotation is made by the test, so each race is played in one order.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.pool import AccountPool, LocalState, Member, RedisState
from gemini_sync.transport import cache
from gemini_sync.transport.auth import CookieRefresher
from gemini_sync.transport.rotation import RotationCoordinator
from tests._support.redis import RedisServer, serve

pytestmark = pytest.mark.timeout(60)

SECRET = "a secret key for these tests only"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    yield from serve()


@pytest.fixture
def emus() -> Iterator[list[Emulator]]:
    made = [Emulator(pace=0.001, psid=f"restart-psid-{i}", psidts=Emulator.PSIDTS).start() for i in range(2)]
    yield made
    for emu in made:
        emu.stop()


class Hosts:
    """Makes hosts: a RedisState and, per account, a client whose cookie cache is the host's own."""

    def __init__(self, server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server, self.tmp_path, self.monkeypatch = server, tmp_path, monkeypatch
        self.states: list[RedisState] = []
        self.clients: list[GeminiClient] = []

    def state(self, name: str, *, retry_interval: float, sync_interval: float = 0) -> RedisState:
        state = RedisState(
            self.server.url,
            secret_key=SECRET,
            sync_interval=sync_interval,
            retry_interval=retry_interval,
            fallback=LocalState(self.tmp_path / name / "pool"),
        )
        self.states.append(state)
        return state

    def client(self, name: str, emu: Emulator, state: RedisState, rotation: Any = None) -> GeminiClient:
        self.monkeypatch.setenv("GEMINI_COOKIE_PATH", str(self.tmp_path / name / "cookies"))
        client = GeminiClient(
            cookies={PSID: emu.psid or Emulator.PSID, PSIDTS: Emulator.PSIDTS},
            base_url=emu.url,
            auto_refresh=False,
            max_retries=0,
            rotation=rotation or state.rotation,
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for state in self.states:
            state.close()


@pytest.fixture
def hosts(server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hosts]:
    made = Hosts(server, tmp_path, monkeypatch)
    yield made
    made.close()


def _refresher(client: GeminiClient) -> CookieRefresher:
    refresher = client.api.refresher
    assert refresher is not None
    return refresher


def _sent(emu: Emulator) -> str:
    """The ``__Secure-1PSIDTS`` of the emulator's last answered request."""
    return emu.generate_requests[-1].cookies[PSIDTS]


def _down(state: RedisState) -> bool:
    """Whether the host takes Redis for gone (within its retry pause)."""
    return state.link.down


def _out_keys(state: RedisState) -> set[str]:
    keys = state.link.client.keys(f"{state.prefix}:acct:*:out")
    return {key.decode().split(":")[2] for key in keys}


def test_a_refusal_while_the_link_still_pauses_after_redis_returned_takes_the_newer_cookie(
    server: RedisServer, emus: list[Emulator], hosts: Hosts
) -> None:
    emu = emus[0]
    state_a = hosts.state("a", retry_interval=0)
    state_b = hosts.state("b", retry_interval=60)  # once Redis fails, host b leaves it alone for a minute
    a, b = hosts.client("a", emu, state_a), hosts.client("b", emu, state_b)
    pool_b = AccountPool([Member(b, name="account-0")], state=state_b, usage_interval=None)
    assert _refresher(a).rotate_now()
    assert pool_b.generate_content("before").text and _refresher(b).generation == 1
    server.stop()
    assert pool_b.generate_content("during").text  # host b meets the outage: local state now
    assert _down(state_b)
    server.start()  # empty
    assert _refresher(a).rotate_now() and _refresher(a).rotate_now()  # b's cookie is now refused
    assert _down(state_b)  # host b has not asked Redis since: its retry pause runs on

    assert pool_b.generate_content("after").text  # the refusal asks Redis at once: the newer cookie
    assert _sent(emu) == emu.cookies[PSIDTS]
    assert [m.state for m in pool_b.status()] == ["available"]
    assert not _down(state_b) and _out_keys(state_a) == set()


def test_two_cookies_under_one_generation_after_a_restart_settle_on_the_later_rotation(
    server: RedisServer, emus: list[Emulator], hosts: Hosts
) -> None:
    emu = emus[0]
    state_a, state_b = hosts.state("a", retry_interval=0), hosts.state("b", retry_interval=0)
    a, b = hosts.client("a", emu, state_a), hosts.client("b", emu, state_b)
    rotation_a, rotation_b = _refresher(a), _refresher(b)
    assert rotation_a.rotate_now() and rotation_b.sync() and rotation_b.generation == 1
    server.stop()
    assert rotation_a.rotate_now()  # with the host's lock alone: Redis never hears of generation 2
    server.start()  # empty
    assert rotation_b.rotate_now()  # from the cookie before the service's current: generation 2 as well
    assert rotation_a.generation == rotation_b.generation == 2  # two cookies under one generation

    assert a.generate_content("on a").text
    assert _sent(emu) == emu.cookies[PSIDTS]  # host a took the later rotation (b's)
    assert rotation_a.generation == 3  # published one generation on, so that every host takes it
    assert int(state_a.link.client.hget(f"{state_a.prefix}:rot:" + _account(a), "gen")) == 3
    assert b.generate_content("on b").text and _sent(emu) == emu.cookies[PSIDTS]
    assert rotation_b.generation == 3
    assert rotation_b.rotate_now()  # and the hosts go on as one
    assert a.generate_content("on a again").text and _sent(emu) == emu.cookies[PSIDTS]


def _account(client: GeminiClient) -> str:
    """The account's name in the rotation's Redis key (as the cookie cache file's)."""
    psid = next(c.value for c in iter(client.session.cookies) if c.name == PSID)
    assert psid is not None
    return hashlib.sha256(psid.encode()).hexdigest()[:24]


class _Late:
    """A coordinator that hears of other hosts' rotations only once a refused request's own look is over.

    So the newer cookie reaches the host just after the client's refresh read
    Redis (another host catching up a moment late): only the pool's look
    before it takes the account out can find it.
    """

    def __init__(self, inner: RotationCoordinator) -> None:
        self.inner = inner
        self.stale = inner.baseline()
        self.heard = threading.Event()

    def baseline(self) -> cache.CacheState:
        return self.stale

    def changed(self) -> bool:
        return self.heard.is_set() and self.inner.changed()

    def read(self) -> cache.CacheState:
        return self.inner.read() if self.heard.is_set() else self.stale

    def locked(self, timeout: float) -> AbstractContextManager[bool | None]:
        @contextmanager
        def held() -> Iterator[bool | None]:
            try:
                with self.inner.locked(timeout) as value:
                    yield value
            finally:
                self.heard.set()

        return held()

    def write(
        self, cookies: Iterable[Cookie], generation: int, rotated_at: float, domains: tuple[str, ...]
    ) -> bool:
        return self.inner.write(cookies, generation, rotated_at, domains)


def test_the_pool_looks_for_a_newer_shared_cookie_before_it_takes_an_account_out(
    emus: list[Emulator], hosts: Hosts
) -> None:
    emu = emus[0]
    state_a = hosts.state("a", retry_interval=0)
    state_b = hosts.state("b", retry_interval=0, sync_interval=60)  # b looks at Redis after a refusal only
    a = hosts.client("a", emu, state_a)
    late: list[_Late] = []

    def rotation(psid: str, directory: Path) -> RotationCoordinator:
        late.append(_Late(state_b.rotation(psid, directory)))
        return late[-1]

    b = hosts.client("b", emu, state_b, rotation=rotation)
    pool_b = AccountPool([Member(b, name="account-0")], state=state_b, usage_interval=None)
    b.init()  # the app page read: the refusal comes to a request (which refreshes once)
    assert _refresher(a).rotate_now() and _refresher(a).rotate_now()  # b's cookie is refused now
    assert not late[0].heard.is_set()

    assert pool_b.generate_content("on b").text  # refused, refreshed in vain; then the pool's look
    assert late[0].heard.is_set() and _sent(emu) == emu.cookies[PSIDTS]
    assert [m.state for m in pool_b.status()] == ["available"] and _out_keys(state_b) == set()


def test_a_take_out_after_redis_returned_is_the_failed_account_s_only(
    server: RedisServer, emus: list[Emulator], hosts: Hosts
) -> None:
    state_a, state_b = hosts.state("a", retry_interval=0), hosts.state("b", retry_interval=60)
    clients = [hosts.client("b", emu, state_b) for emu in emus]
    pool_b = AccountPool(
        [Member(c, name=f"account-{i}") for i, c in enumerate(clients)],
        state=state_b,
        strategy="round_robin",
        usage_interval=None,
    )
    assert pool_b.generate_content("first").text and pool_b.generate_content("second").text
    server.stop()
    assert pool_b.generate_content("during").text and _down(state_b)
    server.start()  # empty
    emus[0].expire_cookies()  # account-0's cookies die: no host holds newer ones
    for n in range(2):  # round robin: one of two requests goes to account-0 first, then to account-1
        assert pool_b.generate_content(f"after {n}").text

    status = {m.name: m for m in pool_b.status()}
    assert status["account-0"].state == "out" and status["account-1"].state == "available"
    keys = [m.key for m in pool_b.members]
    assert _out_keys(state_a) == {keys[0]}  # in Redis, for every host: the account that failed only


class _Between:
    """A coordinator that runs ``meanwhile`` inside each write: after the rotation, before its publication."""

    def __init__(self, inner: RotationCoordinator, meanwhile: Any) -> None:
        self.inner, self.meanwhile = inner, meanwhile
        self.baseline, self.changed, self.read, self.locked = (
            inner.baseline,
            inner.changed,
            inner.read,
            inner.locked,
        )

    def write(
        self, cookies: Iterable[Cookie], generation: int, rotated_at: float, domains: tuple[str, ...]
    ) -> bool:
        self.meanwhile()
        return self.inner.write(cookies, generation, rotated_at, domains)


def test_a_rotation_holding_the_redis_lock_is_published_past_a_host_catching_up_meanwhile(
    server: RedisServer, emus: list[Emulator], hosts: Hosts
) -> None:
    emu = emus[0]
    state_a, state_b = hosts.state("a", retry_interval=0), hosts.state("b", retry_interval=0)
    a = hosts.client("a", emu, state_a)
    catch_up = threading.Event()

    def meanwhile() -> None:
        if catch_up.is_set():  # host a comes back and publishes what it rotated alone (generation 2)
            assert _refresher(a).sync() is False

    b = hosts.client("b", emu, state_b, rotation=lambda p, d: _Between(state_b.rotation(p, d), meanwhile))
    assert _refresher(a).rotate_now() and _refresher(b).sync() and _refresher(b).generation == 1
    server.stop()
    assert _refresher(a).rotate_now()  # alone: generation 2 on host a only
    server.start()  # empty
    catch_up.set()
    assert _refresher(b).rotate_now()  # from generation 1; host a publishes its 2 before b's is published
    key = f"{state_b.prefix}:rot:" + _account(b)
    assert int(state_b.link.client.hget(key, "gen")) == 3  # b's, the service's current, past a's

    assert a.generate_content("on a").text and _sent(emu) == emu.cookies[PSIDTS]
    assert b.generate_content("on b").text and _sent(emu) == emu.cookies[PSIDTS]
