"""Barcode and UDI intake: GS1 (element strings, Digital Link), HIBC and MA codes.

Everything a scanner delivers becomes one validated [`Scan`][medinv.barcodes.Scan],
or an [`InvalidBarcodeError`][medinv.errors.InvalidBarcodeError]:

```pycon
>>> import datetime as dt
>>> from medinv.barcodes import parse_scan
>>> scan = parse_scan("(01)09501101530003(17)270300(10)AB-123", as_of=dt.date(2026, 11, 23))
>>> scan.gtin, scan.lot, scan.expiry, scan.expiry_precision.value
('09501101530003', 'AB-123', Date(2027, 3, 31), 'month')
>>> parse_scan("]E05901234123458")
Traceback (most recent call last):
...
medinv.errors.InvalidBarcodeError: GTIN-13 5901234123458 has a wrong check digit: ...

```
"""

from __future__ import annotations

from medinv.barcodes._gs1 import century_year
from medinv.barcodes._hibc import hibc_check_character, link_hibc, parse_hibc
from medinv.barcodes._ma import parse_ma
from medinv.barcodes._parse import parse_scan
from medinv.barcodes._scan import MAX_SCAN_LENGTH, Agency, Carrier, Scan

__all__ = [
    "MAX_SCAN_LENGTH",
    "Agency",
    "Carrier",
    "Scan",
    "century_year",
    "hibc_check_character",
    "link_hibc",
    "parse_hibc",
    "parse_ma",
    "parse_scan",
]
