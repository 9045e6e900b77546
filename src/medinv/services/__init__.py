"""Use cases that combine the domain with the ledger and the stores.

The domain packages ([`medinv.allocation`][medinv.allocation],
[`medinv.stocktake`][medinv.stocktake]) decide; the services here carry their
decisions out through a [`Ledger`][medinv.ledger.Ledger] and a store:

- picking: turn an allocation [`Plan`][medinv.allocation.Plan] into movements
  and post them as one batch, refusing a stale plan, and keep a
  [`FefoIndex`][medinv.allocation.FefoIndex] in step with the ledger;
- lot status: hold, release, quarantine or recall a lot or serial wherever it
  is, as one atomic batch with deterministic movement ids
  ([`change_status`][medinv.services.change_status]);
- stocktaking: run a stocktake from planning to posted adjustments over a
  stocktake store and the ledger
  ([`StocktakeService`][medinv.services.StocktakeService]);
- stock totals: positions summed per product, lot, location and status
  ([`position_totals`][medinv.services.position_totals]).

Arrows point one way: services import the domain, the ports and the ledger;
nothing below them imports a service.
"""

from __future__ import annotations

from medinv.services.lot_status import (
    StatusChangeResult,
    StatusMove,
    StatusOptions,
    StockTarget,
    change_status,
    hold,
    quarantine,
    recall,
    release,
)
from medinv.services.picking import (
    PostingOptions,
    allocate_and_post,
    index_from_ledger,
    plan_movements,
    post_plan,
    sync_index,
)
from medinv.services.stock_totals import PositionTotal, position_totals, sum_positions
from medinv.services.stocktaking import BookAtStart, StocktakeService

__all__ = [
    "BookAtStart",
    "PostingOptions",
    "StatusChangeResult",
    "StatusMove",
    "StatusOptions",
    "StockTarget",
    "StocktakeService",
    "allocate_and_post",
    "change_status",
    "hold",
    "index_from_ledger",
    "plan_movements",
    "post_plan",
    "quarantine",
    "recall",
    "release",
    "sync_index",
]

__all__ += ["PositionTotal", "position_totals", "sum_positions"]
