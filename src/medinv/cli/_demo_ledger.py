"""``medinv demo`` section: the movement ledger on the SQLite default file, received from scans."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import Controls, PackageLevel, Product
from medinv.errors import StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.services import ReceivedBatch, receive, receive_many
from medinv.status import StockStatus

if TYPE_CHECKING:  # the demo module imports this one to list it in its SECTIONS
    from medinv.cli._demo import DemoContext

__all__ = ["FIRST_MOVEMENT", "ledger_on_sqlite"]

FIRST_MOVEMENT = "DN-4711/1"
"""The id of the demo's first movement (how the demo knows a file it wrote)."""

GLOVES = "04006381333931"
STENT = "09501101530003"


GLOVES_BOX = "14006381333938"
"""A box of 20 gloves: scanning it books 20 eaches of ``GLOVES`` per box."""

CATALOGUE = (
    Product(
        primary_di=GLOVES,
        packages=(PackageLevel(di=GLOVES_BOX, contains=GLOVES, quantity=20),),
        name="Nitrile gloves M",
        controls=Controls(lot=True, expiry=True),
        min_shelf_life_at_receipt=30,
    ),
    Product(
        primary_di=STENT,
        name="Coronary stent 3.0 x 18",
        controls=Controls(lot=True, serial=True, expiry=True),
        implantable=True,
        min_shelf_life_at_receipt=90,
    ),
)

DELIVERY = (
    "]d201140063813339381726123110L2026-11A\x1d302",  # 2 boxes of gloves
    "(01)14006381333938(17)270228(10)L2027-02B(30)3",  # 3 boxes, human-readable form
    "]d2010950110153000317270131\x1d10ST-88\x1d21SN-000417",  # one stent, short-dated
)
"""What the goods-in scanner read for delivery DN-4711, one label per line."""


def ledger_on_sqlite(out: TextIO, ctx: DemoContext) -> None:
    """Receive a delivery from scans, move stock, refuse an over-issue, show balances, verify."""
    out.write("\n== Ledger: movements on the SQLite default file ==\n")
    morning = pendulum.datetime(ctx.today.year, ctx.today.month, ctx.today.day, 8, tz=ctx.tz)
    recorded = morning.in_timezone("UTC")
    store_a1 = Location.parse("CHU-Nord/Pharmacy/Store/A1")
    ward = Location.parse("CHU-Nord/Ward-3/Cabinet-1")
    gloves_a = ItemKey(GLOVES, lot="L2026-11A")
    stent = ItemKey(STENT, lot="ST-88", serial="SN-000417")
    with SqliteStore(ctx.db_path) as store:
        ledger = Ledger(store, clock=lambda: recorded, timezone=ctx.tz)
        out.write(f"  ledger file {ctx.db_path.name} (WAL, schema {store.schema_version})\n")
        for product in CATALOGUE:
            store.catalogue.put_product(product, valid_from=morning.subtract(years=1))
        out.write(
            f"  catalogue: gloves {GLOVES} (box {GLOVES_BOX} holds 20), stent {STENT} "
            "(lot, serial and expiry on its label; 90 days of shelf life asked at receipt)\n"
        )

        def deliver() -> ReceivedBatch:
            return receive_many(
                ledger, DELIVERY, catalogue=store.catalogue, to=store_a1, batch_id="DN-4711",
                occurred_at=morning, actor="j.martin", reference="DN-4711",
            )  # fmt: skip

        batch = deliver()
        out.writelines(
            f"    scan {scan!r:<56} -> {got.quantity:>2} x {got.item} {got.status.value}\n"
            for scan, got in zip(DELIVERY, batch.lines, strict=True)
        )
        out.write(
            f"  receive delivery DN-4711: {batch.booked} movement(s) posted, "
            f"{batch.replayed} replayed; head at position {batch.head.position}\n"
        )
        again = deliver()
        out.write(
            f"  the scanner sends DN-4711 again: {again.booked} movement(s) posted, "
            f"{again.replayed} replayed (same ids, same content)\n"
        )
        try:
            receive(
                ledger, "(01)09501101530003(17)270131(10)ST-88", catalogue=store.catalogue,
                to=store_a1, movement_id="DN-4711/4", occurred_at=morning, actor="j.martin",
            )  # fmt: skip
        except StockError as e:
            out.write(f"  a stent label read without its serial: refused: {e}\n")

        later = morning.add(hours=2)
        moves = [
            Movement.transfer(
                "TR-0815", item=gloves_a, quantity=30, source=store_a1, to=ward,
                occurred_at=later, actor="j.martin", reference="REQ-3",
            ),
            Movement.status_change(
                "QC-0417", item=stent, quantity=1, at=store_a1,
                from_status=StockStatus.QUARANTINE, to_status=StockStatus.AVAILABLE,
                occurred_at=later, actor="quality", reason="short date accepted for surgery",
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
