"""The payloads of one answered turn, in the order the service sends them (docs/protocol.md 5.3).

:class:`TurnFrames` plans a turn's data payloads for one shape set:

* ``"2026"`` (the default): a sparse first frame ``[null, [cid|null, rid],
  {"18": rid, "21": [...], "44": true}]``; on thinking models a ``"7"``
  status frame with a headline before each thought snapshot; full 48-slot
  content frames with ``E[14]`` (completion), ``E[39]`` (the requested model
  id) and ``E[42]`` (the served model's name: on every frame when a model was
  requested, on the completing frame only for the default model); then the
  ``"26"`` context-token frame and the last ``"46"``/``"52"`` frame.
* ``"2025"``: a first frame with cid/rid, thought and text snapshots, the
  context token at ``E[25]`` of the completing frame.

Every payload is built with the encoders of :mod:`gemini_sync.protocol.payload`,
the same module the client parses them with.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ..protocol.payload import RawImage
from ..protocol.service import activity_field, build_candidate, build_payload, sparse_payload
from .answers import Answer
from .citing import attach_sources

__all__ = ["TurnFrames", "SHAPES", "headline"]

SHAPES = ("2026", "2025")
_RID_FIELD = 17
_FIRST_TOKEN_FIELD = 20
_ACTIVITY_FIELD = 6
_CONTEXT_FIELD = 25
_ALWAYS_TRUE_FIELD = 43
_LAST_CID_FIELD = 45
_LAST_EMPTY_FIELD = 51
_HEADLINE_WORDS = 3


def headline(thought: str, previous: str = "") -> str:
    """A short status headline for a thought snapshot: the first words it adds to ``previous``, as a title."""
    step = thought[len(previous) :] if thought.startswith(previous) else thought
    if previous and not previous[-1].isspace() and step[:1].isalnum():
        step = step.partition(" ")[2]  # a word cut in two: start at the next whole one
    words = [w.strip("*#:.,") for w in step.split()][:_HEADLINE_WORDS]
    return " ".join(w.capitalize() for w in words if w) or "Thinking"


@dataclass
class TurnFrames:
    """The data payloads of one turn; ``save_index`` is the payload before which it is saved."""

    payloads: list[list[Any]]
    save_index: int

    @classmethod
    def plan(
        cls,
        shapes: str,
        *,
        cid: str,
        fresh: bool,
        rid: str,
        rcid: str,
        answer: Answer,
        snapshots: list[str],
        web: list[RawImage],
        generated: list[RawImage],
        context_token: str,
        model_name: str,
        model_id: str | None,
        thinking: bool,
    ) -> TurnFrames:
        """The payloads of ``answer`` cut into ``snapshots``, in the ``shapes`` order."""
        modern = shapes == "2026"
        payloads: list[list[Any]] = []
        if modern:
            opaque = [secrets.token_urlsafe(32)]
            first = {_RID_FIELD: rid, _FIRST_TOKEN_FIELD: opaque, _ALWAYS_TRUE_FIELD: True}
            payloads.append(sparse_payload(None if fresh else cid, rid, first))
        else:
            payloads.append(build_payload(cid, rid, None))
        previous = ""
        for thought in answer.thoughts:
            if modern and thinking:
                title = headline(thought, previous)
                status = {_ACTIVITY_FIELD: activity_field(title), _ALWAYS_TRUE_FIELD: True}
                payloads.append(sparse_payload(cid, rid, status))
            previous = thought
            cand = build_candidate(rcid, "", thoughts=thought)
            payloads.append(cls._content(modern, cid, rid, cand, False, model_name, model_id))
        thoughts = answer.final_thoughts
        last = len(snapshots) - 1
        save_index = len(payloads) + last
        for index, snap in enumerate(snapshots):
            done = index == last
            cand = build_candidate(
                rcid,
                snap,
                thoughts=thoughts,
                done=done,
                web_images=web if index >= len(snapshots) // 2 else None,
                generated_images=generated if done else None,
            )
            if index >= len(snapshots) // 2:
                attach_sources(cand, answer.sources)  # a citing answer's sources (docs/protocol.md 10)
            if modern:
                payloads.append(cls._content(modern, cid, rid, cand, done, model_name, model_id))
            else:
                token = context_token if done else None
                payloads.append(build_payload(cid, rid, [cand], context_token=token))
        if modern:
            saved = {_CONTEXT_FIELD: context_token, _ALWAYS_TRUE_FIELD: True}
            payloads.append(sparse_payload(cid, rid, saved))
            tail = {_ALWAYS_TRUE_FIELD: True, _LAST_CID_FIELD: [cid, ""], _LAST_EMPTY_FIELD: []}
            payloads.append(sparse_payload(cid, rid, tail))
        return cls(payloads, save_index)

    @staticmethod
    def _content(
        modern: bool,
        cid: str,
        rid: str,
        cand: list[Any],
        done: bool,
        model_name: str,
        model_id: str | None,
    ) -> list[Any]:
        if not modern:
            return build_payload(cid, rid, [cand])
        # the default model's name comes on the completing frame only (as captured)
        name = model_name if (done or model_id is not None) else None
        return build_payload(cid, rid, [cand], model_name=name, model_id=model_id, complete=done)
