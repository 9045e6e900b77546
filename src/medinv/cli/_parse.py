"""``medinv parse``: parse scanner input and print the fields, or the refusal.

Each argument is one scan; with no argument (or ``-``), each line of standard input
is one scan. ``--json`` prints one JSON object per scan (JSON Lines). The exit code
is 0 when every scan parsed, 1 when at least one was refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from medinv.barcodes import Scan, parse_scan
from medinv.errors import InvalidBarcodeError

__all__ = ["configure", "run", "scan_fields"]

_FIELDS = (
    "agency",
    "carrier",
    "di",
    "gtin",
    "lot",
    "serial",
    "expiry",
    "expiry_precision",
    "expiry_datetime",
    "production_date",
    "best_before",
    "quantity",
    "sscc",
    "symbology_identifier",
)


def scan_fields(scan: Scan) -> dict[str, Any]:
    """The scan as JSON-ready data: text, numbers, ISO dates; ``None`` for missing fields."""
    data: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(scan, name)
        if isinstance(value, dt.date):  # dates and date-times
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        data[name] = value
    data["ais"] = dict(scan.ais)
    data["warnings"] = list(scan.warnings)
    data["raw"] = scan.raw
    return data


def _inputs(args: argparse.Namespace, stdin: TextIO) -> Iterator[str]:
    scans: list[str] = args.scans
    if not scans or scans == ["-"]:
        for line in stdin:
            text = line.rstrip("\r\n")
            if text:
                yield text
        return
    yield from scans


def _print_text(out: TextIO, text: str, result: Scan | InvalidBarcodeError) -> None:
    out.write(f"{text!r}\n")
    if isinstance(result, InvalidBarcodeError):
        out.write(f"  refused: {result}\n")
        return
    for name, value in scan_fields(result).items():
        if name in {"raw", "ais", "warnings"} or value is None:
            continue
        out.write(f"  {name + ':':<21} {value}\n")
    if result.ais:
        shown = "".join(f"({ai}){value}" for ai, value in result.ais.items())
        out.write(f"  {'ais:':<21} {shown}\n")
    out.writelines(f"  warning: {warning}\n" for warning in result.warnings)


def _parse_all(args: argparse.Namespace, texts: Iterable[str], out: TextIO) -> int:
    as_of: dt.date | None = args.as_of
    refused = 0
    for text in texts:
        result: Scan | InvalidBarcodeError
        try:
            result = parse_scan(
                text, lenient=args.lenient, fnc1=args.fnc1 or None, tz=args.tz, as_of=as_of
            )
        except InvalidBarcodeError as e:
            result = e
            refused += 1
        if args.json:
            if isinstance(result, InvalidBarcodeError):
                record: dict[str, Any] = {
                    "input": text,
                    "ok": False,
                    "error": {"message": str(result), "offset": result.offset, "ai": result.ai},
                }
            else:
                record = {"input": text, "ok": True, "scan": scan_fields(result)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            _print_text(out, text, result)
    return 1 if refused else 0


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Parse every scan given on the command line or on standard input."""
    return _parse_all(args, _inputs(args, sys.stdin), out)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``medinv parse``'s options to its sub-command parser."""
    parser.add_argument(
        "scans",
        nargs="*",
        metavar="SCAN",
        help="scanner input, one scan per argument (default: one per line of standard input)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per scan")
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="accept lint-only problems (e.g. a missing mandatory AI) with a warning",
    )
    parser.add_argument(
        "--fnc1",
        action="append",
        metavar="TEXT",
        default=[],
        help="text the scanner sends for FNC1, e.g. '<GS>' or '^' (repeatable; GS always works)",
    )
    parser.add_argument("--tz", default="UTC", help="facility time zone for AI 7003 (default: UTC)")
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        type=dt.date.fromisoformat,
        default=None,
        help="reference date for the two-digit-year window (default: today)",
    )
    parser.set_defaults(handler=run)
