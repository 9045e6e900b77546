"""Receive from a scan through the ledger, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.barcodes import hibc_check_character, parse_scan
from medinv.catalogue import Controls, PackageLevel, Product, ReceiptRule, ScanReceiptError
from medinv.errors import (
    IdempotencyConflictError,
    InvalidBarcodeError,
    InvalidValueError,
    SerialConflictError,
    StockError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.ports import LedgerStore
from medinv.services import (
    ReceiveBatchError,
    UncataloguedDeviceError,
    receive,
    receive_many,
)
from medinv.status import StockStatus

EACH, BOX, CASE = "09501101530003", "19501101530000", "29501101530007"
IMPLANT = "04006381333931"
DOCK = Location.parse("CHU/Dock")
AT = pendulum.datetime(2026, 12, 1, 9, tz="Europe/Paris")
SINCE = pendulum.datetime(2026, 1, 1, tz="UTC")

GAUZE = Product(
    primary_di=EACH,
    packages=(
        PackageLevel(di=CASE, contains=BOX, quantity=10),
        PackageLevel(di=BOX, contains=EACH, quantity=12),
    ),
    controls=Controls(lot=True, expiry=True),
    min_shelf_life_at_receipt=90,
)
STENT = Product(
    primary_di=IMPLANT,
    controls=Controls(lot=True, serial=True, expiry=True),
    implantable=True,
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "memory":
        opened: LedgerStore = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "ledger.sqlite3")
    else:
        from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

        dsn = request.getfixturevalue("postgres_dsn")
        opened = PostgresStore(dsn, schema=request.getfixturevalue("postgres_schema"))
    with opened:
        catalogue = opened.catalogue  # type: ignore[attr-defined]
        catalogue.put_product(GAUZE, valid_from=SINCE)
        catalogue.put_product(STENT, valid_from=SINCE)
        yield opened


def take(store: LedgerStore, scan: str, movement_id: str = "GR-1", **more: object):
    options: dict[str, object] = {
        "catalogue": store.catalogue,  # type: ignore[attr-defined]
        "to": DOCK,
        "movement_id": movement_id,
        "occurred_at": AT,
        "actor": "dock",
    }
    options.update(more)
    return receive(Ledger(store), scan, **options)  # type: ignore[arg-type]


def take_many(store: LedgerStore, scans: list[str], batch_id: str = "DN-7", **more: object):
    options: dict[str, object] = {
        "catalogue": store.catalogue,  # type: ignore[attr-defined]
        "to": DOCK,
        "occurred_at": AT,
        "actor": "dock",
    }
    if "movement_ids" not in more:
        options["batch_id"] = batch_id
    options.update(more)
    return receive_many(Ledger(store), scans, **options)  # type: ignore[arg-type]


def hibc(data: str) -> str:
    return data + hibc_check_character(data)


# --------------------------------------------------------------------------- booking


def test_an_each_scan_books_one_unit_of_the_lot_with_its_expiry(store: LedgerStore):
    got = take(store, "(01)09501101530003(17)280131(10)L42")
    assert got.item == ItemKey(EACH, lot="L42")
    assert (got.quantity, got.status, got.replayed) == (1, StockStatus.AVAILABLE, False)
    recorded = Ledger(store).movement("GR-1")
    assert recorded is not None
    assert recorded.movement.expiry == pendulum.date(2028, 1, 31)
    assert recorded.movement.to_location == DOCK
    assert recorded.movement.actor == "dock"


def test_a_case_scan_books_its_eaches_through_two_packaging_levels(store: LedgerStore):
    got = take(store, "(01)29501101530007(17)280131(10)L42")
    assert got.receipt.scanned_di.value == CASE
    assert (got.receipt.scanned_quantity, got.quantity) == (1, 120)
    assert Ledger(store).balance(gtin=EACH) == 120
    assert Ledger(store).balance(gtin=CASE) == 0


def test_counts_of_ai_30_and_ai_37_multiply_the_level_exactly(store: LedgerStore):
    take(store, "(01)19501101530000(17)280131(10)L42(30)3", "GR-1")
    sscc = "(00)106141411234567897(02)29501101530007(37)2(17)280131(10)L42"
    got = take(store, sscc, "GR-2")
    assert got.quantity == 2 * 10 * 12
    assert Ledger(store).balance(gtin=EACH, lot="L42") == 3 * 12 + 240


def test_a_short_shelf_life_lands_in_quarantine_with_the_reason(store: LedgerStore):
    got = take(store, "(01)09501101530003(17)270131(10)L-SHORT")  # 61 days left, 90 asked
    assert got.status is StockStatus.QUARANTINE
    ledger = Ledger(store)
    assert ledger.balance(gtin=EACH, status=StockStatus.QUARANTINE) == 1
    assert ledger.balance(gtin=EACH, status=StockStatus.AVAILABLE) == 0
    recorded = ledger.movement("GR-1")
    assert recorded is not None
    assert recorded.movement.to_status is StockStatus.QUARANTINE
    assert recorded.movement.reason == got.receipt.quarantine_reason
    assert "61 day(s) of shelf life left" in str(got.receipt.quarantine_reason)


def test_exactly_the_minimum_shelf_life_is_available(store: LedgerStore):
    # 2026-12-01 + 90 days = 2027-03-01
    assert take(store, "(01)09501101530003(17)270301(10)L1").status is StockStatus.AVAILABLE


def test_the_receipt_date_is_the_facility_date_of_the_moment(store: LedgerStore):
    # 23:30 UTC on 30 November is 1 December in Paris: 90 days left there, 91 in UTC.
    late = pendulum.datetime(2026, 11, 30, 23, 30, tz="UTC")
    catalogue = store.catalogue  # type: ignore[attr-defined]
    scan = "(01)09501101530003(17)270301(10)L1"
    paris = Ledger(store, timezone="Europe/Paris")
    got = receive(paris, scan, catalogue=catalogue, to=DOCK, movement_id="a",
                  occurred_at=late, actor="dock")  # fmt: skip
    assert got.receipt.remaining_shelf_life == 90
    utc = receive(Ledger(store), scan, catalogue=catalogue, to=DOCK, movement_id="b",
                  occurred_at=late, actor="dock")  # fmt: skip
    assert utc.receipt.remaining_shelf_life == 91


def test_a_parsed_scan_and_a_location_path_are_accepted(store: LedgerStore):
    parsed = parse_scan("(01)04006381333931(17)300630(10)ST-8(21)SN-1", as_of=AT.date())
    got = take(store, parsed, to="CHU/Theatre")  # type: ignore[arg-type]
    assert got.item == ItemKey(IMPLANT, lot="ST-8", serial="SN-1")
    assert Ledger(store).balance(gtin=IMPLANT, location="CHU/Theatre") == 1


def test_the_catalogue_is_read_as_of_the_receipt(store: LedgerStore):
    catalogue = store.catalogue  # type: ignore[attr-defined]
    later = pendulum.datetime(2027, 1, 1, tz="UTC")
    stricter = Product(
        primary_di=EACH, packages=GAUZE.packages, controls=GAUZE.controls,
        min_shelf_life_at_receipt=400,
    )  # fmt: skip
    catalogue.put_product(stricter, valid_from=later)
    scan = "(01)09501101530003(17)280131(10)L42"
    assert take(store, scan, "GR-1").status is StockStatus.AVAILABLE  # 426 days left
    after = take(store, scan, "GR-2", occurred_at=later.add(days=1))
    assert after.status is StockStatus.QUARANTINE  # 395 days left, 400 asked from 2027


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("(01)04006381333931(17)300630(10)ST-8", ReceiptRule.SERIAL_REQUIRED),
        ("(01)04006381333931(17)300630(21)SN-1", ReceiptRule.LOT_REQUIRED),
        ("(01)09501101530003(10)L1", ReceiptRule.EXPIRY_REQUIRED),
        ("(01)19501101530000(17)300630(10)ST-8(21)SN-1", ReceiptRule.SERIAL_QUANTITY),
        ("(00)106141411234567897", ReceiptRule.NO_DEVICE),
    ],
)
def test_each_receiving_rule_refuses_and_books_nothing(
    store: LedgerStore, text: str, rule: ReceiptRule
):
    with pytest.raises(ScanReceiptError) as refused:
        take(store, text)
    assert refused.value.rule is rule
    assert Ledger(store).head().position == 0


def test_an_expiry_contradicting_the_lots_expiry_on_record_is_refused(store: LedgerStore):
    take(store, "(01)09501101530003(17)280131(10)L42", "GR-1")
    with pytest.raises(ScanReceiptError) as refused:
        take(store, "(01)19501101530000(17)280229(10)L42", "GR-2")
    assert refused.value.rule is ReceiptRule.EXPIRY_CONFLICT
    assert "2028-01-31" in str(refused.value)
    assert Ledger(store).head().position == 1
    assert take(store, "(01)19501101530000(17)280131(10)L42", "GR-3").quantity == 12


def test_a_device_unknown_to_the_catalogue_is_refused_unless_asked(store: LedgerStore):
    unknown = "(01)00614141000418(10)L1"
    with pytest.raises(UncataloguedDeviceError) as refused:
        take(store, unknown)
    assert refused.value.di.value == "00614141000418"
    assert "no product of the catalogue has the DI GS1:00614141000418" in str(refused.value)
    assert Ledger(store).head().position == 0
    got = take(store, "(01)00614141000418(10)L1(30)4", uncatalogued=True)
    assert (got.item, got.quantity, got.status) == (
        ItemKey("00614141000418", lot="L1"),
        4,
        StockStatus.AVAILABLE,
    )


def test_a_product_valid_only_later_is_not_in_the_catalogue_yet(store: LedgerStore):
    catalogue = store.catalogue  # type: ignore[attr-defined]
    catalogue.put_product(Product(primary_di="00614141000418"), valid_from=AT.add(days=1))
    with pytest.raises(UncataloguedDeviceError):
        take(store, "(01)00614141000418")


def test_a_serial_already_in_stock_is_refused_by_the_ledger(store: LedgerStore):
    scan = "(01)04006381333931(17)300630(10)ST-8(21)SN-1"
    take(store, scan, "GR-1")
    with pytest.raises(SerialConflictError):
        take(store, scan, "GR-2")


def test_bad_arguments_are_medinv_errors(store: LedgerStore):
    scan = "(01)09501101530003(17)280131(10)L42"
    with pytest.raises(InvalidValueError, match="catalogue"):
        take(store, scan, catalogue={})
    with pytest.raises(InvalidValueError, match="to: expected a Location"):
        take(store, scan, to=42)
    with pytest.raises(InvalidValueError, match="parsed Scan"):
        take(store, b"(01)09501101530003")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="uncatalogued"):
        take(store, scan, uncatalogued="yes")
    with pytest.raises(InvalidBarcodeError):
        take(store, "(01)09501101530004")
    assert Ledger(store).head().position == 0


# --------------------------------------------------------------------------- replays


def test_receiving_the_same_scan_again_under_its_id_adds_nothing(store: LedgerStore):
    scan = "(01)29501101530007(17)280131(10)L42"
    first = take(store, scan)
    head = Ledger(store).head()
    again = take(store, scan)
    assert again.replayed and not first.replayed
    assert again.movement == first.movement
    assert Ledger(store).head() == head
    assert Ledger(store).balance(gtin=EACH) == 120
    with pytest.raises(IdempotencyConflictError):
        take(store, "(01)19501101530000(17)280131(10)L42")


def test_a_batch_replayed_adds_nothing(store: LedgerStore):
    scans = [
        "(01)29501101530007(17)280131(10)L42",
        "(01)09501101530003(17)270131(10)L-SHORT(30)5",
        "(01)04006381333931(17)300630(10)ST-8(21)SN-1",
    ]
    first = take_many(store, scans)
    assert [line.movement.movement.id for line in first.lines] == ["DN-7/1", "DN-7/2", "DN-7/3"]
    assert (first.booked, first.replayed, first.quantity) == (3, 0, 120 + 5 + 1)
    assert [line.status for line in first.lines] == [
        StockStatus.AVAILABLE,
        StockStatus.QUARANTINE,
        StockStatus.AVAILABLE,
    ]
    again = take_many(store, scans)
    assert (again.booked, again.replayed) == (0, 3)
    assert again.head == first.head
    assert Ledger(store).head().position == 3


# --------------------------------------------------------------------------- batches


def test_a_batch_with_refused_lines_books_nothing_and_names_every_line(store: LedgerStore):
    scans = [
        "(01)09501101530003(17)280131(10)L42",
        "(01)04006381333931(17)300630(10)ST-8",  # no serial
        "(01)09501101530003(17)280131(10)L43",
        "not a barcode",
        "(01)00614141000418",  # not in the catalogue
    ]
    with pytest.raises(ReceiveBatchError) as refused:
        take_many(store, scans)
    errors = refused.value.errors
    assert [e.line for e in errors] == [2, 4, 5]
    assert isinstance(errors[0].cause, ScanReceiptError)
    assert isinstance(errors[1].cause, InvalidBarcodeError)
    assert isinstance(errors[2].cause, UncataloguedDeviceError)
    assert str(refused.value).startswith("3 of 5 scan(s) refused, nothing booked: line 2: ")
    assert Ledger(store).head().position == 0


def test_a_lot_received_earlier_in_the_batch_fixes_its_expiry(store: LedgerStore):
    scans = [
        "(01)09501101530003(17)280131(10)L42",
        "(01)19501101530000(17)280131(10)L42",
        "(01)29501101530007(17)280229(10)L42",
    ]
    with pytest.raises(ReceiveBatchError) as refused:
        take_many(store, scans)
    (error,) = refused.value.errors
    assert error.line == 3
    assert isinstance(error.cause, ScanReceiptError)
    assert error.cause.rule is ReceiptRule.EXPIRY_CONFLICT
    assert Ledger(store).head().position == 0


def test_a_ledger_refusal_names_its_line(store: LedgerStore):
    unit = "(01)04006381333931(17)300630(10)ST-8(21)SN-1"
    with pytest.raises(ReceiveBatchError) as refused:
        take_many(store, ["(01)09501101530003(17)280131(10)L42", unit, unit])
    (error,) = refused.value.errors
    assert (error.line, type(error.cause)) == (3, SerialConflictError)
    assert Ledger(store).head().position == 0


def test_caller_given_ids_and_repeats_within_the_batch(store: LedgerStore):
    scan = "(01)09501101530003(17)280131(10)L42"
    got = take_many(store, [scan, scan], movement_ids=["A", "A"])
    assert [line.replayed for line in got.lines] == [False, True]
    assert got.booked == 1
    assert Ledger(store).balance(gtin=EACH) == 1


def test_batch_arguments_are_checked(store: LedgerStore):
    scan = "(01)09501101530003(17)280131(10)L42"
    catalogue = store.catalogue  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="either batch_id or movement_ids"):
        receive_many(Ledger(store), [scan], catalogue=catalogue, to=DOCK, occurred_at=AT,
                     actor="dock", batch_id="B", movement_ids=["A"])  # fmt: skip
    with pytest.raises(InvalidValueError, match="either batch_id or movement_ids"):
        receive_many(Ledger(store), [scan], catalogue=catalogue, to=DOCK, occurred_at=AT,
                     actor="dock")  # fmt: skip
    with pytest.raises(InvalidValueError, match="1 id"):
        take_many(store, [scan, scan], movement_ids=["A"])
    with pytest.raises(InvalidValueError, match="sequence of ids"):
        take_many(store, [scan], movement_ids="A")
    with pytest.raises(InvalidValueError, match="batch_id"):
        take_many(store, [scan], batch_id=" ")
    with pytest.raises(InvalidValueError, match="not one scan"):
        take_many(store, scan)  # type: ignore[arg-type]
    assert Ledger(store).head().position == 0


def test_progress_counts_the_scans_read(store: LedgerStore):
    seen: list[int] = []
    scans = ["(01)09501101530003(17)280131(10)L42(30)1"] * 2500
    got = take_many(store, scans, progress=seen.append)
    assert seen == [1000, 2000, 2500]
    assert got.quantity == 2500


# --------------------------------------------------------------------------- other agencies


def test_an_hibc_case_scan_books_its_eaches(store: LedgerStore):
    catalogue = store.catalogue  # type: ignore[attr-defined]
    product = Product(
        primary_di="HIBCC:A123BJC5D6E70",
        packages=(PackageLevel(di="A123BJC5D6E71", contains="A123BJC5D6E70", quantity=10),),
        controls=Controls(lot=True),
    )
    catalogue.put_product(product, valid_from=SINCE)
    got = take(store, hibc("+A123BJC5D6E71/$$8051230LOT7"))
    assert got.quantity == 50
    assert got.item.lot is not None and got.item.lot.value == "LOT7"
    assert Ledger(store).head().position == 1
    assert take(store, hibc("+A123BJC5D6E71/$$8051230LOT7")).replayed


def test_an_hibc_expiry_contradicting_its_lots_expiry_on_record_is_refused(store: LedgerStore):
    catalogue = store.catalogue  # type: ignore[attr-defined]
    product = Product(
        primary_di="HIBCC:A123BJC5D6E70",
        packages=(PackageLevel(di="A123BJC5D6E71", contains="A123BJC5D6E70", quantity=10),),
        controls=Controls(lot=True, expiry=True),
    )
    catalogue.put_product(product, valid_from=SINCE)
    take(store, hibc("+A123BJC5D6E71/$$8051230LOT7"), "GR-1")
    with pytest.raises(ScanReceiptError) as refused:
        take(store, hibc("+A123BJC5D6E71/$$8021130LOT7"), "GR-2")
    assert refused.value.rule is ReceiptRule.EXPIRY_CONFLICT
    assert Ledger(store).head().position == 1


def test_an_ma_code_books_its_serialised_unit(store: LedgerStore):
    catalogue = store.catalogue  # type: ignore[attr-defined]
    product = Product(
        primary_di="MA.156.M0.100350.01004YA10017",
        controls=Controls(lot=True, serial=True, expiry=True, production_date=True),
    )
    catalogue.put_product(product, valid_from=pendulum.datetime(2020, 1, 1, tz="UTC"))
    code = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
    got = take(store, code, occurred_at=pendulum.datetime(2022, 1, 3, tz="UTC"))
    assert got.quantity == 1
    assert got.item.serial is not None and got.item.serial.value == "LMSAGAAAC"
    assert Ledger(store).head().position == 1


# --------------------------------------------------------------------------- odd inputs


def test_a_parsed_scan_with_a_lot_medinv_cannot_keep_is_refused_by_rule(store: LedgerStore):
    parsed = parse_scan("(01)09501101530003(17)280131(10)L42", as_of=AT.date())
    odd = attrs.evolve(parsed, lot="L" * 25)  # built by hand: no scanner sends it
    with pytest.raises(ScanReceiptError) as refused:
        take(store, odd)  # type: ignore[arg-type]
    assert refused.value.rule is ReceiptRule.INVALID_VALUE
    assert Ledger(store).head().position == 0


def test_a_ledger_refusal_naming_no_line_is_raised_as_it_is(
    store: LedgerStore, monkeypatch: pytest.MonkeyPatch
):
    def refuse(*_: object, **__: object) -> None:
        raise StockError("the store is being stocktaken")

    monkeypatch.setattr(Ledger, "post", refuse)
    with pytest.raises(StockError, match="being stocktaken") as refused:
        take_many(store, ["(01)09501101530003(17)280131(10)L42"])
    assert type(refused.value) is StockError
