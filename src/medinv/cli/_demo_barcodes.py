"""Demo section: scanner input becomes one validated scan, or a clear refusal."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from medinv.barcodes import parse_scan
from medinv.errors import InvalidBarcodeError

if TYPE_CHECKING:
    from medinv.cli._demo import DemoContext

GS = "\x1d"

# (what the scan is, scanner input, lenient)
_PARSED = [
    ("GS1 DataMatrix UDI", f"]d2010950110153000317261231{GS}10AB-123{GS}21S0001", False),
    ("GS1-128, month-only expiry", "]C1010950110153000311250101172712001012345", False),
    (
        "Digital Link in a plain QR",
        "]Q1https://id.gs1.org/01/09501101530003/10/AB-123?17=270300",
        False,
    ),
    ("EAN-13", "]E05901234123457", False),
    ("dropped FNC1, one valid reading", "010950110153000310ABCDEFGHIJKLMNOP17261231", False),
    ("serial without GTIN (lenient)", "21S0001", True),
    ("HIBC concatenated", "]C0+A99912345/$$3261231LOT123/S000123/16D20251115U", False),
    ("HIBC month-only expiry", "+A99912345/$$1231LOT7+", False),
    ("China MA code (IDcode)", "MA.156.M0.100001.0100001.L220101.E241231", False),
]
_REFUSED = [
    ("wrong GTIN check digit", "]d201095011015300041726123110AB-123"),
    ("AI 7003 with day 00", f"]d2010950110153000370032612001430{GS}10A"),
    ("GTIN with content GTIN", "]C1010950110153000302095011015300033710"),
    ("ambiguous missing FNC1", "010950110153000310ABCDEFG21HIJ21KLMNOPQ"),
    ("serial without GTIN (strict)", "21S0001"),
    ("HIBC with a misread check character", "+A99912345/$$3261231LOT123/S000123/16D20251115X"),
]


def barcodes(out: TextIO, ctx: DemoContext) -> None:
    """Parse scans of every GS1 carrier, HIBC and MA codes; show what is refused and why."""
    out.write("\n== Barcodes: every scanner read becomes one validated scan, or a refusal ==\n")
    for title, text, lenient in _PARSED:
        scan = parse_scan(text, lenient=lenient, tz=ctx.tz, as_of=ctx.today)
        out.write(f"  {title}: {text!r}\n")
        expiry = (
            f"{scan.expiry} ({scan.expiry_precision.value} precision)"
            if scan.expiry is not None and scan.expiry_precision is not None
            else None
        )
        shown = [
            f"{name} {value}"
            for name, value in (
                ("gtin", scan.gtin),
                ("di", scan.di if scan.gtin is None else None),
                ("lot", scan.lot),
                ("serial", scan.serial),
                ("expiry", expiry),
                ("production", scan.production_date),
            )
            if value is not None
        ]
        out.write(f"    -> {scan.carrier.value}: {', '.join(shown)}\n")
        out.writelines(f"    warning: {warning}\n" for warning in scan.warnings)
    for title, text in _REFUSED:
        out.write(f"  {title}: {text!r}\n")
        try:
            parse_scan(text, tz=ctx.tz, as_of=ctx.today)
        except InvalidBarcodeError as e:
            out.write(f"    refused: {e}\n")
