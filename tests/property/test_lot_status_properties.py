"""Properties of lot-wide status operations over random stock of several lots and places."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore
from medinv.services import StockTarget, hold, release
from medinv.status import StockStatus

GTIN = "04006381333931"
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="UTC")
PLACES = [Location.parse(p) for p in ("H/Store/A1", "H/Store/A2", "H/Ward", "H/OR/Cab")]
START = [StockStatus.AVAILABLE, StockStatus.QUARANTINE, StockStatus.DAMAGED]
WHO: dict[str, Any] = {"reason": "investigation", "actor": "qa", "occurred_at": AT}

receipts = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L2", "L3"]),
        st.sampled_from([None, "S1", "S2"]),
        st.sampled_from(PLACES),
        st.sampled_from(START),
        st.integers(1, 50),
    ),
    max_size=12,
)


def stocked(store: LedgerStore, rows: list[tuple[str, str | None, Location, StockStatus, int]]):
    ledger = Ledger(store)
    seen: set[ItemKey] = set()
    batch = []
    for n, (lot, serial, place, status, qty) in enumerate(rows):
        item = ItemKey(GTIN, lot=lot, serial=serial)
        if serial is not None:
            if item in seen:
                continue  # a serialised unit is received once
            seen.add(item)
        batch.append(
            Movement.receipt(
                f"r{n}",
                item=item,
                quantity=1 if serial else qty,
                to=place,
                status=status,
                occurred_at=AT,
                actor="dock",
            )
        )
    ledger.post(batch)
    return ledger


def by_status(ledger: Ledger, lot: str | None = None) -> Counter[StockStatus]:
    out: Counter[StockStatus] = Counter()
    for p in ledger.positions(gtin=GTIN, lot=lot):
        out[p.status] += p.quantity
    return out


def check_hold_then_release(ledger: Ledger, lot: str) -> None:
    target = StockTarget.of_lot(GTIN, lot)
    before = by_status(ledger, lot)
    others = {
        p for p in ledger.positions(gtin=GTIN) if p.item.lot is None or p.item.lot.value != lot
    }

    held = hold(ledger, target, operation=f"INV-{lot}", **WHO)

    # No AVAILABLE quantity of the lot remains anywhere; nothing else changed.
    assert ledger.balance(gtin=GTIN, lot=lot, status=StockStatus.AVAILABLE) == 0
    assert held.quantity == before[StockStatus.AVAILABLE]
    after = by_status(ledger, lot)
    assert after[StockStatus.HOLD] == before[StockStatus.AVAILABLE]
    assert sum(after.values()) == sum(before.values())
    assert {
        p for p in ledger.positions(gtin=GTIN) if p.item.lot is None or p.item.lot.value != lot
    } == others
    # Running it again adds nothing.
    head = ledger.head()
    assert hold(ledger, target, operation=f"INV-{lot}", **WHO).moved == ()
    assert ledger.head() == head

    released = release(ledger, target, operation=f"OK-{lot}", **WHO)

    assert released.quantity == held.quantity
    assert by_status(ledger, lot) == before
    assert ledger.verify().ok


@settings(max_examples=60)
@given(rows=receipts, lot=st.sampled_from(["L1", "L2", "L3"]))
def test_hold_leaves_no_available_stock_and_release_restores_it_memory(rows, lot):
    check_hold_then_release(stocked(MemoryStore(), rows), lot)


@settings(max_examples=15)
@given(rows=receipts, lot=st.sampled_from(["L1", "L2", "L3"]))
def test_hold_leaves_no_available_stock_and_release_restores_it_sqlite(rows, lot):
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "l.sqlite3") as store:
        check_hold_then_release(stocked(store, rows), lot)
