"""Account, history and usage results: gems, chats and their turns, the model catalogue, quotas.

Split from :mod:`gemini_sync.types` so that constructing a client and streaming
do not pay for defining them (about 0.25 ms a dataclass at start-up); they are
imported on first use: by ``client.list_models()``, ``client.read_chat()``,
``client.usage()`` and the like, or by ``gemini_sync.types.X`` and
``from gemini_sync import X``, which forward here. Serialised like every result
type (see ``_json.py``); the field types name classes this module imports at
run time, because dataclasses-json resolves them in the defining module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from .._exports import publish
from .._json import JsonMixin, codec
from ..models import Model, model_header_value
from .output import Candidate

__all__ = [
    "Quota",
    "Gem",
    "GemLike",
    "ChatInfo",
    "ChatTurn",
    "CatalogEntry",
    "ModelInfo",
    "AccountInfo",
]


@dataclass
class Quota(JsonMixin):
    """One usage bucket of the account (``client.usage()``).

    ``name`` is the model or feature the bucket counts (``"pro"``, ``"flash"``,
    ``"extended thinking"``, ...; see :func:`gemini_sync.protocol.rpcs.parse_quotas`
    for which names are guesses); ``key`` is the service's own ``[group, action]``
    pair. ``used_percent`` is 0-100; ``remaining`` and ``total`` count answers;
    ``resets_at`` is when the bucket refills, in Unix seconds. Any of them is
    ``None`` when the service did not say.
    """

    name: str
    key: list[int] = field(default_factory=list)
    used_percent: float | None = None
    remaining: int | None = None
    total: int | None = None
    resets_at: float | None = None

    @property
    def exhausted(self) -> bool:
        """True when nothing is left (``remaining == 0`` or 100% used)."""
        return self.remaining == 0 or (self.used_percent is not None and self.used_percent >= 100)


@dataclass
class Gem(JsonMixin):
    """A gem: a saved system prompt, built in (``predefined``) or the user's own."""

    id: str
    name: str = ""
    description: str = ""
    prompt: str = ""
    predefined: bool = False


@dataclass
class ChatInfo(JsonMixin):
    """A conversation in the account's history."""

    cid: str
    title: str = ""
    pinned: bool = False
    timestamp: float | None = None


GemLike = Union[str, Gem]
"""A gem given as a :class:`Gem` or by its id."""


@dataclass
class ChatTurn(JsonMixin):
    """One turn read back from the history (``client.read_chat``): the prompt and the reply candidates.

    ``done`` is ``False`` while the service is still producing the answer.
    """

    rid: str
    prompt: str
    candidates: list[Candidate] = field(default_factory=list)
    done: bool = True

    @property
    def text(self) -> str:
        """The first candidate's text (empty when there is none)."""
        return self.candidates[0].text if self.candidates else ""


def _encode_models(models: list[Model]) -> list[dict[str, Any]]:
    return [
        {"model_name": m.model_name, "header_value": m.header_value, "paid": m.paid, "thinking": m.thinking}
        for m in models
    ]


def _decode_models(items: list[Any]) -> list[Model]:
    return [
        Model(
            i["model_name"], i.get("header_value"), paid=bool(i.get("paid")), thinking=bool(i.get("thinking"))
        )
        if isinstance(i, dict)
        else i
        for i in items
    ]


@dataclass(frozen=True)
class CatalogEntry(JsonMixin):
    """One model of the account's catalogue (``otAQ7b``, docs/protocol.md 3.2).

    ``version`` is the display version (e.g. ``"3.5 Flash-Lite"``, the name the
    service reports as the served model), ``number`` the model number (1 Flash,
    3 Pro, 6 Flash-Lite) that goes into the model header.
    """

    model_id: str
    name: str
    description: str = ""
    version: str | None = None
    number: int | None = None
    thinking_levels: tuple[str, ...] | None = None  # None: the catalogue does not say


@dataclass(frozen=True)
class ModelInfo(JsonMixin):
    """A model the account offers, as :meth:`GeminiClient.list_models` lists it; pass it as ``model=``.

    ``display_version`` is the name the web app shows and the service reports
    as the served model (``"3.1 Pro"``), ``number`` the model number (1 Flash,
    3 Pro, 6 Flash-Lite), ``tier`` the account's tier (1 free, 2 Pro, 4 Plus)
    and ``thinking_levels`` the levels ``thinking=`` may ask of it, or ``None``
    when the catalogue does not say (docs/protocol.md 3.6).
    """

    id: str
    name: str
    display_version: str | None = None
    number: int | None = None
    tier: int = 1
    thinking_levels: tuple[str, ...] | None = None
    description: str = ""
    tier_field: int = 12

    @property
    def model_id(self) -> str:
        """The same as ``id``, spelt as on :class:`Model` and :class:`CatalogEntry`."""
        return self.id

    @property
    def label(self) -> str:
        """The name to show: the display version, else the catalogue's name."""
        return self.display_version or self.name

    def as_model(self) -> Model:
        """This model as a :class:`Model` whose header carries the account's tier and the model number."""
        header = model_header_value(self.id, self.tier, capacity_field=self.tier_field, number=self.number)
        return Model.custom(self.label, header)


@dataclass
class AccountInfo(JsonMixin):
    """The account's status code (1000 = available, docs/protocol.md 6.1), the models it offers and its tier.

    ``catalogue`` is what the service lists; ``models`` the same as
    :class:`~gemini_sync.models.Model` values carrying the account's header;
    ``tier`` is the account's tier (1 free, 2 Pro, 4 Plus) and ``tier_field``
    the header slot it goes to (12, or 13 on some accounts).
    """

    status: int | None = None
    models: list[Model] = field(
        default_factory=list, metadata=codec(encoder=_encode_models, decoder=_decode_models)
    )
    catalogue: list[CatalogEntry] = field(default_factory=list)
    tier: int = 1
    tier_field: int = 12


publish(globals())
