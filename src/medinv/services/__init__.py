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
- what a party received: the net quantities a patient, department or customer
  received, or that went out for a procedure or other document, read through the
  index of movements by counterparty and business reference
  ([`received`][medinv.services.received]);
- stocktaking: run a stocktake from planning to posted adjustments over a
  stocktake store and the ledger
  ([`StocktakeService`][medinv.services.StocktakeService]);
- receiving: book a scan (or a batch of scans) as a receipt through the catalogue
  ([`receive`][medinv.services.receive], [`receive_many`][medinv.services.receive_many]).
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
from medinv.services.party_receipts import PartyReceipts, ReceivedItem, ReceivedLine, received
from medinv.services.picking import (
    PostingOptions,
    allocate_and_post,
    index_from_ledger,
    pick_sequences_from,
    plan_movements,
    post_plan,
    release_reservation,
    reserve_plan,
    sync_index,
    sync_pick_sequences,
    sync_reservations,
)
from medinv.services.receiving import (
    ReceiveBatchError,
    Received,
    ReceivedBatch,
    ReceiveLineError,
    UncataloguedDeviceError,
    receive,
    receive_many,
)
from medinv.services.stock_totals import PositionTotal, position_totals, sum_positions
from medinv.services.stocktaking import BookAtStart, StocktakeService

__all__ = [
    "BookAtStart",
    "PartyReceipts",
    "PostingOptions",
    "ReceiveBatchError",
    "ReceiveLineError",
    "Received",
    "ReceivedBatch",
    "ReceivedItem",
    "ReceivedLine",
    "StatusChangeResult",
    "StatusMove",
    "StatusOptions",
    "StockTarget",
    "StocktakeService",
    "UncataloguedDeviceError",
    "allocate_and_post",
    "change_status",
    "hold",
    "index_from_ledger",
    "pick_sequences_from",
    "plan_movements",
    "post_plan",
    "quarantine",
    "recall",
    "receive",
    "receive_many",
    "received",
    "release",
    "release_reservation",
    "reserve_plan",
    "sync_index",
    "sync_pick_sequences",
    "sync_reservations",
]

__all__ += ["PositionTotal", "position_totals", "sum_positions"]
