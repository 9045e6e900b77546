"""Recall campaigns: open, quarantine, land arrivals RECALLED, notify, reconcile, close.

A [`RecallCampaign`][medinv.recall.RecallCampaign] recalls a
[`RecallScope`][medinv.recall.RecallScope] (lots of a device, serials, or a
production-date range) with a class (I, II, III) and a depth (wholesale, retail,
user). It is kept, with the notifications and responses recorded against it and
its closing, in the store's [`RecallStore`][medinv.recall.RecallStore]
(``store.recalls``), append-only.

- [`open_campaign`][medinv.recall.open_campaign] records it; from its opening,
  receipts through [`receive`][medinv.services.receive] and arrivals passed
  through [`land_recalled`][medinv.recall.land_recalled] land ``RECALLED``;
- [`quarantine`][medinv.recall.quarantine] moves all remaining stock of the scope
  into ``RECALLED`` in one call (deterministic ids: a re-run adds nothing);
- [`affected_parties`][medinv.recall.affected_parties] lists who and where the
  stock reached (patients by pseudonym only);
- [`reconcile`][medinv.recall.reconcile] folds each lot's movements and the
  parties' responses ([`reconcile_lot`][medinv.recall.reconcile_lot], pure) into
  received, on hand, consumed, distributed, returned, scrapped and **unaccounted**;
- [`close_campaign`][medinv.recall.close_campaign] closes it: with units
  unaccounted, only with a reason signed by someone other than the opener.

```pycon
>>> from medinv import ItemKey, Ledger, Location, Movement
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.recall import RecallScope, open_campaign, quarantine, reconcile
>>> store = MemoryStore()
>>> ledger = Ledger(store)
>>> lot = ItemKey("04006381333931", lot="L7")
>>> _ = ledger.post([Movement.receipt("r1", item=lot, quantity=10, to=Location.parse("CHU/Store"),
...                                   occurred_at="2026-11-23T09:00:00+01:00", actor="dock")])
>>> _ = open_campaign(store.recalls, "FSCA-7", scope=RecallScope.of_lots(lot.device, ["L7"]),
...                   recall_class="II", depth="user", opened_at="2026-11-24T08:00:00+01:00",
...                   opened_by="qa", reason="seal defect")
>>> quarantine(ledger, store.recalls, "FSCA-7", actor="qa",
...            occurred_at="2026-11-24T08:05:00+01:00").quantity
10
>>> (lot_figures,) = reconcile(ledger, store.recalls, "FSCA-7").lots
>>> lot_figures.on_hand, lot_figures.unaccounted
(((<StockStatus.RECALLED: 'RECALLED'>, 10),), 0)

```
"""

from __future__ import annotations

from medinv.recall._campaign import (
    Exposure,
    QuarantineResult,
    Reconciliation,
    affected_parties,
    close_campaign,
    land_recalled,
    open_campaign,
    quarantine,
    reconcile,
)
from medinv.recall._model import (
    CampaignRecord,
    Closing,
    Notification,
    RecallCampaign,
    RecallClass,
    RecallDepth,
    RecallScope,
    Response,
)
from medinv.recall._port import RecallStore
from medinv.recall._reconcile import (
    NO_PATIENT,
    UNKNOWN_PARTY,
    LotReconciliation,
    lot_of,
    reconcile_lot,
)

__all__ = [
    "NO_PATIENT",
    "UNKNOWN_PARTY",
    "CampaignRecord",
    "Closing",
    "Exposure",
    "LotReconciliation",
    "Notification",
    "QuarantineResult",
    "RecallCampaign",
    "RecallClass",
    "RecallDepth",
    "RecallScope",
    "RecallStore",
    "Reconciliation",
    "Response",
    "affected_parties",
    "close_campaign",
    "land_recalled",
    "lot_of",
    "open_campaign",
    "quarantine",
    "reconcile",
    "reconcile_lot",
]
