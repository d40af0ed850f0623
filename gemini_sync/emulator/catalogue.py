"""The emulated account's model catalogue: the model list of August 2026 (docs/protocol.md 3.2).

Ids and display versions are those seen in the service's model lists of
August 2026; the short names and descriptions are the emulator's own. The
model numbers follow the header's ``[14]`` (1 Flash, 3 Pro, 6 Flash-Lite).
Without a model header the service picks its default, reported as
:data:`DEFAULT_SERVED`.

The thinking levels each model offers are the emulator's reading (the
service's lists are not known to say): Pro offers all three (Deep Think was
seen with Pro only), Flash standard and extended, Flash-Lite standard only.
They are listed in each entry (docs/protocol.md 3.6) and a request for a
level its model lacks is refused with 1052, as a model header that selects
nothing the account has (the service's own answer is not known).
"""

from __future__ import annotations

from ..types.account import CatalogEntry

__all__ = ["AUGUST_2026", "PAID_2026", "DEFAULT_SERVED", "DEFAULT_ID", "PLAN_FLAGS"]

#: what the service reports (``E[42]``) when no model was requested
DEFAULT_SERVED = "3.5 Flash-Lite"
#: its id: the first model of a signed-out visitor's list (``otAQ7b``), the only one a guest gets
DEFAULT_ID = "cf41b0e0dd7d53e5"

_ALL = ("standard", "extended", "deep")
_FLASH = ("standard", "extended")
_LITE = ("standard",)

#: the free account's catalogue
AUGUST_2026: tuple[CatalogEntry, ...] = (
    CatalogEntry("fbb127bbb056c959", "Fast", "Answers quickly", "3.6 Flash", 1, _FLASH),
    CatalogEntry("9d8ca3786ebdfbea", "Pro", "Reasons about hard problems", "3.1 Pro", 3, _ALL),
    CatalogEntry("cf41b0e0dd7d53e5", "Flash-Lite", "Lightest and fastest", "3.5 Flash-Lite", 6, _LITE),
)

#: the models only paid tiers list
PAID_2026: tuple[CatalogEntry, ...] = (
    CatalogEntry("56fdd199312815e2", "Flash", "Fast, for paid plans", "3.8 Flash", 1, _FLASH),
    CatalogEntry("e6fa609c3fa255c0", "Pro", "Pro, for paid plans", "3.1 Pro", 3, _ALL),
)

#: plan -> (tier flags ``r[16]``, capability flags ``r[17]``) that ``otAQ7b`` reports for it
PLAN_FLAGS: dict[str, tuple[list[int], list[int]]] = {"free": ([], []), "pro": ([8], []), "plus": ([], [115])}
