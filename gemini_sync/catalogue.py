"""The account's model catalogue, and models resolved through it (docs/protocol.md 3.2, 3.6).

The service lists the models an account may use, with the account's tier, in
``otAQ7b``; the model header must carry that tier and the model's number, or
the account silently gets a lesser model. :class:`Catalogue` remembers the
last list read and serves three needs:

* ``model=`` given as a display name, nickname or id (``"3.1 Pro"``,
  ``"pro"``, ``"9d8ca3786ebdfbea"``) is looked up in it: the list is fetched
  lazily, once per client, by whichever thread needs it first (the others
  wait for that one fetch). A name of this release (``"gemini-3-pro"``) and a
  :class:`~gemini_sync.models.Model` need no list.
* A :class:`~gemini_sync.models.Model` whose id it lists is sent with this
  account's header (tier, model number), keeping the model's thinking level;
  a model it does not list keeps its own (last known) header.
* A thinking level the listed model does not offer is refused at the call,
  when the list says which levels it offers.

The list is read again after the service refused a model id (1052). The
listing carries the account's status too: ``check`` (the client's) is shown
every listing handed out, and raises when the status forbids use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .models import STANDARD, Model, ModelLike, header_level, model_header_value

if TYPE_CHECKING:  # imported where built: a client that streams never needs them
    from .types.account import AccountInfo, CatalogEntry, ModelInfo

__all__ = ["Catalogue", "NICKNAMES"]

#: nickname -> model number (catalogue ``[17]``): what "pro" or "flash" means on any account
NICKNAMES: dict[str, int] = {"pro": 3, "flash": 1, "flash-lite": 6, "flash lite": 6}


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def _names(entry: CatalogEntry) -> set[str]:
    return {_key(n) for n in (entry.model_id, entry.name, entry.version or "") if n}


def _model_info(info: AccountInfo, entry: CatalogEntry) -> ModelInfo:
    from .types.account import ModelInfo

    return ModelInfo(
        entry.model_id,
        entry.name,
        entry.version,
        entry.number,
        info.tier,
        entry.thinking_levels,
        entry.description,
        info.tier_field,
    )


class Catalogue:
    """The account's models as last listed; thread-safe."""

    def __init__(self, check: Callable[[AccountInfo], None] | None = None) -> None:
        self._check = check
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()  # one fetch at a time: the others wait for its result
        self._info: AccountInfo | None = None

    @property
    def info(self) -> AccountInfo | None:
        """The last account listing, or ``None`` before one was read."""
        return self._info

    def update(self, info: AccountInfo) -> None:
        """Remember a fresh listing."""
        with self._lock:
            self._info = info

    def ensure(self, fetch: Callable[[], AccountInfo]) -> AccountInfo:
        """The listing, calling ``fetch`` only if none was read yet (once, however many threads ask).

        The account's status is checked each time (``check``): a status that
        forbids use raises here, from the remembered listing, without asking again.
        """
        info = self._info
        if info is None:
            with self._fetch_lock:
                info = self._info
                if info is None:
                    info = fetch()
                    self.update(info)
        if self._check is not None:
            self._check(info)
        return info

    def models(self) -> list[ModelInfo]:
        """The listed models as :class:`ModelInfo` (empty before a listing was read)."""
        info = self._info
        return [] if info is None else [_model_info(info, entry) for entry in info.catalogue]

    def entry(self, model_id: str | None) -> CatalogEntry | None:
        """The listed entry of ``model_id``, if the account lists it."""
        info = self._info
        if info is None or not model_id:
            return None
        return next((e for e in info.catalogue if e.model_id == model_id), None)

    def choose(self, model: ModelLike | None, fetch: Callable[[], AccountInfo]) -> Model:
        """What ``model=`` names, as a :class:`Model`; ``ValueError`` for an unknown or ambiguous name.

        A string is first a name of this release (no listing needed), then an
        id, display version, catalogue name or nickname of a listed model (the
        listing is fetched lazily for it).
        """
        if not isinstance(model, str):
            return Model.resolve(model)
        known = Model.by_release_name(model)
        if known is not None:
            return known
        if not model.strip():
            raise ValueError("model must not be an empty string")
        info = self.ensure(fetch)
        key = _key(model)
        number = NICKNAMES.get(key)
        found = [
            _model_info(info, e)
            for e in info.catalogue
            if key in _names(e) or (number is not None and e.number == number)
        ]
        if len(found) == 1:
            return found[0].as_model()
        if found:
            listed = ", ".join(f"{m.label!r} ({m.id})" for m in found)
            raise ValueError(f"model {model!r} is ambiguous on this account: {listed}; pass one of the ids")
        raise ValueError(
            f"unknown model {model!r}; {self.describe()}. Names of this release: "
            f"{', '.join(m.name for m in Model.known() if m.model_id)}"
        )

    def check_thinking(self, model: Model, thinking: str) -> None:
        """``ValueError`` when the listing says ``model`` does not offer level ``thinking``."""
        entry = self.entry(model.model_id)
        if entry is None or entry.thinking_levels is None or thinking in entry.thinking_levels:
            return
        offered = ", ".join(repr(level) for level in entry.thinking_levels)
        raise ValueError(
            f"{entry.version or entry.name} ({entry.model_id}) does not offer thinking={thinking!r}; "
            f"it offers {offered} (or thinking=None for the service's default)"
        )

    def resolve(self, model: Model) -> Model:
        """``model`` with this account's header when the catalogue lists its id, else unchanged."""
        info = self._info
        entry = self.entry(model.model_id)
        if info is None or entry is None or entry.number is None:
            return model
        level = header_level(model.header_value) or STANDARD
        header = model_header_value(
            entry.model_id, info.tier, capacity_field=info.tier_field, number=entry.number, level=level
        )
        if header == model.header_value:
            return model
        return Model(model.model_name, header, paid=model.paid, thinking=model.thinking)

    def describe(self) -> str:
        """The listed models for an error message: ``'3.6 Flash' (fbb1...), ...``."""
        info = self._info
        if info is None or not info.catalogue:
            return "the account lists no models"
        listed = ", ".join(f"{e.version or e.name!r} ({e.model_id})" for e in info.catalogue)
        return f"this account offers: {listed}"
