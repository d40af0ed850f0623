"""The web app's activity heartbeat, off by default (``GeminiClient(heartbeat=seconds)``).

A working client (gemini_webapi 2.1.1) sends ``ESY5D [[["bard_activity_enabled"]]]``
after 60-120 s without activity, as the web app does; nobody has measured that
it keeps a session alive longer (docs/protocol.md 13.3), so it is sent only
when asked for. :class:`Heartbeat` sends it on a daemon thread once the client
has been idle for ``interval`` seconds; every request counts as activity
(:meth:`touch`). A failed heartbeat is logged and never raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .._log import logger
from ..errors import GeminiError

__all__ = ["Heartbeat"]

_MIN_DELAY = 0.05


class Heartbeat:
    """Calls ``send`` whenever ``interval`` seconds passed without :meth:`touch`; started lazily."""

    def __init__(
        self, send: Callable[[], object], interval: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if interval <= 0:
            raise ValueError("heartbeat must be a positive number of seconds (or None: off)")
        self.interval = interval
        self._send = send
        self._clock = clock
        self._last = clock()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def touch(self) -> None:
        """Something was sent just now: the next heartbeat is ``interval`` from here."""
        self._last = self._clock()

    def start(self) -> None:
        """Start the thread once (cheap: called before every request)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="gemini-sync-heartbeat", daemon=True)
                self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the thread and wait for it (bounded)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(max(self._last + self.interval - self._clock(), _MIN_DELAY)):
            if self._clock() - self._last < self.interval:
                continue
            try:
                self._send()
                self.sent += 1
            except GeminiError as exc:
                logger.info("the activity heartbeat failed (%s)", exc.__class__.__name__)
            self.touch()
