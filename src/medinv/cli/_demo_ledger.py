"""``medinv demo`` section: the movement ledger on the SQLite default file."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.errors import StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

if TYPE_CHECKING:  # the demo module imports this one to list it in its SECTIONS
    from medinv.cli._demo import DemoContext

__all__ = ["FIRST_MOVEMENT", "ledger_on_sqlite"]

FIRST_MOVEMENT = "DN-4711/1"
"""The id of the demo's first movement (how the demo knows a file it wrote)."""

GLOVES = "04006381333931"
STENT = "09501101530003"


def ledger_on_sqlite(out: TextIO, ctx: DemoContext) -> None:
    """Receive a delivery, move stock, refuse an over-issue, show balances, verify the file."""
    out.write("\n== Ledger: movements on the SQLite default file ==\n")
    morning = pendulum.datetime(ctx.today.year, ctx.today.month, ctx.today.day, 8, tz=ctx.tz)
    recorded = morning.in_timezone("UTC")
    store_a1 = Location.parse("CHU-Nord/Pharmacy/Store/A1")
    ward = Location.parse("CHU-Nord/Ward-3/Cabinet-1")
    gloves_a = ItemKey(GLOVES, lot="L2026-11A")
    gloves_b = ItemKey(GLOVES, lot="L2027-02B")
    stent = ItemKey(STENT, lot="ST-88", serial="SN-000417")
    with SqliteStore(ctx.db_path) as store:
        ledger = Ledger(store, clock=lambda: recorded)
        out.write(f"  ledger file {ctx.db_path.name} (WAL, schema {store.schema_version})\n")

        delivery = [
            Movement.receipt(
                FIRST_MOVEMENT, item=gloves_a, quantity=40, to=store_a1, occurred_at=morning,
                actor="j.martin", expiry="2026-12-31", reference="DN-4711",
            ),
            Movement.receipt(
                "DN-4711/2", item=gloves_b, quantity=60, to=store_a1, occurred_at=morning,
                actor="j.martin", expiry="2027-02-28", reference="DN-4711",
            ),
            Movement.receipt(
                "DN-4711/3", item=stent, quantity=1, to=store_a1, occurred_at=morning,
                actor="j.martin", expiry="2028-06-30", reference="DN-4711",
                status=StockStatus.QUARANTINE,
            ),
        ]  # fmt: skip
        result = ledger.post(delivery)
        out.write(
            f"  receive delivery DN-4711: {len(result.new)} movement(s) posted, "
            f"{len(result.replayed)} replayed; head at position {result.head.position}\n"
        )
        again = ledger.post(delivery)
        out.write(
            f"  the scanner sends DN-4711 again: {len(again.new)} movement(s) posted, "
            f"{len(again.replayed)} replayed (same ids, same content)\n"
        )
        later = morning.add(hours=2)
        moves = [
            Movement.transfer(
                "TR-0815", item=gloves_a, quantity=30, source=store_a1, to=ward,
                occurred_at=later, actor="j.martin", reference="REQ-3",
            ),
            Movement.status_change(
                "QC-0417", item=stent, quantity=1, at=store_a1,
                from_status=StockStatus.QUARANTINE, to_status=StockStatus.AVAILABLE,
                occurred_at=later, actor="quality", reason="incoming inspection passed",
            ),
        ]  # fmt: skip
        result = ledger.post(moves)
        out.write(f"  move 30 gloves to {ward} and release the stent from QUARANTINE: ")
        out.write(f"head at position {result.head.position}\n")

        over_issue = Movement.issue(
            "IS-0099", item=gloves_a, quantity=45, source=ward, occurred_at=later.add(hours=1),
            actor="nurse.b", reference="WARD-3",
        )  # fmt: skip
        try:
            ledger.post([over_issue])
        except StockError as e:
            out.write(f"  issue 45 gloves from the ward: refused: {e}\n")

        out.write("  stock positions under CHU-Nord:\n")
        out.writelines(
            f"    {p.item!s:<42} {p.location!s:<28} {p.status.value:<10} "
            f"{p.quantity:>4}  expires {p.expiry}\n"
            for p in ledger.positions(location="CHU-Nord")
        )
        gloves_everywhere = ledger.balance(gtin=GLOVES)
        in_pharmacy = ledger.balance(gtin=GLOVES, location="CHU-Nord/Pharmacy")
        out.write(
            f"  gloves ({GLOVES}): {gloves_everywhere} in all, {in_pharmacy} in the pharmacy\n"
        )
        report = ledger.verify()
        state = "clean" if report.ok else f"{len(report.findings)} findings"
        out.write(
            f"  verify(): {state} ({report.movements_checked} movements re-hashed, "
            f"{report.balances_checked} balances rebuilt)\n"
        )
