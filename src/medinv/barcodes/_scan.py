"""The one value every scanner read becomes: [`Scan`][medinv.barcodes.Scan]."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs
import pendulum

from medinv.dates import DatePrecision
from medinv.identifiers import ItemKey

__all__ = ["MAX_SCAN_LENGTH", "Agency", "Carrier", "Scan"]

MAX_SCAN_LENGTH: Final = 8_192
"""The longest scanner input read: no symbol carries more (a QR Code holds at most
7,089 digits, a GS1 DataMatrix 3,116), with room for an AIM symbology identifier, FNC1
substitutes and an ISO/IEC 15434 envelope. Longer input is refused before parsing."""


def too_long(text: str, kind: str) -> str | None:
    """Why ``text`` is refused before parsing, or ``None`` when it is not too long."""
    if len(text) <= MAX_SCAN_LENGTH:
        return None
    shown = text[:40] + "..."
    return (
        f"the {kind} is {len(text):,} characters long; no barcode symbol carries more than "
        f"{MAX_SCAN_LENGTH:,} (were several inputs joined, or a file read as one scan?); "
        f"scan {shown!r}"
    )


class Agency(enum.Enum):
    """The issuing agency whose rules the code follows."""

    GS1 = "GS1"
    HIBCC = "HIBCC"
    MA = "MA"
    """China's IDcode (MA code), accepted by NMPA for UDI."""


class Carrier(enum.Enum):
    """How the data was written."""

    GS1_ELEMENT_STRING = "GS1 element string"
    """AI-prefixed data, with FNC1 separators (GS1-128, GS1 DataMatrix, GS1 QR)."""
    GS1_HUMAN_READABLE = "GS1 human-readable"
    """``(01)...(17)...`` form."""
    GS1_DIGITAL_LINK = "GS1 Digital Link"
    """A ``https://.../01/...`` URI."""
    PLAIN_GTIN = "plain GTIN"
    """EAN-8, UPC-A, EAN-13 or ITF-14: a GTIN with nothing else."""
    PLAIN_SSCC = "plain SSCC"
    """An 18-digit SSCC alone."""
    HIBC_PRIMARY = "HIBC primary"
    HIBC_SECONDARY = "HIBC secondary"
    HIBC_CONCATENATED = "HIBC concatenated"
    """Primary and secondary data in one symbol (or two symbols read back to back)."""
    HIBC_PROVIDER = "HIBC provider application"
    """ANSI/HIBC Provider Applications Standard (``+/...``): a hospital's own label, such
    as a patient, specimen or asset identification; not a supplier's product."""
    MA_CODE = "MA code"


def _frozen_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen(kw_only=True)
class Scan:
    """What one scanner read says, validated. Missing fields are ``None``, never ``""``."""

    agency: Agency
    """Whose rules the code follows."""
    carrier: Carrier
    """How the data was written."""
    di: str | None = None
    """Device identifier: GTIN-14 for GS1; LIC + product number + unit-of-measure digit for HIBC;
    ``MA.156.M0.<company>.<product>`` for MA codes. ``None`` for an SSCC-only or
    HIBC-secondary-only read."""
    gtin: str | None = None
    """GTIN-14 (GS1 only)."""
    lot: str | None = None
    """Lot / batch, verbatim."""
    serial: str | None = None
    """Serial number, verbatim."""
    expiry: pendulum.Date | None = None
    """Expiry date (month-only expiries resolved to the last day of the month)."""
    expiry_precision: DatePrecision | None = None
    """``DAY`` or ``MONTH`` (GS1 day ``00``, HIBC ``MMYY``); ``None`` when no expiry."""
    expiry_datetime: pendulum.DateTime | None = None
    """Expiry date and time (GS1 AI 7003, HIBC forms with an hour)."""
    production_date: pendulum.Date | None = None
    """Production / manufacturing date."""
    best_before: pendulum.Date | None = None
    """Best-before date (GS1 AI 15)."""
    quantity: int | None = None
    """Count or variable quantity (GS1 AI 30/37, HIBC quantity)."""
    sscc: str | None = None
    """Serial Shipping Container Code (18 digits)."""
    ais: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)
    """GS1 only: AI code → raw value, in the order read. Read-only."""
    raw: str
    """The scanner input exactly as received."""
    symbology_identifier: str | None = None
    """The AIM symbology identifier the scanner sent (e.g. ``"]d2"``), or ``None``."""
    warnings: tuple[str, ...] = ()
    """What was accepted although the scan is not as the standard writes it: lint problems
    that lenient mode accepts (strict mode refuses them), and FNC1 separators recovered
    because exactly one reading of the scan is valid. Empty for a clean scan."""
    valid_until: pendulum.Date | None = None
    """MA code ``.V`` (有效期至, valid until): the last day of validity as printed.
    `expiry` is the earlier of this and the ``.E`` expiry date."""
    sterilisation_lot: str | None = None
    """MA code ``.D``: the sterilisation lot (batch), verbatim."""
    hibc_provider_type: str | None = None
    """HIBC Provider Applications Standard labels: the data type letter after ``+/``
    (``"C"`` patient, ``"D"`` specimen, ``"N"`` asset, ...)."""
    hibc_provider_data: str | None = None
    """HIBC Provider Applications Standard labels: the data, without the check character."""
    hibc_link: str | None = None
    """HIBC link character: the primary's check character, which a separately printed
    secondary symbol repeats. For a secondary read alone, the link character it carries."""

    def item_key(self) -> ItemKey:
        """The stock item this scan names: its device identifier (GS1, HIBC or MA), lot, serial.

        Raises:
            InvalidValueError: the scan names no device (an SSCC, an HIBC secondary label
                alone), or its lot or serial is not a valid medinv lot or serial.
        """
        from medinv.devices import DeviceIdentifier  # noqa: PLC0415  (keep module import light)
        from medinv.errors import InvalidValueError  # noqa: PLC0415

        if self.gtin is not None:
            device = DeviceIdentifier.gs1(self.gtin)
        elif self.di is not None:
            device = DeviceIdentifier.from_scan(self)
        else:
            msg = (
                f"the {self.carrier.value} scan {self.raw!r} names no GTIN nor any other "
                "device identifier"
            )
            raise InvalidValueError(msg)
        return ItemKey(device, lot=self.lot, serial=self.serial)
