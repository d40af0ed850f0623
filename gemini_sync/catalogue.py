"""The account's model catalogue, and models resolved through it (docs/protocol.md 3.2).

The service lists the models an account may use, with the account's tier, in
``otAQ7b``; the model header must carry that tier and the model's number, or
the account silently gets a lesser model. :class:`Catalogue` remembers the
last list read (by :meth:`GeminiClient.account_info`, :meth:`list_models`,
or after the service rejected a model id with 1052) and rewrites a
:class:`~gemini_sync.models.Model` whose id it lists into this account's
header, keeping the model's thinking level. A model it does not list keeps its
own (last known) header. Until a list was read, every model keeps its header:
no request is added in front of a prompt.
"""

from __future__ import annotations

import threading

from .models import STANDARD, Model, header_level, model_header_value
from .types import AccountInfo, CatalogEntry

__all__ = ["Catalogue"]


class Catalogue:
    """The account's models as last listed; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._info: AccountInfo | None = None

    @property
    def info(self) -> AccountInfo | None:
        """The last account listing, or ``None`` before one was read."""
        return self._info

    def update(self, info: AccountInfo) -> None:
        """Remember a fresh listing."""
        with self._lock:
            self._info = info

    def entry(self, model_id: str | None) -> CatalogEntry | None:
        """The listed entry of ``model_id``, if the account lists it."""
        info = self._info
        if info is None or not model_id:
            return None
        return next((e for e in info.catalogue if e.model_id == model_id), None)

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
