"""The public surface: one export list, every public type named ``gemini_sync.X``, and everything a
public call returns importable from ``gemini_sync`` (derived from the calls' annotations)."""

from __future__ import annotations

import inspect
import pickle
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest

import gemini_sync
from gemini_sync import _exports


def _public_objects() -> dict[str, Any]:
    return {name: getattr(gemini_sync, name) for name in _exports.table()}


def _classes_in(annotation: Any) -> Iterator[type]:
    """Every class an annotation names: ``list[X] | None`` -> ``X``; callables' arguments are not results."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is not None and origin in (typing.Callable, __import__("collections.abc").abc.Callable):
        return
    if isinstance(origin, type) and origin.__module__.startswith("gemini_sync"):
        yield origin
    for argument in typing.get_args(annotation):
        yield from _classes_in(argument)


def _returned_classes() -> dict[str, set[type]]:
    """``"Class.method"`` -> the classes its return annotation names, for every public call."""
    import os

    import tenacity

    namespace = {**vars(typing), "os": os, "tenacity": tenacity, **_public_objects()}
    found: dict[str, set[type]] = {}
    for name, obj in _public_objects().items():
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for attr, member in inspect.getmembers(obj):
            if attr.startswith("_") and attr not in ("__iter__", "__enter__", "__next__"):
                continue
            function = member.fget if isinstance(member, property) else member
            if not callable(function):
                continue
            globalns = getattr(function, "__globals__", None)  # the defining module's names
            try:
                hints = typing.get_type_hints(function, globalns=globalns, localns=namespace)
            except TypeError:  # a builtin or a C function: no annotations to read
                continue
            if "return" in hints:
                found[f"{name}.{attr}"] = set(_classes_in(hints["return"]))
    return found


def test_the_export_list_names_real_objects_and_all_of_them() -> None:
    table = _exports.table()
    assert len(table) > 60 and "GeminiClient" in table and "ChatIds" in table
    assert set(gemini_sync.__all__) == {*table, "__version__"}
    for name, obj in _public_objects().items():
        assert obj is not None, name
    assert "GeminiClient" in dir(gemini_sync)


def test_every_public_class_and_function_is_named_gemini_sync_dot_its_name() -> None:
    for name, obj in _public_objects().items():
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "gemini_sync", name
            assert getattr(gemini_sync, obj.__name__) is obj


def test_everything_a_public_call_returns_is_importable_from_gemini_sync() -> None:
    public = {id(obj) for obj in _public_objects().values()}
    returned = _returned_classes()
    assert returned["GeminiClient.stream"] == {gemini_sync.Stream}
    assert gemini_sync.GeneratedVideo in returned["ModelOutput.videos"]
    missing = {
        f"{call} -> {cls.__qualname__}"
        for call, classes in returned.items()
        for cls in classes
        if cls.__module__.startswith("gemini_sync") and id(cls) not in public
    }
    assert missing == set()


def test_names_that_were_missing_before_are_exported() -> None:
    from gemini_sync import GeneratedAudio, GeneratedMedia, GeneratedVideo, MediaSaver, StatusKind, Timeouts

    assert issubclass(GeneratedVideo, GeneratedMedia) and issubclass(GeneratedAudio, GeneratedMedia)
    assert typing.get_args(StatusKind) == ("queued", "thinking", "tool")
    assert MediaSaver is not None and Timeouts().stall == 120.0


def test_results_pickle_and_round_trip_under_the_package_name() -> None:
    output = gemini_sync.ModelOutput(
        metadata=["c_1", "r_1", "rc_1", None, None, None, None, None, None, "tok"],
        candidates=[
            gemini_sync.Candidate("rc_1", "Hi", web_images=[gemini_sync.WebImage("https://x/y.png")])
        ],
    )
    assert pickle.loads(pickle.dumps(output)) == output
    assert gemini_sync.ModelOutput.from_json(output.to_json()) == output
    assert output.ids == gemini_sync.ChatIds("c_1", "r_1", "rc_1", "tok")
    assert output.ids.metadata == output.metadata


def test_images_and_media_are_frozen_values() -> None:
    image = gemini_sync.GeneratedImage("https://x/g.png", image_id="i", turn_ids=["c", "r", "rc"])
    with pytest.raises(AttributeError):
        image.title = "changed"  # type: ignore[misc]
    assert image.turn_ids == ("c", "r", "rc") and hash(image) == hash(
        gemini_sync.GeneratedImage("https://x/g.png", image_id="i", turn_ids=("c", "r", "rc"))
    )
    video = gemini_sync.GeneratedVideo("https://x/v.mp4")
    with pytest.raises(AttributeError):
        video.url = "x"  # type: ignore[misc]
    with pytest.raises(gemini_sync.GeminiError, match="not attached"):
        image.read()


@pytest.mark.parametrize(
    ("call", "keyword"),
    [
        (gemini_sync.Stream.start, "on_text"),
        (gemini_sync.StreamWorker.__init__, "on_text"),
        (gemini_sync.ResearchJob.start, "on_progress"),
        (gemini_sync.ResearchJob.wait, "on_progress"),
        (gemini_sync.ChatSession.send_message_stream, "files"),
        (gemini_sync.ChatSession.send_message, "files"),
        (gemini_sync.GeminiClient.stream, "files"),
    ],
)
def test_callbacks_and_files_are_keyword_only(call: Any, keyword: str) -> None:
    parameter = inspect.signature(call).parameters[keyword]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY


def test_timeouts_replace_the_four_knobs_and_conflicts_are_type_errors() -> None:
    timeouts = gemini_sync.Timeouts(20, read=60, stall=30)
    assert timeouts.request == (20, 60) and gemini_sync.Timeouts(5).request == 5
    assert timeouts.replace(stall=None).stall is None
    with pytest.raises(ValueError, match="stall"):
        gemini_sync.Timeouts(stall=-1)
    client = gemini_sync.GeminiClient(
        cookies={"__Secure-1PSID": "x"}, base_url="http://127.0.0.1:9", cookie_cache=False, timeouts=timeouts
    )
    assert client.stall_timeout == 30 and client.timeout == (20, 60)
    client.stall_timeout = 7
    assert client.timeouts.stall == 7
    client.close()
    old = gemini_sync.GeminiClient(
        cookies={"__Secure-1PSID": "x"},
        base_url="http://127.0.0.1:9",
        cookie_cache=False,
        timeout=3,
        stall_timeout=None,
    )
    assert old.timeouts == gemini_sync.Timeouts(3, stall=None)
    old.close()
    with pytest.raises(TypeError, match="timeouts"):
        gemini_sync.GeminiClient(
            cookies={"__Secure-1PSID": "x"}, cookie_cache=False, timeouts=timeouts, timeout=3
        )
    with pytest.raises(TypeError, match="retry"):
        gemini_sync.GeminiClient(
            cookies={"__Secure-1PSID": "x"},
            cookie_cache=False,
            retry=gemini_sync.RetryPolicy(1),
            max_retries=2,
        )


def test_the_types_package_still_forwards_every_result_type() -> None:
    import gemini_sync.types as result_types

    assert result_types.ModelOutput is gemini_sync.ModelOutput
    assert result_types.ChatTurn is gemini_sync.ChatTurn
    assert isinstance(result_types, types.ModuleType) and "Quota" in result_types.__all__
