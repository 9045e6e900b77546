"""Receive from a scan, pure: what a receipt would book, and what is refused."""

from __future__ import annotations

import datetime as dt
import enum

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.barcodes import hibc_check_character, parse_scan
from medinv.catalogue import (
    Controls,
    PackageLevel,
    Product,
    ReceiptRule,
    ScanReceiptError,
    receipt_from_scan,
)
from medinv.dates import DatePrecision, remaining_shelf_life
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidDateError, InvalidValueError, StockError
from medinv.identifiers import Lot, Serial
from medinv.status import StockStatus

EACH, BOX, CASE = "09501101530003", "19501101530000", "29501101530007"
TODAY = dt.date(2026, 12, 1)

PRODUCT = Product(
    primary_di=EACH,
    packages=(
        PackageLevel(di=CASE, contains=BOX, quantity=10),
        PackageLevel(di=BOX, contains=EACH, quantity=12),
    ),
    controls=Controls(lot=True, expiry=True),
    min_shelf_life_at_receipt=90,
)


def scan(text: str):
    return parse_scan(text, as_of=TODAY)


def hibc(data: str) -> str:
    return data + hibc_check_character(data)


def test_an_each_books_one_base_unit():
    receipt = receipt_from_scan(scan("(01)09501101530003(17)280131(10)L42"), PRODUCT, as_of=TODAY)
    assert receipt.product == DeviceIdentifier.parse(EACH)
    assert receipt.scanned_di == DeviceIdentifier.parse(EACH)
    assert (receipt.lot, receipt.serial) == (Lot("L42"), None)
    assert receipt.expiry is not None and receipt.expiry.date == pendulum.date(2028, 1, 31)
    assert (receipt.scanned_quantity, receipt.quantity) == (1, 1)
    assert receipt.status is StockStatus.AVAILABLE
    assert receipt.quarantine_reason is None
    assert receipt.remaining_shelf_life == 426


def test_a_case_scan_books_its_eaches_through_two_levels():
    receipt = receipt_from_scan(scan("(01)29501101530007(17)280131(10)L42"), PRODUCT, as_of=TODAY)
    assert receipt.scanned_di == DeviceIdentifier.parse(CASE)
    assert (receipt.scanned_quantity, receipt.quantity) == (1, 120)


def test_ai_30_counts_units_of_the_scanned_level():
    receipt = receipt_from_scan(
        scan("(01)19501101530000(17)280131(10)L42(30)3"), PRODUCT, as_of=TODAY
    )
    assert (receipt.scanned_quantity, receipt.quantity) == (3, 36)


def test_ai_37_counts_the_contained_trade_items():
    text = "(00)106141411234567897(02)19501101530000(37)5(17)280131(10)L42"
    receipt = receipt_from_scan(scan(text), PRODUCT, as_of=TODAY)
    assert receipt.scanned_di == DeviceIdentifier.parse(BOX)
    assert (receipt.scanned_quantity, receipt.quantity) == (5, 60)


def test_month_precision_is_kept():
    receipt = receipt_from_scan(scan("(01)09501101530003(17)280200(10)L42"), PRODUCT, as_of=TODAY)
    assert receipt.expiry is not None
    assert receipt.expiry.precision is DatePrecision.MONTH
    assert str(receipt.expiry) == "2028-02"


def test_hibc_quantity_and_package_level():
    product = Product(
        primary_di="HIBCC:A123BJC5D6E70",
        packages=(PackageLevel(di="A123BJC5D6E71", contains="A123BJC5D6E70", quantity=10),),
        controls=Controls(lot=True),
    )
    with_quantity = hibc("+A123BJC5D6E71/$$8051230LOT7")
    receipt = receipt_from_scan(parse_scan(with_quantity), product, as_of=TODAY)
    assert (receipt.scanned_quantity, receipt.quantity, receipt.lot) == (5, 50, Lot("LOT7"))
    assert receipt.expiry is not None and receipt.expiry.precision is DatePrecision.MONTH
    slash_q = hibc("+A123BJC5D6E70/$LOT7/Q3")
    receipt = receipt_from_scan(parse_scan(slash_q), product, as_of=TODAY)
    assert (receipt.scanned_quantity, receipt.quantity, receipt.expiry) == (3, 3, None)


def test_ma_code_with_serial_and_production_date():
    product = Product(
        primary_di="MA.156.M0.100350.01004YA10017",
        controls=Controls(lot=True, serial=True, expiry=True, production_date=True),
    )
    code = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
    receipt = receipt_from_scan(parse_scan(code), product, as_of=dt.date(2022, 1, 1))
    assert receipt.serial == Serial("LMSAGAAAC")
    assert receipt.production_date == pendulum.date(2021, 6, 28)
    assert receipt.expiry is not None and receipt.expiry.date == pendulum.date(2022, 6, 27)
    assert receipt.quantity == 1


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("controls", "text", "rule"),
    [
        (Controls(serial=True), "(01)09501101530003(10)L1", ReceiptRule.SERIAL_REQUIRED),
        (Controls(lot=True), "(01)09501101530003(21)S1", ReceiptRule.LOT_REQUIRED),
        (Controls(expiry=True), "(01)09501101530003(10)L1", ReceiptRule.EXPIRY_REQUIRED),
        (
            Controls(production_date=True),
            "(01)09501101530003(10)L1",
            ReceiptRule.PRODUCTION_DATE_REQUIRED,
        ),
    ],
)
def test_a_controlled_field_missing_from_the_scan_is_refused(controls, text, rule):
    product = Product(primary_di=EACH, controls=controls)
    with pytest.raises(ScanReceiptError) as info:
        receipt_from_scan(scan(text), product, as_of=TODAY)
    assert info.value.rule is rule
    assert isinstance(info.value, StockError)
    assert info.value.raw == text
    assert "cannot receive scan" in str(info.value)


def test_an_uncontrolled_field_is_still_taken():
    receipt = receipt_from_scan(
        scan("(01)09501101530003(21)S1(11)260101"), Product(primary_di=EACH), as_of=TODAY
    )
    assert receipt.serial == Serial("S1")
    assert receipt.production_date == pendulum.date(2026, 1, 1)


def test_an_expiry_contradicting_the_lot_is_refused():
    text = "(01)09501101530003(17)280131(10)L42"
    known = dt.date(2028, 1, 31)
    assert receipt_from_scan(scan(text), PRODUCT, as_of=TODAY, known_lot_expiry=known).quantity == 1
    with pytest.raises(ScanReceiptError, match="contradicts the known expiry 2028-01-30") as info:
        receipt_from_scan(scan(text), PRODUCT, as_of=TODAY, known_lot_expiry=dt.date(2028, 1, 30))
    assert info.value.rule is ReceiptRule.EXPIRY_CONFLICT


def test_an_expiry_before_the_production_date_is_refused():
    with pytest.raises(ScanReceiptError, match="before the production date") as info:
        receipt_from_scan(
            scan("(01)09501101530003(11)280201(17)280131(10)L1"), PRODUCT, as_of=TODAY
        )
    assert info.value.rule is ReceiptRule.EXPIRY_CONFLICT


@pytest.mark.parametrize(
    "text",
    [
        "(01)19501101530000(21)S1",  # a box of 12 with one serial
        "(01)09501101530003(21)S1(30)2",  # two eaches with one serial
    ],
)
def test_a_serial_names_one_base_unit(text):
    with pytest.raises(ScanReceiptError, match="a serial names one unit") as info:
        receipt_from_scan(
            scan(text), Product(primary_di=EACH, packages=PRODUCT.packages), as_of=TODAY
        )
    assert info.value.rule is ReceiptRule.SERIAL_QUANTITY


def test_another_products_scan_is_refused():
    with pytest.raises(ScanReceiptError, match="is not a DI of product GS1:09501101530003") as info:
        receipt_from_scan(scan("(01)04006381333931(17)280131(10)L42"), PRODUCT, as_of=TODAY)
    assert info.value.rule is ReceiptRule.OTHER_PRODUCT


@pytest.mark.parametrize(
    "text",
    ["(00)106141411234567897", hibc("+$$3280131LOT1"), hibc("+/CP123456789")],
)
def test_a_scan_without_a_device_is_refused(text):
    with pytest.raises(ScanReceiptError) as info:
        receipt_from_scan(parse_scan(text, as_of=TODAY), PRODUCT, as_of=TODAY)
    assert info.value.rule is ReceiptRule.NO_DEVICE


def test_a_count_beyond_the_largest_quantity_is_refused():
    product = Product(
        primary_di=EACH, packages=(PackageLevel(di=BOX, contains=EACH, quantity=2**40),)
    )
    with pytest.raises(ScanReceiptError, match="largest quantity") as info:
        receipt_from_scan(scan("(01)19501101530000(30)99999999"), product, as_of=TODAY)
    assert info.value.rule is ReceiptRule.INVALID_VALUE


class _Agency(enum.Enum):
    GS1 = "GS1"


@attrs.frozen(kw_only=True)
class FakeScan:
    """Any object with the fields of a scan (a scanner SDK's own result)."""

    agency: enum.Enum = _Agency.GS1
    di: str | None = EACH
    lot: str | None = None
    serial: str | None = None
    expiry: pendulum.Date | None = None
    expiry_precision: DatePrecision | None = None
    production_date: pendulum.Date | None = None
    quantity: int | None = None
    raw: str = "fake"


def test_any_scan_like_object_is_read_and_bad_identifiers_refused():
    receipt = receipt_from_scan(FakeScan(lot="A"), Product(primary_di=EACH), as_of=TODAY)
    assert receipt.lot == Lot("A")
    with pytest.raises(ScanReceiptError, match="invalid lot") as info:
        receipt_from_scan(FakeScan(lot="x" * 21), Product(primary_di=EACH), as_of=TODAY)
    assert info.value.rule is ReceiptRule.INVALID_VALUE
    with pytest.raises(ScanReceiptError, match="invalid serial"):
        receipt_from_scan(FakeScan(serial="é"), Product(primary_di=EACH), as_of=TODAY)
    long_raw = FakeScan(di=None, raw="x" * 100)
    with pytest.raises(ScanReceiptError, match=r"cannot receive scan 'x{60}\.\.\.'"):
        receipt_from_scan(long_raw, PRODUCT, as_of=TODAY)


def test_bad_arguments():
    with pytest.raises(InvalidValueError, match="expected a Product"):
        receipt_from_scan(FakeScan(), "product", as_of=TODAY)  # type: ignore[arg-type]
    with pytest.raises(InvalidDateError):
        receipt_from_scan(FakeScan(), PRODUCT, as_of="today")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- shelf life


@pytest.mark.parametrize(
    ("days_left", "status"),
    [(91, StockStatus.AVAILABLE), (90, StockStatus.AVAILABLE), (89, StockStatus.QUARANTINE)],
)
def test_remaining_shelf_life_at_the_minimum_is_enough(days_left, status):
    expiry = pendulum.date(2026, 12, 1).add(days=days_left)
    fake = FakeScan(lot="L1", expiry=expiry, expiry_precision=DatePrecision.DAY)
    receipt = receipt_from_scan(fake, PRODUCT, as_of=TODAY)
    assert receipt.remaining_shelf_life == days_left
    assert receipt.status is status
    assert (receipt.quarantine_reason is None) == (status is StockStatus.AVAILABLE)


def test_expired_stock_is_received_into_quarantine():
    product = Product(primary_di=EACH)
    fake = FakeScan(expiry=pendulum.date(2026, 11, 30))
    receipt = receipt_from_scan(fake, product, as_of=TODAY)
    assert receipt.status is StockStatus.QUARANTINE
    assert receipt.quarantine_reason == "expired 1 day(s) before receipt"
    on_the_day = receipt_from_scan(
        FakeScan(expiry=pendulum.date(2026, 12, 1)), product, as_of=TODAY
    )
    assert on_the_day.status is StockStatus.AVAILABLE


@given(
    st.integers(-400, 400),
    st.none() | st.integers(0, 365),
    st.integers(1, 10**6),
    st.sampled_from([EACH, BOX, CASE]),
)
def test_receipt_rules_agree_with_a_direct_computation(days_left, minimum, count, di):
    product = attrs.evolve(PRODUCT, min_shelf_life_at_receipt=minimum)
    expiry = pendulum.date(2026, 12, 1).add(days=days_left)
    fake = FakeScan(di=di, lot="L1", expiry=expiry, quantity=count)
    receipt = receipt_from_scan(fake, product, as_of=TODAY)
    assert receipt.quantity == count * {EACH: 1, BOX: 12, CASE: 120}[di]
    left = remaining_shelf_life(expiry, TODAY)
    assert left is not None
    short = left < 0 or (minimum is not None and left < minimum)
    assert receipt.status is (StockStatus.QUARANTINE if short else StockStatus.AVAILABLE)
