"""A fake backend for the OpenAI app's tests: scripted answers, with a gate to hold a stream open."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from gemini_sync import ModelInfo, ModelOutput, StreamChunk
from gemini_sync.types import Candidate


class FakeStream:
    """Yields ``pieces`` as chunks; waits on ``gate`` (if any) after the first one."""

    def __init__(
        self, chat: FakeChat, pieces: Sequence[str], gate: threading.Event | None, error: Exception | None
    ):
        self._chat, self._pieces, self._gate, self._error = chat, pieces, gate, error
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[StreamChunk]:
        text = ""
        for index, piece in enumerate(self._pieces):
            text += piece
            yield StreamChunk(
                text=text, delta_text=piece, is_final=index == len(self._pieces) - 1 and not self._error
            )
            if index == 0 and self._gate is not None:
                assert self._gate.wait(10), "the test never opened the gate"
        if self._error is not None:
            raise self._error
        self._chat.turns += 1

    def collect(self) -> ModelOutput:
        for _ in self:
            pass
        return ModelOutput(metadata=self._chat.metadata, candidates=[Candidate("rc", "".join(self._pieces))])

    def close(self) -> None:
        self.closed.set()


class FakeChat:
    def __init__(self, backend: FakeBackend, metadata: Sequence[Any] | None) -> None:
        self.backend = backend
        self.cid = metadata[0] if metadata else f"c_{len(backend.chats)}"
        self.turns = 0
        backend.chats.append(self)

    @property
    def metadata(self) -> list[Any]:
        return [self.cid, f"r_{self.turns}", "rc"]

    def send_message_stream(self, prompt: str, files: Sequence[Any] | None = None) -> FakeStream:
        self.backend.prompts.append(prompt)
        stream = FakeStream(self, self.backend.pieces, self.backend.gate, self.backend.error)
        self.backend.streams.append(stream)
        return stream


class FakeBackend:
    """What ``make_app`` needs of a client; records the prompts, chats and streams."""

    def __init__(self, pieces: Sequence[str] = ("Hello", " world")) -> None:
        self.pieces = list(pieces)
        self.gate: threading.Event | None = None
        self.error: Exception | None = None
        self.start_error: Exception | None = None
        self.prompts: list[str] = []
        self.chats: list[FakeChat] = []
        self.streams: list[FakeStream] = []

    def start_chat(
        self, *, model: Any = None, thinking: Any = None, gem: Any = None, metadata: Any = None
    ) -> FakeChat:
        if self.start_error is not None:
            raise self.start_error
        return FakeChat(self, metadata)

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("abc123", "Fast", "3.6 Flash", 1, 1, ("standard", "extended"))]
