"""The public names of ``gemini_sync``, read from the one list in ``__init__.py``.

``gemini_sync/__init__.py`` names every public object once, as explicit
re-exports under ``if TYPE_CHECKING:`` (what type checkers and IDEs read).
At run time nothing there is imported: this module reads that block (once,
on the first public name asked for) to learn where each name lives, so
``from gemini_sync import GeminiClient`` imports only what it needs and the
pytest plugin and the command line start fast (the approach of
scientific-python's lazy loading, written for this package).

:func:`publish` makes each public class and function report
``__module__ == "gemini_sync"`` (as httpx's do), so reprs, tracebacks and
pickles name the package, not the private module that defines it. Each
defining module calls it once, at its end.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import typing
from typing import Any

__all__ = ["table", "load", "publish", "resolve_annotations", "PACKAGE"]

PACKAGE = "gemini_sync"
_table: dict[str, str] | None = None


def table() -> dict[str, str]:
    """Every public name -> the module that defines it (absolute), in the order written.

    The list is one ``from .module import Name as Name`` line per name (ruff
    keeps aliased imports apart), under the first ``if TYPE_CHECKING:``.
    """
    global _table
    if _table is None:
        source = pathlib.Path(__file__).with_name("__init__.py").read_text(encoding="utf-8")
        block = source.partition("\nif TYPE_CHECKING:")[2]
        names: dict[str, str] = {}
        for line in block.splitlines()[1:]:
            if line and not line[0].isspace():
                break  # the end of the block
            words = line.split()
            if len(words) == 6 and words[0] == "from" and words[2] == "import" and words[4] == "as":
                module = words[1]
                names[words[5]] = PACKAGE if module == "." else PACKAGE + module
        if not names:  # pragma: no cover - the package is broken
            raise ImportError("gemini_sync/__init__.py has no export list")
        _table = names
    return _table


def load(name: str) -> Any:
    """The public object ``name`` (importing its module), or ``AttributeError``."""
    home = table().get(name)
    if home is None:
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
    if home == PACKAGE:  # a submodule exported as a name (``errors``)
        return importlib.import_module(f"{PACKAGE}.{name}")
    return getattr(importlib.import_module(home), name)


def publish(namespace: dict[str, Any]) -> None:
    """Give the public classes and functions defined in ``namespace`` the package as ``__module__``.

    A dataclass's field annotations are strings naming objects of its defining
    module; once ``__module__`` names the package, ``typing.get_type_hints``
    (which dataclasses-json uses) would look for them there. So each such class
    is remembered with its module's namespace, and :func:`resolve_annotations`
    (called before the first JSON conversion) resolves them there: a client
    that never serialises pays nothing for it at import.
    """
    defining = namespace["__name__"]
    for name, home in table().items():
        if home != defining:
            continue
        value = namespace.get(name)
        if not isinstance(value, type) and not callable(value):
            continue  # a type alias such as ``Timeout``
        if getattr(value, "__module__", None) != defining:
            continue
        if isinstance(value, type) and "__dataclass_fields__" in value.__dict__:
            _unresolved.append((value, namespace))
        try:
            value.__module__ = PACKAGE
        except (AttributeError, TypeError):  # pragma: no cover - a builtin-like object
            pass


_unresolved: list[tuple[type, dict[str, Any]]] = []


class _Public(dict[str, Any]):
    """Names an annotation uses that its module imports only for type checking: the public objects."""

    def __missing__(self, name: str) -> Any:
        try:
            return load(name)
        except AttributeError:
            raise KeyError(name) from None


def resolve_annotations() -> None:
    """Resolve the field annotations of every published dataclass in its defining module (once each)."""
    while _unresolved:
        cls, namespace = _unresolved.pop(0)
        own = inspect.get_annotations(cls)
        hints = typing.get_type_hints(cls, globalns=namespace, localns=_Public())
        cls.__annotations__ = {key: hints[key] for key in own}
