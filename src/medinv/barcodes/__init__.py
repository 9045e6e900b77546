"""Barcode and UDI intake: GS1 (element strings, Digital Link), HIBC and MA codes.

Everything a scanner delivers becomes one validated [`Scan`][medinv.barcodes.Scan],
or an [`InvalidBarcodeError`][medinv.errors.InvalidBarcodeError].
"""

from __future__ import annotations

from medinv.barcodes._gs1 import century_year
from medinv.barcodes._hibc import hibc_check_character, link_hibc, parse_hibc
from medinv.barcodes._ma import parse_ma
from medinv.barcodes._parse import parse_scan
from medinv.barcodes._scan import Agency, Carrier, Scan

__all__ = [
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
