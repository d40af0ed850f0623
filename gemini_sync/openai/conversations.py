"""Conversations, not replays: the store from a conversation prefix's hash to its web chat.

An OpenAI client sends the whole message list every turn. Resending that
history to the web app would make every turn a new, ever longer prompt; instead,
after each answer the app stores ``hash(namespace, prefix) -> chat metadata``,
where the prefix is the request's messages plus the answer as the client will
send it back. The next request whose list starts with a stored prefix resumes
that web chat (``client.start_chat(metadata=...)``) and sends only what is new.

The namespace keeps API keys (and models, and tool sets) apart: a hash of the
key, never the key itself, goes into the hash. The store is bounded (least
recently used entries go first, and entries unused for ``ttl`` seconds
expire) and pluggable through :class:`ConversationStore`:
:class:`MemoryStore` (the default, one process) or :class:`SqliteStore`
(standard library ``sqlite3`` in WAL mode, shared by worker processes).
"""

from __future__ import annotations

import collections
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["ConversationStore", "MemoryStore", "SqliteStore", "prefix_hashes", "chain_hash"]

_DEFAULT_ENTRIES = 10_000
_DEFAULT_TTL = 7 * 24 * 3600.0
_BUSY_TIMEOUT_MS = 5000
_PRUNE_EVERY = 64


@runtime_checkable
class ConversationStore(Protocol):
    """Where the app keeps ``prefix hash -> web chat metadata``; safe to call from many threads."""

    def get(self, key: str) -> list[Any] | None:
        """The metadata stored under ``key`` (marking it used), or ``None``."""

    def put(self, key: str, metadata: Sequence[Any]) -> None:
        """Store ``metadata`` under ``key`` (replacing any); the least recently used go beyond the bound."""


def chain_hash(previous: str, item: Any) -> str:
    """The key of a prefix one item longer than the prefix whose key is ``previous``."""
    digest = hashlib.sha256(previous.encode("ascii"))
    digest.update(json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    return digest.hexdigest()


def prefix_hashes(namespace: str, items: Sequence[Any]) -> list[str]:
    """The keys of every prefix of ``items``: ``result[k]`` stands for ``items[:k + 1]``.

    A hash chain (each key hashes the previous key and one item's canonical
    JSON), so the keys of all prefixes of a long conversation cost one pass.
    """
    keys: list[str] = []
    previous = hashlib.sha256(namespace.encode("utf-8")).hexdigest()
    for item in items:
        previous = chain_hash(previous, item)
        keys.append(previous)
    return keys


class MemoryStore:
    """An in-process LRU of at most ``max_entries`` entries, each kept ``ttl`` seconds after its last use."""

    def __init__(
        self,
        max_entries: int = _DEFAULT_ENTRIES,
        ttl: float = _DEFAULT_TTL,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("max_entries must be >= 1 and ttl > 0")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[str, tuple[float, list[Any]]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> list[Any] | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now - entry[0] > self.ttl:
                del self._entries[key]
                return None
            self._entries[key] = (now, entry[1])
            self._entries.move_to_end(key)
            return list(entry[1])

    def put(self, key: str, metadata: Sequence[Any]) -> None:
        now = self._clock()
        with self._lock:
            self._entries[key] = (now, list(metadata))
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            while self._entries:  # the oldest first: stop at the first one still fresh
                oldest_key, (used, _meta) = next(iter(self._entries.items()))
                if now - used <= self.ttl:
                    break
                del self._entries[oldest_key]


class SqliteStore:
    """A store in an SQLite file (WAL journal), shared safely by threads and worker processes.

    Each thread has its own connection; writers wait up to 5 s for one another
    (``busy_timeout``). Expired and surplus entries are pruned every few writes.
    """

    def __init__(
        self,
        path: str,
        max_entries: int = _DEFAULT_ENTRIES,
        ttl: float = _DEFAULT_TTL,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("max_entries must be >= 1 and ttl > 0")
        self.path = str(path)
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._local = threading.local()
        self._writes = 0
        with self._connection() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS conversations "
                "(key TEXT PRIMARY KEY, metadata TEXT NOT NULL, used REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS conversations_used ON conversations (used)")

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (the others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def __len__(self) -> int:
        (count,) = self._connection().execute("SELECT COUNT(*) FROM conversations").fetchone()
        return int(count)

    def get(self, key: str) -> list[Any] | None:
        now = self._clock()
        db = self._connection()
        row = db.execute("SELECT metadata, used FROM conversations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if now - row[1] > self.ttl:
            db.execute("DELETE FROM conversations WHERE key = ?", (key,))
            return None
        db.execute("UPDATE conversations SET used = ? WHERE key = ?", (now, key))
        value = json.loads(row[0])
        return value if isinstance(value, list) else None

    def put(self, key: str, metadata: Sequence[Any]) -> None:
        now = self._clock()
        db = self._connection()
        db.execute(
            "INSERT OR REPLACE INTO conversations (key, metadata, used) VALUES (?, ?, ?)",
            (key, json.dumps(list(metadata)), now),
        )
        self._writes += 1
        if self._writes % _PRUNE_EVERY == 1 or self.max_entries < _PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        """Drop expired entries, then the least recently used beyond ``max_entries``."""
        db = self._connection()
        db.execute("DELETE FROM conversations WHERE used < ?", (self._clock() - self.ttl,))
        db.execute(
            "DELETE FROM conversations WHERE key IN (SELECT key FROM conversations "
            "ORDER BY used DESC LIMIT -1 OFFSET ?)",
            (self.max_entries,),
        )
