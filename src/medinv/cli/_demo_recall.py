"""Demo section: a recall from scan to reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import Controls, Product
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.recall import (
    RecallScope,
    Response,
    affected_parties,
    close_campaign,
    land_recalled,
    open_campaign,
    quarantine,
    reconcile,
)
from medinv.services import receive
from medinv.status import StockStatus

if TYPE_CHECKING:  # the demo module imports this one to list it in its SECTIONS
    from medinv.cli._demo import DemoContext

__all__ = ["recall_campaign"]

DI = "09501101530003"
CAMPAIGN = "FSCA-2026-117"


def _figures(out: TextIO, ledger: Ledger, store: SqliteStore) -> int:
    result = reconcile(ledger, store.recalls, CAMPAIGN)
    for lot in result.lots:
        on_hand = ", ".join(f"{s.value} {n}" for s, n in lot.on_hand) or "none"
        consumed = ", ".join(f"{k} {n}" for k, n in lot.consumed)
        distributed = ", ".join(f"{k} {n}" for k, n in lot.distributed)
        out.write(
            f"  {lot.item}: received {lot.received}, on hand {on_hand}; consumed {consumed}; "
            f"distributed {distributed}; returned {lot.returned}; unaccounted {lot.unaccounted}\n"
        )
    share = result.effectiveness
    shown = "n/a" if share is None else f"{float(share):.0%}"
    out.write(f"  unaccounted {result.unaccounted}, effectiveness {shown}\n")
    return result.unaccounted


def recall_campaign(out: TextIO, ctx: DemoContext) -> None:
    """Receive by scan, spread, recall: quarantine, a late receipt, returns, reconcile, close."""
    out.write("\n== Recall: from the scan to a reconciliation with nothing unaccounted ==\n")
    day = ctx.today

    def t(days: int, hour: int) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, hour, tz=ctx.tz).add(days=days)

    pharmacy, cardio = Location.parse("CHU-Nord/Pharmacy"), Location.parse("CHU-Nord/Cardio")
    lot = ItemKey(DI, lot="RC-26A")
    with SqliteStore(ctx.db_path) as store:
        ledger = Ledger(store, clock=lambda: t(0, 7))
        store.catalogue.put_product(
            Product(primary_di=DI, controls=Controls(lot=True, expiry=True)),
            valid_from=t(-30, 0),
        )
        scan = f"(01){DI}(11)261001(17)280131(10)RC-26A(30)40"
        got = receive(ledger, scan, catalogue=store.catalogue, to=pharmacy, movement_id="RC-GR-1",
                      occurred_at=t(0, 8), actor="dock")  # fmt: skip
        out.write(f"  scan {scan}\n  -> {got.quantity} x {got.item} {got.status.value}\n")
        ledger.post(
            [
                Movement.transfer("RC-T-1", item=lot, quantity=12, source=pharmacy, to=cardio,
                                  occurred_at=t(0, 9), actor="porter",
                                  counterparty="DEPARTMENT:CARDIO"),
                Movement.consumption("RC-C-1", item=lot, quantity=2, source=cardio,
                                     occurred_at=t(0, 11), actor="nurse",
                                     counterparty="PATIENT:P-48213"),
                Movement.issue("RC-I-1", item=lot, quantity=10, source=pharmacy,
                               occurred_at=t(0, 14), actor="sales",
                               counterparty="CUSTOMER:CLINIC-SUD"),
            ]
        )  # fmt: skip
        out.write("  12 to cardiology, 2 implanted in patient P-48213, 10 sold to CLINIC-SUD\n")

        open_campaign(store.recalls, CAMPAIGN, scope=RecallScope.of_lots(DI, ["RC-26A"]),
                      recall_class="II", depth="user", opened_at=t(2, 8), opened_by="qa-lead",
                      reason="sterile barrier may be breached")  # fmt: skip
        first = quarantine(ledger, store.recalls, CAMPAIGN, actor="qa-lead", occurred_at=t(2, 8))
        out.write(f"  campaign {CAMPAIGN} (class II, depth user) opened; one call quarantines:\n")
        for run in first.runs:
            out.writelines(
                f"    {m.quantity} at {m.location}: {m.from_status.value} -> RECALLED\n"
                for m in run.moved
            )
        again = quarantine(ledger, store.recalls, CAMPAIGN, actor="qa-lead", occurred_at=t(2, 9))
        out.write(f"  quarantine again: {again.quantity} unit(s) moved (nothing new)\n")
        late = receive(ledger, f"(01){DI}(17)280131(10)RC-26A(30)6", catalogue=store.catalogue,
                       to=pharmacy, movement_id="RC-GR-2", occurred_at=t(2, 10),
                       actor="dock")  # fmt: skip
        out.write(f"  a late delivery of {late.quantity} lands {late.status.value}\n")
        out.write("  affected (from the ledger):\n")
        out.writelines(
            f"    {e.kind:<10} {e.key:<22} {e.quantity:>3} unit(s) first {e.first.date()}\n"
            for e in affected_parties(ledger, store.recalls, CAMPAIGN)
        )
        _figures(out, ledger, store)
        try:
            close_campaign(ledger, store.recalls, CAMPAIGN, closed_by="qa-lead",
                           closed_at=t(3, 8), reason="clinic unreachable")  # fmt: skip
        except InvalidValueError as e:
            out.write(f"  closing now: refused: {e}\n")
        (back,) = land_recalled(
            store.recalls,
            [Movement.return_("RC-RT-1", item=lot, quantity=7, to=pharmacy, occurred_at=t(4, 10),
                              actor="dock", status=StockStatus.QUARANTINE,
                              counterparty="CUSTOMER:CLINIC-SUD")],
        )  # fmt: skip
        ledger.post([back])
        store.recalls.respond(
            CAMPAIGN,
            Response(party="CUSTOMER:CLINIC-SUD", responded_at=t(4, 12), by="qa-clerk",
                     item=lot, returned=7, destroyed=3),
        )  # fmt: skip
        landed = "?" if back.to_status is None else back.to_status.value
        out.write(f"  CLINIC-SUD returns 7 (landing {landed}), reports 3 destroyed\n")
        if _figures(out, ledger, store) == 0:
            record = close_campaign(ledger, store.recalls, CAMPAIGN, closed_by="qa-lead",
                                    closed_at=t(5, 8))  # fmt: skip
            assert record.closing is not None  # noqa: S101  (just closed)
            out.write(f"  closed by {record.closing.closed_by}: every unit accounted for\n")
