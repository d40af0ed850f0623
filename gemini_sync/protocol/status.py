"""Status: what the service says it is doing while it writes nothing new.

Pure; used by :mod:`.delta`, which hands a chunk out whenever the status
changes. Which frames mean what, and how sure we are (docs/protocol.md 5.1,
5.2, 6.1):

* **Queued** — a ``wrb.fr`` envelope without a payload whose ``[5]`` is a
  non-empty list carrying no error code, before any content. A working
  client's heuristic; never seen in a capture (a guess).
* **Thinking** — field ``E[6]`` of a payload (dense at index 6, or key ``"7"``
  of the object that may end ``E``; :func:`.payload.field_of` reads both).
  ``E[6][5][0]`` is the current headline, e.g. ``"Comparing Images"``
  (captured). An ``E[6]`` without a headline or a tool is read as thinking
  without a headline (a guess).
* **Tool** — ``E[6][1][0]`` names a busy tool; ``"data_analysis_tool"`` is the
  only name a working client checks. Any other name is read as a tool too
  (a guess).
* **Back to writing** — no frame says so: the status ends (``None``) when
  answer text arrives. Thoughts arriving without a headline mean thinking.

The emulator writes these frames with :func:`.payload.activity_field` and
:func:`.payload.sparse_payload`.
"""

from __future__ import annotations

from ..types.output import Status
from .payload import Payload

__all__ = ["QUEUED", "THINKING", "payload_status"]

QUEUED = Status("queued")
THINKING = Status("thinking")


def payload_status(payload: Payload) -> Status | None:
    """The status field ``E[6]`` of a parsed payload says, or ``None`` when it has none."""
    if payload.tool:
        return Status("tool", payload.activity)
    if payload.busy:
        return Status("thinking", payload.activity)
    return None
