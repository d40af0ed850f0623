"""Clients sharing one account's cookie cache: who rotates, taking a rotated cookie, newest-wins writes.

Two clients in one test process stand for two processes: each has its own
session, its own :class:`CookieRefresher` and its own view of the cache; they
share only the cache directory, as gunicorn workers do. The emulator checks
``__Secure-1PSIDTS`` strictly (only the current value and the one before the
last rotation are accepted), as the service stops accepting old values.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gemini_sync import GeminiClient
from gemini_sync._constants import PSID, PSIDTS
from gemini_sync.emulator import Emulator
from gemini_sync.transport import cache
from gemini_sync.transport.rotation import AccountCache


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(pace=0.001, psidts=Emulator.PSIDTS) as emulator:
        yield emulator


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cookie-cache"
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(directory))
    return directory


def _client(emu: Emulator, **kwargs: Any) -> GeminiClient:
    kwargs.setdefault("auto_refresh", False)
    cookies = {PSID: Emulator.PSID, PSIDTS: Emulator.PSIDTS, **kwargs.pop("extra_cookies", {})}
    return GeminiClient(cookies=cookies, base_url=emu.url, **kwargs)


def _sent_psidts(emu: Emulator) -> str:
    return emu.generate_requests[-1].cookies[PSIDTS]


def test_a_cookie_rotated_elsewhere_is_taken_before_the_next_request(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as a, _client(emu) as b:
        a.init()
        b.init()
        assert a._refresher.rotate_now() and a._refresher.rotate_now()  # the first value is now refused
        assert b.generate_content("after two rotations elsewhere").text
        assert _sent_psidts(emu) == emu.cookies[PSIDTS]
        assert b._refresher.rotations == 0 and b._refresher.generation == 2
    assert emu.rotations == 2
    assert all(r.status == 200 for r in emu.requests)  # nobody was refused


def test_a_refusal_takes_the_newer_cache_instead_of_rotating(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as a, _client(emu) as b:
        a.init()
        b.init()
        assert a._refresher.rotate_now()
        assert b._refresher.rotate_now()  # what a 401 does: the cache has a newer cookie, take it
        assert emu.rotations == 1 and b._refresher.rotations == 0
        assert b._refresher.rotate_now()  # nothing newer now: rotate for real
        assert emu.rotations == 2 and b._refresher.generation == 2
        saved = cache.load_state(cache.cache_file(Emulator.PSID, cache_dir))
        assert saved.cookies[PSIDTS] == emu.cookies[PSIDTS]


def test_a_401_after_another_process_rotated_costs_no_rotation(
    emu: Emulator, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(emu) as a, _client(emu) as b:
        a.init()
        b.init()
        assert a._refresher.rotate_now() and a._refresher.rotate_now()  # b's cookie is refused now
        shared = b._refresher._shared
        assert shared is not None
        real_changed = shared.changed

        def changed() -> bool:  # b's looks before sending came just before a rotated: they saw nothing
            return bool(emu.generate_requests) and real_changed()

        monkeypatch.setattr(shared, "changed", changed)
        assert b.generate_content("refused once").text
        assert [r.status for r in emu.generate_requests] == [401, 200]
    assert emu.rotations == 2  # b took a's cookie from the cache instead of rotating again


def test_the_background_thread_skips_a_fresh_rotation_and_a_busy_lock(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu, refresh_interval=600) as a, _client(emu, refresh_interval=600) as b:
        a.init()
        b.init()
        assert a._refresher.rotate_now()
        assert b._refresher._rotate(0, due_only=True) == "fresh"  # rotated elsewhere just now
        assert b._refresher.generation == 1  # ...and taken
        shared = AccountCache(Emulator.PSID, cache_dir)
        with shared.locked(0) as held:
            assert held
            started = time.monotonic()
            assert b._refresher._rotate(0, due_only=True) == "busy"
            assert time.monotonic() - started < 1.0  # tried, never waited
            assert b.generate_content("a request never takes the lock").text
    assert emu.rotations == 1


def test_a_stale_write_never_replaces_a_newer_one(cache_dir: Path) -> None:
    jar = requests.cookies.RequestsCookieJar()
    jar.set(PSID, "acct", domain=".google.com", path="/")
    jar.set(PSIDTS, "newer", domain=".google.com", path="/")
    shared = AccountCache("acct", cache_dir)
    assert shared.write(list(jar), 5, 100.0, ("google.com",))
    jar.set(PSIDTS, "older", domain=".google.com", path="/")
    assert not shared.write(list(jar), 4, 200.0, ("google.com",))  # later in time, older in generation
    assert not shared.write(list(jar), 5, 200.0, ("google.com",))
    state = shared.read()
    assert state.cookies[PSIDTS] == "newer" and state.generation == 5 and state.rotated_at == 100.0


def test_a_rotation_continues_the_generation_of_the_cache(emu: Emulator, cache_dir: Path) -> None:
    with _client(emu) as a:
        a.init()
        jar = requests.cookies.RequestsCookieJar()
        jar.set(PSID, Emulator.PSID, domain="127.0.0.1", path="/")
        jar.set(PSIDTS, Emulator.PSIDTS, domain="127.0.0.1", path="/")
        AccountCache(Emulator.PSID, cache_dir).write(list(jar), 7, time.time(), ("127.0.0.1",))
        assert a._refresher.rotate_now(lock_timeout=1)  # generation 7 is newer than a's: taken
        assert emu.rotations == 0 and a._refresher.generation == 7
        assert a._refresher.rotate_now(lock_timeout=1)  # nothing newer: rotated, written as 8
    assert emu.rotations == 1
    assert cache.load_state(cache.cache_file(Emulator.PSID, cache_dir)).generation == 8


def test_only_the_two_auth_cookies_go_to_rotation(emu: Emulator, cache_dir: Path) -> None:
    extra = {"SID": "sid-value", "HSID": "hsid-value", "NID": "nid-value"}
    with _client(emu, extra_cookies=extra) as client:
        client.generate_content("extra cookies reach the app")
        assert set(extra) <= set(emu.generate_requests[-1].cookies)
        assert client._refresher.rotate_now()
    (rotation,) = emu.requests_to("/RotateCookies")
    assert set(rotation.cookies) == {PSID, PSIDTS} and rotation.status == 200


def test_the_emulator_refuses_a_rotation_with_other_google_cookies(emu: Emulator) -> None:
    from gemini_sync.emulator.routes import ROTATE_BODY

    answer = requests.post(
        emu.url + "/RotateCookies",
        data=ROTATE_BODY,
        headers={"Cookie": f"{PSID}={Emulator.PSID}; {PSIDTS}={Emulator.PSIDTS}; SID=x"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert emu.rotations == 0 and emu._backend.auth.refused_rotations == 1


_HOLD_LOCK = """
import pathlib, sys
from gemini_sync.transport.rotation import AccountCache
shared = AccountCache("acct", pathlib.Path(sys.argv[1]))
with shared.locked(5) as held:
    print("held" if held else "not held", flush=True)
    sys.stdin.read()  # hold it until killed
"""


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        shared = AccountCache("acct", tmp_path)
        with shared.locked(0) as held:
            assert not held
        holder.kill()
        holder.wait(10)
        with shared.locked(0) as held:
            assert held  # the kernel dropped the dead process's lock; no stale file to wait out
    finally:
        holder.kill()
        holder.wait(10)


def test_without_a_lock_file_a_process_still_rotates_on_its_own(emu: Emulator, cache_dir: Path) -> None:
    shared = AccountCache(Emulator.PSID, cache_dir)
    shared.lock_path.mkdir(parents=True)  # no lock file can be made there (as in a read-only directory)
    with _client(emu, refresh_interval=600) as client:
        client.init()
        assert client._refresher._rotate(0, due_only=True) == "rotated"
    assert emu.rotations == 1
