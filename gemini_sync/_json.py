"""JSON support of the result types, with dataclasses-json imported on first use.

The result dataclasses (:mod:`gemini_sync.types`) derive from :class:`JsonMixin`
instead of ``dataclasses_json.DataClassJsonMixin``: the methods and their
signatures are the same, and each one hands over to dataclasses-json's own, so
output and round trips are identical. Only the import moves: dataclasses-json
(with marshmallow and typing_inspect) costs a third of ``import gemini_sync``
and a client streaming answers never needs it. :func:`codec` builds the
field metadata ``dataclasses_json.config(encoder=..., decoder=...)`` builds,
without importing it when the class is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["JsonMixin", "codec"]

_J = TypeVar("_J", bound="JsonMixin")
_CONFIG_KEY = "dataclasses_json"  # the metadata key dataclasses-json reads a field's settings from


def codec(
    *, encoder: Callable[[Any], Any] | None = None, decoder: Callable[[Any], Any] | None = None
) -> dict[str, dict[str, Callable[[Any], Any]]]:
    """Field metadata giving a field its own encoder and/or decoder (``field(metadata=codec(...))``)."""
    settings: dict[str, Callable[[Any], Any]] = {}
    if encoder is not None:
        settings["encoder"] = encoder
    if decoder is not None:
        settings["decoder"] = decoder
    return {_CONFIG_KEY: settings}


def _mixin() -> Any:
    """dataclasses-json's mixin, whose methods do the work; imported on the first call.

    :class:`JsonMixin` is registered as its virtual subclass, so
    ``isinstance(result, DataClassJsonMixin)`` still holds once it is loaded.
    """
    from dataclasses_json import DataClassJsonMixin

    from ._exports import resolve_annotations

    resolve_annotations()  # a class defined since the last call, e.g. on first use of the account types
    if not issubclass(JsonMixin, DataClassJsonMixin):
        DataClassJsonMixin.register(JsonMixin)
    return DataClassJsonMixin


class JsonMixin:
    """``to_dict``/``to_json``/``from_dict``/``from_json`` for a dataclass (as dataclasses-json's)."""

    __slots__ = ()

    def to_dict(self, encode_json: bool = False) -> dict[str, Any]:
        """The fields as a dict of JSON-ready values (nested results become dicts)."""
        result: dict[str, Any] = _mixin().to_dict(self, encode_json=encode_json)
        return result

    def to_json(
        self,
        *,
        skipkeys: bool = False,
        ensure_ascii: bool = True,
        check_circular: bool = True,
        allow_nan: bool = True,
        indent: int | str | None = None,
        separators: tuple[str, str] | None = None,
        default: Callable[[Any], Any] | None = None,
        sort_keys: bool = False,
        **kw: Any,
    ) -> str:
        """``to_dict()`` as a JSON string; the keywords are :func:`json.dumps`'s."""
        text: str = _mixin().to_json(
            self,
            skipkeys=skipkeys,
            ensure_ascii=ensure_ascii,
            check_circular=check_circular,
            allow_nan=allow_nan,
            indent=indent,
            separators=separators,
            default=default,
            sort_keys=sort_keys,
            **kw,
        )
        return text

    @classmethod
    def from_dict(cls: type[_J], kvs: dict[str, Any], *, infer_missing: bool = False) -> _J:
        """Rebuild an instance (and its nested results) from ``to_dict()`` output."""
        result: _J = _mixin().from_dict.__func__(cls, kvs, infer_missing=infer_missing)
        return result

    @classmethod
    def from_json(
        cls: type[_J],
        s: str | bytes | bytearray,
        *,
        parse_float: Callable[[str], Any] | None = None,
        parse_int: Callable[[str], Any] | None = None,
        parse_constant: Callable[[str], Any] | None = None,
        infer_missing: bool = False,
        **kw: Any,
    ) -> _J:
        """Rebuild an instance from ``to_json()`` output; the keywords are :func:`json.loads`'s."""
        result: _J = _mixin().from_json.__func__(
            cls,
            s,
            parse_float=parse_float,
            parse_int=parse_int,
            parse_constant=parse_constant,
            infer_missing=infer_missing,
            **kw,
        )
        return result
