"""The pytest plugin, used the way a user would: fixtures from an installed package.

The user's tests run in one pytest subprocess (``pytester``), where the
plugin is loaded through its entry point exactly as in a user's project.
Matching rules of ``Emulator.script`` are checked directly, in-process.
"""

from __future__ import annotations

import logging
import re

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator

USER_TESTS = """
import logging
import re
import sys

import pytest

from gemini_sync import errors


def summarise(client, text):
    try:
        return client.generate_content("Summarise: " + text).text
    except errors.UsageLimitExceeded:
        return "Try again later"


def test_plugin_loading_imported_neither_the_emulator_nor_the_client():
    # this module was collected after the plugin loaded; no fixture has run yet
    assert "gemini_sync.testing" in sys.modules
    assert "gemini_sync.emulator" not in sys.modules and "gemini_sync.client" not in sys.modules


def test_a_string_script_matches_prompts_starting_with_it(gemini_client, gemini_emulator):
    gemini_emulator.script("Summarise", text="A short summary.", chunks=3)
    assert summarise(gemini_client, "a long text") == "A short summary."
    assert gemini_emulator.generate_requests[-1].prompt == "Summarise: a long text"


def test_a_regex_and_a_predicate(gemini_client, gemini_emulator):
    gemini_emulator.script(re.compile(r"\\bweather\\b"), text="Sunny.")
    gemini_emulator.script(lambda prompt: prompt.endswith("?"), text="A question.")
    assert gemini_client.generate_content("the weather today").text == "Sunny."
    assert gemini_client.generate_content("why?").text == "A question."


def test_anything_else_is_refused_at_the_call(gemini_emulator):
    for bad in (42, b"Summarise", None, ["Summarise"]):
        with pytest.raises(TypeError, match="prefix of the prompt"):
            gemini_emulator.script(bad, text="never")


def test_a_prompt_no_script_matched_is_reported(gemini_client, gemini_emulator, caplog):
    gemini_emulator.script("Summarise", text="A short summary.")
    answer = gemini_client.generate_content("Summarize this").text  # American spelling: no match
    assert answer.startswith("You said: Summarize this")
    [warning] = gemini_emulator.generate_requests[-1].warnings
    assert "no script matched the prompt 'Summarize this'" in warning and "prefix 'Summarise'" in warning
    assert warning in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_no_warning_without_scripts(gemini_client, gemini_emulator, caplog):
    gemini_client.generate_content("hello")
    assert gemini_emulator.generate_requests[-1].warnings == []
    assert "no script matched" not in caplog.text


def test_usage_limit(gemini_client, gemini_emulator):
    gemini_emulator.fail_next(code=1037)
    assert summarise(gemini_client, "anything") == "Try again later"


def test_injected_faults_reach_the_code_under_test(gemini_client, gemini_emulator):
    gemini_emulator.fail_next(status=429)
    with pytest.raises(errors.RateLimited):
        gemini_client.generate_content("hi")
    gemini_emulator.fail_next(code=1013)
    with pytest.raises(errors.APIError):
        gemini_client.generate_content("hi")
    assert len(gemini_emulator.generate_requests) == 2  # one attempt each


def test_a_client_with_retries_on_request(gemini_client_factory, gemini_emulator):
    patient = gemini_client_factory(max_retries=1)
    gemini_emulator.fail_next(status=429, headers={"Retry-After": "0"})
    assert patient.generate_content("hi").text.startswith("You said: hi")
    assert len(gemini_emulator.generate_requests) == 2


def test_the_client_talks_only_to_the_emulator(gemini_client, gemini_emulator):
    assert gemini_client.base_url == gemini_emulator.url
    assert gemini_emulator.url.startswith("http://127.0.0.1:")
    assert gemini_client.retry_policy.max_retries == 0
"""


def test_fixtures_work_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user_app=USER_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=10)


def test_fixture_help_names_the_no_retry_default(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-v", "-p", "no:cacheprovider")
    text = result.stdout.str()
    for name in ("gemini_emulator", "gemini_client", "gemini_client_factory"):
        assert re.search(rf"^{name} ", text, re.MULTILINE), name
    assert "with no retries" in text and "max_retries=0" in text


@pytest.fixture
def emu() -> Emulator:
    return Emulator(pace=0.0)


@pytest.mark.parametrize(
    ("match", "prompt", "hit"),
    [
        ("Summarise", "Summarise: a text", True),
        ("Summarise", "Please Summarise", False),
        ("", "anything", True),
        (re.compile(r"^Sum\w+:"), "Summarise: x", True),
        (re.compile("text$"), "Summarise: a text", True),
        (re.compile("^text"), "Summarise: a text", False),
        (lambda p: "x" in p, "box", True),
        (lambda p: "x" in p, "bo", False),
    ],
)
def test_script_matching_rules(emu: Emulator, match: object, prompt: str, hit: bool) -> None:
    script = emu.script(match, text="scripted")  # type: ignore[arg-type]
    assert (emu._backend.scripts.take(prompt) is script) is hit


def test_faults_match_the_same_way(emu: Emulator) -> None:
    with pytest.raises(TypeError, match="compiled regex"):
        emu.fail_next(code=1037, match=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes pattern"):
        emu.script(re.compile(b"x"), text="never")  # type: ignore[arg-type]
    rule = emu.fail_next(code=1037, match="Summarise")
    assert rule.match == "Summarise" and emu.faults == [rule]


def test_no_match_warning_is_logged(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    emu.script(re.compile("^weather"), text="Sunny.")
    emu.script(str.isupper, text="LOUD")
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        assert emu._backend.scripts.take("x" * 200) is None
    assert "regex '^weather'" in caplog.text and "predicate str.isupper" in caplog.text
    assert "x" * 80 + "..." in caplog.text and "x" * 81 not in caplog.text


def test_fixture_defaults_are_what_the_docstrings_say(pytester: pytest.Pytester) -> None:
    from gemini_sync import testing

    assert "no retries" in (testing.gemini_client.__doc__ or "")
    assert GeminiClient.__init__.__kwdefaults__ is not None  # the factory overrides real options
    for option in ("max_retries", "timeout", "stall_timeout", "auto_refresh", "cookie_cache"):
        assert option in GeminiClient.__init__.__kwdefaults__
