"""The pytest plugin, used the way a user would: fixtures from an installed package."""

from __future__ import annotations

import pytest

USER_TESTS = """
from gemini_sync import errors


def summarise(client, text):
    try:
        return client.generate_content("Summarise: " + text).text
    except errors.UsageLimitExceeded:
        return "Try again later"


def test_scripted_answer(gemini_client, gemini_emulator):
    gemini_emulator.script("Summarise: a long text", text="A short summary.", chunks=3)
    assert summarise(gemini_client, "a long text") == "A short summary."
    assert gemini_emulator.generate_requests[-1].prompt == "Summarise: a long text"


def test_fault(gemini_client, gemini_emulator):
    gemini_emulator.fail_next(code=1037)
    assert summarise(gemini_client, "anything") == "Try again later"


def test_streaming(gemini_client):
    chunks = list(gemini_client.stream("hello"))
    assert chunks[-1].is_final and "hello" in chunks[-1].text


def test_client_talks_only_to_the_emulator(gemini_client, gemini_emulator):
    assert gemini_client.base_url == gemini_emulator.url
    assert gemini_emulator.url.startswith("http://127.0.0.1:")
"""


def test_fixtures_are_available_to_users(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user_app=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
