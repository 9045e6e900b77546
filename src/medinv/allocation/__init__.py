"""FEFO allocation: which units to pick for a request, and why.

See [the rules](../explanation/rules.md#fefo) for what it guarantees.

An [`AllocationRequest`][medinv.allocation.AllocationRequest] asks for a quantity
of one product on a use date; a [`FefoIndex`][medinv.allocation.FefoIndex] over
the stock answers with a [`Plan`][medinv.allocation.Plan]: the picks, the
shortfall, and the candidates it skipped with their
[reason][medinv.allocation.SkipReason]. Planning never changes stock.

```pycon
>>> import pendulum
>>> from medinv import ItemKey, Location, StockPosition, StockStatus
>>> from medinv.allocation import AllocationRequest, FefoIndex
>>> store = Location.parse("H/Store")
>>> def pos(lot, expiry, status=StockStatus.AVAILABLE):
...     return StockPosition(item=ItemKey("04006381333931", lot=lot), location=store,
...                          status=status, quantity=5, expiry=pendulum.date(*expiry))
>>> index = FefoIndex.from_positions([
...     pos("TODAY", (2026, 11, 23)),
...     pos("YESTERDAY", (2026, 11, 22)),
...     pos("QUARANTINED", (2026, 11, 30), StockStatus.QUARANTINE),
...     pos("LATER", (2027, 1, 31)),
... ])
>>> plan = index.allocate(
...     AllocationRequest.of("04006381333931", 8, use_date="2026-11-23"), explain=True)
>>> [(str(p.item.lot), p.quantity) for p in plan.picks]
[('TODAY', 5), ('LATER', 3)]
>>> [(str(s.item.lot), s.reason.value) for s in plan.skipped]
[('YESTERDAY', 'EXPIRED'), ('QUARANTINED', 'NOT_AVAILABLE_STATUS')]

```
"""

from __future__ import annotations

from medinv._moved import moved_names
from medinv.allocation._index import FefoIndex, PickSequences
from medinv.allocation._order import NO_EXPIRY, OrderKey, fefo_key, fifo_key
from medinv.allocation._plan import Pick, Plan, Reservation, Skipped, SkipReason
from medinv.allocation._request import AllocationRequest, Policy

__all__ = [
    "NO_EXPIRY",
    "AllocationRequest",
    "FefoIndex",
    "OrderKey",
    "Pick",
    "PickSequences",
    "Plan",
    "Policy",
    "Reservation",
    "SkipReason",
    "Skipped",
    "fefo_key",
    "fifo_key",
]

# Moved to medinv.services (the layer that posts through the ledger).
__getattr__ = moved_names(
    "medinv.allocation",
    dict.fromkeys(
        ("allocate_and_post", "index_from_ledger", "plan_movements", "post_plan", "sync_index"),
        "medinv.services",
    )
    | {"RecordedLike": "medinv.journal:StoredMovement"},
)
