"""The served model: ``expect_model=`` raises ``ModelDowngraded``; without it, a warning once per client.

The emulator's ``downgrade`` serves every model request with the default
model and says so in ``E[39]``/``E[42]``, as the service does when a quota is
used up or a session is not what it seems.
"""

from __future__ import annotations

import logging

import pytest

from gemini_sync import GeminiClient, Model, errors
from gemini_sync.emulator import Emulator


@pytest.fixture
def downgrading(emu: Emulator) -> Emulator:
    emu.downgrade = True
    return emu


def test_expect_model_raises_with_the_partial_answer(downgrading: Emulator, client: GeminiClient) -> None:
    with pytest.raises(errors.ModelDowngraded) as info:
        client.generate_content("hello", model="pro", expect_model=True)
    error = info.value
    assert (error.requested, error.served) == ("3.1 Pro", "3.5 Flash-Lite")
    assert error.partial is not None and error.partial.model_name == "3.5 Flash-Lite"
    assert isinstance(error, errors.APIError)
    assert len(downgrading.generate_requests) == 1  # never retried


def test_expect_model_by_name_and_on_a_chat(downgrading: Emulator, client: GeminiClient) -> None:
    with pytest.raises(errors.ModelDowngraded, match=r"3\.6 Flash"):
        client.generate_content("hello", model=Model.G_3_FLASH, expect_model="3.6 Flash")
    chat = client.start_chat(model="flash", expect_model=True)
    with pytest.raises(errors.ModelDowngraded):
        chat.send_message("hi")
    downgrading.downgrade = False
    assert chat.send_message("hi", expect_model=False).model_name == "3.6 Flash"


def test_a_streamed_downgrade_raises_before_the_answer_is_read(
    downgrading: Emulator, client: GeminiClient
) -> None:
    stream = client.stream("tell me a long story " * 20, model=Model.G_3_PRO, expect_model=True)
    with pytest.raises(errors.ModelDowngraded):
        for chunk in stream:
            assert not chunk.is_final


def test_without_expect_model_the_answer_goes_on_and_a_warning_is_logged_once(
    downgrading: Emulator,
    client: GeminiClient,
    gemini_client_factory: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        outputs = [client.generate_content(f"hi {n}", model=Model.G_3_PRO) for n in range(3)]
        other = gemini_client_factory()  # type: ignore[operator]
        other.generate_content("hi", model=Model.G_3_PRO)
    assert {o.model_name for o in outputs} == {"3.5 Flash-Lite"} and all(o.text for o in outputs)
    warnings = [r for r in caplog.records if "answered with 3.5 Flash-Lite" in r.getMessage()]
    assert len(warnings) == 2  # once per client


def test_the_right_model_raises_nothing(
    emu: Emulator, client: GeminiClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gemini_sync"):
        output = client.generate_content("hi", model="pro", expect_model=True)
        client.generate_content("hi", model=Model.G_3_FLASH)
        client.generate_content("hi", expect_model=True)  # the default model: nothing to compare
    assert output.model_name == "3.1 Pro"
    assert not [r for r in caplog.records if "answered with" in r.getMessage()]
