"""Answers that cite their sources (docs/protocol.md 10), as the emulator sends them.

The text carries ``[cite: N, M]`` markers; the sources go, one group per
marker, into field 43 of the candidate's rich block ``C[12]`` in sparse form
(key ``"44"`` of the block's last element), as the service sends them on an
ordinary turn. :data:`SOURCES` is a small catalogue of real-looking sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..protocol.citations import MARKER, SOURCES_FIELD, RawCitation
from ..protocol.service import build_sources

__all__ = ["SOURCES", "SourceSpec", "source_groups", "attach_sources", "cited_text", "wants_citations"]

#: a source given to a script: a URL, ``(url, title)`` or ``(url, title, snippet)``
SourceSpec = str | tuple[str, str] | tuple[str, str, str] | RawCitation

SOURCES: tuple[RawCitation, ...] = (
    RawCitation(
        1,
        "https://en.wikipedia.org/wiki/Photosynthesis",
        "Photosynthesis - Wikipedia",
        "Photosynthesis is a system of biological processes by which organisms convert light energy.",
    ),
    RawCitation(
        2,
        "https://www.nature.com/scitable/topicpage/photosynthetic-cells-14025371/",
        "Photosynthetic Cells | Learn Science at Scitable",
        "Photosynthetic cells contain special pigments that absorb light energy.",
    ),
    RawCitation(
        3,
        "https://www.britannica.com/science/photosynthesis",
        "Photosynthesis | Definition, Formula, Process, Diagram | Britannica",
        "Photosynthesis, the process by which green plants transform light energy into chemical energy.",
    ),
    RawCitation(
        4,
        "https://www.khanacademy.org/science/biology/photosynthesis-in-plants",
        "Photosynthesis in plants | Khan Academy",
        "Learn how plants capture the energy of sunlight in the light-dependent reactions.",
    ),
)

_SPARSE_KEY = str(SOURCES_FIELD + 1)
_RICH_SLOTS = 8


def wants_citations(prompt: str) -> bool:
    """Whether the default answerer cites (a prompt that mentions "cite" or "sources")."""
    lower = prompt.lower()
    return "cite" in lower or "sources" in lower


def cited_text(prompt: str) -> str:
    """A short answer with markers, one of them repeating a number and one citing two sources."""
    return (
        f"You asked: {prompt}\n\n"
        "Plants turn light into chemical energy [cite: 1, 3]. "
        "The pigments that absorb the light sit in special cells [cite: 2]. "
        "The light-dependent reactions come first [cite: 4], and they need water [cite: 1]."
    )


def _as_citation(number: int, spec: SourceSpec) -> RawCitation:
    if isinstance(spec, RawCitation):
        return RawCitation(number, spec.url, spec.title, spec.snippet)
    if isinstance(spec, str):
        return RawCitation(number, spec)
    return RawCitation(number, *spec)


def source_groups(text: str, sources: Sequence[SourceSpec] | None = None) -> list[Any]:
    """The sources field for ``text``: one group per marker, source N being ``sources[N-1]``.

    A number with no source in ``sources`` gets no entry (a "missing source").
    """
    catalogue = SOURCES if sources is None else sources
    groups: list[tuple[list[int], list[RawCitation]]] = []
    for match in MARKER.finditer(text):
        numbers = [int(n) for n in match.group(1).replace(",", " ").split()]
        known = [n for n in numbers if 1 <= n <= len(catalogue)]
        if known:
            groups.append((known, [_as_citation(n, catalogue[n - 1]) for n in known]))
    return build_sources(groups)


def attach_sources(cand: list[Any], groups: list[Any]) -> list[Any]:
    """Put ``groups`` into field 43 of ``cand[12]`` in sparse form; returns ``cand``."""
    if not groups:
        return cand
    rich = cand[12]
    if type(rich) is not list:
        rich = cand[12] = [None] * _RICH_SLOTS
    if rich and type(rich[-1]) is dict:
        rich[-1][_SPARSE_KEY] = groups
    else:
        rich.append({_SPARSE_KEY: groups})
    return cand
