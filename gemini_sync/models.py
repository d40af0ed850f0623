"""Models and the model-selection headers (docs/protocol.md 3).

A :class:`Model` is a name plus the exact value of the
``x-goog-ext-525001261-jspb`` header that selects it. The service renames and
adds models often, so besides the known members a model can be named by
string (``Model.from_name("gemini-3-flash")``) or built from a header value
(``Model.custom(name, header_value)``) without a new release. The account's
own catalogue (``otAQ7b``, see :meth:`GeminiClient.account_info`) gives
models with the account's tier; the members here carry their last known header.

Since 2026 thinking is a level of a model, not a model of its own:
``thinking=`` on a call chooses it, and the ``*_THINKING`` members are kept as
their family's model whose default level is ``"extended"`` (an explicit
``thinking=`` wins over it).

Thinking levels and how they are encoded live here too, the one place that
knows (docs/protocol.md 3.6). The level goes to two places of a StreamGenerate
request: body slot ``inner[80]`` and slot ``[15]`` of the 17-element model
header. What is known of the encoding:

* ``"standard"`` = 1: captured in the browser's requests (certain).
* ``"extended"`` = 2: used by a client that works against the service.
* ``"deep"`` (Deep Think) = 3: **disputed**. One client's enum and another's
  header say 3; the web app offers Deep Think in its Tools menu, and a fork's
  tests send tool 20 in ``inner[49]`` instead. This release sends level 3 in
  both places and no tool: if the service turns out to want tool 20, only
  :func:`encode` and :data:`DEEP_THINK_TOOL` change.

Where the account's catalogue (``otAQ7b``) lists the levels a model offers
is not known either. The emulator lists them as level numbers at
:data:`ENTRY_LEVELS_SLOT` of a model entry (its own choice); the client reads
that slot strictly (a list of known level numbers, anything else means "not
said"), so it checks a level only when the catalogue says which ones exist.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union, cast

from ._exports import publish
from ._uuid import random_uuid

if TYPE_CHECKING:
    from .types.account import ModelInfo

__all__ = [
    "Model",
    "ModelLike",
    "model_header_value",
    "SESSION_UUID",
    "Thinking",
    "LEVELS",
    "INNER_SLOT",
    "HEADER_SLOT",
    "ENTRY_LEVELS_SLOT",
    "DEEP_THINK_TOOL",
    "check_level",
    "encode",
    "decode",
    "decode_list",
]

#: what ``thinking=`` takes (``None``: the service's default)
Thinking = Literal["standard", "extended", "deep"]
#: level name -> the number sent, in the order the web app offers them
LEVELS: dict[str, int] = {"standard": 1, "extended": 2, "deep": 3}
#: body slot of the level (``inner[80]``)
INNER_SLOT = 80
#: model header slot of the level
HEADER_SLOT = 15
#: where the emulator lists a model's levels in an ``otAQ7b`` entry (not known on the service)
ENTRY_LEVELS_SLOT = 18
#: Deep Think as a tool in ``inner[49]`` (a fork's reading; **not sent** by this release)
DEEP_THINK_TOOL = 20

_NAMES = {number: name for name, number in LEVELS.items()}


def check_level(thinking: Any) -> Union[Thinking, None]:
    """``thinking`` if it is ``None`` or a level name; ``ValueError`` naming the levels otherwise."""
    if thinking is None:
        return None
    if isinstance(thinking, str) and thinking in LEVELS:
        return cast(Thinking, thinking)
    allowed = ", ".join(repr(name) for name in LEVELS)
    raise ValueError(f"thinking must be None (the service's default) or one of {allowed}, not {thinking!r}")


def encode(thinking: str) -> int:
    """The number sent for level ``thinking`` (in ``inner[80]`` and header ``[15]``)."""
    return LEVELS[thinking]


def decode(number: Any) -> str | None:
    """The level name of a number read from a request or a header, if it is a known level."""
    return _NAMES.get(number) if type(number) is int else None


def decode_list(value: Any) -> tuple[str, ...] | None:
    """A catalogue entry's levels: a non-empty list of known level numbers, else ``None`` (not said)."""
    if not isinstance(value, list) or not value:
        return None
    names = [decode(number) for number in value]
    if any(name is None for name in names):
        return None
    return tuple(sorted({n for n in names if n is not None}, key=LEVELS.__getitem__))


MODEL_HEADER = "x-goog-ext-525001261-jspb"
_EXTRA_MODEL_HEADERS = {"x-goog-ext-73010989-jspb": "[0]", "x-goog-ext-73010990-jspb": "[0,0,0]"}
#: the UUID the browser keeps for a whole session in header slot ``[16]`` (one per process here)
SESSION_UUID = random_uuid()
_HEADER_SLOTS = 17
_NUMBER_SLOT = 14
_LEVEL_SLOT = HEADER_SLOT
_UUID_SLOT = 16
STANDARD, EXTENDED = LEVELS["standard"], LEVELS["extended"]


def model_header_value(
    model_id: str,
    capacity: int = 1,
    *,
    capacity_field: int = 12,
    number: int | None = None,
    level: int = STANDARD,
) -> str:
    """The header value that selects ``model_id`` for an account of tier ``capacity``.

    With the model ``number`` (catalogue ``[17]``) it is the browser's
    17-element form ``[1,null,null,null,id,null,null,0,[4,5,6,8],null,null,
    tier,null,null,number,level,session UUID]``; without, the shorter form of
    2025. ``capacity_field`` 13 shifts the tier one slot right (docs/protocol.md 3.3).
    """
    tail: list[object] = [capacity] if capacity_field == 12 else [None, capacity]
    if number is None:
        value: list[object] = [1, None, None, None, model_id, None, None, 0, [4], None, None, *tail]
        return json.dumps(value, separators=(",", ":"))
    value = [1, None, None, None, model_id, None, None, 0, [4, 5, 6, 8], None, None, *tail]
    value += [None] * (_HEADER_SLOTS - len(value))
    value[_NUMBER_SLOT], value[_LEVEL_SLOT], value[_UUID_SLOT] = number, level, SESSION_UUID
    return json.dumps(value, separators=(",", ":"))


def header_tier(header_value: str | None) -> int | None:
    """The account tier in a header value (slot ``[11]``, or ``[12]`` when ``[11]`` is null)."""
    try:
        value = json.loads(header_value or "null")
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    for slot in (11, 12):
        tier = value[slot] if len(value) > slot else None
        if type(tier) is int:
            return tier
    return None


def header_level(header_value: str | None) -> int | None:
    """The thinking level in a header value (slot ``[15]``), if it has one."""
    try:
        value = json.loads(header_value or "null")
    except ValueError:
        return None
    level = value[_LEVEL_SLOT] if isinstance(value, list) and len(value) > _LEVEL_SLOT else None
    return level if type(level) is int else None


class Model:
    """A model the service can be asked for. Compare and hash by name and header."""

    UNSPECIFIED: ClassVar[Model]
    G_3_PRO: ClassVar[Model]
    G_3_FLASH: ClassVar[Model]
    G_3_FLASH_THINKING: ClassVar[Model]
    G_3_PRO_PLUS: ClassVar[Model]
    G_3_FLASH_PLUS: ClassVar[Model]
    G_3_FLASH_THINKING_PLUS: ClassVar[Model]
    G_3_PRO_ADVANCED: ClassVar[Model]
    G_3_FLASH_ADVANCED: ClassVar[Model]
    G_3_FLASH_THINKING_ADVANCED: ClassVar[Model]
    G_3_0_PRO: ClassVar[Model]
    G_2_5_PRO: ClassVar[Model]
    G_2_5_FLASH: ClassVar[Model]
    G_2_0_FLASH: ClassVar[Model]
    G_2_0_FLASH_THINKING: ClassVar[Model]

    _registry: ClassVar[dict[str, Model]] = {}

    __slots__ = ("header_value", "model_name", "paid", "thinking")

    def __init__(
        self, model_name: str, header_value: str | None, *, paid: bool = False, thinking: bool = False
    ):
        if not isinstance(model_name, str) or not model_name:
            raise ValueError("a model needs a non-empty name")
        if header_value is not None:
            try:
                parsed = json.loads(header_value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"model header value for {model_name!r} is not JSON: {header_value!r}"
                ) from None
            if not isinstance(parsed, list):
                raise ValueError(f"model header value for {model_name!r} must be a JSON array")
        self.model_name = model_name
        self.header_value = header_value
        self.paid = paid
        self.thinking = thinking

    @property
    def name(self) -> str:
        """The model's name, e.g. ``"gemini-3-flash"``."""
        return self.model_name

    @property
    def model_id(self) -> str | None:
        """The service's model id inside the header, if any."""
        if self.header_value is None:
            return None
        value = json.loads(self.header_value)
        return value[4] if len(value) > 4 and isinstance(value[4], str) else None

    @property
    def default_thinking(self) -> str | None:
        """The level a ``*_THINKING`` member asks for when the call gives no ``thinking=``, else ``None``."""
        return decode(header_level(self.header_value)) if self.thinking else None

    def at_level(self, thinking: str) -> Model:
        """This model with level ``thinking`` in its header's slot ``[15]`` (a header without one is kept)."""
        if self.header_value is None:
            return self
        value = json.loads(self.header_value)
        if len(value) <= _LEVEL_SLOT or value[_LEVEL_SLOT] == encode(thinking):
            return self
        value[_LEVEL_SLOT] = encode(thinking)
        header = json.dumps(value, separators=(",", ":"))
        return Model(self.model_name, header, paid=self.paid, thinking=self.thinking)

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that select this model (none for ``UNSPECIFIED``)."""
        if self.header_value is None:
            return {}
        return {MODEL_HEADER: self.header_value, **_EXTRA_MODEL_HEADERS}

    @classmethod
    def custom(cls, name: str, header_value: str, *, thinking: bool = False) -> Model:
        """A model not known to this release, given by its exact header value."""
        return cls(name, header_value, thinking=thinking)

    @classmethod
    def known(cls) -> list[Model]:
        """Every model this release knows, current family first."""
        return list(cls._registry.values())

    @classmethod
    def from_name(cls, name: str) -> Model:
        """The known model called ``name``; ``ValueError`` listing the names otherwise."""
        key = name.strip().lower()
        model = cls._registry.get(key)
        if model is None:
            names = ", ".join(cls._registry)
            raise ValueError(
                f"unknown model {name!r}; known models: {names}. "
                "For a model this release does not know, use Model.custom(name, header_value)."
            )
        return model

    @classmethod
    def resolve(cls, model: ModelLike | None) -> Model:
        """Normalise ``model=`` into a :class:`Model` without the account's catalogue.

        Strings are this release's names only (``"gemini-3-flash"``); the
        client resolves display names, nicknames and ids through the catalogue.
        """
        if model is None:
            return cls.UNSPECIFIED
        if isinstance(model, Model):
            return model
        if isinstance(model, str):
            return cls.from_name(model)
        as_model = getattr(model, "as_model", None)  # a ModelInfo (its module is loaded on first use)
        if callable(as_model):
            chosen = as_model()
            if isinstance(chosen, Model):
                return chosen
        raise TypeError(f"model must be a Model, a ModelInfo or a model name, not {type(model).__name__}")

    @classmethod
    def by_release_name(cls, name: str) -> Model | None:
        """The member called ``name`` (``"gemini-3-pro"``, any case), if this release knows one."""
        return cls._registry.get(name.strip().lower())

    @classmethod
    def _register(cls, attr: str, model: Model) -> None:
        setattr(cls, attr, model)
        cls._registry.setdefault(model.model_name, model)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return (self.model_name, self.header_value) == (other.model_name, other.header_value)

    def __hash__(self) -> int:
        return hash((self.model_name, self.header_value))

    def __repr__(self) -> str:
        return f"Model({self.model_name!r})"

    def __str__(self) -> str:
        return self.model_name


#: what ``model=`` takes: a member, a name, nickname or id (a string), or a listed :class:`ModelInfo`
ModelLike = Union[Model, str, "ModelInfo"]

_PRO, _FLASH = 3, 1  # model numbers (catalogue [17], header [14])
_CURRENT = [
    # attr, name, model id (August 2026 lists), tier, model number, paid, thinking
    ("G_3_PRO", "gemini-3-pro", "9d8ca3786ebdfbea", 1, _PRO, False, False),
    ("G_3_FLASH", "gemini-3-flash", "fbb127bbb056c959", 1, _FLASH, False, False),
    ("G_3_FLASH_THINKING", "gemini-3-flash-thinking", "fbb127bbb056c959", 1, _FLASH, False, True),
    ("G_3_PRO_PLUS", "gemini-3-pro-plus", "e6fa609c3fa255c0", 4, _PRO, True, False),
    ("G_3_FLASH_PLUS", "gemini-3-flash-plus", "56fdd199312815e2", 4, _FLASH, True, False),
    ("G_3_FLASH_THINKING_PLUS", "gemini-3-flash-thinking-plus", "56fdd199312815e2", 4, _FLASH, True, True),
    ("G_3_PRO_ADVANCED", "gemini-3-pro-advanced", "e6fa609c3fa255c0", 2, _PRO, True, False),
    ("G_3_FLASH_ADVANCED", "gemini-3-flash-advanced", "56fdd199312815e2", 2, _FLASH, True, False),
    (
        "G_3_FLASH_THINKING_ADVANCED",
        "gemini-3-flash-thinking-advanced",
        "56fdd199312815e2",
        2,
        _FLASH,
        True,
        True,
    ),
]
_LEGACY = [
    # attr, name, exact header value, thinking
    ("G_3_0_PRO", "gemini-3.0-pro", '[1,null,null,null,"9d8ca3786ebdfbea",null,null,0,[4]]', False),
    ("G_2_5_PRO", "gemini-2.5-pro", '[1,null,null,null,"4af6c7f5da75d65d",null,null,0,[4]]', False),
    ("G_2_5_FLASH", "gemini-2.5-flash", '[1,null,null,null,"9ec249fc9ad08861",null,null,0,[4]]', False),
    ("G_2_0_FLASH", "gemini-2.0-flash", '[1,null,null,null,"f299729663a2343f"]', False),
    ("G_2_0_FLASH_THINKING", "gemini-2.0-flash-thinking", '[null,null,null,null,"7ca48d02d802f20a"]', True),
]

Model._register("UNSPECIFIED", Model("unspecified", None))
for _attr, _name, _mid, _tier, _number, _paid, _thinking in _CURRENT:
    _value = model_header_value(_mid, _tier, number=_number, level=EXTENDED if _thinking else STANDARD)
    Model._register(_attr, Model(_name, _value, paid=_paid, thinking=_thinking))
for _attr, _name, _header, _thinking in _LEGACY:
    Model._register(_attr, Model(_name, _header, thinking=_thinking))
del _attr, _name, _mid, _tier, _number, _paid, _thinking, _header, _value

publish(globals())
