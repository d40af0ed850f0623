"""The pool's state on one host: a file in the cookie cache directory, shared by its processes.

Every process of a host (gunicorn or Celery workers, scripts) that opens a
:class:`LocalState` on the same directory shares cool-downs, accounts taken
out, streams in flight and usage seen. The file is ``.pool_state.json``; a lock
file next to it (``.pool_state.lock``) is held for each change, the same
discipline as the cookie rotation (:mod:`gemini_sync.transport.rotation`): an
operating-system lock (``flock``, or ``filelock`` where there is none), dropped
by the kernel when its process dies; a change is read-modify-write under it,
in a 0600 file. Reads take no lock:
the file is parsed again when its ``stat`` changed (or a moment later). A
change is written in place (no temporary file: a reader that meets one half
written keeps the last whole one).

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
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

if sys.platform != "win32":
    import fcntl

from .._log import logger
from ..transport import cache
from .state import AccountView, Book, MemoryState, merge_views

__all__ = ["LocalState"]

_T = TypeVar("_T")
_LOCK_TIMEOUT = 2.0  # a change holds the lock for a read and a write: milliseconds
_MAX_AGE = 0.2  # seconds a parse of the file is trusted while its stat looks the same


def _read_all(fd: int) -> bytes:
    """The whole file behind ``fd``, from its start."""
    parts: list[bytes] = []
    offset = 0
    while True:
        part = os.pread(fd, 65536, offset)
        if not part:
            return b"".join(parts)
        parts.append(part)
        offset += len(part)


class _KernelLock:
    """An operating-system lock on ``path`` held through one open descriptor, kept between changes.

    ``flock`` where there is one (Linux, macOS): one system call per change, where
    ``filelock`` opens and closes the file each time; elsewhere ``filelock``. Either
    way the kernel drops it when the process dies. The descriptor belongs to the
    process that opened it (``pid``): a forked child must open its own, as a shared
    descriptor would share the lock.
    """

    def __init__(self, path: pathlib.Path) -> None:
        self.pid = os.getpid()
        self._fd = -1
        self._other: Any = None
        if sys.platform == "win32":  # pragma: no cover
            import filelock

            self._other = filelock.FileLock(str(path), mode=0o600)
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; ``False`` if another process held it that long."""
        if sys.platform == "win32":  # pragma: no cover
            import filelock

            try:
                self._other.acquire(timeout=timeout)
            except filelock.Timeout:
                return False
            return True
        end = time.monotonic() + timeout
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= end:
                    return False
                time.sleep(pause)  # another process holds it for a read and a write: very briefly
                pause = min(pause * 2, 0.02)

    def release(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            self._other.release()
        else:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


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
        self._parsed_at = -float("inf")
        self._data_fd: int | None = None
        self._data_pid = 0
        self._fallback = MemoryState()
        self._broken = False  # no lock or file here: everything stays in this process
        self._lock: _KernelLock | None = None

    def __repr__(self) -> str:
        return f"<LocalState {self.path}>"

    # -- reading -----------------------------------------------------------

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    @staticmethod
    def _parse(raw: bytes) -> Book | None:
        """The data of ``raw``; ``None`` if it is not whole (read while a change was written)."""
        if not raw.strip():
            return Book()
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return Book(data if isinstance(data, dict) else None)

    def _current(self) -> Book:
        """The file's data, parsed again when its ``stat`` changed or the last parse is a moment old.

        Changes are written in place, so two within the file system's time
        resolution may leave the same ``stat``: the age bound catches them.
        """
        signature = self._signature()
        now = time.monotonic()
        with self._read_lock:
            if signature == self._seen and now - self._parsed_at < _MAX_AGE:
                return self._book
        try:
            raw = self.path.read_bytes() if signature is not None else b""
        except OSError:
            raw = b""
        book = self._parse(raw)
        with self._read_lock:
            if book is not None:  # a torn read keeps the last whole one, and is read again next time
                self._book, self._seen, self._parsed_at = book, signature, now
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
        with self._thread_lock:
            try:
                if self._lock is None or self._lock.pid != os.getpid():  # a forked child opens its own
                    self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self._lock = _KernelLock(self.lock_path)
                held = self._lock.acquire(self._lock_timeout)
            except OSError as exc:
                self._break(exc)
                yield False
                return
            if not held:
                logger.warning(
                    "the pool state lock %s is held too long; this change stays in this process",
                    self.lock_path,
                )
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
            try:
                fd = self._data()
                book = self._parse(_read_all(fd)) or Book()
                result = apply(book)
                book.prune(now)
                self._write(fd, book)
            except OSError as exc:
                self._break(exc)
                return fallback(self._fallback)
            return result

    def _data(self) -> int:
        """The data file's descriptor, opened once per process (0600)."""
        if self._data_fd is None or self._data_pid != os.getpid():
            self._data_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._data_pid = os.getpid()
        return self._data_fd

    def _write(self, fd: int, book: Book) -> None:
        """Write ``book`` over the file, in place (the lock is held: no other writer)."""
        raw = json.dumps(book.data, separators=(",", ":")).encode()
        os.pwrite(fd, raw, 0)
        os.ftruncate(fd, len(raw))
        signature = self._signature()
        with self._read_lock:  # our own write: no need to parse it again
            self._book, self._seen, self._parsed_at = book, signature, time.monotonic()

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
