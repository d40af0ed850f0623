"""Citations: ``[cite: N, M]`` markers and the sources they point to (docs/protocol.md 10).

The answer's text keeps markers such as ``" [cite: 2, 3]"``; the sources sit
in field 43 (sparse key ``"44"``) of a container: ``C[12]`` on an ordinary
turn, ``C[30][0][17][1]`` or else ``C[30][0][5]`` in a research document.
That field is a list of groups ``[[marker_text], entries]``, each entry
``[null, null, null, [[favicon, url, title, null, null, snippet]]]``.

Resolution (the positional rule): the numbers inside a group's marker are
zipped with its entries, the first occurrence of a number wins, and the
result is sorted by number. Tolerance: an entry a marker number does not
cover takes its number from ``entry[3][1]`` when that is an int (the reading
of one unnamed exporter, marked disputed), an info block given flat
(``entry[3] = [favicon, url, ...]``) is read too, and anything else that does
not fit is skipped: an answer without sources has no citations, never an error.

Pure functions; every field is read in dense and sparse form (:func:`~.payload.dig`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..types.output import CITE_PATTERN
from .jspb import as_list, dig

__all__ = [
    "RawCitation",
    "SOURCES_FIELD",
    "parse_sources",
    "candidate_citations",
    "document_citations",
    "MARKER",
]

#: the field of a container that holds the source groups (sparse key "44")
SOURCES_FIELD = 43
#: a citation marker in the text: ``[cite: 1]``, ``[cite: 2, 3]``
MARKER = re.compile(CITE_PATTERN)
_NUMBER = re.compile(r"\d+")
_DOC_SOURCES_MIRROR = 17
_DOC_SOURCES = 5


@dataclass(frozen=True, slots=True)
class RawCitation:
    """One resolved source, before it becomes a public :class:`~gemini_sync.types.Citation`."""

    number: int
    url: str
    title: str = ""
    snippet: str = ""


def _marker_numbers(group: Any) -> list[int]:
    text = dig(group, 0, 0)
    if not isinstance(text, str):
        text = dig(group, 0)
    if not isinstance(text, str):
        return []
    found = MARKER.search(text)
    return [int(n) for n in _NUMBER.findall(found.group(1) if found else text)]


def _info(entry: Any) -> list[Any] | None:
    """The ``[favicon, url, title, null, null, snippet]`` block: ``entry[3][0]``, or ``entry[3]`` if flat."""
    for info in (dig(entry, 3, 0), dig(entry, 3)):
        if type(info) is list and isinstance(dig(info, 1), str):
            return info
    return None


def _entry(entry: Any, number: int | None) -> RawCitation | None:
    info = _info(entry)
    url = dig(info, 1)
    if info is None or not isinstance(url, str) or not url:
        return None
    if number is None:
        alt = dig(entry, 3, 1)  # the disputed reading: the number beside the info block
        if type(alt) is not int:
            return None
        number = alt
    title, snippet = dig(info, 2), dig(info, 5)
    return RawCitation(
        number, url, title if isinstance(title, str) else "", snippet if isinstance(snippet, str) else ""
    )


def parse_sources(sources: Any) -> list[RawCitation]:
    """Resolve a sources field (a list of ``[[marker_text], entries]`` groups); see the module docstring."""
    found: dict[int, RawCitation] = {}
    for group in as_list(sources):
        numbers = _marker_numbers(group)
        for index, entry in enumerate(as_list(dig(group, 1))):
            citation = _entry(entry, numbers[index] if index < len(numbers) else None)
            if citation is not None and citation.number not in found:
                found[citation.number] = citation
    return [found[n] for n in sorted(found)]


def candidate_citations(cand: Any) -> list[RawCitation]:
    """The citations of a candidate: its rich block ``C[12]``, else its research document ``C[30][0]``."""
    rich = dig(cand, 12)
    citations = parse_sources(dig(rich, SOURCES_FIELD)) if type(rich) is list else []
    if citations:
        return citations
    return document_citations(dig(cand, 30, 0))


def document_citations(doc: Any) -> list[RawCitation]:
    """The citations of a research document: ``doc[17][1]`` first, else ``doc[5]``."""
    if type(doc) is not list:
        return []
    for container in (dig(doc, _DOC_SOURCES_MIRROR, 1), dig(doc, _DOC_SOURCES)):
        citations = parse_sources(dig(container, SOURCES_FIELD))
        if citations:
            return citations
    return []


# --- encoder (used by the emulator) ------------------------------------------
