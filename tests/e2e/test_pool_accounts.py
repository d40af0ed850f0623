"""AccountPool against two (or three) emulated accounts: quotas, failover, take-outs, limits, guests.

Each account is its own :class:`Emulator` (its own cookies, quotas and
history), so what reached which account is read off the emulators. The pool's
state is a :class:`LocalState` in the test's directory (the default store).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gemini_sync import GeminiClient, RetryPolicy, errors
from gemini_sync.emulator import Emulator
from gemini_sync.emulator.answers import default_answer
from gemini_sync.pool import AccountPool, LocalState, Member, NoAccountAvailable

pytestmark = pytest.mark.timeout(60)


class Clock:
    """A clock the test moves: shared by the pool and the emulators' quotas."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _emulator(name: str, clock: Clock) -> Emulator:
    emu = Emulator(pace=0.001, psid=f"psid-{name}")
    emu.quota_clock = clock
    return emu.start()


@pytest.fixture
def emus(clock: Clock) -> Iterator[tuple[Emulator, Emulator]]:
    a, b = _emulator("a", clock), _emulator("b", clock)
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _client(emu: Emulator, **options: Any) -> GeminiClient:
    defaults: dict[str, Any] = {
        "auto_refresh": False,
        "cookie_cache": False,
        "timeout": 10,
        "stall_timeout": 5,
        "retry": RetryPolicy(1, initial=0.01, maximum=0.02),
    }
    return GeminiClient(cookies=emu.cookies, base_url=emu.url, **{**defaults, **options})


@pytest.fixture
def make_pool(emus: tuple[Emulator, Emulator], tmp_path: Path, clock: Clock) -> Iterator[Any]:
    pools: list[AccountPool] = []

    def make(members: list[Any] | None = None, **options: Any) -> AccountPool:
        a, b = emus
        options.setdefault("state", LocalState(tmp_path / "state"))
        options.setdefault("clock", clock)
        pool = AccountPool(members or [Member(_client(a), name="a"), Member(_client(b), name="b")], **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def _prompts(emu: Emulator) -> list[str]:
    return [r.prompt for r in emu.generate_requests if r.prompt is not None]


def test_an_account_out_of_quota_gets_no_request_and_comes_back_after_its_reset(
    emus: tuple[Emulator, Emulator], make_pool: Any, clock: Clock
) -> None:
    a, b = emus
    a.set_quota("flash", total=5, used=5, period=3600)  # used up: resets in an hour
    pool = make_pool()
    for n in range(6):
        prompt = f"question {n}"
        assert pool.generate_content(prompt).text == default_answer(prompt).text
    assert _prompts(a) == [] and len(_prompts(b)) == 6  # the usage reading kept A out from the start
    (status_a, status_b) = pool.status()
    assert status_a.state == "cooling" and set(status_a.cooling) == {"flash"}
    assert status_b.state == "available"

    clock.now += 3601  # the quota's window is over
    assert pool.generate_content("after the reset").text
    assert _prompts(a) == ["after the reset"]
    assert pool.status()[0].state == "available"


def test_a_1037_before_content_cools_the_account_down_and_goes_to_the_other(
    emus: tuple[Emulator, Emulator], make_pool: Any, clock: Clock
) -> None:
    a, b = emus
    a.set_quota("flash", total=1, used=1, period=600)
    pool = make_pool(usage_interval=None)  # no reading: only the refusal tells the pool
    output = pool.generate_content("first")
    assert output.text == default_answer("first").text
    assert _prompts(a) == ["first"] and _prompts(b) == ["first"]
    status = pool.status()[0]
    assert status.state == "cooling"
    assert status.cooling["flash"] == pytest.approx(clock.now + 600, abs=2)  # the quota's reset
    for n in range(3):
        pool.generate_content(f"more {n}")
    assert _prompts(a) == ["first"]


def test_a_1037_after_content_is_never_sent_to_another_account(
    emus: tuple[Emulator, Emulator], make_pool: Any
) -> None:
    a, b = emus
    pool = make_pool(usage_interval=None)
    a.fail_next(code=1037, after_frames=3)
    stream = pool.stream("a long answer")
    texts = []
    with pytest.raises(errors.UsageLimitExceeded) as caught:
        for chunk in stream:
            texts.append(chunk.delta_text)
    assert "".join(texts) and caught.value.partial is not None and caught.value.partial.text
    a.fail_next(code=1037, after_frames=3)
    pool.restore("a")
    pool.member("b").served = 100  # A is the first choice again
    with pytest.raises(errors.UsageLimitExceeded):
        pool.generate_content("collected")
    assert _prompts(b) == []
    assert stream.account == "a"


def test_a_refused_account_is_taken_out_logged_and_shown(
    emus: tuple[Emulator, Emulator], make_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = emus
    pool = make_pool(usage_interval=None)
    a.expire_cookies()  # A's cookies are dead: its client ends in AuthError
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        assert pool.generate_content("hello").text == default_answer("hello").text
    assert _prompts(b) == ["hello"]
    status = pool.status()[0]
    assert status.state == "out" and status.reason == "AuthError"
    assert any("a taken out" in r.getMessage() for r in caplog.records)
    pool.generate_content("again")
    assert _prompts(b) == ["hello", "again"]


def test_a_tool_request_is_never_sent_twice(emus: tuple[Emulator, Emulator], make_pool: Any) -> None:
    a, b = emus
    a.set_quota("flash", total=0)
    pool = make_pool(usage_interval=None)
    with pytest.raises(errors.UsageLimitExceeded):
        pool.generate_content("a video of the sea", tool="video")
    assert len(_prompts(a)) == 1 and _prompts(b) == []


def test_when_every_account_is_used_up_the_error_says_when_one_comes_back(
    emus: tuple[Emulator, Emulator], make_pool: Any, clock: Clock
) -> None:
    a, b = emus
    a.set_quota("flash", total=2, used=2, period=100)
    b.set_quota("flash", total=2, used=2, period=50)
    pool = make_pool()
    with pytest.raises(NoAccountAvailable) as caught:
        pool.generate_content("nobody can")
    assert caught.value.resets_at == pytest.approx(clock.now + 50, abs=2)
    assert set(caught.value.reasons) == {"a", "b"}
    assert _prompts(a) == _prompts(b) == []


def test_streams_per_account_are_limited(emus: tuple[Emulator, Emulator], make_pool: Any) -> None:
    a, b = emus
    a.pace = b.pace = 0.05  # answers take a while: the first two are in flight together
    pool = make_pool(max_concurrent=1, wait_timeout=0.2, usage_interval=None)
    first, second = pool.stream("one"), pool.stream("two")
    next(iter(first))
    next(iter(second))
    assert {first.account, second.account} == {"a", "b"}
    assert [s.in_flight for s in pool.status()] == [1, 1]
    with pytest.raises(NoAccountAvailable) as caught:
        pool.generate_content("three")
    assert all("busy" in why for why in caught.value.reasons.values())
    first.close()
    assert pool.generate_content("three").text == default_answer("three").text
    second.close()
    assert [s.in_flight for s in pool.status()] == [0, 0]


def test_a_guest_is_tried_last_or_first(
    emus: tuple[Emulator, Emulator], make_pool: Any, clock: Clock
) -> None:
    a, _ = emus
    with _emulator("guest", clock) as guest_emu:
        guest = Member(_client(guest_emu), name="guest", guest=True)
        pool = make_pool([guest, Member(_client(a), name="a")])
        pool.generate_content("to the account")
        assert _prompts(a) == ["to the account"] and _prompts(guest_emu) == []
        a.set_quota("flash", total=1, used=1)
        pool.generate_content("to the guest")
        assert _prompts(guest_emu) == ["to the guest"]
        assert not [r for r in guest_emu.requests if r.path.endswith("batchexecute")]  # no usage asked

        first = make_pool([Member(_client(guest_emu), name="guest", guest=True)], strategy="guest_first")
        first.generate_content("guest first")
        assert _prompts(guest_emu)[-1] == "guest first"


def test_processes_sharing_the_state_directory_share_what_they_learnt(
    emus: tuple[Emulator, Emulator], make_pool: Any, tmp_path: Path
) -> None:
    a, b = emus
    a.set_quota("flash", total=0, period=600)
    one = make_pool(usage_interval=None, state=LocalState(tmp_path / "shared"))
    other = make_pool(usage_interval=None, state=LocalState(tmp_path / "shared"))  # another process
    one.generate_content("learns")
    assert len(_prompts(a)) == 1
    for n in range(3):
        other.generate_content(f"knows {n}")
    assert len(_prompts(a)) == 1 and len(_prompts(b)) == 4


def test_a_pool_stream_reads_like_a_stream(emus: tuple[Emulator, Emulator], make_pool: Any) -> None:
    a, b = emus
    pool = make_pool(usage_interval=None)
    assert "".join(pool.stream("in pieces").text_stream) == default_answer("in pieces").text
    stream = pool.stream("partly read")
    next(iter(stream))
    assert stream.collect().text == default_answer("partly read").text
    pool.member("b").served = 100  # A first
    a.fail_next(code=1013, n=5)  # A fails before any content (retries included): B answers
    pieces: list[str] = []
    worker = pool.stream("on a worker").start(on_text=pieces.append)
    assert worker.result(10).text == default_answer("on a worker").text == "".join(pieces)
    assert _prompts(b)[-1] == "on a worker"
