"""Importing the public names leaves serialisation, retries, rotation locks, emulator and CLI for later.

Import cost is measured by ``bench/import_time.py``; these tests check the
behaviour behind it: what a fresh interpreter has loaded after the import, that
the first ``to_json()`` then works, and that the JSON methods of the result types
give exactly what dataclasses-json gives (the output is pinned, byte for byte).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gemini_sync import (
    AccountInfo,
    Candidate,
    ChatInfo,
    GeneratedImage,
    Model,
    ModelOutput,
    StreamChunk,
    WebImage,
)
from gemini_sync._json import codec
from gemini_sync._uuid import random_uuid
from gemini_sync.emulator import Emulator
from gemini_sync.models import SESSION_UUID

_DEFERRED = [
    "dataclasses_json",
    "marshmallow",
    "typing_inspect",
    "tenacity",
    "filelock",
    "uuid",  # with platform: gemini_sync._uuid makes the ids
    "platform",
    "html",  # loaded when a text first holds an entity
    "gemini_sync.emulator",
    "gemini_sync.cli",
]

_FRESH_IMPORT = """
import json, sys
from gemini_sync import *  # every public name: the client, chat, stream, worker, the types
import gemini_sync
deferred = %r
before = sorted(m for m in deferred if m in sys.modules)
chunk = gemini_sync.StreamChunk(
    "hi", "hi", new_images=[gemini_sync.WebImage("u"), gemini_sync.GeneratedImage("g", image_id="i")]
)
text = chunk.to_json()
again = gemini_sync.StreamChunk.from_json(text)
print(json.dumps({
    "before": before,
    "json": json.loads(text),
    "round_trip": again == chunk,
    "new_image_types": [type(i).__name__ for i in again.new_images],
    "after": "dataclasses_json" in sys.modules,
}))
"""


def test_import_gemini_sync_defers_serialisation_retries_locks_emulator_and_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORT % (_DEFERRED,)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["before"] == []
    # the first to_json()/from_json() of the process still work, and load dataclasses-json then
    assert report["json"]["text"] == "hi" and report["json"]["new_images"][1]["image_id"] == "i"
    assert report["round_trip"] is True
    assert report["new_image_types"] == ["WebImage", "GeneratedImage"]
    assert report["after"] is True


def test_to_json_output_is_pinned() -> None:
    """The exact string dataclasses-json's own mixin produced for these values before the move."""
    candidate = Candidate(
        "rc_1",
        "Hé 😀",
        web_images=[WebImage("https://x/a.png", "a", "alt")],
        generated_images=[GeneratedImage("https://x/g.png", image_id="img_1", turn_ids=["c", "r", "rc"])],
    )
    assert candidate.to_json() == (
        '{"rcid": "rc_1", "text": "H\\u00e9 \\ud83d\\ude00", "thoughts": "", '
        '"web_images": [{"url": "https://x/a.png", "title": "a", "alt": "alt"}], '
        '"generated_images": [{"url": "https://x/g.png", "title": "[Image]", "alt": "", '
        '"image_id": "img_1", "turn_ids": ["c", "r", "rc"]}], "citations": [], "videos": [], "audio": []}'
    )
    assert candidate.to_dict()["web_images"] == [{"url": "https://x/a.png", "title": "a", "alt": "alt"}]
    assert Candidate.from_dict(candidate.to_dict()) == candidate


def test_to_json_and_from_json_pass_their_keywords_to_json() -> None:
    info = ChatInfo("c_1", "Tëst", pinned=True, timestamp=1.5)
    text = info.to_json(ensure_ascii=False, indent=2, sort_keys=True)
    assert text.startswith('{\n  "cid": "c_1",\n  "pinned": true,') and '"Tëst"' in text
    assert ChatInfo.from_json(text) == info
    assert ChatInfo.from_json(text.encode()) == info  # bytes, as json.loads takes
    output = ModelOutput.from_json('{"metadata": ["c_1", 0.1]}', parse_float=Decimal)
    assert output.metadata == ["c_1", Decimal("0.1")] and isinstance(output.metadata[1], Decimal)


def test_field_codecs_drive_encoding_and_decoding() -> None:
    """``codec()`` metadata is what dataclasses-json reads: AccountInfo's models use their own shape."""
    info = AccountInfo(1000, [Model.G_3_FLASH])
    encoded = json.loads(info.to_json())["models"][0]
    assert encoded == {
        "model_name": Model.G_3_FLASH.model_name,
        "header_value": Model.G_3_FLASH.header_value,
        "paid": Model.G_3_FLASH.paid,
        "thinking": Model.G_3_FLASH.thinking,
    }
    assert AccountInfo.from_dict({"status": 1000, "models": [encoded]}).models == [Model.G_3_FLASH]
    mixed = StreamChunk.from_dict({"new_images": [{"url": "w"}, {"url": "g", "image_id": "i"}]})
    assert [type(i) for i in mixed.new_images] == [WebImage, GeneratedImage]


def test_codec_builds_the_metadata_dataclasses_json_config_builds() -> None:
    from dataclasses_json import config

    def encode(value: object) -> object:
        return value

    def decode(value: object) -> object:
        return value

    assert codec(decoder=decode) == config(decoder=decode)
    assert codec(encoder=encode, decoder=decode) == config(encoder=encode, decoder=decode)
    assert codec() == config()


def test_results_are_dataclasses_json_instances_once_it_is_loaded() -> None:
    from dataclasses_json import DataClassJsonMixin

    chunk = StreamChunk("x")
    chunk.to_dict()  # loads dataclasses-json (a no-op if another test already did)
    assert isinstance(chunk, DataClassJsonMixin) and issubclass(AccountInfo, DataClassJsonMixin)


_TYPED_USE = """
from typing import Any

from gemini_sync import AccountInfo, GeneratedImage, Model, StreamChunk, WebImage


def restore(text: str) -> StreamChunk:
    return StreamChunk.from_json(text)


def rebuild(kvs: dict[str, Any]) -> GeneratedImage:
    return GeneratedImage.from_dict(kvs, infer_missing=True)


text: str = StreamChunk("x").to_json(indent=2, sort_keys=True)
models: list[Model] = AccountInfo.from_json(b"{}").models
as_dict: dict[str, Any] = restore(text).to_dict()
wrong: int = StreamChunk("x").to_json()
narrower: GeneratedImage = WebImage.from_json("{}")
"""


def test_json_methods_are_typed_for_a_users_mypy_strict(tmp_path: Path) -> None:
    """``from_json``/``from_dict`` return the class they are called on; ``to_json`` a ``str``."""
    (tmp_path / "use.py").write_text(_TYPED_USE)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in (done.stdout + done.stderr).splitlines() if ": error:" in line]
    assert errors == [
        'use.py:18: error: Incompatible types in assignment (expression has type "str", '
        'variable has type "int")  [assignment]',
        'use.py:19: error: Incompatible types in assignment (expression has type "WebImage", '
        'variable has type "GeneratedImage")  [assignment]',
    ], done.stdout + done.stderr


def test_random_uuid_is_an_upper_case_version_4_uuid() -> None:
    import uuid

    ids = {random_uuid() for _ in range(200)}
    assert len(ids) == 200
    for value in [*ids, SESSION_UUID]:
        parsed = uuid.UUID(value)
        assert value == str(parsed).upper()
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


_ON_DEMAND = ["gemini_sync.types.account", "gemini_sync.types.research", "gemini_sync.transport.upload"]

_CLIENT_THEN_ACCOUNT = """
import json, sys
from gemini_sync import GeminiClient
on_demand = %r
client = GeminiClient(cookies=%r, base_url=%r, auto_refresh=False, cookie_cache=False, timeout=10)
text = "".join(chunk.delta_text for chunk in client.stream("Hello"))
after_stream = sorted(m for m in on_demand if m in sys.modules)
models = client.list_models()
after_list = sorted(m for m in on_demand if m in sys.modules)
import gemini_sync.types as types
from gemini_sync import ResearchPlan, ResearchStep
from gemini_sync.types import AccountInfo, Candidate, Gem
turn = types.ChatTurn("r_1", "Hi", [Candidate("rc_1", "Hello there")])
plan = ResearchPlan("Tides", [ResearchStep(1, "Read", "about tides")])
print(json.dumps({
    "text": text,
    "after_stream": after_stream,
    "after_list": after_list,
    "models": sorted((m.id, type(m).__name__) for m in models),
    "turn_round_trip": types.ChatTurn.from_json(turn.to_json()) == turn,
    "turn_candidate": type(types.ChatTurn.from_json(turn.to_json()).candidates[0]).__name__,
    "plan_round_trip": ResearchPlan.from_json(plan.to_json()) == plan,
    "account_round_trip": AccountInfo.from_json(AccountInfo(1000).to_json()) == AccountInfo(1000),
    "same_class": types.Gem is Gem and types.ResearchPlan is ResearchPlan,
    "all_listed": all(name in types.__all__ for name in ["ChatTurn", "ResearchPlan", "GemLike", "Quota"]),
    "after": sorted(m for m in on_demand if m in sys.modules),
}))
"""


def test_a_client_that_streams_loads_no_account_research_or_upload_code(module_emu: Emulator) -> None:
    """They load on first use: ``list_models()``, ``types.ChatTurn``, ``from gemini_sync import ...``."""
    script = _CLIENT_THEN_ACCOUNT % (_ON_DEMAND, module_emu.cookies, module_emu.url)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(result.stdout)
    assert report["text"]
    assert report["after_stream"] == []
    assert report["after_list"] == ["gemini_sync.types.account"]
    assert report["models"] == sorted([entry.model_id, "ModelInfo"] for entry in module_emu.catalogue)
    assert report["turn_round_trip"] is True and report["turn_candidate"] == "Candidate"
    assert report["plan_round_trip"] is True and report["account_round_trip"] is True
    assert report["same_class"] is True and report["all_listed"] is True
    assert report["after"] == ["gemini_sync.types.account", "gemini_sync.types.research"]


def test_unknown_names_of_types_still_raise_attribute_error() -> None:
    import gemini_sync.types as types

    with pytest.raises(AttributeError, match="NoSuchType"):
        types.NoSuchType  # noqa: B018 - the attribute access is the test
