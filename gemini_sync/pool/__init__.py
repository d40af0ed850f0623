"""Many accounts, many hosts: :class:`AccountPool` and the stores of its shared state.

``from gemini_sync.pool import AccountPool, RedisState``. :class:`RedisState`
needs the ``redis`` extra (``pip install 'gemini-sync[redis]'``); it is
imported only when named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .chat import PoolChat
from .local import LocalState
from .pick import Member, NoAccountAvailable, quota_bucket
from .pool import AccountPool, MemberStatus
from .state import AccountView, MemoryState, PoolState
from .stream import PoolStream

if TYPE_CHECKING:
    from .redis_state import RedisState

__all__ = [
    "AccountPool",
    "Member",
    "MemberStatus",
    "NoAccountAvailable",
    "PoolChat",
    "PoolStream",
    "PoolState",
    "AccountView",
    "MemoryState",
    "LocalState",
    "RedisState",
    "quota_bucket",
]


def __getattr__(name: str) -> object:
    if name == "RedisState":
        from .redis_state import RedisState

        return RedisState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
