"""``medinv demo`` section: FEFO picks from the pharmacy to two departments."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import AllocationRequest, Plan
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services import allocate_and_post, index_from_ledger, post_plan
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.cli._demo import DemoContext

CATHETER = "04012345000016"
PHARMACY = Location.parse("CHU-Nord/Pharmacy/A/01", pick_sequence=10)
STORE = Location.parse("CHU-Nord/Pharmacy")
CARDIOLOGY = Location.parse("CHU-Nord/Cardiology/Cabinet-1")
ONCOLOGY = Location.parse("CHU-Nord/Oncology/Cabinet-2")


def _show(out: TextIO, department: str, plan: Plan) -> None:
    out.write(
        f"  {department}: {plan.request.quantity} catheter(s) from {plan.request.location} "
        f"for use on {plan.request.use_date}"
    )
    if plan.request.min_shelf_life_days:
        out.write(f", at least {plan.request.min_shelf_life_days} days of shelf life left")
    out.write("\n")
    out.writelines(
        f"    pick {pick.quantity:>2} x lot {pick.item.lot} (expires {pick.expiry}) "
        f"from {pick.location}\n"
        for pick in plan.picks
    )
    out.writelines(
        f"    skipped lot {skipped.item.lot} at {skipped.location} (expires {skipped.expiry}, "
        f"{skipped.status.value}): {skipped.reason.value}\n"
        for skipped in plan.skipped
    )
    if plan.shortfall:
        out.write(f"    short by {plan.shortfall}\n")


def fefo_allocation(out: TextIO, ctx: DemoContext) -> None:
    """FEFO picks to two departments, with the lots skipped and why.

    The section posts to the demo's one SQLite file (its own product, so the other
    sections' stock does not mix with its picks).
    """
    out.write("\n== FEFO allocation: first expiry, first out, never an expired lot ==\n")
    today = ctx.today
    opened = pendulum.datetime(today.year, today.month, today.day, 7, tz=ctx.tz)
    with SqliteStore(ctx.db_path) as store:
        out.write(f"  ledger file {ctx.db_path.name}\n")
        _allocate(out, today, opened, Ledger(store, clock=lambda: opened))


def _allocate(out: TextIO, today: pendulum.Date, opened: pendulum.DateTime, ledger: Ledger) -> None:
    delivered = opened.subtract(days=40)
    stock = [
        ("CATH-TODAY", today, 6, StockStatus.AVAILABLE),
        ("CATH-YDAY", today.subtract(days=1), 5, StockStatus.AVAILABLE),
        ("CATH-QC", today.add(days=20), 8, StockStatus.QUARANTINE),
        ("CATH-2027", pendulum.date(2027, 3, 31), 20, StockStatus.AVAILABLE),
    ]
    ledger.post(
        Movement.receipt(
            f"DN-88/{lot}",
            item=ItemKey(CATHETER, lot=lot),
            quantity=quantity,
            to=PHARMACY,
            status=status,
            occurred_at=delivered,
            actor="goods-in",
            expiry=expiry,
            reference="DN-88",
        )
        for lot, expiry, quantity, status in stock
    )
    out.write(f"  pharmacy stock of catheter {CATHETER} on {today}:\n")
    out.writelines(
        f"    lot {position.item.lot!s:<10} {position.quantity:>2} "
        f"{position.status.value:<10} expires {position.expiry}\n"
        for position in ledger.positions(gtin=CATHETER)
    )
    index = index_from_ledger(ledger)
    index.register_location(PHARMACY)

    cardiology = index.allocate(
        AllocationRequest.of(CATHETER, 8, use_date=today, location=STORE), explain=True
    )
    _show(out, "Cardiology", cardiology)
    post_plan(
        ledger,
        cardiology,
        kind=MovementKind.TRANSFER,
        to=CARDIOLOGY,
        movement_id="PICK-CARDIO-1",
        occurred_at=opened.add(hours=1),
        actor="pharmacy-tech",
        reference="REQ-CARDIO-1",
        index=index,
    )

    oncology, _ = allocate_and_post(
        ledger,
        index,
        AllocationRequest.of(
            CATHETER, 5, use_date=today.add(days=2), min_shelf_life_days=30, location=STORE
        ),
        kind=MovementKind.TRANSFER,
        to=ONCOLOGY,
        movement_id="PICK-ONCO-1",
        occurred_at=opened.add(hours=2),
        actor="pharmacy-tech",
        reference="REQ-ONCO-1",
    )
    _show(out, "Oncology", oncology)
    out.writelines(
        f"  now at {place}: {ledger.balance(gtin=CATHETER, location=place, status='AVAILABLE')}"
        " available\n"
        for place in (CARDIOLOGY, ONCOLOGY, PHARMACY)
    )
    report = ledger.verify()
    out.write(f"  ledger verified: {'ok' if report.ok else 'DIFFERENCES FOUND'}\n")
