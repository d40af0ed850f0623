"""Fault matrix, end to end over real sockets: every cut, every error code, every status.

One emulator (``pace=0``) and one client serve the whole module. The first
part cuts one recorded multi-frame, non-ASCII answer after hundreds of byte
offsets (every frame boundary, every byte of every multi-byte character, and
a spread in between) and checks the outcome of each cut against the layout
of the body, computed here independently of the library's decoder:

* cut before the first data payload is complete: retried, complete answer,
  two StreamGenerate requests;
* cut after it: never re-sent; ``StreamInterrupted`` whose ``.partial`` is
  exactly what was streamed, which is everything the complete frames held;
  with ``finish_server_side`` and recovery on, the rest of the answer comes
  from the history, seamlessly.

The second part walks docs/protocol.md sections 6.1 and 6.3: each in-band code
before and after data, each HTTP status, the malformed bodies, stalls and
deadlines; for each the exact exception type, ``.partial`` and the number of
StreamGenerate requests (a retry happens only before content, and only for a
transient error).
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from gemini_sync import GeminiClient, Model, RetryPolicy, errors
from gemini_sync._constants import BATCH_EXEC_PATH
from gemini_sync.emulator import Emulator
from gemini_sync.protocol.request import generate_request
from gemini_sync.protocol.text import stable_text

PREFIX = "fault-matrix"
#: CJK, accents, emoji outside the BMP (4-byte UTF-8, 2 UTF-16 units), a code block
TEXT = (
    "Résumé of a naïve café: 日本語のテキストと中文 — ünïcödé ✓\n\n"
    "Emoji outside the BMP: 😀🚀𝄞 and 🧪.\n\n"
    "```python\n"
    "def greet(name: str) -> str:\n"
    '    return f"Hello, {name}! 👋"\n'
    "```\n\n"
    "Done: ñandú, Ελληνικά, русский, 한국어 🎉"
)
CHUNKS = 8
MAX_RETRIES = 2
CASE_BOUND = 5.0  # seconds any one case may take
STRIDE = 7  # spread of the sampled offsets between the required ones


class _Sleeps:
    """A fake ``sleep`` for the retry policy: records the backoff delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)

    def clear(self) -> None:
        with self._lock:
            self.delays.clear()


SLEEPS = _Sleeps()


# one emulator for the module (tests/conftest.py), with the long scripted answer of every case
pytestmark = pytest.mark.gemini_emulator(pace=0, shared=True)


def _script(emu: Emulator) -> None:
    emu.script(lambda prompt: prompt.startswith(PREFIX), text=TEXT, chunks=CHUNKS)


def _client(emu: Emulator, *, stall_timeout: float = 3.0, fake_sleep: bool = True) -> GeminiClient:
    return GeminiClient(
        cookies=emu.cookies,
        base_url=emu.url,
        auto_refresh=False,
        cookie_cache=False,
        stall_timeout=stall_timeout,
        retry=RetryPolicy(MAX_RETRIES, initial=0.001, maximum=0.01, sleep=SLEEPS if fake_sleep else None),
    )


@pytest.fixture(scope="module")
def client(module_emu: Emulator) -> Iterator[GeminiClient]:
    """One client for the module (the cases are independent answers, never a chat)."""
    with _client(module_emu) as c:
        c.init()
        yield c


@pytest.fixture(autouse=True)
def _fresh(emu: Emulator) -> Iterator[None]:
    _script(emu)  # after ``emu`` reset the emulator
    SLEEPS.clear()
    yield
    emu.clear_faults()


# --- the body's layout, computed without the library's decoder --------------------------------


@dataclass(frozen=True)
class Frame:
    start: int  # byte offset of the length line
    json_start: int  # first byte of the JSON
    json_end: int  # byte offset of the newline after the JSON
    end: int  # byte offset after that newline (the frame is complete here)
    value: Any


@dataclass(frozen=True)
class Layout:
    body: bytes = field(repr=False)
    frames: list[Frame] = field(repr=False)
    multibyte: list[tuple[int, int]] = field(repr=False)  # (first byte, length) of each non-ASCII character

    @property
    def data_frames(self) -> list[Frame]:
        return [
            f for f in self.frames if any(env[0] == "wrb.fr" and isinstance(env[2], str) for env in f.value)
        ]

    @property
    def first_data_end(self) -> int:
        return self.data_frames[0].end

    @property
    def cid_end(self) -> int:
        """End of the first frame that names the conversation (2026: the first content frame)."""
        return next(end for end, _ in self.snapshot_ends()) if self.snapshot_ends() else self.first_data_end

    @property
    def final_data_end(self) -> int:
        """End of the completing frame (2026 shapes send the context-token and last frames after it)."""
        return self.snapshot_ends()[-1][0]

    def snapshot_ends(self) -> list[tuple[int, str]]:
        """(frame end, raw cumulative text) of every data frame that carries a candidate."""
        out = []
        for frame in self.data_frames:
            for env in frame.value:
                payload = json.loads(env[2])
                if len(payload) > 4 and payload[4]:
                    out.append((frame.end, payload[4][0][1][0]))
        return out

    def expected_partial(self, offset: int) -> str:
        """What a client must have streamed when the body is cut after ``offset`` bytes.

        Everything the complete frames held, minus the volatile tail of a
        non-final snapshot (docs/protocol.md 5.4).
        """
        text = ""
        for end, raw in self.snapshot_ends():
            if end <= offset:
                text = raw if end == self.final_data_end else stable_text(raw)
        return text

    def required_offsets(self) -> set[int]:
        """Every frame boundary (and its neighbours), every byte of every multi-byte character."""
        size = len(self.body)
        offsets = set(range(0, 8)) | {size - 2, size - 1, size, size + 1}
        for frame in self.frames:
            for edge in (frame.start, frame.json_start - 1, frame.json_start, frame.json_end, frame.end):
                offsets.update((edge - 1, edge, edge + 1))
        for first, length in self.multibyte:
            offsets.update(range(first, first + length + 1))
        return {o for o in offsets if 0 <= o <= size + 1}


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def layout_of(body: bytes) -> Layout:
    """Split ``body`` into frames by PROTOCOL.md 4.1 (lengths in UTF-16 units), with byte offsets."""
    text = body.decode("utf-8")
    byte_at = [0]
    multibyte = []
    for char in text:
        size = len(char.encode("utf-8"))
        if size > 1:
            multibyte.append((byte_at[-1], size))
        byte_at.append(byte_at[-1] + size)
    assert text.startswith(")]}'\n\n")
    pos = 6
    frames = []
    while pos < len(text):
        newline = text.index("\n", pos)
        units = int(text[pos:newline])
        end = newline
        while units > 0:
            units -= _utf16_units(text[end])
            end += 1
        assert units == 0 and text[end - 1] == "\n"
        value = json.loads(text[newline + 1 : end - 1])
        frames.append(Frame(byte_at[pos], byte_at[newline + 1], byte_at[end - 1], byte_at[end], value))
        pos = end
    return Layout(body, frames, multibyte)


def _capture(emu: Emulator, prompt: str) -> bytes:
    """One answer's exact body bytes, through a plain ``requests`` POST."""
    prepared = generate_request(prompt, emu.tokens, 123456, model=Model.UNSPECIFIED)
    response = requests.post(
        emu.url + prepared.path,
        params=prepared.params,
        headers=prepared.headers,
        data=prepared.data,
        cookies=emu.cookies,
        timeout=10,
    )
    assert response.status_code == 200
    return response.content


@pytest.fixture(scope="module")
def layout(module_emu: Emulator) -> Layout:
    emu = module_emu
    _script(emu)
    body = _capture(emu, f"{PREFIX} capture 1")
    # ids are random but of fixed length: every answer has the same layout
    assert len(_capture(emu, f"{PREFIX} capture 2")) == len(body)
    result = layout_of(body)
    # the ids frame, the snapshots, then (2026) the "26" context-token frame and the last frame
    assert len(result.data_frames) == CHUNKS + (3 if emu.shapes == "2026" else 1)
    assert result.frames[-1].value[0][0] == "e" and result.frames[-1].value[0][4] == len(body)
    assert len(result.multibyte) > 100
    return result


# --- running one case -------------------------------------------------------------------------


@dataclass(repr=False)
class Outcome:
    deltas: list[str]
    output_text: str | None
    error: BaseException | None
    elapsed: float
    generate_requests: int
    requests: list[Any]

    @property
    def joined(self) -> str:
        return "".join(self.deltas)


def run_case(
    emu: Emulator,
    client: GeminiClient,
    prompt: str,
    *,
    fault: dict[str, Any] | None = None,
    times: int = 1,
    **stream_kwargs: Any,
) -> Outcome:
    emu.clear_requests()
    if fault is not None:
        emu.fail_next(times, match=prompt, **fault)
    deltas: list[str] = []
    output_text = None
    error: BaseException | None = None
    started = time.monotonic()
    try:
        stream = client.stream(prompt, **stream_kwargs)
        for chunk in stream:
            deltas.append(chunk.delta_text)
        assert stream.output is not None
        output_text = stream.output.text
    except Exception as exc:
        error = exc
    elapsed = time.monotonic() - started
    emu.clear_faults()
    recorded = emu.requests
    return Outcome(deltas, output_text, error, elapsed, sum(r.is_generate for r in recorded), recorded)


def _check_offset(layout: Layout, offset: int, out: Outcome) -> str | None:
    """The problem with the outcome of a cut after ``offset`` bytes (recovery off), or None."""
    error = out.error
    if out.elapsed > CASE_BOUND:
        return f"took {out.elapsed:.2f}s"
    if error is not None and not isinstance(error, errors.GeminiError):
        return f"untyped {error!r}"
    if error is None:
        if out.output_text != TEXT or out.joined != TEXT:
            return f"wrong answer {out.joined!r}"
    else:
        partial = error.partial
        if partial is None or partial.text != out.joined or not TEXT.startswith(partial.text):
            return f"bad partial {None if partial is None else partial.text!r} vs streamed {out.joined!r}"
    size = len(layout.body)
    if offset < layout.first_data_end:
        # cut before the first data payload: nothing reached the caller, retried once, complete
        if error is not None or out.generate_requests != 2:
            return f"expected a retry and the answer, got {error!r} after {out.generate_requests} requests"
        return None
    if out.generate_requests != 1:
        return f"re-sent after content: {out.generate_requests} StreamGenerate requests"
    if offset > size:
        return None if error is None else f"a body that was not cut failed: {error!r}"
    if offset < layout.final_data_end:
        if type(error) is not errors.StreamInterrupted:
            return f"expected StreamInterrupted, got {error!r}"
        if out.joined != layout.expected_partial(offset):
            return f"streamed {out.joined!r}, the complete frames held {layout.expected_partial(offset)!r}"
        return None
    # the final data frame arrived (the answer is complete): success, or an interruption with everything
    if error is not None and (type(error) is not errors.StreamInterrupted or out.joined != TEXT):
        return f"after the final frame: {error!r} with {out.joined!r}"
    return None


# --- part 1: a cut at every interesting byte --------------------------------------------------


def _offsets(layout: Layout) -> list[int]:
    return sorted(layout.required_offsets() | set(range(0, len(layout.body) + 2, STRIDE)))


@pytest.fixture(params=[None, 5], ids=["frame-writes", "5-byte-writes"])
def chunk_size(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[int | None]:
    """How the emulator writes the body: a frame per write, or 5-byte network chunks."""
    emu.chunk_size = request.param
    yield request.param
    emu.chunk_size = None


def test_cut_at_every_boundary_and_inside_every_character(
    emu: Emulator, client: GeminiClient, layout: Layout, chunk_size: int | None
) -> None:
    # with small writes, the required offsets only (each network chunk already splits frames)
    offsets = _offsets(layout) if chunk_size is None else sorted(layout.required_offsets())
    assert len(offsets) >= 300
    assert {f.end for f in layout.frames} <= set(offsets)
    assert {first + 1 for first, _ in layout.multibyte} <= set(offsets)
    problems: list[str] = []
    partial_sizes: list[int] = []
    prompts: dict[str, int] = {}
    total_requests = 0
    for offset in offsets:
        prompt = f"{PREFIX} cut {chunk_size} {offset}"
        out = run_case(emu, client, prompt, fault={"disconnect_after_bytes": offset}, recover=False)
        prompts[prompt] = out.generate_requests
        total_requests += out.generate_requests
        problem = _check_offset(layout, offset, out)
        if problem:
            problems.append(f"offset {offset}: {problem}")
        partial_sizes.append(len(out.joined))
    assert not problems, f"{len(problems)} of {len(offsets)} cuts went wrong:\n" + "\n".join(problems[:25])
    # more bytes never deliver less text (among the cases that were not retried)
    kept = [
        size for offset, size in zip(offsets, partial_sizes, strict=True) if layout.first_data_end <= offset
    ]
    assert kept == sorted(kept)
    # no duplicated conversation: each request made one; at most one holds the turn
    convs = [c for c in emu.conversations if c.title in prompts]
    assert len(convs) == total_requests
    for prompt, count in prompts.items():
        mine = [c for c in convs if c.title == prompt]
        assert len(mine) == count
        assert sum(1 for c in mine if c.turns) <= 1, prompt


def test_cut_after_content_with_recovery_completes_seamlessly(
    emu: Emulator, client: GeminiClient, layout: Layout
) -> None:
    """``finish_server_side`` + recovery: every cut after the conversation id is healed from the history."""
    size = len(layout.body)
    edges = {f.end for f in layout.frames} | {f.json_start + 1 for f in layout.frames}
    spread = set(range(layout.cid_end, size + 1, 97))
    chars = {first + 1 for first, _ in layout.multibyte[::25]}
    offsets = sorted(o for o in edges | spread | chars | {size} if layout.cid_end <= o <= size)
    assert len(offsets) >= 60
    problems = []
    for offset in offsets:
        prompt = f"{PREFIX} recover {offset}"
        out = run_case(
            emu, client, prompt, fault={"disconnect_after_bytes": offset, "finish_server_side": True}
        )
        batch = sum(1 for r in out.requests if r.path == BATCH_EXEC_PATH)
        if out.error is not None or out.output_text != TEXT or out.joined != TEXT:
            problems.append(f"offset {offset}: {out.error!r}, streamed {out.joined!r}")
        elif out.generate_requests != 1 or (batch < 1 and offset < size):  # at size nothing is missing
            problems.append(f"offset {offset}: {out.generate_requests} StreamGenerate, {batch} READ_CHAT")
        elif out.elapsed > CASE_BOUND:
            problems.append(f"offset {offset}: took {out.elapsed:.2f}s")
    assert not problems, "\n".join(problems[:25])
    for prompt in (f"{PREFIX} recover {o}" for o in offsets):
        assert sum(1 for c in emu.conversations if c.title == prompt) == 1


def test_cut_after_the_end_marker_is_a_complete_answer(
    emu: Emulator, client: GeminiClient, layout: Layout
) -> None:
    """Every byte of the body, ``e`` marker included, arrived; only the chunked terminator is lost.

    The answer is complete by the protocol (final candidate, context token,
    end marker); failing it invites the caller to send the prompt again.
    """
    out = run_case(
        emu, client, f"{PREFIX} whole body", fault={"disconnect_after_bytes": len(layout.body)}, recover=False
    )
    assert out.generate_requests == 1
    assert out.error is None, f"{out.error!r} although the whole body arrived"
    assert out.output_text == TEXT and out.joined == TEXT


# --- part 2: PROTOCOL.md 7.1 and 7.3 ----------------------------------------------------------

AFTER_DATA = 3  # data frames before the fault: the ids, then two snapshots with text

NOT_RETRIED_CODES = [
    (1037, errors.UsageLimitExceeded),
    (1050, errors.ModelInvalid),
    (1052, errors.ModelInvalid),
    (1060, errors.TemporarilyBlocked),
    (1096, errors.RequestRejected),
    (1097, errors.FollowUpLimit),
    (1100, errors.AttachmentRejected),
    (1152, errors.APIError),
    (4242, errors.APIError),  # unknown
]


def _assert_nothing_delivered(out: Outcome) -> None:
    assert out.deltas == []
    assert out.error is not None and isinstance(out.error, errors.GeminiError)
    assert out.error.partial is not None and out.error.partial.text == ""


def _assert_partial(out: Outcome) -> None:
    assert out.error is not None and isinstance(out.error, errors.GeminiError)
    assert out.joined and TEXT.startswith(out.joined)
    assert out.error.partial is not None and out.error.partial.text == out.joined


def test_code_1013_before_data_is_retried_then_succeeds(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} 1013 once", fault={"code": 1013})
    assert out.error is None and out.joined == TEXT
    assert out.generate_requests == 2 and len(SLEEPS.delays) == 1


def test_code_1013_persistent_is_api_error_after_max_attempts(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} 1013 always", fault={"code": 1013}, times=10)
    assert type(out.error) is errors.APIError and out.error.code == 1013
    assert f"after {MAX_RETRIES + 1} attempts" in str(out.error)
    assert out.generate_requests == MAX_RETRIES + 1
    _assert_nothing_delivered(out)


def test_max_retries_zero_turns_retrying_off(emu: Emulator) -> None:
    with GeminiClient(
        cookies=emu.cookies, base_url=emu.url, auto_refresh=False, cookie_cache=False, max_retries=0
    ) as once:
        out = run_case(emu, once, f"{PREFIX} no retries", fault={"code": 1013}, times=10)
    assert type(out.error) is errors.APIError and out.error.code == 1013
    assert out.generate_requests == 1 and "attempts" not in str(out.error)


def test_code_1013_after_data_is_not_retried(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(
        emu,
        client,
        f"{PREFIX} 1013 late",
        fault={"code": 1013, "after_frames": AFTER_DATA},
        times=10,
        recover=False,
    )
    assert type(out.error) is errors.APIError and out.error.code == 1013
    assert out.generate_requests == 1 and SLEEPS.delays == []
    _assert_partial(out)


def test_error_right_after_the_ids_is_not_retried(emu: Emulator, client: GeminiClient) -> None:
    """Once the conversation id arrived, the turn exists: a retry would duplicate it."""
    out = run_case(emu, client, f"{PREFIX} 1013 ids", fault={"code": 1013, "after_frames": 1}, times=10)
    assert type(out.error) is errors.APIError and out.error.code == 1013
    assert out.generate_requests == 1 and SLEEPS.delays == []
    _assert_nothing_delivered(out)
    assert out.error.partial is not None and str(out.error.partial.metadata[1]).startswith("r_")


@pytest.mark.parametrize("after", [0, AFTER_DATA], ids=["before-data", "after-data"])
@pytest.mark.parametrize(("code", "kind"), NOT_RETRIED_CODES, ids=[str(c) for c, _ in NOT_RETRIED_CODES])
def test_code_is_typed_and_never_retried(
    emu: Emulator, client: GeminiClient, code: int, kind: type[errors.APIError], after: int
) -> None:
    out = run_case(
        emu,
        client,
        f"{PREFIX} code {code} {after}",
        fault={"code": code, "after_frames": after},
        times=10,
        recover=False,
    )
    assert type(out.error) is kind
    assert isinstance(out.error, errors.APIError) and out.error.code == code and out.error.status_code is None
    assert out.generate_requests == 1 and SLEEPS.delays == []
    if after:
        _assert_partial(out)
    else:
        _assert_nothing_delivered(out)


def test_http_400_reads_the_page_again_once_then_is_not_retried(emu: Emulator, client: GeminiClient) -> None:
    # a plain 400 may be a stale access token: the page is read again and the request sent once more
    out = run_case(emu, client, f"{PREFIX} 400", fault={"status": 400}, times=10)
    assert type(out.error) is errors.APIError and out.error.status_code == 400 and out.error.code is None
    assert out.generate_requests == 2
    _assert_nothing_delivered(out)


def test_http_400_with_an_er_frame_is_rejected_at_once(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} er", fault={"reject": 1096}, times=10)
    assert type(out.error) is errors.RequestRejected
    assert out.error.status_code == 400 and out.error.code == 1096 and "fresh cookies" in str(out.error)
    assert out.generate_requests == 1
    _assert_nothing_delivered(out)


@pytest.mark.parametrize("status", [401, 403])
def test_http_auth_refusal_refreshes_once_then_is_auth_error(
    emu: Emulator, client: GeminiClient, status: int
) -> None:
    out = run_case(emu, client, f"{PREFIX} {status}", fault={"status": status}, times=10)
    assert type(out.error) is errors.AuthError
    assert out.generate_requests == 2  # refused, token refreshed, sent once more
    paths = [r.path for r in out.requests]
    sent = [i for i, r in enumerate(out.requests) if r.is_generate]
    assert "/app" in paths[sent[0] : sent[1]]  # a fresh token was fetched in between
    assert SLEEPS.delays == []
    _assert_nothing_delivered(out)


def test_http_401_once_is_healed_by_the_refresh(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} 401 once", fault={"status": 401})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 2


@pytest.mark.parametrize(("header", "delay"), [("7", 7.0), ("0", 0.0), ("100", 30.0)])
def test_http_429_retry_after_is_honoured_and_capped(
    emu: Emulator, client: GeminiClient, header: str, delay: float
) -> None:
    out = run_case(
        emu,
        client,
        f"{PREFIX} 429 {header}",
        fault={"status": 429, "headers": {"Retry-After": header}},
        times=10,
    )
    assert type(out.error) is errors.RateLimited and out.error.status_code == 429
    assert out.error.retry_after == float(header)
    assert out.generate_requests == MAX_RETRIES + 1
    assert SLEEPS.delays == [delay] * MAX_RETRIES
    assert f"after {MAX_RETRIES + 1} attempts" in str(out.error)
    _assert_nothing_delivered(out)


def test_http_429_retry_after_as_an_http_date(emu: Emulator, client: GeminiClient) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    out = run_case(emu, client, f"{PREFIX} 429 date", fault={"status": 429, "headers": {"Retry-After": when}})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 2
    assert len(SLEEPS.delays) == 1 and 17 <= SLEEPS.delays[0] <= 20


def test_http_429_once_then_answer(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} 429 once", fault={"status": 429, "headers": {"Retry-After": "3"}})
    assert out.error is None and out.joined == TEXT
    assert out.generate_requests == 2 and SLEEPS.delays == [3.0]


def test_http_429_html_page_without_retry_after(emu: Emulator, client: GeminiClient) -> None:
    """The "unusual traffic" page: rate limited, retried with (short, bounded) backoff."""
    out = run_case(emu, client, f"{PREFIX} 429 html", fault={"status": 429}, times=10)
    assert type(out.error) is errors.RateLimited and out.error.retry_after is None
    assert out.generate_requests == MAX_RETRIES + 1
    assert len(SLEEPS.delays) == MAX_RETRIES and all(0 <= d <= 0.01 for d in SLEEPS.delays)
    assert "<" not in str(out.error)  # the page itself is not pasted into the message
    _assert_nothing_delivered(out)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_is_retried_then_api_error(emu: Emulator, client: GeminiClient, status: int) -> None:
    out = run_case(emu, client, f"{PREFIX} {status}", fault={"status": status}, times=10)
    assert type(out.error) is errors.APIError and out.error.status_code == status
    assert out.generate_requests == MAX_RETRIES + 1
    assert f"after {MAX_RETRIES + 1} attempts" in str(out.error)
    _assert_nothing_delivered(out)


@pytest.mark.parametrize("status", [500, 503])
def test_http_5xx_once_then_answer(emu: Emulator, client: GeminiClient, status: int) -> None:
    out = run_case(emu, client, f"{PREFIX} {status} once", fault={"status": status})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 2


def test_only_tail_frames_is_a_rejected_request(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} only tail", fault={"only_tail": True}, times=10)
    assert type(out.error) is errors.APIError and out.error.code is None and out.error.status_code is None
    assert out.generate_requests == 1
    _assert_nothing_delivered(out)


@pytest.mark.parametrize(
    "body",
    ["", ")]}'\n\n", ")]}", ")]}'\n\n120\n[[\"wrb"],
    ids=["empty", "prefix", "part-prefix", "part-frame"],
)
def test_body_that_ends_cleanly_before_any_frame_is_retried(
    emu: Emulator, client: GeminiClient, body: str
) -> None:
    """A 200 whose (complete, Content-Length) body stops before its first frame was cut short.

    It is not a rejection (that is a body with only the tail frames): nothing
    reached the caller, so it is retried like any interrupted attempt, and the
    next attempt answers.
    """
    out = run_case(emu, client, f"{PREFIX} short body {len(body)}", fault={"status": 200, "body": body})
    assert out.generate_requests == 2, f"{out.error!r} after {out.generate_requests} request(s)"
    assert out.error is None and out.joined == TEXT


def test_html_page_with_200_is_a_protocol_error(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} html", fault={"html": True}, times=10)
    assert type(out.error) is errors.ProtocolError and "HTML" in str(out.error)
    assert out.generate_requests == 1
    _assert_nothing_delivered(out)


def test_bad_length_before_data_is_a_protocol_error(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} bad length 0", fault={"bad_length": True}, times=10)
    assert type(out.error) is errors.ProtocolError
    assert out.generate_requests == 1
    _assert_nothing_delivered(out)


def test_bad_length_after_data_keeps_the_partial(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(
        emu,
        client,
        f"{PREFIX} bad length late",
        fault={"bad_length": True, "after_frames": AFTER_DATA},
        times=10,
        recover=False,
    )
    assert type(out.error) is errors.ProtocolError
    assert out.generate_requests == 1
    _assert_partial(out)


def test_late_code_after_the_complete_answer_is_success(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} late 1096", fault={"late_code": 1096})
    assert out.error is None and out.output_text == TEXT and out.joined == TEXT
    assert out.generate_requests == 1


def test_queue_phase_then_answer(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} queue", fault={"queue": 3})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 1


def test_flicker_is_never_emitted(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(emu, client, f"{PREFIX} flicker", fault={"flicker": True})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 1


# --- stalls and deadlines ---------------------------------------------------------------------

STALL = 0.3  # the short watchdog of these tests
MARGIN = 1.5  # scheduling slack on a loaded 2-core machine


@pytest.fixture
def stall_client(emu: Emulator) -> Iterator[GeminiClient]:
    with _client(emu, stall_timeout=STALL) as c:
        c.init()
        yield c


def test_stall_before_data_is_retried_as_transient_and_bounded(
    emu: Emulator, stall_client: GeminiClient
) -> None:
    out = run_case(emu, stall_client, f"{PREFIX} stall early", fault={"stall": 30.0}, times=10)
    assert type(out.error) is errors.TimeoutError and isinstance(out.error, TimeoutError)
    assert out.generate_requests == MAX_RETRIES + 1
    assert out.elapsed < (MAX_RETRIES + 1) * STALL + MARGIN
    _assert_nothing_delivered(out)
    assert emu.wait_for_disconnect(5, count=MAX_RETRIES + 1)  # every stalled attempt was closed


def test_stall_before_data_once_then_answer(emu: Emulator, stall_client: GeminiClient) -> None:
    out = run_case(emu, stall_client, f"{PREFIX} stall early once", fault={"stall": 30.0})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 2


def test_stall_after_data_is_timeout_with_partial(emu: Emulator, stall_client: GeminiClient) -> None:
    prompt = f"{PREFIX} stall late"
    emu.fail_next(10, match=prompt, stall=30.0, after_frames=AFTER_DATA)
    received: list[str] = []
    last = time.monotonic()
    with pytest.raises(errors.TimeoutError) as info:
        for chunk in stall_client.stream(prompt, recover=False):
            received.append(chunk.delta_text)
            last = time.monotonic()
    silence = time.monotonic() - last
    assert STALL * 0.85 <= silence < STALL + MARGIN
    assert "stalled" in str(info.value)
    assert received and info.value.partial is not None and info.value.partial.text == "".join(received)
    assert TEXT.startswith(info.value.partial.text)
    assert len(emu.generate_requests) == 1


def test_stall_right_after_the_ids_is_not_retried(emu: Emulator, stall_client: GeminiClient) -> None:
    out = run_case(
        emu,
        stall_client,
        f"{PREFIX} stall ids",
        fault={"stall": 30.0, "after_frames": 1},
        times=10,
        recover=False,
    )
    assert type(out.error) is errors.TimeoutError
    assert out.generate_requests == 1 and out.elapsed < STALL + MARGIN
    _assert_nothing_delivered(out)


def test_stall_shorter_than_the_watchdog_is_no_error(emu: Emulator, stall_client: GeminiClient) -> None:
    out = run_case(emu, stall_client, f"{PREFIX} short stall", fault={"stall": STALL / 3, "after_frames": 2})
    assert out.error is None and out.joined == TEXT and out.generate_requests == 1


def test_deadline_after_data_is_timeout_with_partial(emu: Emulator, client: GeminiClient) -> None:
    out = run_case(
        emu,
        client,
        f"{PREFIX} deadline late",
        fault={"stall": 30.0, "after_frames": AFTER_DATA},
        deadline=0.4,
        recover=False,
    )
    assert type(out.error) is errors.TimeoutError and "deadline" in str(out.error)
    assert 0.4 * 0.85 <= out.elapsed < 0.4 + MARGIN
    assert out.generate_requests == 1
    _assert_partial(out)


def test_deadline_is_shared_by_every_attempt(emu: Emulator, client: GeminiClient) -> None:
    """Attempts that fail fast are retried inside the deadline; the call never outlives it."""
    out = run_case(emu, client, f"{PREFIX} deadline 1013", fault={"code": 1013}, deadline=5.0)
    assert out.error is None and out.joined == TEXT and out.generate_requests == 2


def test_deadline_before_data_sends_nothing_after_it_expired(emu: Emulator, client: GeminiClient) -> None:
    """A deadline that expired cannot be met by another attempt: nothing more is sent.

    Each further request would create a conversation on the service that the
    client abandons at once.
    """
    out = run_case(emu, client, f"{PREFIX} deadline early", fault={"stall": 30.0}, times=10, deadline=0.4)
    assert type(out.error) is errors.TimeoutError and "deadline" in str(out.error)
    assert out.elapsed < 0.4 + MARGIN
    _assert_nothing_delivered(out)
    assert out.generate_requests == 1, f"{out.generate_requests} StreamGenerate requests after the deadline"


def test_deadline_bounds_the_retry_after_wait(emu: Emulator) -> None:
    """``deadline`` bounds the whole call, backoff included: a Retry-After longer than what is
    left is not slept through (real sleeps here)."""
    with _client(emu, fake_sleep=False) as slow:
        out = run_case(
            emu,
            slow,
            f"{PREFIX} deadline 429",
            fault={"status": 429, "headers": {"Retry-After": "3"}},
            times=10,
            deadline=1.0,
        )
    assert isinstance(out.error, (errors.RateLimited, errors.TimeoutError))
    assert out.elapsed < 1.0 + MARGIN, f"a call with deadline=1.0 took {out.elapsed:.1f}s"
    _assert_nothing_delivered(out)
