"""A local emulator of the Gemini web service, for demos and tests.

:class:`Emulator` is a real HTTP/1.1 server on 127.0.0.1 that speaks the
private web API described in docs/protocol.md: the app page and its tokens,
StreamGenerate with length-prefixed frames streamed over time, batchexecute,
upload, cookie rotation and image bytes. It validates requests as the service
does, answers deterministically (or as scripted with :meth:`Emulator.script`),
injects faults on request (:class:`Fault`, :meth:`Emulator.fail_next`) and
records what it receives (:attr:`Emulator.requests`).

It is never contacted unless a client is given its URL::

    with Emulator() as emu:
        client = GeminiClient(cookies=emu.cookies, base_url=emu.url)

Run one from a shell with ``python -m gemini_sync.emulator --port 8765``.
"""

from __future__ import annotations

from .answers import Answer, Script
from .faults import Fault, FaultRule
from .records import Disconnect, Headers, RecordedCall, RecordedRequest
from .server import Emulator
from .state import Conversation, Gem, Turn, Upload

__all__ = [
    "Emulator",
    "Fault",
    "FaultRule",
    "Script",
    "Answer",
    "RecordedRequest",
    "RecordedCall",
    "Headers",
    "Disconnect",
    "Conversation",
    "Turn",
    "Gem",
    "Upload",
]
