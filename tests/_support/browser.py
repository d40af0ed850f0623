"""A raw "browser" of the emulator: plain ``requests`` plus the protocol builders and decoders.

Used by the emulator's own tests (which must not rely on the client) and by
the ``browser`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from gemini_sync._constants import APP_PATH, UPLOAD_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.errors import GeminiError
from gemini_sync.models import Model
from gemini_sync.protocol.app import scrape_tokens
from gemini_sync.protocol.framing import FrameDecoder
from gemini_sync.protocol.payload import (
    BatchResult,
    CandidateSnapshot,
    EndMarker,
    Payload,
    StatusCode,
    parse_batch_frames,
    parse_frame,
)
from gemini_sync.protocol.request import AppTokens, BatchCall, batch_request, generate_request

__all__ = ["TIMEOUT", "ROTATE_BODY", "Reply", "Browser", "grows", "decode", "read_reply"]

TIMEOUT = 5.0
ROTATE_BODY = b'[000,"-0000000000000000000"]'


@dataclass
class Reply:
    """A StreamGenerate response as received and decoded."""

    status: int
    body: bytes
    reads: int
    error: Exception | None = None  # the transport error that ended the body, if any
    decode_error: GeminiError | None = None
    events: list[Any] = field(default_factory=list)
    read_times: list[float] = field(default_factory=list)

    @property
    def payloads(self) -> list[Payload]:
        return [e for e in self.events if isinstance(e, Payload)]

    @property
    def statuses(self) -> list[StatusCode]:
        return [e for e in self.events if isinstance(e, StatusCode)]

    @property
    def codes(self) -> list[int | None]:
        return [s.code for s in self.statuses]

    @property
    def end(self) -> EndMarker | None:
        ends = [e for e in self.events if isinstance(e, EndMarker)]
        return ends[-1] if ends else None

    @property
    def snapshots(self) -> list[CandidateSnapshot]:
        return [c for p in self.payloads for c in p.candidates]

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.snapshots if c.text]

    @property
    def final(self) -> CandidateSnapshot:
        done = [c for c in self.snapshots if c.done]
        assert len(done) == 1, f"expected exactly one final snapshot, got {len(done)}"
        return done[0]

    @property
    def cid(self) -> str | None:
        return next((p.cid for p in self.payloads if p.cid), None)

    @property
    def rid(self) -> str | None:
        return next((p.rid for p in self.payloads if p.rid), None)

    @property
    def context_token(self) -> str | None:
        return next((p.context_token for p in self.payloads if p.context_token), None)

    def metadata(self) -> list[Any]:
        """The chat metadata a client sends with the next turn (PROTOCOL.md 3.4)."""
        final = self.final
        return [self.cid, self.rid, final.rcid, None, None, None, None, None, None, self.context_token]


def grows(snapshots: Sequence[str]) -> bool:
    """True if every snapshot extends the one before it."""
    return all(later.startswith(earlier) for earlier, later in itertools.pairwise(snapshots))


def decode(body: bytes) -> list[Any]:
    """Frames -> envelope events, with the client's decoder."""
    decoder = FrameDecoder()
    frames = decoder.feed(body) + decoder.close()
    return [event for frame in frames for event in parse_frame(frame)]


def read_reply(response: requests.Response) -> Reply:
    """Read a streamed response to its end (or to the transport error that cuts it)."""
    chunks: list[bytes] = []
    times: list[float] = []
    error: Exception | None = None
    try:
        for chunk in response.iter_content(None):
            chunks.append(chunk)
            times.append(time.monotonic())
    except requests.RequestException as exc:
        error = exc
    finally:
        response.close()
    reply = Reply(response.status_code, b"".join(chunks), len(chunks), error, read_times=times)
    if response.status_code == 200:
        try:
            reply.events = decode(reply.body)
        except GeminiError as exc:
            reply.decode_error = exc
    return reply


class Browser:
    """A minimal client of the emulator: requests + gemini_sync.protocol builders."""

    def __init__(self, emu: Emulator, cookies: dict[str, str] | None = None) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.cookies.update(emu.cookies if cookies is None else cookies)
        page = self.session.get(emu.url + APP_PATH, timeout=TIMEOUT)
        tokens = scrape_tokens(page.text)
        self.tokens: AppTokens = tokens or AppTokens("no-token")
        self.reqid = 10000

    def post_generate(
        self,
        prompt: str,
        *,
        model: Model = Model.UNSPECIFIED,
        metadata: Sequence[Any] | None = None,
        files: Sequence[tuple[str, str]] = (),
        gem_id: str | None = None,
        temporary: bool = False,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        self.reqid += 100000
        req = generate_request(
            prompt,
            self.tokens,
            self.reqid,
            model=model,
            metadata=metadata,
            files=files,
            gem_id=gem_id,
            temporary=temporary,
        )
        all_headers = dict(req.headers)
        all_headers.update(headers or {})
        return self.session.post(
            self.emu.url + req.path,
            params=req.params,
            headers=all_headers,
            data=data if data is not None else req.data,
            stream=True,
            timeout=TIMEOUT,
        )

    def generate(self, prompt: str, **kwargs: Any) -> Reply:
        return read_reply(self.post_generate(prompt, **kwargs))

    def post_batch(self, *calls: BatchCall) -> requests.Response:
        self.reqid += 100000
        req = batch_request(calls, self.tokens, self.reqid)
        return self.session.post(
            self.emu.url + req.path, params=req.params, headers=req.headers, data=req.data, timeout=TIMEOUT
        )

    def batch(self, *calls: BatchCall) -> list[BatchResult]:
        response = self.post_batch(*calls)
        assert response.status_code == 200, response.text
        decoder = FrameDecoder()
        return parse_batch_frames(decoder.feed(response.content) + decoder.close())

    def call(self, rpcid: str, payload: Any = None, raw: str | None = None) -> Any:
        [result] = self.batch(BatchCall(rpcid, payload, raw_payload=raw))
        assert result.code is None and result.data is not None, result
        return result.data

    def upload(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        response = self.session.post(
            self.emu.url + UPLOAD_PATH,
            headers={"Push-ID": self.tokens.push_id, "X-Tenant-Id": "bard-storage"},
            files={"file": (name, data, content_type)},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return response.text
