"""When and how requests are retried (tenacity policies).

``max_retries`` is the number of further attempts after a first attempt that
failed with a transient error before any content reached the caller; ``0``
turns retrying off.

Transient: a connection error or timeout before the response started, HTTP
429 (``Retry-After`` honoured, capped), 500/502/503/504, and in-band error
1013. Never retried: 1037, 1050, 1052, 1060, HTTP 400, auth errors, and
anything once content or a conversation id of the turn has arrived: a retry
then would duplicate the turn or splice two answers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _constants as C
from .._exports import publish
from .._log import logger
from ..errors import APIError, GeminiError, RateLimited, StreamInterrupted, TimeoutError

if TYPE_CHECKING:  # imported by the first request made under a policy, not by ``import gemini_sync``
    import tenacity

__all__ = ["is_transient", "RetryPolicy", "call_with_retries"]

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_CODES = frozenset({1013})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (raised before any content) is worth another attempt."""
    if isinstance(exc, APIError):
        if exc.code is not None:
            return exc.code in _TRANSIENT_CODES
        return exc.status_code in _TRANSIENT_STATUS
    return isinstance(exc, (StreamInterrupted, TimeoutError))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, ``Retry-After`` aware, bounded attempts.

    A frozen value: pass one as ``GeminiClient(retry=...)`` to change delays,
    and derive a variant with :meth:`replace`. The classification of errors
    (what is transient) is fixed by the contracts.
    """

    max_retries: int = C.DEFAULT_MAX_RETRIES
    _: dataclasses.KW_ONLY
    initial: float = C.RETRY_INITIAL_DELAY
    maximum: float = C.RETRY_MAX_DELAY
    retry_after_cap: float = C.RETRY_AFTER_CAP
    sleep: Callable[[float], None] | None = None

    def __post_init__(self) -> None:
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("max_retries must be an integer >= 0")
        for name in ("initial", "maximum", "retry_after_cap"):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy with ``changes`` (e.g. ``policy.replace(max_retries=0)``)."""
        return dataclasses.replace(self, **changes)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_cap)
        import tenacity

        jitter = tenacity.wait_random_exponential(multiplier=self.initial, max=self.maximum)
        return float(jitter(state))

    def retrying(self, what: str, allowed: Callable[[], bool] = lambda: True) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for one call; ``allowed()`` is asked before each retry."""
        import tenacity

        def should_retry(exc: BaseException) -> bool:
            return is_transient(exc) and allowed()

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2fs", what, state.attempt_number, exc, delay
            )

        kwargs: dict[str, Any] = {}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception(should_retry),
            before_sleep=log_retry,
            reraise=True,
            **kwargs,
        )


def call_with_retries(
    policy: RetryPolicy, what: str, fn: Callable[[], T], allowed: Callable[[], bool] = lambda: True
) -> T:
    """Run ``fn`` under ``policy``; the last error records the attempts (``.attempts``, and its message)."""
    retrying = policy.retrying(what, allowed)
    try:
        return retrying(fn)
    except GeminiError as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        if attempts > 1 and exc.attempts is None:
            exc.attempts = attempts
            if exc.args:
                exc.args = (f"{exc.args[0]} (after {attempts} attempts)", *exc.args[1:])
        raise


publish(globals())
