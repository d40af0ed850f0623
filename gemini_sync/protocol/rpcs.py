"""batchexecute RPCs (docs/protocol.md 7): their payloads and how to read their results.

Pure functions: ``*_call`` builds a :class:`~.request.BatchCall`; ``parse_*``
reads the decoded result (``JSON.parse(env[2])``) with :func:`~.payload.dig`
(dense or sparse fields alike), never crashing on a short or odd array;
``build_*`` writes a result the way ``parse_*`` reads it (for the emulator).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import models as thinking
from ..models import Model, model_header_value
from ..types.output import Candidate
from .jspb import as_list, dig
from .payload import CandidateSnapshot, RawImage, parse_payload
from .request import BatchCall
from .text import final_text

if TYPE_CHECKING:  # imported where they are built: not needed to construct a client or stream
    from ..types.account import AccountInfo, CatalogEntry, ChatInfo, ChatTurn, Gem, Quota

__all__ = [
    "RPC",
    "status_call",
    "list_chats_calls",
    "read_chat_call",
    "delete_chat_calls",
    "list_gems_calls",
    "create_gem_call",
    "update_gem_call",
    "delete_gem_call",
    "full_size_call",
    "quota_calls",
    "parse_quotas",
    "QUOTA_NAMES",
    "parse_account",
    "parse_chats",
    "parse_chat_turns",
    "parse_gems",
    "find_turn",
    "capacity",
]


class RPC:
    """The rpc ids."""

    STATUS = "otAQ7b"
    SETTINGS = "ESY5D"
    LIST_CHATS = "MaZiqc"
    READ_CHAT = "hNvQHb"
    DELETE_CHAT = "GzXR5e"
    DELETE_CHAT_2 = "qWymEb"
    LIST_GEMS = "CNgdBe"
    CREATE_GEM = "oMH3Zd"
    UPDATE_GEM = "kHv0Vd"
    DELETE_GEM = "UXcSJb"
    FULL_SIZE_IMAGE = "c8o8Fe"
    QUOTA = "qpEbW"


#: the two ``qpEbW`` requests a working client sends (docs/protocol.md 7.4): ``[group, action]`` keys
_QUOTA_REQUESTS = ([[1, 4], [6, 6], [1, 15]], [[1, 11], [2, 11], [6, 11]])
#: names of the buckets by key. Only "extended thinking" (action 15) is documented; the first
#: request is said to return the Pro bucket, the second Flash/Flash-Lite: the rest is a guess
QUOTA_NAMES: dict[tuple[int, int], str] = {(1, 4): "pro", (1, 15): "extended thinking", (1, 11): "flash"}
_PERCENT_MAX = 100.0


def status_call() -> BatchCall:
    return BatchCall(RPC.STATUS, [])


def list_chats_calls(count: int = 13) -> list[BatchCall]:
    return [
        BatchCall(RPC.LIST_CHATS, [count, None, [1, None, 1]], identifier="pinned"),
        BatchCall(RPC.LIST_CHATS, [count, None, [0, None, 1]], identifier="others"),
    ]


def read_chat_call(cid: str, limit: int = 10) -> BatchCall:
    return BatchCall(RPC.READ_CHAT, [cid, limit, None, 1, [1], [4], None, 1])


def delete_chat_calls(cid: str) -> list[BatchCall]:
    return [BatchCall(RPC.DELETE_CHAT, [cid]), BatchCall(RPC.DELETE_CHAT_2, [cid, [1, None, 0, 1]])]


def list_gems_calls(language: str = "en", include_hidden: bool = False) -> list[BatchCall]:
    system = 4 if include_hidden else 3
    # sent literally with single quotes, as the web app does
    return [
        BatchCall(RPC.LIST_GEMS, None, identifier="system", raw_payload=f"[{system},['{language}'],0]"),
        BatchCall(RPC.LIST_GEMS, None, identifier="custom", raw_payload=f"[2,['{language}'],0]"),
    ]


def _gem_body(name: str, description: str, prompt: str) -> list[Any]:
    return [name, description, prompt, None, None, None, None, None, 0, None, 1, None, None, None, []]


def create_gem_call(name: str, prompt: str, description: str = "") -> BatchCall:
    return BatchCall(RPC.CREATE_GEM, [_gem_body(name, description, prompt)])


def update_gem_call(gem_id: str, name: str, prompt: str, description: str = "") -> BatchCall:
    return BatchCall(RPC.UPDATE_GEM, [gem_id, [*_gem_body(name, description, prompt), 0]])


def delete_gem_call(gem_id: str) -> BatchCall:
    return BatchCall(RPC.DELETE_GEM, [gem_id])


def full_size_call(image_id: str, rid: str, rcid: str, cid: str) -> BatchCall:
    payload = [
        [
            [None, None, None, [None, None, None, None, None, ""]],
            [image_id, 0],
            None,
            [19, ""],
            None,
            None,
            None,
            None,
            None,
            "",
        ],
        [rid, rcid, cid, None, ""],
        1,
        0,
        1,
    ]
    return BatchCall(RPC.FULL_SIZE_IMAGE, payload)


def quota_calls() -> list[BatchCall]:
    """The two ``qpEbW`` calls that together return every usage bucket known to us."""
    return [BatchCall(RPC.QUOTA, [keys], identifier=f"quota{n}") for n, keys in enumerate(_QUOTA_REQUESTS)]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_quotas(results: list[Any]) -> list[Quota]:
    """``qpEbW`` results: ``r[0]`` is a list of items (docs/protocol.md 7.4).

    An item is ``[[group, action], ?, used %, [reset seconds, ...], total, remaining]``
    (a working client's reading; the reset time's unit, Unix seconds, is a
    guess). A key seen in several results is reported once.
    """
    from ..types.account import Quota

    quotas: list[Quota] = []
    seen: set[tuple[int, int]] = set()
    for result in results:
        for item in as_list(dig(result, 0)):
            group, action = _count(dig(item, 0, 0)), _count(dig(item, 0, 1))
            if group is None or action is None or (group, action) in seen:
                continue
            seen.add((group, action))
            used = _number(dig(item, 2))
            quotas.append(
                Quota(
                    name=QUOTA_NAMES.get((group, action), f"{group}/{action}"),
                    key=[group, action],
                    used_percent=min(used, _PERCENT_MAX) if used is not None else None,
                    total=_count(dig(item, 4)),
                    remaining=_count(dig(item, 5)),
                    resets_at=_number(dig(item, 3, 0)),
                )
            )
    return quotas


def capacity(tiers: list[Any], capabilities: list[Any]) -> tuple[int, int]:
    """(capacity, proto field) from tier and capability flags (docs/protocol.md 7.3)."""
    if 21 in tiers:
        return 1, 13
    if 22 in tiers:
        return 2, 13
    if 115 in capabilities:
        return 4, 12
    if 16 in tiers or 106 in capabilities:
        return 3, 12
    if 8 in tiers or (19 in capabilities and 106 not in capabilities):
        return 2, 12
    return 1, 12


ENTRY_SLOTS = 18
ENTRY_VERSION_SLOT = 11
ENTRY_NUMBER_SLOT = 17
ENTRY_LEVELS_SLOT = thinking.ENTRY_LEVELS_SLOT  # the emulator's choice (docs/protocol.md 3.6)


def _catalog_entry(item: Any) -> CatalogEntry | None:
    from ..types.account import CatalogEntry

    model_id, name = dig(item, 0), dig(item, 1)
    if not isinstance(model_id, str) or not model_id:
        return None
    description, version, number = dig(item, 2), dig(item, ENTRY_VERSION_SLOT), dig(item, ENTRY_NUMBER_SLOT)
    return CatalogEntry(
        model_id,
        name if isinstance(name, str) and name else model_id,
        description if isinstance(description, str) else "",
        version if isinstance(version, str) and version else None,
        number if type(number) is int else None,
        thinking.decode_list(dig(item, ENTRY_LEVELS_SLOT)),
    )


def parse_account(result: Any) -> AccountInfo:
    """``otAQ7b``: status at ``r[14]``, models at ``r[15]``, flags at ``r[16]``/``r[17]``."""
    from ..types.account import AccountInfo

    status = dig(result, 14)
    tiers = [t for t in as_list(dig(result, 16)) if isinstance(t, int)]
    caps = [c for c in as_list(dig(result, 17)) if isinstance(c, int)]
    tier, tier_field = capacity(tiers, caps)
    catalogue = [e for e in map(_catalog_entry, as_list(dig(result, 15))) if e is not None]
    models = [
        Model.custom(
            entry.version or entry.name,
            model_header_value(entry.model_id, tier, capacity_field=tier_field, number=entry.number),
            thinking="think" in entry.name.lower(),
        )
        for entry in catalogue
    ]
    return AccountInfo(status if isinstance(status, int) else None, models, catalogue, tier, tier_field)


def parse_chats(result: Any, *, pinned: bool = False) -> list[ChatInfo]:
    """``MaZiqc``: ``r[2]`` is a list of ``[cid, title, is_pinned, ?, ?, [sec, nanos], ...]``."""
    from ..types.account import ChatInfo

    chats: list[ChatInfo] = []
    for item in as_list(dig(result, 2)):
        cid = dig(item, 0)
        if not isinstance(cid, str):
            continue
        title = dig(item, 1)
        seconds, nanos = dig(item, 5, 0), dig(item, 5, 1)
        stamp = None
        if isinstance(seconds, (int, float)):
            stamp = float(seconds) + (nanos / 1e9 if isinstance(nanos, (int, float)) else 0.0)
        chats.append(
            ChatInfo(cid, title if isinstance(title, str) else "", bool(dig(item, 2)) or pinned, stamp)
        )
    return chats


def _image_kwargs(raw: RawImage) -> dict[str, Any]:
    return {"url": raw.url, "title": raw.title, "alt": raw.alt}


def parse_chat_turns(result: Any) -> list[ChatTurn]:
    """``hNvQHb``: turns newest first in ``r[0]``; returned oldest first."""
    from ..types.account import ChatTurn
    from ..types.images import GeneratedImage, WebImage
    from ..types.output import Citation
    from .generated_media import public_media

    turns: list[ChatTurn] = []
    for turn in as_list(dig(result, 0)):
        rid = dig(turn, 0, 1)
        prompt = dig(turn, 2, 0, 0)
        cands_raw = dig(turn, 3, 0)
        payload = parse_payload([None, None, None, None, cands_raw if isinstance(cands_raw, list) else None])
        candidates = [
            Candidate(
                snap.rcid,
                final_text(snap.text),
                final_text(snap.thoughts),
                [WebImage(**_image_kwargs(i)) for i in snap.web_images],
                [
                    GeneratedImage(**_image_kwargs(i), image_id=i.image_id or "")
                    for i in snap.generated_images
                ],
                [Citation(c.number, c.url, c.title, c.snippet) for c in snap.citations],
                *public_media(snap.media, None),
            )
            for snap in payload.candidates
        ]
        turns.append(
            ChatTurn(
                rid if isinstance(rid, str) else "", prompt if isinstance(prompt, str) else "", candidates
            )
        )
    turns.reverse()
    return turns


def find_turn(result: Any, rid: str) -> tuple[list[CandidateSnapshot], bool] | None:
    """``hNvQHb``: the raw candidates of turn ``rid`` and whether all are done; ``None`` if absent."""
    for turn in as_list(dig(result, 0)):
        if dig(turn, 0, 1) == rid:
            cands_raw = dig(turn, 3, 0)
            payload = parse_payload(
                [None, None, None, None, cands_raw if isinstance(cands_raw, list) else None]
            )
            done = bool(payload.candidates) and all(snap.done for snap in payload.candidates)
            return payload.candidates, done
    return None


def parse_gems(result: Any, *, predefined: bool) -> list[Gem]:
    """``CNgdBe``: ``r[2]`` is a list of ``[id, [name, description], [prompt, ...], ...]``."""
    from ..types.account import Gem

    gems: list[Gem] = []
    for item in as_list(dig(result, 2)):
        gem_id = dig(item, 0)
        if not isinstance(gem_id, str):
            continue
        name, description, prompt = dig(item, 1, 0), dig(item, 1, 1), dig(item, 2, 0)
        gems.append(
            Gem(
                gem_id,
                name if isinstance(name, str) else "",
                description if isinstance(description, str) else "",
                prompt if isinstance(prompt, str) else "",
                predefined,
            )
        )
    return gems


# --- results as the service writes them (the emulator's side of this codec) ---------------
