"""The pool's pure rules: quota buckets, the order members are tried in, when a failure may move."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync import Model, errors
from gemini_sync.pool.pick import Member, candidates, quota_bucket, refusal
from gemini_sync.pool.state import AccountView
from gemini_sync.pool.stream import may_fail_over
from gemini_sync.types.account import ModelInfo
from gemini_sync.types.output import Candidate, ModelOutput

NOW = 1000.0


@pytest.mark.parametrize(
    ("model", "thinking", "bucket"),
    [
        (None, None, "flash"),
        (Model.G_3_FLASH, None, "flash"),
        (Model.G_3_PRO, None, "pro"),
        ("gemini-3-pro", None, "pro"),
        ("pro", None, "pro"),
        (Model.G_3_FLASH, "extended", "extended thinking"),
        (Model.G_3_PRO, "deep", "extended thinking"),
        (Model.G_3_FLASH_THINKING, None, "extended thinking"),
        (Model.G_3_FLASH_THINKING, "standard", "flash"),
        (ModelInfo("id1", "Gemini", "3.1 Pro"), None, "pro"),
    ],
)
def test_the_quota_bucket_of_a_request(model: Any, thinking: str | None, bucket: str) -> None:
    assert quota_bucket(model, thinking) == bucket


def _members(*names: str, guests: tuple[str, ...] = ()) -> list[Member]:
    members = []
    for name in names:
        member = Member.__new__(Member)  # no client needed for ordering
        member.name, member.key, member.guest, member.served, member.max_concurrent = (
            name,
            name,
            name in guests,
            0,
            None,
        )
        members.append(member)
    return members


def _names(found: list[Member]) -> list[str | None]:
    return [m.name for m in found]


def test_members_out_or_cooling_for_the_bucket_are_passed_over() -> None:
    members = _members("a", "b", "c", "d")
    views = {
        "a": AccountView(cooldowns={"pro": NOW + 10}),
        "b": AccountView(out_until=NOW + 10, out_reason="AuthError"),
        "c": AccountView(cooldowns={"*": NOW + 10}),
        "d": AccountView(cooldowns={"pro": NOW - 1}),  # over
    }
    assert _names(candidates(members, views, "pro", NOW, "least_used", 0)) == ["d"]
    assert _names(candidates(members, views, "flash", NOW, "least_used", 0)) == ["a", "d"]
    error = refusal(members, views, "pro", NOW, busy=False)
    assert error.resets_at == NOW + 10 and "AuthError" in error.reasons["b"]


def test_least_used_prefers_fewer_in_flight_then_quota_left_then_fewer_served() -> None:
    members = _members("a", "b", "c")
    views = {
        "a": AccountView(in_flight=1),
        "b": AccountView(quotas=({"name": "pro", "used_percent": 80.0, "resets_at": NOW + 5},)),
        "c": AccountView(quotas=({"name": "pro", "used_percent": 90.0, "resets_at": NOW - 5},)),  # reset
    }
    assert _names(candidates(members, views, "pro", NOW, "least_used", 0)) == ["c", "b", "a"]
    members[2].served = 5
    views["c"] = AccountView(quotas=({"name": "pro", "used_percent": 80.0},))
    assert _names(candidates(members, views, "pro", NOW, "least_used", 0)) == ["b", "c", "a"]


def test_round_robin_turns_and_guests_come_last_or_first() -> None:
    members = _members("g", "a", "b", guests=("g",))
    views = {m.key: AccountView() for m in members}
    assert [_names(candidates(members, views, "flash", NOW, "round_robin", t)) for t in range(3)] == [
        ["a", "b", "g"],
        ["a", "b", "g"],
        ["b", "a", "g"],
    ]
    assert _names(candidates(members, views, "flash", NOW, "guest_first", 0)) == ["g", "a", "b"]
    assert _names(candidates(members, views, "flash", NOW, "least_used", 0, frozenset({"a"}))) == ["b", "g"]


def _output(text: str = "", thoughts: str = "") -> ModelOutput:
    return ModelOutput(candidates=[Candidate(rcid="rc", text=text, thoughts=thoughts)])


@pytest.mark.parametrize(
    ("error", "seen", "left", "moves"),
    [
        (errors.UsageLimitExceeded("1037"), False, None, True),
        (errors.UsageLimitExceeded("1037", partial=_output()), False, None, True),
        (errors.UsageLimitExceeded("1037", partial=_output("half")), False, None, False),
        (errors.UsageLimitExceeded("1037", partial=_output(thoughts="hm")), False, None, False),
        (errors.UsageLimitExceeded("1037"), True, None, False),
        (errors.AuthError("refused"), False, None, True),
        (errors.AccountRestricted("terms", status=1040), False, None, True),
        (errors.StreamInterrupted("cut"), False, 5.0, True),
        (errors.TimeoutError("deadline"), False, 0.0, False),
        (errors.TimeoutError("stall"), False, 5.0, True),
        (errors.Cancelled("by the caller"), False, None, False),
        (errors.AttachmentRejected("1100"), False, None, False),
        (errors.UploadError("unreadable"), False, None, False),
        (ValueError("a bug"), False, None, False),
    ],
)
def test_when_a_failed_try_may_go_to_another_account(
    error: BaseException, seen: bool, left: float | None, moves: bool
) -> None:
    assert may_fail_over(error, content_seen=seen, time_left=left) is moves
