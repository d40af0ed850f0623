"""Models (docs/protocol.md 3.3) and the public result types (DESIGN.md, "The public surface").

What a user relies on: a model is chosen by name or by a custom header value;
the seed's names keep their last known header values; an unknown name says
which names exist; results serialise to JSON and back without losing anything;
a chunk prints as its text and has a short repr.
"""

from __future__ import annotations

import inspect
import json
import pathlib
from types import SimpleNamespace
from typing import Any

import pytest

from gemini_sync.models import MODEL_HEADER, SESSION_UUID, Model, model_header_value
from gemini_sync.types.images import GeneratedImage, WebImage
from gemini_sync.types.output import Candidate, ModelOutput, StreamChunk

# docs/protocol.md 3.3, current family: name -> (model id of August 2026, tier); thinking is level 2
CURRENT = {
    "gemini-3-pro": ("9d8ca3786ebdfbea", 1),
    "gemini-3-flash": ("fbb127bbb056c959", 1),
    "gemini-3-flash-thinking": ("fbb127bbb056c959", 1),
    "gemini-3-pro-plus": ("e6fa609c3fa255c0", 4),
    "gemini-3-flash-plus": ("56fdd199312815e2", 4),
    "gemini-3-flash-thinking-plus": ("56fdd199312815e2", 4),
    "gemini-3-pro-advanced": ("e6fa609c3fa255c0", 2),
    "gemini-3-flash-advanced": ("56fdd199312815e2", 2),
    "gemini-3-flash-thinking-advanced": ("56fdd199312815e2", 2),
}


# --- Model ------------------------------------------------------------------------------------------


def test_seed_aliases_keep_their_newest_documented_header_values() -> None:
    assert Model.G_2_5_PRO.headers[MODEL_HEADER] == '[1,null,null,null,"4af6c7f5da75d65d",null,null,0,[4]]'
    assert Model.G_2_5_FLASH.headers[MODEL_HEADER] == '[1,null,null,null,"9ec249fc9ad08861",null,null,0,[4]]'
    assert Model.G_2_0_FLASH.headers[MODEL_HEADER] == '[1,null,null,null,"f299729663a2343f"]'
    assert Model.G_3_0_PRO.header_value == '[1,null,null,null,"9d8ca3786ebdfbea",null,null,0,[4]]'
    assert Model.G_2_0_FLASH_THINKING.header_value == '[null,null,null,null,"7ca48d02d802f20a"]'
    assert Model.G_2_5_PRO.name == "gemini-2.5-pro"
    assert Model.G_2_5_FLASH.name == "gemini-2.5-flash"
    assert Model.G_2_0_FLASH.name == "gemini-2.0-flash"


def test_unspecified_sends_no_headers() -> None:
    assert Model.UNSPECIFIED.headers == {}
    assert Model.UNSPECIFIED.header_value is None
    assert Model.UNSPECIFIED.model_id is None


@pytest.mark.parametrize(("name", "spec"), CURRENT.items())
def test_current_family_header_values(name: str, spec: tuple[str, int]) -> None:
    model_id, tail = spec
    model = Model.from_name(name)
    number = 3 if "pro" in name else 1
    level = 2 if "thinking" in name else 1
    # the browser's 17-element form: tier at [11], model number at [14], level at [15], session UUID
    assert model.header_value == (
        f'[1,null,null,null,"{model_id}",null,null,0,[4,5,6,8],null,null,{tail},null,null,'
        f'{number},{level},"{SESSION_UUID}"]'
    )
    assert model.model_id == model_id
    assert model.paid == (tail != 1)
    assert model.thinking == ("thinking" in name)
    assert model.headers == {
        MODEL_HEADER: model.header_value,
        "x-goog-ext-73010989-jspb": "[0]",
        "x-goog-ext-73010990-jspb": "[0,0,0]",
    }


def test_every_known_model_has_a_parseable_header_and_a_unique_name() -> None:
    known = Model.known()
    names = [m.name for m in known]
    assert len(names) == len(set(names))
    assert set(CURRENT) | {"unspecified", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash"} <= set(
        names
    )
    for model in known:
        assert Model.from_name(model.name) is model
        if model is Model.UNSPECIFIED:
            continue
        value = json.loads(model.header_value or "")
        assert isinstance(value, list) and len(value) > 4
        assert isinstance(value[4], str) and len(value[4]) == 16
        assert model.model_id == value[4]


def test_model_header_value_capacity_fields() -> None:
    assert model_header_value("abc", 2) == '[1,null,null,null,"abc",null,null,0,[4],null,null,2]'
    assert (
        model_header_value("abc", 3, capacity_field=13)
        == '[1,null,null,null,"abc",null,null,0,[4],null,null,null,3]'
    )


def test_from_name_is_case_and_space_insensitive() -> None:
    assert Model.from_name("  Gemini-3-Flash ") is Model.G_3_FLASH
    assert Model.from_name("GEMINI-2.5-PRO") is Model.G_2_5_PRO


def test_from_name_unknown_lists_every_known_name() -> None:
    with pytest.raises(ValueError) as info:
        Model.from_name("gemini-9-ultra")
    message = str(info.value)
    assert "gemini-9-ultra" in message
    for model in Model.known():
        assert model.name in message
    assert "Model.custom" in message


def test_custom_model() -> None:
    value = '[1,null,null,null,"0123456789abcdef",null,null,0,[4],null,null,4]'
    model = Model.custom("my-model", value, thinking=True)
    assert model.name == str(model) == "my-model"
    assert model.header_value == value
    assert model.headers[MODEL_HEADER] == value
    assert model.model_id == "0123456789abcdef"
    assert model.thinking is True
    assert model == Model.custom("my-model", value)
    assert hash(model) == hash(Model.custom("my-model", value))
    assert model != Model.custom("my-model", value.replace("4]", "1]"))
    assert "my-model" in repr(model)


def test_custom_model_with_a_known_name_does_not_replace_the_known_one() -> None:
    before = Model.from_name("gemini-3-flash")
    Model.custom("gemini-3-flash", '[1,null,null,null,"ffffffffffffffff"]')
    assert Model.from_name("gemini-3-flash") is before


@pytest.mark.parametrize("value", ["not json", "{}", '"string"', "5", ""])
def test_custom_model_with_invalid_header_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        Model.custom("bad", value)


def test_model_needs_a_name() -> None:
    with pytest.raises(ValueError):
        Model.custom("", "[1]")


def test_resolve() -> None:
    assert Model.resolve(None) is Model.UNSPECIFIED
    assert Model.resolve("gemini-3-pro") is Model.G_3_PRO
    custom = Model.custom("x", "[1]")
    assert Model.resolve(custom) is custom
    with pytest.raises(TypeError):
        Model.resolve(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Model.resolve("nope")


def test_custom_model_without_id_slot() -> None:
    assert Model.custom("short", "[1,null]").model_id is None


# --- types: JSON round trips ----------------------------------------------------------------------


def _web(n: int) -> WebImage:
    return WebImage(f"https://example.com/{n}.png", f"title {n} 😀", f"alt {n}")


def _gen(n: int) -> GeneratedImage:
    return GeneratedImage(
        f"https://lh3.googleusercontent.com/g{n}",
        f"[Generated Image {n}]",
        "a cat \u2028 中文",
        image_id=f"http://googleusercontent.com/image_generation_content/{n}",
    )


def _output() -> ModelOutput:
    chosen = Candidate(
        "rc_1", "Hello **world** 😀\n```py\nx\n```", "I thought \\*", [_web(0), _web(1)], [_gen(0)]
    )
    other = Candidate("rc_2", "Other", "", [], [])
    meta = ["c_1", "r_1", "rc_1", None, None, None, None, None, None, "ctx"]
    return ModelOutput(metadata=meta, candidates=[chosen, other], chosen=0)


def test_images_round_trip() -> None:
    web, gen = _web(3), _gen(4)
    assert WebImage.from_json(web.to_json()) == web
    assert GeneratedImage.from_json(gen.to_json()) == gen
    assert GeneratedImage.from_json(gen.to_json()).image_id == gen.image_id


def test_image_json_has_no_private_fields_and_attach_is_not_a_constructor_argument() -> None:
    saver = SimpleNamespace(save_image=lambda *args, **kwargs: pathlib.Path("saved"))
    image = WebImage("https://x/y.png").attach(saver)  # type: ignore[arg-type]
    assert "_saver" not in image.to_dict() and "_saver" not in repr(image)
    assert "_saver" not in inspect.signature(WebImage).parameters
    assert image == WebImage("https://x/y.png")  # the link is not part of the value
    restored = WebImage.from_dict(image.to_dict())
    assert restored == image
    assert restored.attach(saver).save() == pathlib.Path("saved")  # attached again, it saves


def test_deserialised_image_cannot_save_and_says_why() -> None:
    from gemini_sync.errors import GeminiError

    image = WebImage.from_json(_web(1).to_json())
    with pytest.raises(GeminiError, match="not attached"):
        image.save("/nonexistent")


def test_model_output_round_trip() -> None:
    output = _output()
    again = ModelOutput.from_json(output.to_json())
    assert again == output
    assert again.text == output.text == "Hello **world** 😀\n```py\nx\n```"
    assert again.thoughts == "I thought \\*"
    assert [type(i) for i in again.images] == [WebImage, WebImage, GeneratedImage]
    assert again.generated_images[0].image_id == _gen(0).image_id
    assert (again.cid, again.rid, again.rcid) == ("c_1", "r_1", "rc_1")
    assert json.loads(output.to_json())["candidates"][0]["rcid"] == "rc_1"


def test_model_output_accessors_with_no_candidate() -> None:
    empty = ModelOutput()
    assert (empty.text, empty.thoughts, empty.images, empty.cid, empty.rid, empty.rcid) == (
        "",
        "",
        [],
        None,
        None,
        None,
    )
    assert str(empty) == ""
    assert ModelOutput.from_json(empty.to_json()) == empty


def test_model_output_str_is_its_text_and_chosen_selects_the_candidate() -> None:
    output = _output()
    assert str(output) == output.text
    output.chosen = 1
    assert output.text == "Other" and output.images == []


def _chunk(**kwargs: Any) -> StreamChunk:
    defaults: dict[str, Any] = dict(
        text="Hello 😀",
        delta_text="😀",
        thoughts="hmm",
        delta_thoughts="m",
        web_images=[_web(0)],
        generated_images=[_gen(0)],
        new_images=[_web(0)],
        metadata=["c_1", "r_1", "rc_1", None, None, None, None, None, None, ""],
        candidates=_output().candidates,
        is_final=False,
    )
    defaults.update(kwargs)
    return StreamChunk(**defaults)


def test_stream_chunk_round_trip() -> None:
    chunk = _chunk()
    assert StreamChunk.from_json(chunk.to_json()) == chunk


def test_stream_chunk_round_trip_keeps_generated_images_in_new_images() -> None:
    """new_images holds web and generated images alike (the assembler puts both there)."""
    chunk = _chunk(new_images=[_web(0), _gen(0)], is_final=True)
    again = StreamChunk.from_json(chunk.to_json())
    assert [type(i) for i in again.new_images] == [WebImage, GeneratedImage]
    assert again == chunk


def test_stream_chunk_str_is_the_accumulated_text() -> None:
    assert str(_chunk()) == "Hello 😀"
    assert f"{_chunk(text='abc')}" == "abc"


def test_stream_chunk_repr_is_short() -> None:
    long_text = "word " * 10_000
    text = repr(_chunk(text=long_text, delta_text=long_text[:500], is_final=True))
    assert len(text) < 200
    assert "is_final=True" in text
    assert "500" in text  # delta size
    assert "new_images=1" in text
    assert repr(_chunk(text="short")).startswith("StreamChunk(text='short'")


# -- the public boundary ---------------------------------------------------------------


def test_chat_turn_and_account_info_are_public_and_round_trip_through_json() -> None:
    import gemini_sync
    from gemini_sync import AccountInfo, ChatTurn

    turn = ChatTurn("r_1", "hello", [Candidate("rc_1", "hi there", web_images=[_web(1)])], done=False)
    again = ChatTurn.from_json(turn.to_json())
    assert again == turn and again.text == "hi there" and isinstance(again.candidates[0], Candidate)
    info = AccountInfo(1000, [Model.G_3_FLASH, Model.custom("odd", '[1,null,null,null,"x"]', thinking=True)])
    restored = AccountInfo.from_json(info.to_json())
    assert restored == info and restored.models[1].thinking and restored.models[0] == Model.G_3_FLASH
    assert {"ChatTurn", "AccountInfo", "GemLike", "FileInput"} <= set(gemini_sync.__all__)


def test_every_exception_is_importable_from_the_top_level_and_from_errors() -> None:
    import gemini_sync
    from gemini_sync import errors

    exported = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert {"TimeoutError", "ProtocolError", "StreamDiverged", "UploadError"} <= exported
    for name in exported:
        assert getattr(gemini_sync, name) is getattr(errors, name) and name in gemini_sync.__all__


def test_with_partial_returns_the_same_error_of_the_same_class() -> None:
    from gemini_sync.errors import StreamDiverged

    error = StreamDiverged("x", output=ModelOutput())
    partial = ModelOutput(metadata=["c_1"])
    same = error.with_partial(partial)
    assert same is error and type(same) is StreamDiverged and same.partial is partial
    assert same.with_partial(ModelOutput()).partial is partial  # the first one attached stays
