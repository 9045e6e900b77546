"""FefoIndex memory follows the stock: lots and items that reach zero are forgotten."""

from __future__ import annotations

import gc
import tracemalloc

import pendulum
import pytest

from medinv.allocation import AllocationRequest, FefoIndex
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.status import StockStatus

GTINS = ("04006381333931", "00614141000418")
STORE = Location.parse("H/Store/A1")
WARD = Location.parse("H/Ward")
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
USE = pendulum.date(2026, 11, 23)


def cycle(index: FefoIndex, start: int, lots: int) -> None:
    """Receive ``lots`` lots, move some, quarantine some, then let every unit go again."""
    for n in range(start, start + lots):
        item = ItemKey(GTINS[n % 2], lot=f"L{n}")
        expiry = USE.add(days=n % 400)
        moves = [
            Movement.receipt(
                f"R{n}", item=item, quantity=3, to=STORE, occurred_at=AT, actor="a", expiry=expiry
            )
        ]
        if n % 3 == 0:
            moves.append(
                Movement.transfer(
                    f"T{n}", item=item, quantity=1, source=STORE, to=WARD, occurred_at=AT, actor="a"
                )
            )
            moves.append(
                Movement.issue(
                    f"W{n}", item=item, quantity=1, source=WARD, occurred_at=AT, actor="a"
                )
            )
        if n % 5 == 0:
            moves.append(
                Movement.status_change(
                    f"Q{n}",
                    item=item,
                    quantity=1,
                    at=STORE,
                    from_status=StockStatus.AVAILABLE,
                    to_status=StockStatus.HOLD,
                    occurred_at=AT,
                    actor="a",
                )
            )
            moves.append(
                Movement.scrap(
                    f"S{n}",
                    item=item,
                    quantity=1,
                    source=STORE,
                    status=StockStatus.HOLD,
                    occurred_at=AT,
                    actor="a",
                )
            )
        index.apply(moves)
        left = sum(
            m.quantity if m.to_location is not None else -m.quantity
            for m in moves
            if m.kind.value in {"RECEIPT", "ISSUE", "SCRAP"}
        )
        if n % 2:
            index.take(AllocationRequest.of(item.gtin, left, use_date=USE))
        else:
            index.apply(
                [
                    Movement.issue(
                        f"I{n}", item=item, quantity=left, source=STORE, occurred_at=AT, actor="a"
                    )
                ]
            )


def sizes(index: FefoIndex) -> dict[str, int]:
    products = index._products.values()
    return {
        "products": len(index._products),
        "entries": sum(len(p.entries) + len(p.others) for p in products),
        "lots": sum(len(p.lot_expiry) for p in products),
        "items": sum(len(p.received) for p in products),
    }


def test_lots_received_and_issued_leave_nothing_behind():
    index = FefoIndex()
    cycle(index, 0, 300)
    index._check()
    assert sizes(index) == {"products": 0, "entries": 0, "lots": 0, "items": 0}
    assert index.positions() == []


def test_the_index_keeps_what_is_in_stock_and_forgets_the_rest():
    kept = StockPosition(
        item=ItemKey(GTINS[0], lot="KEEP"),
        location=STORE,
        status=StockStatus.AVAILABLE,
        quantity=5,
        expiry=USE.add(days=900),
        received_at=AT,
    )
    index = FefoIndex.from_positions([kept])
    cycle(index, 0, 500)
    index._check()
    found = sizes(index)
    assert found["products"] == 1 and found["entries"] == 1
    assert found["lots"] <= 1 + 64 and found["items"] <= 1 + 64  # swept within a constant
    assert index.positions() == [kept]
    # What it kept still serves: a transfer of the kept lot takes its expiry along.
    index.apply(
        [
            Movement.transfer(
                "T-KEEP",
                item=kept.item,
                quantity=2,
                source=STORE,
                to=WARD,
                occurred_at=AT,
                actor="a",
            )
        ]
    )
    assert {p.expiry for p in index.positions()} == {kept.expiry}
    index._check()


def test_memory_does_not_grow_with_lots_that_came_and_went():
    index = FefoIndex()
    cycle(index, 0, 200)  # warm up: interned ints, dict sizes, code paths
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cycle(index, 200, 4_000)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # Before this was fixed, every lot left its expiry and receipt time behind
    # (4,000 lots: about 2.6 MB); now what is left does not depend on the lot count.
    assert after - before < 256 * 1024, after - before


def test_the_build_leaves_the_garbage_collector_as_it_found_it():
    stock = [
        StockPosition(
            item=ItemKey(GTINS[0], lot=f"L{n}"),
            location=STORE,
            status=StockStatus.AVAILABLE,
            quantity=1,
        )
        for n in range(10)
    ]
    assert gc.isenabled()
    FefoIndex.from_positions(stock)
    assert gc.isenabled()
    gc.disable()
    try:
        FefoIndex.from_positions(stock)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(InvalidValueError, match="given twice"):
        FefoIndex.from_positions([*stock, stock[0]])
    assert gc.isenabled()


def test_a_release_keeps_the_receipt_time_and_expiry_of_stock_built_in_quarantine():
    held = StockPosition(
        item=ItemKey(GTINS[0], lot="Q1"),
        location=STORE,
        status=StockStatus.QUARANTINE,
        quantity=4,
        expiry=USE.add(days=30),
        received_at=AT,
    )
    for index in (FefoIndex.from_positions([held]), FefoIndex()):
        if not index.positions():
            index._add(held)  # the one-by-one path agrees
        index.apply(
            [
                Movement.status_change(
                    "REL",
                    item=held.item,
                    quantity=3,
                    at=STORE,
                    from_status=StockStatus.QUARANTINE,
                    to_status=StockStatus.AVAILABLE,
                    occurred_at=AT.add(days=1),
                    actor="qa",
                )
            ]
        )
        index._check()
        released = [p for p in index.positions() if p.status is StockStatus.AVAILABLE]
        assert [(p.quantity, p.expiry, p.received_at) for p in released] == [
            (3, held.expiry, held.received_at)
        ]
