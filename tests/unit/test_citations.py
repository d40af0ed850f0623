"""Citations (PROTOCOL-2026 section 3): the positional rule, both containers, odd shapes, end to end."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_sync import Citation, GeminiClient, ModelOutput, link_citations
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.citations import RawCitation, candidate_citations, parse_sources
from gemini_sync.protocol.payload import parse_payload
from gemini_sync.protocol.service import build_candidate, build_sources

A = RawCitation(1, "https://a.example/1", "A", "about a")
B = RawCitation(2, "https://b.example/2", "B", "about b")
C = RawCitation(3, "https://c.example/3", "C", "about c")


def _entry(url: str, title: str = "", snippet: str = "") -> list[Any]:
    return [None, None, None, [["https://fav.example/i.ico", url, title, None, None, snippet]]]


def test_numbers_zip_positionally_with_entries_and_sort() -> None:
    sources = [
        [["[cite: 3, 1]"], [_entry(C.url, "C"), _entry(A.url, "A", "about a")]],
        [["[cite: 2]"], [_entry(B.url, "B")]],
    ]
    got = parse_sources(sources)
    assert [(c.number, c.url) for c in got] == [(1, A.url), (2, B.url), (3, C.url)]
    assert got[0].title == "A" and got[0].snippet == "about a"


def test_repeated_number_first_occurrence_wins() -> None:
    sources = [
        [["[cite: 1]"], [_entry("https://first.example")]],
        [["[cite: 2, 1]"], [_entry(B.url), _entry("https://second.example")]],
    ]
    got = parse_sources(sources)
    assert [(c.number, c.url) for c in got] == [(1, "https://first.example"), (2, B.url)]


@pytest.mark.parametrize(
    "sources",
    [None, [], "junk", [None], [[["[cite: 1]"]]], [[["[cite: 1]"], [[None, None, None, None]]]], [[[], []]]],
)
def test_missing_or_odd_sources_give_no_citations(sources: Any) -> None:
    assert parse_sources(sources) == []


def test_more_entries_than_numbers_and_the_disputed_entry_number() -> None:
    # an entry with no marker number is skipped, unless it carries its own number at entry[3][1]
    own_number = [None, None, None, [["", C.url, "C"], 3]]
    sources = [[["[cite: 1]"], [_entry(A.url), _entry("https://unnumbered.example"), own_number]]]
    assert [(c.number, c.url) for c in parse_sources(sources)] == [(1, A.url), (3, C.url)]


def _rich_candidate(sources: list[Any], *, sparse: bool) -> list[Any]:
    cand = build_candidate("rc_1", "Text [cite: 1, 2]", done=True)
    if sparse:
        cand[12] = [None] * 8 + [{"44": sources}]
    else:
        cand[12] = [None] * 43 + [sources]
    return cand


@pytest.mark.parametrize("sparse", [True, False])
def test_ordinary_turn_container_c12(sparse: bool) -> None:
    sources = build_sources([([1, 2], [A, B])])
    got = candidate_citations(_rich_candidate(sources, sparse=sparse))
    assert got == [A, B]


def _doc_candidate(doc: list[Any]) -> list[Any]:
    cand = build_candidate("rc_1", "I've completed your research.", done=True)
    cand += [None] * (31 - len(cand))
    cand[30] = [doc]
    return cand


def test_research_document_prefers_the_mirror_at_17_then_5() -> None:
    mirror = build_sources([([1], [A])])
    plain = build_sources([([1, 2], [B, C])])
    doc: list[Any] = ["im_1", None, "Title", "agency-placeholder-task-id", "body"] + [None] * 13
    doc[5] = [None, {"44": plain}]
    doc[17] = ["body mirror", [None, {"44": mirror}]]
    assert candidate_citations(_doc_candidate(doc)) == [A]
    doc[17] = ["body mirror", None]
    assert [c.number for c in candidate_citations(_doc_candidate(doc))] == [1, 2]
    assert candidate_citations(_doc_candidate(doc))[0].url == B.url


def test_snapshot_without_sources_has_an_empty_list() -> None:
    payload = parse_payload([None, ["c", "r"], None, None, [build_candidate("rc", "plain", done=True)]])
    assert payload.candidates[0].citations == []


def test_link_citations_renders_markdown_links() -> None:
    cites = [Citation(1, "https://a.example"), Citation(2, "https://b.example")]
    text = "One [cite: 1]. Two [cite: 2, 1]. Unknown [cite: 7]. Not a marker [1]."
    assert link_citations(text, cites) == (
        "One [[1]](https://a.example). Two [[2]](https://b.example) [[1]](https://a.example). "
        "Unknown [7]. Not a marker [1]."
    )


def test_citation_json_round_trip() -> None:
    citation = Citation(2, "https://b.example", "B", "snippet")
    assert Citation.from_json(citation.to_json()) == citation
    output = ModelOutput.from_dict(
        {
            "metadata": ["c"],
            "candidates": [{"rcid": "rc", "text": "x [cite: 2]", "citations": [citation.to_dict()]}],
        }
    )
    assert output.citations == [citation]
    assert ModelOutput.from_json(output.to_json()).citations == [citation]


# --- end to end, against the emulator ----------------------------------------


def test_answer_that_cites_keeps_markers_and_resolves_sources(client: GeminiClient) -> None:
    output = client.generate_content("Explain photosynthesis and cite your sources")
    assert "[cite: 1, 3]" in output.text
    numbers = [c.number for c in output.citations]
    assert numbers == [1, 2, 3, 4]
    assert all(c.url.startswith("https://") and c.title for c in output.citations)
    assert "[[1]](https://en.wikipedia.org/wiki/Photosynthesis)" in output.linked_text()


def test_answer_without_sources_has_no_citations(client: GeminiClient) -> None:
    output = client.generate_content("Hello there")
    assert output.citations == []
    assert output.linked_text() == output.text


def test_scripted_sources_with_a_missing_one_and_the_history(emu: Emulator, client: GeminiClient) -> None:
    emu.script(
        "q",
        text="First [cite: 1]. Both [cite: 2, 1]. Missing [cite: 5].",
        sources=["https://one.example", ("https://two.example", "Two", "the second")],
    )
    output = client.generate_content("q")
    assert [(c.number, c.url) for c in output.citations] == [
        (1, "https://one.example"),
        (2, "https://two.example"),
    ]
    assert output.citations[1].snippet == "the second"
    assert output.cid is not None
    (turn,) = client.read_chat(output.cid)
    assert turn.candidates[0].citations == output.citations
