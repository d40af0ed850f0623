"""RetryPolicy is a frozen value; the attempts of a retried call are an attribute, not message text."""

from __future__ import annotations

import dataclasses
import math

import pytest

from gemini_sync import RetryPolicy, errors
from gemini_sync.transport.retry import call_with_retries


def test_a_policy_is_frozen_and_replace_makes_a_variant() -> None:
    policy = RetryPolicy(3, initial=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_retries = 5  # type: ignore[misc]
    variant = policy.replace(max_retries=0)
    assert (variant.max_retries, variant.initial) == (0, 0.1)
    assert policy.max_retries == 3
    assert RetryPolicy(3, initial=0.1) == policy  # a value: equal by content


@pytest.mark.parametrize(
    "bad", [{"max_retries": -1}, {"max_retries": 1.5}, {"initial": math.nan}, {"maximum": -1}]
)
def test_bad_policy_values_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_attempts_are_counted_by_attribute_even_when_the_message_says_attempt() -> None:
    failures = iter(range(10))

    def once() -> None:
        raise errors.APIError(f"the attempt failed #{next(failures)}", status_code=503)

    with pytest.raises(errors.APIError) as info:
        call_with_retries(RetryPolicy(2, sleep=lambda _s: None), "a call", once)
    assert info.value.attempts == 3
    assert str(info.value).endswith("(after 3 attempts)")
