"""Usage quotas: client.usage() from qpEbW, buckets that go down and refill, 1037 with a reset time."""

from __future__ import annotations

import json

import pytest

from gemini_sync import GeminiClient, Model, Quota, UsageLimitExceeded
from gemini_sync._constants import BATCH_EXEC_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.rpcs import parse_quotas, quota_calls
from gemini_sync.protocol.service import build_quota_item

NOW = 1_800_000_000.0
PERIOD = 3600.0


class _Clock:
    """A settable Unix clock for the emulator's buckets."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(emu: Emulator) -> _Clock:
    fake = _Clock()
    emu.quota_clock = fake
    return fake


def _by_name(quotas: list[Quota]) -> dict[str, Quota]:
    return {q.name: q for q in quotas}


def test_parse_quotas_reads_every_field_and_tolerates_odd_items() -> None:
    item = build_quota_item((1, 4), 25.0, NOW + 0.5, 8, 6)
    results = [[[item, ["odd"], None, [[9, 9], None, "x", ["y"], "z", None]]], [[item]]]
    quotas = parse_quotas(results)
    assert quotas[0] == Quota("pro", [1, 4], used_percent=25.0, remaining=6, total=8, resets_at=NOW)
    assert quotas[1] == Quota("9/9", [9, 9])  # an unknown key keeps its numbers as its name
    assert len(quotas) == 2  # the key seen in both results once
    assert parse_quotas([None, "odd", [[]]]) == []


def test_quota_calls_send_the_documented_payloads() -> None:
    assert [call.payload for call in quota_calls()] == [
        [[[1, 4], [6, 6], [1, 15]]],
        [[[1, 11], [2, 11], [6, 11]]],
    ]
    assert all(call.rpcid == "qpEbW" for call in quota_calls())


def test_quota_round_trips_through_json() -> None:
    quota = Quota("pro", [1, 4], used_percent=12.5, remaining=7, total=8, resets_at=NOW)
    assert Quota.from_json(quota.to_json()) == quota
    assert json.loads(quota.to_json())["resets_at"] == NOW


def test_usage_before_and_after_answers(emu: Emulator, client: GeminiClient, clock: _Clock) -> None:
    emu.set_quota("flash", total=10, used=0, period=PERIOD)
    before = _by_name(client.usage())
    assert set(before) >= {"pro", "flash", "extended thinking"}
    assert before["flash"].remaining == 10 and before["flash"].used_percent == 0
    assert before["flash"].resets_at == NOW + PERIOD
    client.generate_content("one")
    client.generate_content("two")
    client.generate_content("three", model=Model.G_3_FLASH_THINKING)
    after = _by_name(client.usage())
    assert after["flash"].remaining == 8 and after["flash"].total == 10
    assert after["flash"].used_percent == pytest.approx(20.0)
    assert after["extended thinking"].remaining == before["extended thinking"].remaining - 1  # type: ignore[operator]
    assert after["pro"] == before["pro"]


def test_buckets_refill_on_the_clock(emu: Emulator, client: GeminiClient, clock: _Clock) -> None:
    emu.set_quota("flash", total=3, used=3, period=PERIOD)
    assert _by_name(client.usage())["flash"].exhausted
    clock.now = NOW + PERIOD  # the window is over
    flash = _by_name(client.usage())["flash"]
    assert flash.remaining == 3 and not flash.exhausted
    assert client.generate_content("after the reset").text


def test_1037_says_when_the_quota_resets(emu: Emulator, client: GeminiClient, clock: _Clock) -> None:
    emu.set_quota("flash", total=1, used=0, period=PERIOD)
    client.generate_content("the last one")
    emu.clear_requests()
    with pytest.raises(UsageLimitExceeded) as info:
        client.generate_content("one too many")
    error = info.value
    assert error.code == 1037 and error.resets_at == NOW + PERIOD
    assert "resets at 2027-01-15 09:00 UTC" in str(error)
    assert len(emu.generate_requests) == 1  # never retried
    lookups = [r.query.get("rpcids") for r in emu.requests_to(BATCH_EXEC_PATH)]
    assert lookups == ["qpEbW,qpEbW"]  # one lookup (its two calls in one request)


def test_1037_without_a_usable_lookup_has_no_reset_time(emu: Emulator, client: GeminiClient) -> None:
    emu.set_quota("pro", total=0)
    emu.fail_next(path=BATCH_EXEC_PATH, status=500)
    emu.clear_requests()
    with pytest.raises(UsageLimitExceeded) as info:
        client.generate_content("no pro left", model=Model.G_3_PRO)
    assert info.value.resets_at is None and "resets" not in str(info.value)
    assert len(emu.requests_to(BATCH_EXEC_PATH)) == 1  # the failed lookup is not retried


def test_set_quota_refuses_an_unknown_bucket(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="known: "):
        emu.set_quota("veo", total=1)
