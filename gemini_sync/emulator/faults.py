"""Fault injection: what can go wrong, on which request, how many times.

A :class:`Fault` describes one misbehaviour (an error code, an HTTP status, a
stall, a cut connection, a malformed frame, flicker, ...). A
:class:`FaultRule` attaches it to requests: a path, an optional match on the
request and a number of uses. :class:`FaultBook` hands the oldest matching
rule's fault to the request handlers, thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from .._constants import BATCH_EXEC_PATH, GENERATE_PATH

__all__ = ["Fault", "FaultRule", "FaultBook", "Matcher", "matches", "check_matcher", "describe_matcher"]

#: what a script or a fault rule applies to: a string (a prefix of the key), a compiled regular
#: expression (searched in the key) or a predicate on the key. The key is the prompt for
#: StreamGenerate (see ``RecordedRequest.key`` for the other paths).
Matcher = str | re.Pattern[str] | Callable[[str], bool]


def check_matcher(matcher: object, what: str = "match") -> Matcher:
    """``matcher`` if it is a :data:`Matcher`, else :class:`TypeError` (raised at the call, not later)."""
    if isinstance(matcher, str):
        return matcher
    if isinstance(matcher, re.Pattern):
        if not isinstance(matcher.pattern, str):
            raise TypeError(f"{what} must be a str pattern, not a bytes pattern {matcher.pattern!r}")
        return matcher
    if callable(matcher) and not isinstance(matcher, type):
        return cast("Callable[[str], bool]", matcher)
    raise TypeError(
        f"{what} must be a string (a prefix of the prompt), a compiled regex (re.compile(...)) "
        f"or a function taking the prompt and returning a bool, not {type(matcher).__name__}"
    )


def matches(matcher: Matcher | None, key: str) -> bool:
    """True if ``key`` satisfies ``matcher`` (``None`` matches everything).

    A string matches the keys it starts (``"Summarise"`` matches ``"Summarise: ..."``), a
    regex matches if ``pattern.search(key)`` finds it, a predicate if it returns true.
    """
    if matcher is None:
        return True
    if isinstance(matcher, str):
        return key.startswith(matcher)
    if isinstance(matcher, re.Pattern):
        return matcher.search(key) is not None
    return bool(matcher(key))


def describe_matcher(matcher: Matcher) -> str:
    """A short human description of ``matcher`` (for warnings)."""
    if isinstance(matcher, str):
        return f"prefix {matcher!r}"
    if isinstance(matcher, re.Pattern):
        return f"regex {matcher.pattern!r}"
    return f"predicate {getattr(matcher, '__qualname__', repr(matcher))}"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. Set one effect, or combine several stream effects.

    Effects that replace the whole response (any path):

    * ``status`` — answer with this HTTP status, ``headers`` and ``body``
      (default body: an HTML page; for 429 the "unusual traffic" page).
    * ``html`` — answer 200 with an HTML page instead of frames.
    * ``reject`` — answer HTTP 400 with an ``"er"`` frame carrying this
      code (e.g. 1096), as the service rejects a request it will not answer.

    Effects on a StreamGenerate stream (``after_frames`` counts data frames,
    the first one carrying cid/rid; 0 = before any data):

    * ``code`` — an error envelope with this code after ``after_frames`` data
      frames, then the tail frames; the turn is not saved. On batchexecute,
      every call of the request is answered with this code.
    * ``grpc`` — batchexecute only: every call is refused with this status
      and no code (7: not permitted, what expired cookies get).
    * ``stall`` — after ``after_frames`` data frames send nothing for this
      many seconds, keeping the connection open, then go on. Headers and the
      ``)]}'`` line are sent before the stall. :meth:`Emulator.stop` ends it.
      On other paths: wait before answering at all.
    * ``disconnect_after_bytes`` — send exactly this many bytes of the body
      (counted from its first byte, after de-chunking), then close the
      connection without finishing the chunked body. A body shorter than
      that completes normally.
    * ``finish_server_side`` — save the complete turn in the chat right away,
      so READ_CHAT returns it even though the stream was cut (recovery).
    * ``bad_length`` — the data frame number ``after_frames`` declares a
      length 3 units short, cutting its JSON.
    * ``flicker`` — non-final snapshots get volatile tails that later
      snapshots withdraw: ``"\\n```"`` while a code block is open, else ``"\\*"``.
    * ``only_tail`` — a 200 body with only the tail frames, no data.
    * ``late_code`` — a status envelope with this code after the complete answer.
    * ``queue`` — this many status envelopes without code and payload before
      the first data frame (a "queueing" phase).

    ``path`` selects the endpoint (default StreamGenerate); on paths other
    than StreamGenerate and batchexecute only ``status``, ``html`` and
    ``stall`` apply.
    """

    code: int | None = None
    after_frames: int = 0
    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: str | bytes | None = None
    stall: float | None = None
    disconnect_after_bytes: int | None = None
    finish_server_side: bool = False
    bad_length: bool = False
    html: bool = False
    flicker: bool = False
    only_tail: bool = False
    late_code: int | None = None
    queue: int = 0
    reject: int | None = None
    grpc: int | None = None
    path: str = GENERATE_PATH

    def __post_init__(self) -> None:
        stream_effects = {
            "code": self.code is not None,
            "stall": self.stall is not None,
            "disconnect_after_bytes": self.disconnect_after_bytes is not None,
            "finish_server_side": self.finish_server_side,
            "bad_length": self.bad_length,
            "flicker": self.flicker,
            "only_tail": self.only_tail,
            "late_code": self.late_code is not None,
            "queue": self.queue > 0,
            "grpc": self.grpc is not None,
        }
        if self.status is None and not self.html and self.reject is None and not any(stream_effects.values()):
            raise ValueError("a Fault needs an effect (code=, status=, stall=, disconnect_after_bytes=, ...)")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")
        if self.after_frames < 0 or self.queue < 0:
            raise ValueError("after_frames and queue must not be negative")
        if self.stall is not None and self.stall < 0:
            raise ValueError("stall must not be negative")
        if self.disconnect_after_bytes is not None and self.disconnect_after_bytes < 0:
            raise ValueError("disconnect_after_bytes must not be negative")
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/', got {self.path!r}")
        if self.path != GENERATE_PATH:
            allowed = {"stall", "code", "grpc"} if self.path == BATCH_EXEC_PATH else {"stall"}
            unsupported = [name for name, on in stream_effects.items() if on and name not in allowed]
            if unsupported:
                raise ValueError(f"{', '.join(unsupported)} only apply to StreamGenerate, not to {self.path}")

    @property
    def replaces_response(self) -> bool:
        """True for faults decided before the request is validated (``status``, ``html``)."""
        return self.status is not None or self.html or self.reject is not None

    def describe(self) -> dict[str, Any]:
        """The fields that differ from the defaults (for logs and reprs)."""
        defaults = Fault.__dataclass_fields__
        return {
            name: getattr(self, name)
            for name, spec in defaults.items()
            if getattr(self, name) != spec.default and name != "body"
        }


@dataclass(eq=False)
class FaultRule:
    """A fault attached to requests: ``times`` uses (``None`` = forever) of those matching ``match``.

    ``hits`` counts the requests it was applied to.
    """

    fault: Fault
    times: int | None = 1
    match: Matcher | None = None
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def remaining(self) -> int | None:
        """Uses left (``None`` = unlimited)."""
        return None if self.times is None else max(0, self.times - self.hits)

    @property
    def exhausted(self) -> bool:
        """True once the rule has been used ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def _try_take(self, path: str, key: str, early: bool) -> bool:
        if self.fault.path != path or self.fault.replaces_response != early:
            return False
        if not matches(self.match, key):
            return False
        with self._lock:
            if self.exhausted:
                return False
            self.hits += 1
            return True


class FaultBook:
    """The active fault rules, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [rule for rule in self._rules if not rule.exhausted]

    def take(self, path: str, key: str, *, early: bool) -> Fault | None:
        """Use the oldest rule that applies to this request, if any.

        ``early`` selects faults that replace the response (taken before the
        request is validated); the others are taken once it is valid.
        """
        with self._lock:
            rules = list(self._rules)
        for rule in rules:
            if rule._try_take(path, key, early):
                if rule.exhausted:
                    with self._lock:
                        if rule in self._rules:
                            self._rules.remove(rule)
                return rule.fault
        return None
