"""HIBC and MA devices go the whole way, like GS1 ones: receipt, FEFO, stocktake, verify.

On every store: the in-memory reference, SQLite (reopened from its file) and
PostgreSQL (a throwaway server, see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import AllocationRequest
from medinv.barcodes import hibc_check_character, parse_scan
from medinv.catalogue import Controls, PackageLevel, Product
from medinv.errors import InsufficientStockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore
from medinv.services import (
    StocktakeService,
    StockTarget,
    allocate_and_post,
    index_from_ledger,
    recall,
    receive_many,
)
from medinv.status import StockStatus
from medinv.stocktake import StocktakeScope, Tolerance, TolerancePolicy, count_line_from_scan

STORE = Location.parse("CHU/Store/A1")
WARD = Location.parse("CHU/Cardiology")
USE = pendulum.date(2026, 11, 23)
CLOCK = pendulum.datetime(2026, 11, 23, 7, tz="UTC")


def at(hour: int) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, tz="Europe/Paris")


def hibc(data: str) -> str:
    """An HIBC symbol's text: ``data`` and its mod-43 check character."""
    return data + hibc_check_character(data)


# Two lots of one HIBC device (the later one scanned first), a serialised MA device,
# and a GS1 device and an HIBC device whose texts look alike, sharing a lot text.
HIBC_LATE = hibc("+A123BJC5D6E71/$$3280131LATE-7")
HIBC_EARLY = hibc("+A123BJC5D6E71/$$3270630EARLY-3")
MA_UNIT = "MA.156.M0.100350.01004YA10017.SSN0417.E290131"
LOOKALIKE_HIBC = hibc("+A04006381333931/$$3280131L1")
LOOKALIKE_GS1 = "(01)04006381333931(17)280131(10)L1"


PICK: Final[dict[str, Any]] = {"movement_id": "PICK-1", "occurred_at": at(8), "actor": "picker"}
"""The posting options every pick of these tests shares."""


def receipt(mid: str, scan_text: str, quantity: int) -> Movement:
    """A receipt of what a scan names (device, lot, serial, expiry)."""
    scan = parse_scan(scan_text)
    return Movement.receipt(
        mid,
        item=scan.item_key(),
        quantity=quantity,
        to=STORE,
        occurred_at=at(6),
        actor="goods-in",
        expiry=scan.expiry,
    )


def count(service: StocktakeService, stocktake_id: str, counted: list[tuple[str, int]]) -> None:
    """Add one count line per (scanned label, quantity) in the store, counted by ana at 11."""
    service.add_lines(
        stocktake_id,
        [
            count_line_from_scan(
                text,
                line_id=f"c{n}",
                counter="ana",
                device="scanner-1",
                counted_at=at(11),
                location=STORE,
                quantity=quantity,
            )
            for n, (text, quantity) in enumerate(counted)
        ],
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], LedgerStore]]:
    """Opens the store under test (again, for SQLite and PostgreSQL: the data persists)."""
    opened: list[LedgerStore] = []
    if request.param == "memory":
        memory = MemoryStore()
        stores: Callable[[], LedgerStore] = lambda: memory  # noqa: E731
    elif request.param == "sqlite":
        stores = lambda: SqliteStore(tmp_path / "ledger.sqlite3")  # noqa: E731
    else:
        from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs psycopg)

        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        stores = lambda: PostgresStore(dsn, schema=schema)  # noqa: E731

    def open_store() -> LedgerStore:
        store = stores()
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        if not isinstance(store, MemoryStore):
            store.close()


def test_hibc_and_ma_devices_from_receipt_through_fefo_and_stocktake_to_verify(opener):
    store = opener()
    ledger = Ledger(store, clock=lambda: CLOCK)
    ledger.post(
        [
            receipt("R-1", HIBC_LATE, 30),
            receipt("R-2", HIBC_EARLY, 20),
            receipt("R-3", MA_UNIT, 1),
            receipt("R-4", LOOKALIKE_GS1, 5),
            receipt("R-5", LOOKALIKE_HIBC, 7),
        ]
    )
    late, early = parse_scan(HIBC_LATE).item_key(), parse_scan(HIBC_EARLY).item_key()
    unit = parse_scan(MA_UNIT).item_key()
    gs1, lookalike = parse_scan(LOOKALIKE_GS1).item_key(), parse_scan(LOOKALIKE_HIBC).item_key()
    assert str(early) == "HIBCC:A123BJC5D6E71 [lot EARLY-3]"
    assert gs1.lot == lookalike.lot and gs1 != lookalike
    assert ledger.balance(gs1) == 5 and ledger.balance(lookalike) == 7
    assert ledger.balance(gtin="04006381333931") == 5
    assert ledger.balance(device="HIBCC:A04006381333931") == 7
    assert ledger.balance(device="HIBCC:A123BJC5D6E71") == 50
    [position] = ledger.positions(unit)
    assert position.expiry == pendulum.date(2029, 1, 31)

    # FEFO: 25 of the HIBC device take the 20 of the earlier lot first, then 5 of the later.
    index = index_from_ledger(ledger)
    request = AllocationRequest.of("HIBCC:A123BJC5D6E71", 25, use_date=USE)
    plan, _ = allocate_and_post(ledger, index, request, kind=MovementKind.TRANSFER, to=WARD, **PICK)
    assert [(p.item, p.quantity) for p in plan.picks] == [(early, 20), (late, 5)]
    assert ledger.balance(device="HIBCC:A123BJC5D6E71", location=WARD) == 25
    assert index.available("HIBCC:A123BJC5D6E71") == 50  # in the store and on the ward
    serial_request = AllocationRequest.for_serials(
        "MA:MA.156.M0.100350.01004YA10017", ["SN0417"], use_date=USE
    )
    assert [p.item for p in index.allocate(serial_request).picks] == [unit]

    # Stocktake of the store: the MA unit is found, 24 of the later HIBC lot are counted
    # (25 booked), the look-alikes are counted as booked.
    service = StocktakeService(ledger, store.stocktakes)
    # One unit off is within the HIBC device's own tolerance: no recount needed.
    tolerances = TolerancePolicy(per_product={"HIBCC:A123BJC5D6E71": Tolerance(absolute=1)})
    scope = StocktakeScope(["CHU/Store"])
    service.plan("ST-1", scope=scope, created_by="lea", at=at(9), tolerances=tolerances)
    service.begin("ST-1", at=at(10))
    counted = [(HIBC_LATE, 24), (MA_UNIT, 1), (LOOKALIKE_GS1, 5), (LOOKALIKE_HIBC, 7)]
    count(service, "ST-1", counted)
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    differences = {
        (v.item, v.counted - v.expected) for v in report.entries if v.counted != v.expected
    }
    assert differences == {(late, -1)}
    service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
    service.post("ST-1", at=at(14))
    assert ledger.balance(late, location=STORE) == 24
    assert ledger.balance(lookalike) == 7 and ledger.balance(gs1) == 5
    assert ledger.verify().ok

    # Read back by a new ledger over the store opened again: the same keys, a clean verify.
    again = Ledger(opener(), clock=lambda: CLOCK)
    assert again.positions() == ledger.positions()
    assert {r.movement.item for r in again.history(device="MA:MA.156.M0.100350.01004YA10017")} == {
        unit
    }
    assert again.verify().ok
    assert again.balance(early, location=STORE) == 0 and again.balance(early) == 20
    adjustment = [r.movement for r in again.history() if r.movement.kind is MovementKind.ADJUSTMENT]
    assert [(m.item, m.from_status) for m in adjustment] == [(late, StockStatus.AVAILABLE)]


def test_the_stored_device_column_keeps_gs1_digits_and_prefixes_the_others(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        Ledger(store, clock=lambda: CLOCK).post(
            [receipt("R-1", LOOKALIKE_GS1, 5), receipt("R-2", LOOKALIKE_HIBC, 7)]
        )
    import sqlite3  # noqa: PLC0415

    db = sqlite3.connect(path)
    try:
        stored = sorted(row[0] for row in db.execute("SELECT gtin FROM item_keys"))
    finally:
        db.close()
    assert stored == ["04006381333931", "HIBCC:A04006381333931"]
    assert ItemKey(stored[1], lot="L1") == parse_scan(LOOKALIKE_HIBC).item_key()


def test_an_hibc_lot_is_recalled_wherever_it_is_and_nothing_of_its_look_alike_moves():
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK)
    ledger.post(
        [
            receipt("R-1", HIBC_LATE, 30),
            receipt("R-2", HIBC_EARLY, 20),
            receipt("R-3", LOOKALIKE_GS1, 5),
            receipt("R-4", LOOKALIKE_HIBC, 7),
        ]
    )
    late = parse_scan(HIBC_LATE).item_key()
    target = StockTarget.of_lot("HIBCC:A123BJC5D6E71", "LATE-7")
    assert str(target) == "HIBCC:A123BJC5D6E71 [lot LATE-7]"
    assert target == StockTarget.of_item(late)
    result = recall(
        ledger, target, operation="FSCA-1", reason="field action", actor="qa", occurred_at=at(9)
    )
    assert [(m.item, m.quantity) for m in result.moved] == [(late, 30)]
    assert ledger.balance(late, status=StockStatus.RECALLED) == 30
    assert ledger.balance(device="HIBCC:A04006381333931", status=StockStatus.AVAILABLE) == 7
    lookalike = StockTarget.of_lot("HIBCC:A04006381333931", "L1")
    assert str(lookalike) == "HIBCC:A04006381333931 [lot L1]"
    assert str(StockTarget.of_lot("04006381333931", "L1")) == "(01)04006381333931(10)L1"
    assert ledger.verify().ok


def test_a_short_hibc_allocation_names_the_device_and_posts_nothing():
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK)
    ledger.post([receipt("R-1", HIBC_EARLY, 20)])
    index = index_from_ledger(ledger)
    request = AllocationRequest.of("HIBCC:A123BJC5D6E71", 21, use_date=USE)
    with pytest.raises(InsufficientStockError, match="HIBCC:A123BJC5D6E71") as caught:
        allocate_and_post(ledger, index, request, kind=MovementKind.ISSUE, **PICK)
    assert caught.value.item == request.device
    assert ledger.head().position == 1


def test_hibc_and_ma_labels_received_through_the_catalogue_then_picked_counted_and_verified(
    opener,
):
    store = opener()
    ledger = Ledger(store, clock=lambda: CLOCK)
    catalogue = store.catalogue
    since = pendulum.datetime(2026, 1, 1, tz="UTC")
    case = PackageLevel(di="A123BJC5D6E71", contains="A123BJC5D6E70", quantity=10)
    catalogue.put_product(
        Product(primary_di="HIBCC:A123BJC5D6E70", packages=(case,), controls=Controls(lot=True)),
        valid_from=since,
    )
    catalogue.put_product(
        Product(
            primary_di="MA.156.M0.100350.01004YA10017",
            controls=Controls(serial=True, expiry=True),
        ),
        valid_from=since,
    )
    # Cases of 10: 5 cases of LOT7 (expiring 12/2030), 3 of LOT6 (11/2028); one MA unit.
    scans = [hibc("+A123BJC5D6E71/$$8051230LOT7"), hibc("+A123BJC5D6E71/$$8031128LOT6"), MA_UNIT]
    batch = receive_many(
        ledger,
        scans,
        catalogue=catalogue,
        to=STORE,
        occurred_at=at(6),
        actor="goods-in",
        batch_id="DN-1",
    )
    assert [line.quantity for line in batch.lines] == [50, 30, 1]
    assert ledger.balance(device="HIBCC:A123BJC5D6E70") == 80
    unit = parse_scan(MA_UNIT).item_key()
    assert ledger.balance(unit) == 1

    index = index_from_ledger(ledger)
    request = AllocationRequest.of("HIBCC:A123BJC5D6E70", 35, use_date=USE)
    plan, _ = allocate_and_post(ledger, index, request, kind=MovementKind.ISSUE, **PICK)
    assert [(p.item.lot.value if p.item.lot else None, p.quantity) for p in plan.picks] == [
        ("LOT6", 30),
        ("LOT7", 5),
    ]
    assert ledger.balance(device="HIBCC:A123BJC5D6E70") == 45

    # A blind count of the store finds 44 of LOT7 (45 booked) and the MA unit.
    lot7 = ItemKey("HIBCC:A123BJC5D6E70", lot="LOT7")
    service = StocktakeService(ledger, store.stocktakes)
    within_one = TolerancePolicy(per_product={"HIBCC:A123BJC5D6E70": Tolerance(absolute=1)})
    # Scoped to the two devices by product: HIBC and MA products, kept by every store.
    products = ["HIBCC:A123BJC5D6E70", "MA:MA.156.M0.100350.01004YA10017"]
    scope = StocktakeScope(["CHU/Store"], products=products)
    service.plan("ST-9", scope=scope, created_by="lea", at=at(9), tolerances=within_one)
    assert [str(p) for p in store.stocktakes.get("ST-9").scope.products] == products
    service.begin("ST-9", at=at(10))
    counted = [(hibc("+A123BJC5D6E70/$$3301231LOT7"), 44), (MA_UNIT, 1)]
    count(service, "ST-9", counted)
    service.close_counting("ST-9", at=at(12))
    report = service.report("ST-9")
    assert {
        (v.item, v.counted - v.expected) for v in report.entries if v.counted != v.expected
    } == {(lot7, -1)}
    service.approve("ST-9", approver="max", at=at(13), default_reason="COUNT")
    service.post("ST-9", at=at(14))
    assert ledger.balance(lot7, location=STORE) == 44
    assert ledger.verify().ok
    # A replay of the delivery books nothing; a store opened again verifies the same.
    again = Ledger(opener(), clock=lambda: CLOCK)
    replay = receive_many(
        again,
        scans,
        catalogue=catalogue,
        to=STORE,
        occurred_at=at(6),
        actor="goods-in",
        batch_id="DN-1",
    )
    assert replay.replayed == 3
    assert again.head() == ledger.head()
    assert again.verify().ok
