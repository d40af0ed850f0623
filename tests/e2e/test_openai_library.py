"""The library's side of tools and JSON by prompt: ``Stream.tool_calls`` and ``client.generate_json``."""

from __future__ import annotations

import pytest

from gemini_sync import GeminiClient, ProtocolError, ToolCall
from gemini_sync.cli.main import main
from gemini_sync.emulator import Emulator

pytestmark = pytest.mark.timeout(60)

CALL = '<tool_call>{"name": "lookup", "arguments": {"q": "tides"}}</tool_call>'


def test_stream_tool_calls_reads_the_blocks_of_the_answer(
    gemini_client: GeminiClient, gemini_emulator: Emulator
) -> None:
    gemini_emulator.script("Find", text=f"Looking it up.\n{CALL}", chunks=20)
    stream = gemini_client.stream("Find tides")
    seen: list[list[ToolCall]] = [stream.tool_calls for _chunk in stream]
    assert seen[0] == []  # the block is not complete in the first chunk
    assert stream.tool_calls == [ToolCall("lookup", '{"q": "tides"}')]
    assert stream.tool_calls[0].parsed_arguments() == {"q": "tides"}


def test_generate_json_checks_and_corrects_once(
    gemini_client: GeminiClient, gemini_emulator: Emulator
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    gemini_emulator.script("Your previous answer was not usable", text='{"n": 4}')
    gemini_emulator.script("What is 2+2", text='```json\n{"n": "four"}\n```')
    assert gemini_client.generate_json("What is 2+2?", schema) == {"n": 4}
    first, second = gemini_emulator.generate_requests
    assert first.metadata is None or not first.metadata[0]  # a new chat, then its correction in it
    assert second.metadata is not None and second.metadata[0] == gemini_emulator.conversations[0].cid


def test_generate_json_gives_up_after_one_correction(
    gemini_client: GeminiClient, gemini_emulator: Emulator
) -> None:
    gemini_emulator.script(lambda p: True, text="No JSON for you.")
    with pytest.raises(ProtocolError, match="not valid JSON") as caught:
        gemini_client.generate_json("Anything")
    assert caught.value.partial is not None and caught.value.partial.text == "No JSON for you."
    assert len(gemini_emulator.generate_requests) == 2


def test_the_command_line_has_serve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    assert "--workers" in capsys.readouterr().out
