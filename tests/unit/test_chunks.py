"""What a chunk holds and owns (issues 13 and 14).

* A chunk owns what it holds: changing one chunk (its lists, its candidates)
  never changes another chunk or the collected output; its image sequences
  are immutable and no module-level object is shared between streams.
* A chunk carries what changed: a non-final chunk lists only the candidates
  that changed since the previous chunk; the final chunk and the output have
  every candidate and every image. (Time is measured in ``bench/candidates.py``;
  these tests check the behaviour at a small size.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gemini_sync import GeminiClient
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.delta import StreamAssembler
from gemini_sync.protocol.framing import dumps
from gemini_sync.protocol.payload import RawImage, parse_frame
from gemini_sync.protocol.service import build_candidate, build_payload, data_envelope, tail_frames
from gemini_sync.types.images import ImageView, WebImage
from gemini_sync.types.output import Candidate, ModelOutput, StreamChunk

CID, RID = "c_1", "r_1"


def feed(asm: StreamAssembler, cands: list[list[Any]], token: str | None = None) -> list[StreamChunk]:
    frame = [data_envelope(build_payload(CID, RID, cands, context_token=token))]
    return asm.feed(parse_frame(json.loads(dumps(frame))))


def finish(asm: StreamAssembler) -> StreamChunk:
    for frame in tail_frames(0):
        asm.feed(parse_frame(frame))
    return asm.finish()


def web(n: int) -> RawImage:
    return RawImage(f"https://example.com/{n}.png", alt=f"pic {n}")


def image_stream(frames: int) -> tuple[list[StreamChunk], ModelOutput]:
    """One candidate gaining a new image and a word in every frame; chunks and the output."""
    asm = StreamAssembler()
    chunks: list[StreamChunk] = []
    text = ""
    for n in range(frames):
        text += f"w{n} "
        last = n == frames - 1
        cand = build_candidate("rc_1", text, done=last, web_images=[web(i) for i in range(n + 1)])
        chunks += feed(asm, [cand], "ctx" if last else None)
    chunks.append(finish(asm))
    return chunks, asm.final_output()


def mutate(chunk: StreamChunk) -> None:
    """Change every list and candidate of a chunk (images are shared values, like the service's URLs)."""
    chunk.metadata.append("mine")
    chunk.metadata[0] = "changed"
    for cand in chunk.candidates:
        cand.text += " changed"
    chunk.candidates.append(Candidate("rc_mine"))
    for images in (chunk.web_images, chunk.generated_images, chunk.new_images):
        assert not hasattr(images, "append")  # immutable: nothing to share by accident
        with pytest.raises(TypeError):
            images[0] = WebImage("https://example.com/evil.png")  # type: ignore[index]


# --- ownership --------------------------------------------------------------------------------


def test_mutating_a_chunk_changes_no_other_chunk_and_not_the_output() -> None:
    chunks, output = image_stream(4)
    chunks_before = [c.to_json() for c in chunks]
    output_before = output.to_json()
    for k in (0, len(chunks) - 1):  # a chunk with images, the final chunk
        mutate(chunks[k])
        others = [c.to_json() for i, c in enumerate(chunks) if i != k]
        assert others == [c for i, c in enumerate(chunks_before) if i != k]
        chunks_before = [c.to_json() for c in chunks]
    assert output.to_json() == output_before


def test_chunks_without_new_images_share_no_list_between_streams() -> None:
    """The old bug: every chunk without images had the same module-level list, so appending to one
    changed every later chunk of every stream."""
    first, _ = image_stream(1)
    asm = StreamAssembler()
    plain = feed(asm, [build_candidate("rc_1", "no images here")])[0]
    for empty in (plain.new_images, first[-1].new_images):
        assert empty == [] and not hasattr(empty, "append")
    plain.new_images += [WebImage("https://example.com/mine.png")]  # rebinds this chunk's field only
    assert len(plain.new_images) == 1 and first[-1].new_images == []
    later = feed(asm, [build_candidate("rc_1", "no images here either")])[0]
    again = feed(StreamAssembler(), [build_candidate("rc_9", "another stream")])[0]
    assert later.new_images == [] and again.new_images == [] and again.web_images == []


def test_images_so_far_are_a_fixed_view_per_chunk() -> None:
    chunks, output = image_stream(5)
    assert [len(c.web_images) for c in chunks] == [1, 2, 3, 4, 5, 5]
    assert [[i.url for i in c.new_images] for c in chunks] == [[web(n).url] for n in range(5)] + [[]]
    assert all(isinstance(c.web_images, ImageView) for c in chunks)
    # later images never show up in an earlier chunk's view
    assert [i.url for i in chunks[1].web_images] == [web(0).url, web(1).url]
    assert chunks[-1].web_images == output.web_images == [c.new_images[0] for c in chunks[:-1]]
    assert chunks[-1].candidates[0].web_images == chunks[-1].web_images


def test_image_views_behave_as_read_only_lists_and_round_trip() -> None:
    chunks, output = image_stream(3)
    view = chunks[1].web_images
    assert (
        len(view) == 2 and view[-1].url == web(1).url and view[0:1] == [view[0]] and view[0:1] == (view[0],)
    )
    assert view == list(view) and view == tuple(view) and list(view) == view and tuple(view) == view
    assert [i.url for i in view + chunks[0].web_images] == [web(0).url, web(1).url, web(0).url]
    assert list(chunks[0].web_images) + view == [view[0], view[0], view[1]]
    with pytest.raises(IndexError):
        view[2]
    assert repr(view).startswith("[WebImage(")
    for chunk in chunks:
        again = StreamChunk.from_json(chunk.to_json())
        assert again == chunk and again.to_json() == chunk.to_json()
    assert ModelOutput.from_json(output.to_json()) == output
    assert json.loads(chunks[-1].to_json())["web_images"][2]["url"] == web(2).url


# --- candidates: what changed ------------------------------------------------------------------


def test_a_non_final_chunk_lists_the_candidates_that_changed_and_the_final_all() -> None:
    asm = StreamAssembler()
    chosen = [build_candidate("rc_0", "A")]
    others = [build_candidate(f"rc_{n}", f"draft {n}") for n in range(1, 5)]
    chunks = feed(asm, chosen + others)  # first frame: every candidate is new
    # the chosen one grows, one other changes, the rest stay
    others[2] = build_candidate("rc_3", "draft 3, longer")
    chunks += feed(asm, [build_candidate("rc_0", "A b"), *others])
    chunks += feed(asm, [build_candidate("rc_0", "A b c"), *others])
    # another candidate changes in a frame that brings nothing for the caller: told with the next chunk
    others[0] = build_candidate("rc_1", "draft 1, edited")
    assert feed(asm, [build_candidate("rc_0", "A b c"), *others]) == []
    chunks += feed(asm, [build_candidate("rc_0", "A b c d", done=True), *others], "ctx")
    chunks.append(finish(asm))
    assert [[c.rcid for c in chunk.candidates] for chunk in chunks] == [
        ["rc_0", "rc_1", "rc_2", "rc_3", "rc_4"],
        ["rc_0", "rc_3"],
        ["rc_0"],
        ["rc_0", "rc_1"],
        ["rc_0", "rc_1", "rc_2", "rc_3", "rc_4"],
    ]
    assert chunks[1].candidates[1].text == "draft 3, longer"
    assert chunks[3].candidates[1].text == "draft 1, edited"
    final = chunks[-1]
    assert [c.text for c in final.candidates] == [
        "A b c d",
        "draft 1, edited",
        "draft 2",
        "draft 3, longer",
        "draft 4",
    ]
    output = asm.final_output()
    assert [c.text for c in output.candidates] == [c.text for c in final.candidates]
    assert output.candidates is not final.candidates and output.candidates[0] is not final.candidates[0]


def test_a_stream_with_many_candidates_keeps_every_one_in_the_output() -> None:
    asm = StreamAssembler()
    many = [build_candidate(f"rc_{n:04d}", f"draft {n}", done=True) for n in range(1, 300)]
    chunks = feed(asm, [build_candidate("rc_0000", "Hello"), *many])
    for n in range(20):
        chunks += feed(asm, [build_candidate("rc_0000", "Hello" + " w" * (n + 1))])
    chunks += feed(asm, [build_candidate("rc_0000", "Hello" + " w" * 20 + ".", done=True)], "ctx")
    chunks.append(finish(asm))
    assert all(len(c.candidates) == 1 for c in chunks[1:-1])  # only the chosen one changed
    assert len(chunks[-1].candidates) == 300 == len(asm.final_output().candidates)
    assert asm.final_output().candidates[299].text == "draft 299"


# --- through the client -------------------------------------------------------------------------


def test_streamed_chunks_and_the_output_are_independent(emu: Emulator, client: GeminiClient) -> None:
    emu.script("pics", text="Here are two pictures of foxes.", web_images=["a fox", "a red fox"], chunks=4)
    stream = client.stream("pics")
    chunks = list(stream)
    output = stream.output
    assert output is not None
    expected = output.to_json()
    for chunk in chunks:
        chunk.metadata.clear()
        chunk.candidates.clear()
    assert stream.output is output and output.to_json() == expected
    assert len(output.web_images) == 2 == len(chunks[-1].web_images)
    assert [i.url for c in chunks for i in c.new_images] == [i.url for i in output.web_images]
