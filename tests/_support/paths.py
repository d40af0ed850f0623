"""The documented paths into a StreamGenerate payload (PROTOCOL.md 4.2, 5, 13) and a setter for them.

One table for every test that checks "an odd value at any documented path
never crashes" (``test_payload.py`` directly on the parser, ``test_fuzz.py``
through the whole pipeline), so the two cannot drift apart. Add a path here
when the protocol documents a new field.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["Path", "PAYLOAD_PATHS", "CANDIDATE_PATHS", "ALL_PAYLOAD_PATHS", "set_path"]

Path = tuple[int | str, ...]

#: paths from the payload (``JSON.parse(envelope[2])``)
PAYLOAD_PATHS: list[Path] = [
    (1,),  # [cid, rid]
    (1, 0),
    (1, 1),
    (4,),  # candidates
    (4, 0),
    (6,),  # busy / queued state
    (6, 1),
    (6, 1, 0),
    (25,),  # context token
    (27,),  # turn timestamp [sec, nanos] at [27][0][0][3]
    (27, 0, 0, 3),
]

#: paths from one candidate (``payload[4][i]``)
CANDIDATE_PATHS: list[Path] = [
    (0,),  # rcid
    (1,),  # text
    (1, 0),
    (8,),  # completion status
    (8, 0),
    (12,),  # media
    (12, 0),
    (12, 0, "8"),  # edited images
    (12, 0, "8", 0),
    (12, 0, "8", 0, 0),
    (12, 0, "8", 0, 0, 0, 3, 3),
    (12, 1),  # web images
    (12, 1, 0),
    (12, 1, 0, 0),
    (12, 1, 0, 0, 0),
    (12, 1, 0, 0, 0, 0),
    (12, 1, 0, 0, 4),
    (12, 6),
    (12, 6, 0),
    (12, 7),  # generated images
    (12, 7, 0),
    (12, 7, 0, 0),
    (12, 7, 0, 0, 0),
    (12, 7, 0, 0, 0, 3),
    (12, 7, 0, 0, 0, 3, 2),
    (12, 7, 0, 0, 0, 3, 3),
    (12, 7, 0, 0, 1),
    (12, 7, 0, 0, 1, 0),
    (12, 59, 0, 0, 0),  # generated video
    (12, 86),  # generated music
    (22,),  # cards
    (22, 0),
    (37,),  # thoughts
    (37, 0),
    (37, 0, 0),
]

#: every documented path from the payload, candidates included (as the first candidate)
ALL_PAYLOAD_PATHS: list[Path] = PAYLOAD_PATHS + [(4, 0, *path) for path in CANDIDATE_PATHS]


def set_path(obj: Any, path: Path, value: Any) -> Any:
    """A copy of ``obj`` with ``value`` put at ``path``, building (or replacing) whatever is on the way.

    Any base can be indexed by any path: a missing or wrongly typed step becomes
    a list (an integer key) or a dict (a string key), padded with ``None``.
    """
    root = copy.deepcopy(obj)
    if not path:
        return value
    node = root
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        nxt: Any = value if last else ({} if isinstance(path[depth + 1], str) else [])
        if isinstance(key, int):
            assert isinstance(node, list)
            while len(node) <= key:
                node.append(None)
            if last:
                node[key] = value
            elif not isinstance(node[key], type(nxt)):
                node[key] = nxt
        else:
            assert isinstance(node, dict)
            if last:
                node[key] = value
            elif not isinstance(node.get(key), type(nxt)):
                node[key] = nxt
        if not last:
            node = node[key]
    return root
