"""The pool's state on one host: a file in the cookie cache directory, shared by its processes.

Every process of a host (gunicorn or Celery workers, scripts) that opens a
:class:`LocalState` on the same directory shares cool-downs, accounts taken
out, streams in flight and usage seen. The file is ``.pool_state.json``; a lock
file next to it (``.pool_state.lock``) is held for each change, the same
discipline as the cookie rotation (:mod:`gemini_sync.transport.rotation`): an
operating-system lock through ``filelock``, dropped by the kernel when its
process dies, and a change is read-modify-write under it, written atomically
(a temporary file replaced), 0600 in a 0700 directory. Reads take no lock:
the file is parsed again only when its ``stat`` changed.

If no lock or file can be had there (a read-only directory) the state stays
in this process (:class:`~gemini_sync.pool.state.MemoryState`), said once in
the log; a change that waits too long for the lock (another process stuck
while holding it) is kept in this process too and merged into every view.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from .._log import logger
from ..transport import cache
from .state import AccountView, Book, MemoryState, merge_views

__all__ = ["LocalState"]

_T = TypeVar("_T")
_LOCK_TIMEOUT = 2.0  # a change holds the lock for a read and a write: milliseconds


class LocalState:
    """The pool's state in ``directory`` (default: the cookie cache directory), for every process there."""

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, lock_timeout: float = _LOCK_TIMEOUT
    ) -> None:
        self.directory = pathlib.Path(directory) if directory is not None else cache.cache_dir()
        self.path = self.directory / ".pool_state.json"
        self.lock_path = self.directory / ".pool_state.lock"
        self._lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()  # one change at a time in this process
        self._seen: tuple[int, int, int] | None = None
        self._book = Book()
        self._read_lock = threading.Lock()
        self._fallback = MemoryState()
        self._broken = False  # no lock or file here: everything stays in this process
        self._lock: Any = None

    def __repr__(self) -> str:
        return f"<LocalState {self.path}>"

    # -- reading -----------------------------------------------------------

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _load(self) -> Book:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        return Book(data if isinstance(data, dict) else None)

    def _current(self) -> Book:
        """The file's data, parsed again only if its ``stat`` changed since the last look."""
        signature = self._signature()
        with self._read_lock:
            if signature != self._seen:
                self._book = self._load() if signature is not None else Book()
                self._seen = signature
            return self._book

    def views(self, keys: Sequence[str], now: float) -> dict[str, AccountView]:
        book = self._current() if not self._broken else Book()
        with self._read_lock:
            found = {key: book.view(key, now) for key in keys}
        if self._fallback.empty:
            return found
        extra = self._fallback.views(keys, now)
        return {key: merge_views(found[key], extra[key]) for key in keys}

    # -- changing ----------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the file lock: ``True``, or ``False`` when it cannot be had (the change stays here)."""
        import filelock  # imported by the first change, as rotation does

        with self._thread_lock:
            try:
                if self._lock is None:
                    self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self._lock = filelock.FileLock(str(self.lock_path), mode=0o600)
                self._lock.acquire(timeout=self._lock_timeout)
            except filelock.Timeout:
                logger.warning(
                    "the pool state lock %s is held too long; this change stays in this process",
                    self.lock_path,
                )
                yield False
                return
            except OSError as exc:
                self._break(exc)
                yield False
                return
            try:
                yield True
            finally:
                self._lock.release()

    def _break(self, exc: OSError) -> None:
        if not self._broken:
            self._broken = True
            logger.warning(
                "no pool state file in %s (%s): the pool's state stays in this process",
                self.directory,
                exc.strerror or exc,
            )

    def _change(self, now: float, apply: Callable[[Book], _T], fallback: Callable[[MemoryState], _T]) -> _T:
        if self._broken:
            return fallback(self._fallback)
        with self._locked() as held:
            if not held:
                return fallback(self._fallback)
            book = self._load()
            result = apply(book)
            book.prune(now)
            try:
                self._write(book)
            except OSError as exc:
                self._break(exc)
                return fallback(self._fallback)
            return result

    def _write(self, book: Book) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-pool", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(book.data, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        signature = self._signature()
        with self._read_lock:  # our own write: no need to parse it again
            self._book, self._seen = book, signature

    def cool_down(self, key: str, bucket: str, until: float, now: float) -> None:
        self._change(
            now, lambda b: b.cool_down(key, bucket, until), lambda m: m.cool_down(key, bucket, until, now)
        )

    def take_out(self, key: str, until: float, reason: str, now: float) -> None:
        self._change(
            now, lambda b: b.take_out(key, until, reason), lambda m: m.take_out(key, until, reason, now)
        )

    def restore(self, key: str) -> None:
        self._fallback.restore(key)
        self._change(0.0, lambda b: b.restore(key), lambda m: m.restore(key))

    def acquire(self, key: str, limit: int | None, now: float, ttl: float) -> str | None:
        return self._change(
            now, lambda b: b.acquire(key, limit, now, ttl), lambda m: m.acquire(key, limit, now, ttl)
        )

    def release(self, key: str, token: str) -> None:
        self._fallback.release(key, token)
        if not self._broken:
            self._change(0.0, lambda b: b.release(key, token), lambda m: m.release(key, token))

    def record_usage(self, key: str, quotas: list[dict[str, Any]], now: float, ttl: float) -> None:
        self._change(
            now, lambda b: b.record_usage(key, quotas, now), lambda m: m.record_usage(key, quotas, now, ttl)
        )

    def cached_models(self, key: str, now: float) -> list[dict[str, Any]] | None:
        found = self._fallback.cached_models(key, now)
        if found is not None or self._broken:
            return found
        book = self._current()
        with self._read_lock:
            return book.cached_models(key, now)

    def cache_models(self, key: str, models: list[dict[str, Any]], until: float, now: float) -> None:
        self._change(
            now,
            lambda b: b.cache_models(key, models, until),
            lambda m: m.cache_models(key, models, until, now),
        )

    def close(self) -> None:
        """Nothing is held open between changes."""
