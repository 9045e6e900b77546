"""Demo section: a blind, time-aware stocktake with a recount and four-eyes approval."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.errors import ApprovalRefusedError, FourEyesError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.services import StocktakeService
from medinv.status import StockStatus
from medinv.stocktake import CountLine, StocktakeScope, Tolerance, TolerancePolicy

if TYPE_CHECKING:  # the demo module imports this one to list it in its SECTIONS
    from medinv.cli._demo import DemoContext

__all__ = ["stocktake"]


def stocktake(out: TextIO, ctx: DemoContext) -> None:
    """A blind stocktake while stock moves, a recount, four eyes, adjustments posted."""
    out.write("\n== Stocktake: blind, time-aware, recounted, approved by a second person ==\n")
    day = ctx.today

    def t(hour: int, minute: int = 0) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=ctx.tz)

    now = [t(7)]
    with SqliteStore(ctx.db_path) as sqlite_store:
        out.write(f"  ledger and stocktakes in one file: {ctx.db_path.name}\n")
        ledger = Ledger(sqlite_store, clock=lambda: now[0])
        service = StocktakeService(ledger, sqlite_store.stocktakes)
        gloves = ItemKey("04006381333931", lot="L2026A")
        a1, a2 = Location.parse("CHU-Nord/Store/A1"), Location.parse("CHU-Nord/Store/A2")
        ledger.post(
            Movement.receipt(
                f"DN-7/{line}",
                item=gloves,
                quantity=quantity,
                to=place,
                occurred_at=t(7),
                actor="dock",
                expiry=expiry,
                reference="DN-7",
            )
            for line, quantity, place, expiry in ((1, 40, a1, "2027-06-30"), (2, 10, a2, None))
        )
        service.plan(
            "ST-1",
            scope=StocktakeScope(["CHU-Nord/Store"]),
            created_by="lea",
            at=t(8),
            tolerances=TolerancePolicy(Tolerance(absolute=1, percent=5)),
        )
        begun = service.begin("ST-1", at=t(9))
        out.write(f"  ST-1 planned by lea, counting from ledger position {begun.start_position}\n")
        view = service.view("ST-1", counter="ana")
        shown = "hidden (blind count)" if view.book is None else f"{dict(view.book)}"
        out.write(f"  ana's scanner shows the scope {view.scope.locations[0]}; book: {shown}\n")

        now[0] = t(10, 1)
        ledger.post(
            [
                Movement.issue(
                    "ISS-88",
                    item=gloves,
                    quantity=5,
                    source=a1,
                    occurred_at=t(10),
                    actor="ward-3",
                    reference="REQ-88",
                )
            ]
        )
        out.write("  10:00 ward 3 takes 5 boxes from A1 while the count is on\n")
        label = "]d2010400638133393117270630" + "10L2026A"  # what ana's scanner reads
        service.scan(
            "ST-1",
            label,
            line_id="ana-1",
            counter="ana",
            device="scanner-1",
            counted_at=t(10, 30),
            location=a1,
            quantity=35,
        )
        service.import_csv(
            "ST-1",
            "location,gtin,lot,quantity\nCHU-Nord/Store/A2,04006381333931,L2026A,7\n",
            counter="ben",
            device="tablet-2",
            counted_at=t(10, 40),
        )
        service.close_counting("ST-1", at=t(12))
        out.write(
            "  10:30 ana scans the A1 label, keys in 35; 10:40 ben counts 7 at A2 (CSV file)\n"
        )
        for v in service.report("ST-1").entries:
            flag = "  -> recount by another counter" if v.requires_recount else ""
            out.write(
                f"  review: {v.location} expected {v.expected} counted {v.counted} "
                f"{v.kind.value}{flag}\n"
            )
        try:
            service.approve("ST-1", approver="max", at=t(12, 5), default_reason="COUNT")
        except ApprovalRefusedError as e:
            out.write(f"  approval refused: {e}\n")

        lines = service.store.lines("ST-1")
        service.add_lines(
            "ST-1",
            [
                CountLine(
                    id="cyd-1",
                    counter="cyd",
                    device="scanner-3",
                    counted_at=t(12, 20),
                    location=a2,
                    item=gloves,
                    quantity=8,
                    recount_of=lines[-1].id,
                )
            ],
        )
        v = service.report("ST-1").entry(gloves, a2, StockStatus.AVAILABLE)
        out.write(
            f"  12:20 cyd recounts A2: {v.counted} (expected {v.expected}, "
            f"{v.kind.value} {v.difference:+d}, confirmed by a second counter)\n"
        )
        try:
            service.approve("ST-1", approver="Cyd ", at=t(13), default_reason="LOSS")
        except FourEyesError as e:
            out.write(f"  approval refused: {e}\n")
        approved = service.approve(
            "ST-1", approver="max", at=t(13), reasons={v.key: "DAMAGED-DISCARDED"}
        )
        out.write(f"  approved by {approved.approved_by} (supervisor, counted nothing)\n")

        now[0] = t(14)
        posted = service.post("ST-1", at=t(14))
        for recorded in posted.new:
            m = recorded.movement
            out.write(
                f"  posted {m.kind.value} {m.id} at position {recorded.position}: "
                f"{m.deltas()[0][2]:+d} at {m.from_location or m.to_location} "
                f"reason {m.reason} reference {m.reference}\n"
            )
        again = service.post("ST-1", at=t(15))
        out.write(
            f"  posting again: {len(again.new)} new movements ({len(again.replayed)} replayed)\n"
        )
        out.write(
            f"  book now: A1 {ledger.balance(gloves, location=a1)}, "
            f"A2 {ledger.balance(gloves, location=a2)}; verify ok: {ledger.verify().ok}\n"
        )
