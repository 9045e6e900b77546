"""Receive from a scan, pure: what a receipt of one scanner read would book."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final, Protocol

import attrs
import pendulum

from medinv.catalogue._product import Product
from medinv.dates import DatePrecision, Expiry, remaining_shelf_life, to_date
from medinv.devices import DeviceIdentifier, InvalidDeviceIdentifierError, ScanWithDevice
from medinv.errors import InvalidValueError, StockError
from medinv.identifiers import Lot, Serial
from medinv.status import StockStatus

__all__ = ["ReceiptRule", "ScanReading", "ScanReceiptError", "ScannedReceipt", "receipt_from_scan"]

_SHOWN: Final = 60


class ScanReading(ScanWithDevice, Protocol):
    """What [`receipt_from_scan`][medinv.catalogue.receipt_from_scan] reads from a scan.

    The fields of [`ScanWithDevice`][medinv.devices.ScanWithDevice] and those below;
    a [`medinv.barcodes.Scan`][medinv.barcodes.Scan] is one.
    """

    @property
    def lot(self) -> str | None:
        """Lot, verbatim."""

    @property
    def serial(self) -> str | None:
        """Serial, verbatim."""

    @property
    def expiry(self) -> pendulum.Date | None:
        """Expiry date (month-only expiries resolved to the month's last day)."""

    @property
    def expiry_precision(self) -> DatePrecision | None:
        """Day or month."""

    @property
    def production_date(self) -> pendulum.Date | None:
        """Production date."""

    @property
    def quantity(self) -> int | None:
        """GS1 AI 30/37 count, HIBC quantity."""


class ReceiptRule(enum.Enum):
    """Which rule refused a scan as a receipt."""

    NO_DEVICE = "no device"
    """The scan names no device identifier (an SSCC, a secondary or provider label alone)."""
    OTHER_PRODUCT = "other product"
    """The scanned DI is neither the product's primary DI nor one of its package DIs."""
    LOT_REQUIRED = "lot required"
    """The product is lot-controlled and the scan carries no lot."""
    SERIAL_REQUIRED = "serial required"
    """The product is serial-controlled and the scan carries no serial."""
    EXPIRY_REQUIRED = "expiry required"
    """The label carries an expiry date and the scan does not."""
    PRODUCTION_DATE_REQUIRED = "production date required"
    """The label carries a production date and the scan does not."""
    EXPIRY_CONFLICT = "expiry conflict"
    """The scanned expiry contradicts the lot's known expiry (or precedes the production date)."""
    SERIAL_QUANTITY = "serial quantity"
    """A serial on a scan that stands for more than one base unit."""
    INVALID_VALUE = "invalid value"
    """A lot or serial medinv cannot keep (see the message)."""


class ScanReceiptError(StockError):
    """A scan that cannot be booked as a receipt of the product; nothing was booked."""

    def __init__(self, rule: ReceiptRule, raw: str, reason: str) -> None:
        self.rule = rule
        """Which rule refused it."""
        self.raw = raw
        """The scanner input."""
        self.reason = reason
        """What is wrong, in words."""
        shown = raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "..."
        super().__init__(f"cannot receive scan {shown!r}: {reason}")


@attrs.frozen(kw_only=True)
class ScannedReceipt:
    """What a receipt of one scan would book. A value: nothing is posted."""

    product: DeviceIdentifier
    """The product's primary DI: the ledger books base units of it."""
    scanned_di: DeviceIdentifier
    """The DI the scan carried (the primary DI or a package DI)."""
    lot: Lot | None
    """Lot from the scan."""
    serial: Serial | None
    """Serial from the scan."""
    expiry: Expiry | None
    """Expiry from the scan, with its printed precision."""
    production_date: pendulum.Date | None
    """Production date from the scan."""
    scanned_quantity: int
    """Units of ``scanned_di``: the scan's count (GS1 AI 30 or 37, HIBC quantity) or 1."""
    quantity: int
    """Base units to book: ``scanned_quantity`` times the base units per ``scanned_di``."""
    status: StockStatus
    """``AVAILABLE``, or ``QUARANTINE`` when the remaining shelf life is short or the
    stock is already expired."""
    remaining_shelf_life: int | None
    """Days of shelf life left on the receipt date; ``None`` without expiry."""
    quarantine_reason: str | None
    """Why the receipt lands in quarantine, in words; ``None`` when AVAILABLE."""


def _refuse(scan: ScanReading, rule: ReceiptRule, reason: str) -> ScanReceiptError:
    return ScanReceiptError(rule, scan.raw, reason)


def receipt_from_scan(
    scan: ScanReading,
    product: Product,
    *,
    as_of: dt.date,
    known_lot_expiry: dt.date | None = None,
) -> ScannedReceipt:
    """What receiving ``scan`` as ``product`` on ``as_of`` would book.

    Takes every field the scan carries: DI, lot, serial, expiry, production date and
    count. A package DI books its base units through the product's packaging
    (a case of 10 boxes of 20 books 200 eaches). Refuses a scan that lacks a
    production identifier the product's label carries, a serial on more than one
    base unit, and an expiry that contradicts ``known_lot_expiry`` (the expiry on
    record for the scanned lot). The receipt lands in ``QUARANTINE`` when the
    remaining shelf life on ``as_of`` is below the product's minimum at receipt
    (a receipt with exactly the minimum is AVAILABLE), or when the stock has expired.

    ```pycon
    >>> from medinv.barcodes import parse_scan
    >>> from medinv.catalogue import Controls, PackageLevel, Product
    >>> product = Product(
    ...     primary_di="09501101530003",
    ...     packages=(PackageLevel(di="19501101530000", contains="09501101530003", quantity=12),),
    ...     controls=Controls(lot=True, expiry=True),
    ...     min_shelf_life_at_receipt=90,
    ... )
    >>> scan = parse_scan("(01)19501101530000(17)270131(10)L42(30)3", as_of=dt.date(2026, 12, 1))
    >>> r = receipt_from_scan(scan, product, as_of=dt.date(2026, 12, 1))
    >>> r.quantity, r.status.value, r.remaining_shelf_life
    (36, 'QUARANTINE', 61)

    ```

    Args:
        scan: A parsed scan ([`parse_scan`][medinv.barcodes.parse_scan]).
        product: The product the scan is received as.
        as_of: The receipt date in the facility's time zone.
        known_lot_expiry: The expiry already on record for the scanned lot, if any.

    Raises:
        ScanReceiptError: a rule refused the scan (its ``rule`` says which).
        InvalidDateError: ``as_of`` or ``known_lot_expiry`` is not a date.
    """
    day = to_date(as_of)
    known = None if known_lot_expiry is None else to_date(known_lot_expiry)
    given: object = product
    if not isinstance(given, Product):
        raise InvalidValueError(f"expected a Product, not {type(given).__name__}")
    scanned = _scanned_di(scan, product)
    lot, serial = _identifiers(scan, product)
    expiry = _expiry(scan, product, known)
    if product.controls.production_date and scan.production_date is None:
        raise _refuse(
            scan,
            ReceiptRule.PRODUCTION_DATE_REQUIRED,
            f"{product.primary_di} carries a production date on its label; the scan has none",
        )
    count = 1 if scan.quantity is None else scan.quantity
    try:
        quantity = product.to_base_units(count, scanned)
    except InvalidValueError as e:
        raise _refuse(scan, ReceiptRule.INVALID_VALUE, str(e)) from None
    if serial is not None and quantity != 1:
        raise _refuse(
            scan,
            ReceiptRule.SERIAL_QUANTITY,
            f"serial {serial.value!r} on {count} x {scanned} ({quantity} base units): a serial "
            "names one unit",
        )
    remaining = None if expiry is None else remaining_shelf_life(expiry.date, day)
    reason = _quarantine_reason(product, remaining)
    return ScannedReceipt(
        product=product.primary_di,
        scanned_di=scanned,
        lot=lot,
        serial=serial,
        expiry=expiry,
        production_date=scan.production_date,
        scanned_quantity=count,
        quantity=quantity,
        status=StockStatus.AVAILABLE if reason is None else StockStatus.QUARANTINE,
        remaining_shelf_life=remaining,
        quarantine_reason=reason,
    )


def _scanned_di(scan: ScanReading, product: Product) -> DeviceIdentifier:
    try:
        scanned = DeviceIdentifier.from_scan(scan)
    except InvalidDeviceIdentifierError as e:
        raise _refuse(scan, ReceiptRule.NO_DEVICE, e.reason) from None
    if scanned not in product:
        raise _refuse(
            scan,
            ReceiptRule.OTHER_PRODUCT,
            f"{scanned} is not a DI of product {product.primary_di} "
            f"(its DIs: {', '.join(str(di) for di in product.dis)})",
        )
    return scanned


def _identifiers(scan: ScanReading, product: Product) -> tuple[Lot | None, Serial | None]:
    controls = product.controls
    if controls.lot and scan.lot is None:
        raise _refuse(
            scan,
            ReceiptRule.LOT_REQUIRED,
            f"{product.primary_di} is lot-controlled; the scan carries no lot",
        )
    if controls.serial and scan.serial is None:
        raise _refuse(
            scan,
            ReceiptRule.SERIAL_REQUIRED,
            f"{product.primary_di} is serial-controlled; the scan carries no serial",
        )
    try:
        lot = None if scan.lot is None else Lot(scan.lot)
        serial = None if scan.serial is None else Serial(scan.serial)
    except InvalidValueError as e:
        raise _refuse(scan, ReceiptRule.INVALID_VALUE, str(e)) from None
    return lot, serial


def _expiry(scan: ScanReading, product: Product, known: pendulum.Date | None) -> Expiry | None:
    if scan.expiry is None:
        if product.controls.expiry:
            raise _refuse(
                scan,
                ReceiptRule.EXPIRY_REQUIRED,
                f"{product.primary_di} carries an expiry date on its label; the scan has none",
            )
        return None
    expiry = Expiry(date=scan.expiry, precision=scan.expiry_precision or DatePrecision.DAY)
    if known is not None and known != expiry.date:
        raise _refuse(
            scan,
            ReceiptRule.EXPIRY_CONFLICT,
            f"expiry {expiry.date} contradicts the known expiry {known} of lot {scan.lot!r}",
        )
    made = scan.production_date
    if made is not None and made > expiry.date:
        raise _refuse(
            scan,
            ReceiptRule.EXPIRY_CONFLICT,
            f"expiry {expiry.date} is before the production date {made}",
        )
    return expiry


def _quarantine_reason(product: Product, remaining: int | None) -> str | None:
    if remaining is None:
        return None
    if remaining < 0:
        return f"expired {-remaining} day(s) before receipt"
    minimum = product.min_shelf_life_at_receipt
    if minimum is not None and remaining < minimum:
        return f"{remaining} day(s) of shelf life left; the minimum at receipt is {minimum}"
    return None
