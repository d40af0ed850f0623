"""Result values: what the client's calls return (no protocol, transport or client code here).

* :mod:`.output`: a turn's results (``StreamChunk``, ``ModelOutput``,
  ``Candidate``, ``Status``, ``Citation``, ``ChatIds``);
* :mod:`.images`, :mod:`.media`: images, generated video and music (frozen
  values; their downloader is kept apart; media defined on first use);
* :mod:`.account`, :mod:`.research`: the account, history, usage and Deep
  Research results, imported on first use (a streaming client never needs them).

Every name is also importable from ``gemini_sync`` itself, the documented place.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = (
    "images",
    "output",
    "media",
    "ids",
    "account",
    "research",
    "status",
)  # defined on first use: see the module docstring


def __getattr__(name: str) -> Any:
    """``types.ModelOutput``: import the submodule that defines it on first use (``__all__``: all of them)."""
    if name == "__all__":
        names = [n for module in _MODULES for n in importlib.import_module(f".{module}", __name__).__all__]
        globals()["__all__"] = names
        return names
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in _MODULES:
        loaded = importlib.import_module(f".{module}", __name__)
        if name in loaded.__all__:
            value = getattr(loaded, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
