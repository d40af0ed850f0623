"""The sparse-field rule of the service's JSPB arrays, and safe paths into them (docs/protocol.md 5.1).

Field ``N`` of an array sits at index ``N``, or, once the array is sparse, in
the object that is its last element under the key ``str(N + 1)``. Every
reader of the protocol goes through :func:`dig` / :func:`field_of`, so each
path is read in both forms, and "out of range", ``null`` and "wrong type"
all mean "not there" instead of a crash.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dig", "field_of", "fields_of", "first_field", "with_sparse", "as_list", "string_or_none"]


def field_of(array: list[Any], n: int) -> Any:
    """Field ``n`` of a JSPB ``array``, in either form (docs/protocol.md 5.1).

    A field sits at index ``n``, or, when the array ends with an object (the
    sparse extension), under the key ``str(n + 1)`` of that object. That last
    object is never itself a field value. ``None`` when the field is absent.
    """
    size = len(array)
    if size == 0:
        return None
    last = array[-1]
    sparse = type(last) is dict
    if 0 <= n < size - sparse:
        value = array[n]
        if value is not None:
            return value
    if n < 0:
        return array[n] if -size <= n else None
    return last.get(str(n + 1)) if sparse else None


def fields_of(array: list[Any], *fields: int) -> list[Any]:
    """Several fields of one JSPB ``array`` at once: ``[field_of(array, n) for n in fields]``.

    The form is looked at once, so the dense array (the common case) costs an
    index per field. ``fields`` are non-negative.
    """
    size = len(array)
    if size and type(array[-1]) is dict:
        return [field_of(array, n) for n in fields]
    return [array[n] if n < size else None for n in fields]


def first_field(value: Any) -> Any:
    """``dig(value, 0)`` without its loop: the hot ``[text]`` / ``[status]`` reads of every frame."""
    if type(value) is not list or not value:
        return None
    first = value[0]
    if first is not None and (len(value) > 1 or type(first) is not dict):
        return first
    return field_of(value, 0)


def dig(obj: Any, *path: int | str) -> Any:
    """Follow ``path`` into nested lists/dicts; ``None`` if any step is missing.

    An integer step into a list reads that field as :func:`field_of` does, so
    every reader sees the dense and the sparse form alike. A field found at its
    index in a dense array is read inline (the hot path of every frame).
    """
    for key in path:
        if type(key) is int:
            if type(obj) is not list:
                return None
            if 0 <= key < len(obj) - 1:
                value = obj[key]
                if value is not None:
                    obj = value
                    continue
            obj = field_of(obj, key)
            if obj is None:
                return None
        elif type(obj) is not dict or key not in obj:
            return None
        else:
            obj = obj[key]
    return obj


def with_sparse(array: list[Any], fields: dict[int, Any]) -> list[Any]:
    """``array`` with ``fields`` (field number -> value) appended in the sparse form.

    The inverse of :func:`field_of` for high-numbered fields: the service sends
    ``[null, [cid, rid], {"26": token}]`` rather than 26 slots (docs/protocol.md 5.1).
    """
    if not fields:
        return array
    return [*array, {str(n + 1): value for n, value in sorted(fields.items())}]


def string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty list (for iterating odd payloads safely)."""
    return value if type(value) is list else []
