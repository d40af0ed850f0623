"""The drift report: how the SHAPES of a capture differ from another's (normally the emulator's).

The service changes every few weeks. A user records one real turn
(:mod:`.file`); :func:`compare_captures` sets its shapes beside those of the
same kind of turn answered by the emulator and says, in words a user can
paste into a bug report, where they part. Only shapes are compared, never
values, so the report holds no text, id or token, and two honest turns of
the same kind (other ids, other text, more or fewer streaming frames, keys in
another order) give an empty report.

The shapes compared (:func:`shapes` computes them for one capture):

1. page keys: the set of ``WIZ_global_data`` key names (``page["keys"]``);
2. page values: for each value the client reads (docs/protocol.md 2.2), whether
   it is a string, an empty string, null, another type or absent;
3. request: the StreamGenerate query parameter names, form field names and
   extension header names (``x-goog-ext-*``), the ``f.req`` outer layout and
   the inner ``f.req`` layout (which index holds a value of which JSON type)
   and its number of slots;
4. frames: the HTTP status, whether the ``)]}'`` prefix is there, the sequence
   of frame kinds with repeats collapsed (``data-first``, ``data-status``,
   ``data-full``, ``data-done``, ``data-context``, ``data-last``,
   ``data-sparse``, ``error(<code>)``, ``status``, ``er``, ``di``,
   ``af.httprm``, ``e``; a frame of several envelopes as ``[di, af.httprm]``),
   whether every length is right (UTF-16 units + 2), whether ``e``'s total is
   the body's length in bytes, and what ``e``'s first number counts;
5. envelope: for full payloads ``E``, by role (streaming, completing, without
   candidates), the union of the indices holding a value and their types,
   sparse keys mapped back to indices (key ``str(N+1)`` is ``E[N]``);
6. sparse: the keys of the sparse-only frames ``[null, [cid, rid], {...}]``
   by role (first ``"18"``, status ``"7"``, context token ``"26"``, last
   ``"46"``/``"52"``, other) and the types of their ``[cid, rid]``;
7. candidate: the same union as 5 for the candidates ``C = E[4][i]``;
8. trailers: the frame kinds after the last data frame;
9. errors: the in-band error codes (and status or rejection envelopes);
10. batchexecute: the set of rpc ids called and, per rpc id, the layout of its
    result ``r`` one level deep (each list slot by its first item's layout,
    or its items' type) or how the call was refused.

An area one capture has and the other lacks (no page recorded, no
StreamGenerate) is one difference; an area neither has is not compared. An
index is named when docs/protocol.md says what it holds (the tables below).
The comparison is pure: :mod:`gemini_sync.emulator.drift` makes the
emulator's capture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._shapes import capture_shapes
from ._shapes import index_order as _index_order
from .file import Capture

__all__ = ["Difference", "DriftReport", "shapes", "compare_captures", "SHAPES_COMPARED"]

#: the names of the shapes compared, in the report's order (module docstring, items 1-10)
SHAPES_COMPARED = (
    "page keys",
    "page values",
    "request",
    "frames",
    "envelope",
    "sparse",
    "candidate",
    "trailers",
    "errors",
    "batchexecute",
)

# what docs/protocol.md (2.2, 3.4, 3.6, 5, 6.1, 7.3, 13.2) says an index holds
_PAGE = {
    "SNlM0e": "access token",
    "thykhd": "second token",
    "cfb2h": "build label",
    "FdrFJe": "page session id",
    "TuX5cc": "UI language",
    "qKIAYe": "upload push id",
    "KnDnFf": "upload push id",
    "S06Grb": "account id",
    "oPEP7c": "account e-mail",
}
_INNER = {
    0: "the message", 1: "language", 2: "chat metadata", 3: "attestation token", 4: "nonce",
    19: "gem id", 45: "temporary chat", 49: "tool", 59: "request UUID", 80: "thinking level",
}  # fmt: skip
_E = {
    1: "[cid, rid]", 4: "candidates", 5: "location block", 6: "activity: thinking headline, busy tool",
    8: "country", 14: "completion flag", 17: "rid", 19: "language", 20: "opaque token of the first frame",
    25: "the context token", 26: "span tree of the reply", 39: "served model id",
    42: "served model display name", 43: "always true", 44: "action chips",
    45: "[cid, \"\"] of the last frame",
    46: "1 or 2, meaning unknown", 51: "empty list of the last frame",
}  # fmt: skip
_C = {
    0: "rcid", 1: "text", 8: "completion status", 9: "language", 12: "rich content", 22: "card text",
    30: "immersive document", 37: "thoughts",
}  # fmt: skip
_RPC = {
    ("otAQ7b", "r"): {14: "account status", 15: "models", 16: "tier flags", 17: "capability flags",
                      19: "tools list"},
    ("otAQ7b", "r[15][*]"): {0: "model id", 1: "name", 2: "description", 11: "display version",
                             17: "model number", 18: "thinking levels (the emulator's own)"},
    ("MaZiqc", "r[2][*]"): {0: "cid", 1: "title", 2: "pinned", 5: "updated"},
    ("hNvQHb", "r[0][*]"): {0: "[cid, rid]", 1: "[cid, rid, rcid]", 2: "prompt", 3: "candidates",
                            4: "created"},
    ("CNgdBe", "r[2][*]"): {0: "gem id", 1: "[name, description]", 2: "[prompt]"},
    ("qpEbW", "r[0][*]"): {0: "[group, action]", 2: "used %", 3: "reset", 4: "total", 5: "remaining"},
    ("jSf9Qc", "r"): {0: "tier", 1: "usage windows", 2: "use credits past the limit"},
}  # fmt: skip
_CODES = {
    "1013": "transient", "1037": "usage limit", "1050": "model inconsistent with the chat",
    "1052": "model refused", "1060": "IP blocked or region", "1097": "follow-up limit",
    "1096": "after a complete answer: ignored; alone: rejected", "1100": "attachment rejected",
}  # fmt: skip
_ROLES = {
    "first": "the first frame",
    "status": "the status frames",
    "context": "the context-token frame",
    "last": "the last frame",
    "other": "sparse-only frames of no known role",
}
_MAX_NAMES = 60  # names listed in one line of the report; the capture file holds the rest


@dataclass(frozen=True)
class Difference:
    """One place where the shapes part: ``area``, ``what`` there, and each side in words."""

    area: str
    what: str
    theirs: str
    ours: str

    def __str__(self) -> str:
        return f"{self.area}: {self.what}: the capture {self.theirs}; the emulator {self.ours}"


@dataclass
class DriftReport:
    """The differences found (empty: none) and the names of the shapes compared."""

    differences: list[Difference] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.differences)

    def text(self) -> str:
        """The paste-able report: a heading, the differences grouped by area, then what was compared."""
        compared = "Compared: " + (", ".join(self.compared) or "nothing") + "."
        if not self.differences:
            return "No difference in the shapes compared.\n" + compared + "\n"
        count = len(self.differences)
        lines = [
            f"Drift report: {count} difference{'s' if count != 1 else ''} between the capture's shapes "
            "(the service) and the emulator's for the same kind of turn",
        ]
        areas: dict[str, list[Difference]] = {}
        for difference in self.differences:
            areas.setdefault(difference.area, []).append(difference)
        for area, found in areas.items():
            lines += ["", f"[{area}]"]
            lines += [f"- {d.what}: the capture {d.theirs}; the emulator {d.ours}" for d in found]
        return "\n".join([*lines, "", compared]) + "\n"


def shapes(capture: Capture) -> dict[str, Any]:
    """The shapes of one capture: JSON-able, without values (see the module docstring)."""
    return capture_shapes(capture)


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMES])
    more = len(items) - _MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _types(kinds: str | None) -> str:
    """A layout's entry in words: ``"list|string"`` is "holds a list or a string"."""
    if kinds is None:
        return "leaves it out"
    return "holds " + " or ".join(("an " if k[0] in "aeiou" else "a ") + k for k in kinds.split("|"))


class _Comparison:
    """Collects the differences of two shape sets, area by area."""

    def __init__(self) -> None:
        self.found: list[Difference] = []
        self.compared: list[str] = []

    def add(self, area: str, what: str, theirs: str, ours: str) -> None:
        self.found.append(Difference(area, what, theirs, ours))

    def recorded(self, area: str, what: str, theirs: Any, ours: Any, *names: str) -> bool:
        """Both sides have ``area``: compare it. One side only: that is the difference. Neither: skip.

        ``names`` are the shapes it stands for in :attr:`DriftReport.compared` (default: ``area``).
        """
        if theirs is None and ours is None:
            return False
        self.compared += list(names or (area,))
        if theirs is None or ours is None:
            self.add(area, what, *("has none" if side is None else "has one" for side in (theirs, ours)))
            return False
        return True

    def names(self, area: str, what: str, theirs: list[str], ours: list[str], has: str, lacks: str) -> None:
        """One difference per name on one side only."""
        for name in sorted(set(theirs) ^ set(ours)):
            self.add(area, f"{what} {name}", *_sides(name in theirs, has, lacks))

    def layouts(
        self,
        area: str,
        label: Callable[[str], str],
        theirs: dict[str, str],
        ours: dict[str, str],
        suffix: str = "",
    ) -> None:
        """One difference per index whose types differ (absent counting as a type)."""
        for index in sorted(set(theirs) | set(ours), key=_index_order):
            if theirs.get(index) != ours.get(index):
                self.add(area, label(index) + suffix, _types(theirs.get(index)), _types(ours.get(index)))

    def value(self, area: str, what: str, theirs: Any, ours: Any, words: Callable[[Any], str] = str) -> None:
        if theirs != ours:
            self.add(area, what, words(theirs), words(ours))


def _slot(name: str, table: dict[int, str]) -> Callable[[str], str]:
    def label(index: str) -> str:
        if not index.isdigit():
            return f"{name} {index}"
        meaning = table.get(int(index))
        return f"{name}[{index}]" + (f" ({meaning})" if meaning else "")

    return label


def _sparse_key(key: str) -> str:
    if not key.isdigit():
        return f"key {key!r}"
    meaning = _E.get(int(key) - 1)
    return f'"{key}" (E[{int(key) - 1}]' + (f", {meaning})" if meaning else ")")


def _sequence(kinds: list[str]) -> str:
    return ", ".join(kinds) if kinds else "none"


def _page(c: _Comparison, theirs: Any, ours: Any) -> None:
    if not c.recorded("page", "the app page's values", theirs, ours, "page keys", "page values"):
        return
    if theirs["keys"] is not None and ours["keys"] is not None:
        for side, other, whose in ((theirs, ours, "capture's"), (ours, theirs, "emulator's")):
            only = sorted(set(side["keys"]) - set(other["keys"]))
            if only:
                has = f"has {len(only)}: " + _names(only)
                mine = side is theirs
                c.add(
                    "page", f"WIZ_global_data keys only in the {whose} page", *_sides(mine, has, "lacks them")
                )
    for key in sorted(set(theirs["values"]) | set(ours["values"])):
        a, b = theirs["values"].get(key, "absent"), ours["values"].get(key, "absent")
        meaning = f" ({_PAGE[key]})" if key in _PAGE else ""
        c.value("page", f"page value {key}{meaning}", a, b, _has)


def _sides(mine: bool, has: str, lacks: str) -> tuple[str, str]:
    """``(theirs, ours)`` in words when only one side (``mine``: the capture's) has the thing."""
    return (has, lacks) if mine else (lacks, has)


def _has(kind: str) -> str:
    return "lacks it" if kind == "absent" else f"has {kind}"


def _request(c: _Comparison, theirs: Any, ours: Any) -> None:
    if not c.recorded("request", "a StreamGenerate request", theirs, ours):
        return
    for key, what in (("query", "query parameter"), ("form", "form field"), ("headers", "header")):
        c.names("request", what, theirs[key], ours[key], "sends it", "does not send it")
    outer = _slot("f.req", {1: "the inner JSON"})
    c.layouts("request", outer, theirs["outer"] or {}, ours["outer"] or {})
    c.value("request", "inner f.req slots", theirs["inner slots"], ours["inner slots"])
    c.layouts("request", _slot("inner", _INNER), theirs["inner"] or {}, ours["inner"] or {})


_FRAME_SHAPES: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("http status", "HTTP status", lambda status: f"is {status}"),
    ("kinds", "frame kinds (repeats collapsed)", lambda kinds: "sends " + _sequence(kinds or [])),
    ("prefix", "the )]}' prefix", lambda there: "has it" if there else "lacks it"),
    ("lengths", "frame lengths (UTF-16 units + 2)", lambda words: f"are {words}"),
    ("e total", "the e frame's total (body bytes)", lambda words: f"is {words}"),
    ("e count", "the e frame's first number", lambda words: f"is {words}"),
)


def _frames(c: _Comparison, theirs: Any, ours: Any) -> None:
    if c.recorded("frames", "a StreamGenerate answer", theirs, ours):
        for key, what, words in _FRAME_SHAPES:
            c.value("frames", what, theirs.get(key), ours.get(key), words)


def _by_role(c: _Comparison, area: str, name: str, table: dict[int, str], theirs: Any, ours: Any) -> None:
    """Layouts by role; an index that differs alike on every role both sides have is one difference."""
    theirs, ours = theirs or {}, ours or {}
    roles = sorted(set(theirs) & set(ours))
    for role in sorted(set(theirs) ^ set(ours)):
        c.add(area, f"{role} full frames", *_sides(role in theirs, "has them", "has none"))
    indices = {index for role in roles for index in (*theirs[role], *ours[role])}
    for index in sorted(indices, key=_index_order):
        pairs = {role: (theirs[role].get(index), ours[role].get(index)) for role in roles}
        differ = [role for role, (a, b) in pairs.items() if a != b]
        if len(roles) > 1 and len(differ) == len(roles) and len(set(pairs.values())) == 1:
            c.add(area, _slot(name, table)(index) + " on every full frame", *map(_types, pairs[roles[0]]))
            continue
        for role in differ:
            c.add(area, _slot(name, table)(index) + f" on {role} frames", *map(_types, pairs[role]))


def _sparse(c: _Comparison, theirs: Any, ours: Any) -> None:
    theirs, ours = theirs or {}, ours or {}
    for role in sorted(set(theirs) | set(ours), key=list(_ROLES).index):
        what = _ROLES[role]
        if role not in theirs or role not in ours:
            present = theirs.get(role) or ours.get(role)
            keys = "sends them with keys " + ", ".join(_sparse_key(k) for k in present["keys"])
            c.add("sparse", what, *_sides(role in theirs, keys, "does not send them"))
            continue
        mine, other = theirs[role], ours[role]
        for key in sorted(set(mine["keys"]) ^ set(other["keys"]), key=_index_order):
            has = key in mine["keys"]
            c.add("sparse", f"key {_sparse_key(key)} in {what}", *_sides(has, "sends it", "does not send it"))
        c.value("sparse", f"[cid, rid] of {what}", mine["ids"], other["ids"], lambda ids: f"sends {ids}")


def _codes(codes: list[str]) -> str:
    if not codes:
        return "has none"
    return "has " + ", ".join(f"{code} ({_CODES[code]})" if code in _CODES else code for code in codes)


def _refusal(words: str | None) -> str:
    return f"is refused with {words}" if words else "is answered"


def _batch(c: _Comparison, theirs: Any, ours: Any) -> None:
    if not (theirs["rpcids"] or ours["rpcids"]):
        return
    c.compared.append("batchexecute")
    c.names("batchexecute", "rpc", theirs["rpcids"], ours["rpcids"], "calls it", "does not call it")
    for rpcid in sorted(set(theirs["results"]) & set(ours["results"])):
        mine, other = theirs["results"][rpcid], ours["results"][rpcid]
        area = f"rpc {rpcid}"
        c.value(area, "refusal", mine.get("refused"), other.get("refused"), _refusal)
        for path in sorted((set(mine) | set(other)) - {"refused"}):
            if path != "r" and (path not in mine or path not in other):
                continue  # its slot missing (said at r) or an empty list (a count): nothing to set beside it
            table = _RPC.get((rpcid, path), {})
            c.layouts(area, _slot(path, table), mine.get(path, {}), other.get(path, {}))


def compare_captures(theirs: Capture, ours: Capture) -> DriftReport:
    """How the shapes of ``theirs`` (a user's capture) differ from those of ``ours`` (the emulator's)."""
    a, b = shapes(theirs), shapes(ours)
    c = _Comparison()
    _page(c, a["page"], b["page"])
    _request(c, a["request"], b["request"])
    _frames(c, a["frames"], b["frames"])
    if a["frames"] is not None and b["frames"] is not None:
        _by_role(c, "envelope", "E", _E, a["envelope"], b["envelope"])
        _sparse(c, a["sparse"], b["sparse"])
        _by_role(c, "candidate", "C", _C, a["candidate"], b["candidate"])
        after = "frame kinds after the last data frame"
        c.value(
            "trailers", after, a["trailers"] or [], b["trailers"] or [], lambda k: "sends " + _sequence(k)
        )
        c.value("errors", "in-band error codes", a["errors"] or [], b["errors"] or [], _codes)
        c.compared += ["envelope", "sparse", "candidate", "trailers", "errors"]
    _batch(c, a["batchexecute"], b["batchexecute"])
    return DriftReport(c.found, c.compared)
