"""One account's cookie cache shared by several processes: who rotates, and newest-wins writes.

Every process that uses the same ``__Secure-1PSID`` and the same cache
directory (gunicorn or Celery workers, several scripts) opens an
:class:`AccountCache` on the account's cache file. A lock file next to it
(``.cached_cookies_<hash>.lock``) decides which process rotates: the
rotation thread only *tries* it (``timeout=0``) and, when another process
holds it, simply looks again later; the process that holds it re-reads the
cache first and rotates only if nobody did within the interval. The lock is
an operating-system lock (``flock`` on Linux/macOS, ``msvcrt.locking`` on
Windows, through ``filelock``): the kernel drops it when its process dies,
so a process killed while rotating never leaves a stale lock behind.

Writes are ordered by ``generation`` (one more per rotation, recorded in the
file), never by file times: :meth:`AccountCache.write` refuses to replace a
file whose generation is the same or newer. Requests never take the lock:
before each request a client only compares the file's ``stat`` with the last
one it saw (:meth:`AccountCache.changed`), and reads it when it changed.

What a rotating client needs of this is the :class:`RotationCoordinator`
protocol; :class:`AccountCache` (one host, a file lock) is the default one.
Another coordinator (``gemini_sync.pool.RedisState(...).rotation``, several
hosts through Redis) is made per account by a :data:`CoordinatorFactory`
from the account's ``__Secure-1PSID`` and the cache directory.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from http.cookiejar import Cookie
from typing import Any, Protocol

from .._log import logger
from . import cache

__all__ = ["AccountCache", "RotationCoordinator", "CoordinatorFactory"]


class RotationCoordinator(Protocol):
    """Who rotates one account's cookies, and where the newest rotated cookie is found.

    The methods of :class:`AccountCache`, with its meaning: :meth:`changed`
    is cheap (called before every request), :meth:`locked` is held around a
    rotation (``True`` held, ``False`` held elsewhere, ``None`` no lock can be
    had: rotate uncoordinated), :meth:`write` never replaces a newer generation.
    :meth:`baseline` is the state a new client counts as already known (its
    own cookies are at least as new); :meth:`read` may then give a newer one.
    """

    def baseline(self) -> cache.CacheState: ...

    def changed(self) -> bool: ...

    def read(self) -> cache.CacheState: ...

    def locked(self, timeout: float) -> AbstractContextManager[bool | None]: ...

    def write(
        self, cookies: Iterable[Cookie], generation: int, rotated_at: float, domains: tuple[str, ...]
    ) -> bool: ...


#: makes the coordinator of one account: ``factory(psid, cache_directory)``
CoordinatorFactory = Callable[[str, pathlib.Path], RotationCoordinator]


class AccountCache:
    """The cache file of one account, its cross-process lock and a cheap change detector."""

    def __init__(self, psid: str, directory: pathlib.Path) -> None:
        self.directory = directory
        self.path = cache.cache_file(psid, directory)
        self.lock_path = self.path.with_suffix(".lock")
        self._psid = psid
        self._seen: tuple[int, int, int] | None = None
        self._seen_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<AccountCache {self.path.name}>"

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def changed(self) -> bool:
        """True if the file differs from when this method last looked (one ``stat``, no read)."""
        signature = self._signature()
        with self._seen_lock:
            if signature == self._seen:
                return False
            self._seen = signature
            return signature is not None

    def read(self) -> cache.CacheState:
        """The file's cookies and generation (an empty state when there is no file)."""
        return cache.load_state(self.path)

    def baseline(self) -> cache.CacheState:
        """What a new client counts as known: the file as it is (only a later write is taken)."""
        return self.read()

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[bool | None]:
        """Hold the account's rotation lock: yields ``True``, ``False`` if another process held it
        for ``timeout`` (``0``: try once, never wait), or ``None`` if no lock file can be made
        here (a read-only directory): the caller then rotates on its own, uncoordinated.
        """
        import filelock  # only a rotating process needs it: not imported by ``import gemini_sync``

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = filelock.FileLock(str(self.lock_path), mode=0o600)
            lock.acquire(timeout=timeout)
        except filelock.Timeout:
            yield False
            return
        except OSError as exc:
            logger.warning(
                "no rotation lock in %s (%s): this process rotates on its own",
                self.directory,
                exc.strerror or exc,
            )
            yield None
            return
        try:
            yield True
        finally:
            lock.release()

    def write(
        self,
        cookies: Iterable[Cookie],
        generation: int,
        rotated_at: float,
        domains: tuple[str, ...],
    ) -> bool:
        """Write ``cookies`` as ``generation`` unless the file already holds that generation or newer.

        Called with the lock held, so the check and the write are one step for
        every process that follows the protocol.
        """
        current = self.read().generation
        if current >= generation:
            logger.debug("cookie cache already at generation %d; not writing %d", current, generation)
            return False
        written = cache.save_cookies(
            cookies,
            self._psid,
            directory=self.directory,
            domains=domains,
            generation=generation,
            rotated_at=rotated_at,
        )
        return written is not None

    def write_entries(self, entries: list[dict[str, Any]], generation: int) -> bool:
        """Write cache entries another host published (as ``generation``), unless the file is as new.

        Call it holding the lock, like :meth:`write`.
        """
        if self.read().generation >= generation:
            return False
        return cache.save_entries(entries, self._psid, directory=self.directory) is not None
