"""The cookie cache: rotated cookies kept on disk between runs.

Location: the directory named by ``GEMINI_COOKIE_PATH``, else the per-user
cache directory (``$XDG_CACHE_HOME/gemini_sync`` or ``~/.cache/gemini_sync``;
``%LOCALAPPDATA%\\gemini_sync`` on Windows). The directory is created 0700 and
each file written 0600 through an atomic replace, so a reader never sees half
a file. File names carry a hash of the ``__Secure-1PSID`` value, never the
value itself. The format is upstream's: a JSON array of
``{name, value, domain, path, expires}``; expired entries are dropped on load.
Each entry also carries the ``generation`` of the write (how many rotations
of this account the processes sharing the cache have done) and ``rotated_at``
(when that rotation happened): :mod:`.rotation` orders writes by generation,
never by file times. Readers that do not know these keys ignore them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from typing import Any

from .. import _constants as C
from .._log import logger

__all__ = [
    "CacheState",
    "cache_dir",
    "cache_file",
    "load_cookies",
    "load_state",
    "load_entries",
    "cookie_entries",
    "save_cookies",
    "save_entries",
    "newest_cache",
    "cache_age",
]

_PREFIX = ".cached_cookies_"


def cache_dir(environ: Mapping[str, str] | None = None) -> pathlib.Path:
    """Where cookie caches live (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(C.ENV_COOKIE_PATH):
        return pathlib.Path(env[C.ENV_COOKIE_PATH])
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return pathlib.Path(env["LOCALAPPDATA"]) / "gemini_sync"
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "gemini_sync"


def cache_file(psid: str, directory: pathlib.Path | None = None) -> pathlib.Path:
    """The cache file of the account whose ``__Secure-1PSID`` is ``psid``."""
    digest = hashlib.sha256(psid.encode()).hexdigest()[:24]
    return (directory or cache_dir()) / f"{_PREFIX}{digest}.json"


def _keep(cookie: Mapping[str, Any], now: float, domains: tuple[str, ...]) -> bool:
    domain = str(cookie.get("domain") or "").lstrip(".")
    if not any(domain == d or domain.endswith("." + d) for d in domains):
        return False
    expires = cookie.get("expires")
    if expires is not None and float(expires) <= now:
        return False
    return cookie.get("name") in (C.PSID, C.PSIDTS) or expires is not None


@dataclass(frozen=True)
class CacheState:
    """What a cache file holds: the cookies, the generation of the write and when it rotated."""

    cookies: dict[str, str] = field(default_factory=dict)
    generation: int = 0
    rotated_at: float | None = None

    def __repr__(self) -> str:
        return f"CacheState(generation={self.generation}, names={sorted(self.cookies)})"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def load_state(path: pathlib.Path, *, now: float | None = None) -> CacheState:
    """The unexpired cookies of ``path`` with their generation (an empty state if unreadable).

    A file written before generations existed (or by upstream) is generation 0.
    """
    now = time.time() if now is None else now
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return CacheState()
    if not isinstance(entries, list):
        return CacheState()
    cookies: dict[str, str] = {}
    generation = 0
    rotated_at: float | None = None
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            continue
        generation = max(generation, int(_number(entry.get("generation")) or 0))
        rotated_at = _number(entry.get("rotated_at")) or rotated_at
        expires = entry.get("expires")
        if isinstance(expires, (int, float)) and expires <= now:
            continue
        cookies[str(entry.get("name"))] = entry["value"]
    return CacheState(cookies, generation, rotated_at)


def load_cookies(path: pathlib.Path, *, now: float | None = None) -> dict[str, str]:
    """Name -> value of the unexpired cookies in ``path`` (empty if unreadable)."""
    return load_state(path, now=now).cookies


def load_entries(path: pathlib.Path, *, now: float | None = None) -> list[dict[str, Any]]:
    """The unexpired entries of ``path`` as written (name, value, domain, path, expires, ...).

    What a coordinator publishes to other hosts: the cookies with their scope,
    not only their values. Empty if the file is missing or unreadable.
    """
    now = time.time() if now is None else now
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    kept: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            continue
        expires = entry.get("expires")
        if isinstance(expires, (int, float)) and expires <= now:
            continue
        kept.append(entry)
    return kept


def cookie_entries(
    cookies: Iterable[Cookie],
    domains: tuple[str, ...] = ("google.com",),
    *,
    generation: int = 0,
    rotated_at: float | None = None,
) -> list[dict[str, Any]]:
    """The cache entries of ``cookies``: those of ``domains`` that are an auth cookie or expire.

    ``generation`` and ``rotated_at`` are recorded with every entry.
    """
    now = time.time()
    entries = []
    for cookie in cookies:
        entry: dict[str, Any] = {
            "name": cookie.name,
            "value": cookie.value,
            "domain": cookie.domain,
            "path": cookie.path,
            "expires": cookie.expires,
            "generation": generation,
            "rotated_at": rotated_at,
        }
        if cookie.value is not None and _keep(entry, now, domains):
            entries.append(entry)
    return entries


def save_cookies(
    cookies: Iterable[Cookie],
    psid: str,
    *,
    directory: pathlib.Path | None = None,
    domains: tuple[str, ...] = ("google.com",),
    generation: int = 0,
    rotated_at: float | None = None,
) -> pathlib.Path | None:
    """Write the account's cookies atomically (0700 directory, 0600 file); the path, or ``None``.

    Kept: cookies of ``domains`` that are the two auth cookies or have an expiry.
    ``generation`` and ``rotated_at`` are recorded with every entry.
    """
    entries = cookie_entries(cookies, domains, generation=generation, rotated_at=rotated_at)
    return save_entries(entries, psid, directory=directory)


def save_entries(
    entries: list[dict[str, Any]], psid: str, *, directory: pathlib.Path | None = None
) -> pathlib.Path | None:
    """Write cache ``entries`` (as :func:`cookie_entries` makes them) atomically; the path, or ``None``."""
    directory = directory or cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        target = cache_file(psid, directory)
        fd, tmp = tempfile.mkstemp(prefix=".tmp", dir=directory)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # mkstemp already makes it 0600; be explicit
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        logger.warning("could not write the cookie cache in %s: %s", directory, exc.strerror or exc)
        return None
    return target


def newest_cache(directory: pathlib.Path | None = None) -> pathlib.Path | None:
    """The most recently written cache file, if any."""
    directory = directory or cache_dir()
    try:
        files = [p for p in directory.glob(_PREFIX + "*.json") if p.is_file()]
    except OSError:
        return None
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def cache_age(path: pathlib.Path) -> float | None:
    """Seconds since ``path`` was written, or ``None`` if it does not exist."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return None
