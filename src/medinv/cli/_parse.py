"""``medinv parse``: parse scanner input and print the fields, or the refusal.

Each argument is one scan; with no argument (or ``-``), each line of standard input
is one scan. ``--json`` prints one JSON object per scan (JSON Lines). The exit code
is 0 when every scan parsed, 1 when at least one was refused.

Input that is not UTF-8 (a byte on standard input, an argument the shell passed
undecoded) is refused for that scan only; output that the terminal cannot show is
escaped; output piped into a command that stops reading (``| head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

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
    "hibc_provider_type",
    "hibc_provider_data",
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


class _NotUtf8Error(InvalidBarcodeError):
    """A scan whose bytes are not UTF-8: refused before parsing."""


def _undecodable(shown: str, where: str, offset: int) -> _NotUtf8Error:
    return _NotUtf8Error(
        f"the {where} is not valid UTF-8 (undecodable byte at offset {offset}); "
        "check the scanner's keyboard or code-page setting",
        text=shown,
        offset=offset,
    )


def _shown(text: str) -> str:
    r"""``text`` with bytes the shell could not decode shown as ``\xNN`` escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _argument(text: str) -> str | _NotUtf8Error:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return _undecodable(_shown(text), "argument", e.start)
    return text


def _lines(binary: BinaryIO) -> Iterator[str | _NotUtf8Error]:
    for raw in binary:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as e:
            yield _undecodable(line.decode("utf-8", "backslashreplace"), "input line", e.start)


def _inputs(args: argparse.Namespace, stdin: TextIO) -> Iterator[str | _NotUtf8Error]:
    scans: list[str] = args.scans
    if not scans or scans == ["-"]:
        binary: BinaryIO | None = getattr(stdin, "buffer", None)
        if binary is not None:
            yield from _lines(binary)
            return
        for line in stdin:
            text = line.rstrip("\r\n")
            if text:
                yield text
        return
    yield from (_argument(text) for text in scans)


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


_TYPED_ESCAPES = ("\\x1d", "\\x1D", "\\u001d", "\\u001D", "\\035")


def _hint(text: str, fnc1: list[str]) -> str:
    r"""A hint when the scan holds a GS escape typed as text (e.g. the four characters \x1d)."""
    typed = next((e for e in _TYPED_ESCAPES if e in text and e not in fnc1), None)
    if typed is None:
        return ""
    return (
        f" (hint: the scan contains the {len(typed)} characters {typed}, not the GS "
        f"control character; if they stand for FNC1, pass --fnc1 '{typed}')"
    )


def _parse_one(args: argparse.Namespace, text: str | _NotUtf8Error) -> Scan | InvalidBarcodeError:
    if isinstance(text, _NotUtf8Error):
        return text
    try:
        return parse_scan(
            text, lenient=args.lenient, fnc1=args.fnc1 or None, tz=args.tz, as_of=args.as_of
        )
    except InvalidBarcodeError as e:
        hint = _hint(text, args.fnc1)
        if not hint:
            return e
        return InvalidBarcodeError(str(e) + hint, text=e.text, offset=e.offset, ai=e.ai)


def _parse_all(args: argparse.Namespace, texts: Iterable[str | _NotUtf8Error], out: TextIO) -> int:
    refused = 0
    for given in texts:
        result = _parse_one(args, given)
        text = (given.text or "") if isinstance(given, _NotUtf8Error) else given
        if isinstance(result, InvalidBarcodeError):
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
    r"""Parse every scan given on the command line or on standard input.

    Output the stream cannot encode is escaped (``\xNN``); when the reader of a pipe
    stops (``medinv parse ... | head -1``), the command ends quietly with status 0.
    """
    reconfigure = getattr(out, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    try:
        code = _parse_all(args, _inputs(args, sys.stdin), out)
        out.flush()
    except BrokenPipeError:
        # The reader went away: send the rest of the output nowhere, so that the
        # interpreter's final flush does not fail again (Python's documented recipe).
        with contextlib.suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        return 0
    return code


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``medinv parse``'s options to its sub-command parser."""
    parser.description = (
        "Parse scanner input and show the fields, or why it is refused. Reads GS1 element "
        "strings (GS1-128, GS1 DataMatrix, GS1 QR, with or without a symbology identifier "
        "such as ]d2, also inside an ISO/IEC 15434 format 05 envelope), GS1 human-readable "
        "text (01)...(17)..., GS1 Digital Link URIs, plain GTIN-8/12/13/14 and SSCC, HIBC "
        "(supplier labels +LIC..., secondary data, provider application labels +/...) and "
        "MA codes (China IDcode, MA.156...)."
    )
    parser.epilog = (
        "FNC1 separators arrive as the GS control character (ASCII 29). A scanner or shell "
        "that writes them as text such as <GS>, ^ or the four characters \\x1d needs "
        "--fnc1 with that text. Exit status: 0 when every scan parsed, 1 otherwise."
    )
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
