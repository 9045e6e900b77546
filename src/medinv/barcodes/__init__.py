"""Barcode and UDI intake: GS1 (element strings, Digital Link), HIBC and MA codes.

Everything a scanner delivers becomes one validated [`Scan`][medinv.barcodes.Scan],
or an [`InvalidBarcodeError`][medinv.errors.InvalidBarcodeError].
"""

from __future__ import annotations

from medinv.barcodes._gs1 import century_year
from medinv.barcodes._parse import parse_scan
from medinv.barcodes._scan import Agency, Carrier, Scan

__all__ = ["Agency", "Carrier", "Scan", "century_year", "parse_scan"]
