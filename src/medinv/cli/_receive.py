"""``medinv receive``: book scanner lines from standard input as one receipt batch.

Each non-blank line of standard input is one scan (GS1, Digital Link, HIBC, MA; a
trailing carriage return is ignored). The whole input is received with
[`receive_many`][medinv.services.receive_many] through the catalogue of the same
database: all of it, or nothing. The movement of input line ``n`` has the id
``<batch>/<n>``, so running the same input again books nothing (each line says
``replayed``). Every line gets its outcome; exit code 0 when the batch was booked,
1 when lines were refused (nothing booked), 2 on a bad option or store.
``--json`` prints one object. A progress line counts the scans on standard error
when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import pendulum

from medinv.catalogue import ScanReceiptError
from medinv.cli import _store
from medinv.cli._progress import Progress
from medinv.dates import facility_timezone, to_datetime
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.services import ReceiveBatchError, ReceivedBatch, receive_many

__all__ = ["FORMAT", "configure", "run"]

FORMAT = 1
"""The version of the ``--json`` object; it changes only when a field changes meaning."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    parser.epilog = (
        "Reads one scan per line from standard input. Exit status: 0 when the batch was "
        "booked (or replayed), 1 when scans were refused (nothing booked), 2 on an error."
    )
    option = _store.typed_option
    option(parser, "--to", Location.parse, "location", "the receiving location", required=True)
    parser.add_argument("--actor", required=True, help="who receives (a person's name)")
    parser.add_argument(
        "--batch",
        required=True,
        metavar="ID",
        help="the batch id: line N is booked as movement ID/N, so a re-run books nothing",
    )
    option(
        parser,
        "--at",
        to_datetime,
        "date-time",
        "when the goods arrived, ISO 8601 with offset (default: now)",
        metavar="DATETIME",
    )
    option(
        parser,
        "--timezone",
        facility_timezone,
        "time zone",
        "the facility's IANA time zone: the receipt date, and so the shelf life, is "
        "judged in it (default: the offset of --at)",
        metavar="ZONE",
    )
    parser.add_argument("--reference", help="a business reference on every movement")
    parser.add_argument(
        "--uncatalogued",
        action="store_true",
        help="receive a device the catalogue does not know as a product of its own "
        "(default: refuse the line)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress line on standard error"
    )


def _scans(stream: TextIO) -> list[tuple[int, str]]:
    """The non-blank lines of ``stream`` with their line numbers."""
    lines = [(number, text.rstrip("\r\n")) for number, text in enumerate(stream, start=1)]
    return [(number, text) for number, text in lines if text.strip()]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Receive the scans of standard input; exit code 0 booked, 1 refused."""
    scans = _scans(sys.stdin)
    if not scans:
        raise _store.CommandError("no scans on standard input (one scan per line)")
    numbers = [number for number, _ in scans]
    ids = [f"{args.batch}/{number}" for number in numbers]
    zone = None if args.timezone is None else args.timezone.name
    at = args.at if args.at is not None else pendulum.now(zone or "UTC")
    progress = Progress.for_terminal(
        sys.stderr, "receive: scans", len(scans), wanted=not args.no_progress
    )
    with _store.open_writable_store(args, create=False) as store:
        try:
            batch = receive_many(
                Ledger(store, timezone=zone),
                [text for _, text in scans],
                catalogue=store.catalogue,
                to=args.to,
                occurred_at=at,
                actor=args.actor,
                movement_ids=ids,
                reference=args.reference,
                uncatalogued=args.uncatalogued,
                progress=lambda count: progress.advance(count - progress.done),
            )
        except ReceiveBatchError as refused:
            progress.finish()
            return _refused(args, out, numbers, ids, refused)
        finally:
            progress.finish()
    return _booked(args, out, numbers, batch)


def _header(args: argparse.Namespace, *, ok: bool, scans: int) -> dict[str, Any]:
    """What every ``--json`` object starts with."""
    return {"format": FORMAT, "batch": args.batch, "ok": ok, "scans": scans}


def _booked(args: argparse.Namespace, out: TextIO, numbers: list[int], batch: ReceivedBatch) -> int:
    lines = [
        {
            "line": number,
            "outcome": "replayed" if got.replayed else "booked",
            "movement_id": got.movement.movement.id,
            "item": str(got.item),
            "scanned_di": str(got.receipt.scanned_di),
            "scanned_quantity": got.receipt.scanned_quantity,
            "quantity": got.quantity,
            "status": got.status.value,
            "expiry": None if got.receipt.expiry is None else str(got.receipt.expiry.date),
            "reason": got.receipt.quarantine_reason,
        }
        for number, got in zip(numbers, batch.lines, strict=True)
    ]
    if args.json:
        data = {
            **_header(args, ok=True, scans=len(lines)),
            "booked": batch.booked,
            "replayed": batch.replayed,
            "quantity": batch.quantity,
            "head": {"position": batch.head.position, "hash": batch.head.hash},
            "lines": lines,
        }
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return _store.EXIT_OK
    for line in lines:
        where = f"{line['status']} at {args.to}"
        expiry = "" if line["expiry"] is None else f", expires {line['expiry']}"
        out.write(
            f"line {line['line']}: {line['outcome']} {line['quantity']} x {line['item']}"
            f"{expiry}, {where} (movement {line['movement_id']})\n"
        )
    out.write(
        f"batch {args.batch}: {len(lines)} scan(s), {batch.booked} booked, "
        f"{batch.replayed} replayed, {batch.quantity} base unit(s); "
        f"ledger head at position {batch.head.position}\n"
    )
    return _store.EXIT_OK


def _refused(
    args: argparse.Namespace,
    out: TextIO,
    numbers: list[int],
    ids: list[str],
    refused: ReceiveBatchError,
) -> int:
    errors = {numbers[e.line - 1]: e.cause for e in refused.errors}
    lines: list[dict[str, Any]] = []
    for number, movement_id in zip(numbers, ids, strict=True):
        cause = errors.get(number)
        line: dict[str, Any] = {"line": number, "movement_id": movement_id}
        if cause is None:
            line["outcome"] = "not booked"
        else:
            line["outcome"] = "refused"
            line["error"] = type(cause).__name__
            if isinstance(cause, ScanReceiptError):
                line["rule"] = cause.rule.name
            line["message"] = str(cause)
        lines.append(line)
    if args.json:
        data = {**_header(args, ok=False, scans=len(lines)), "refused": len(errors), "lines": lines}
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return _store.EXIT_FINDINGS
    out.writelines(
        f"line {line['line']}: refused: {line['message']}\n"
        for line in lines
        if line["outcome"] == "refused"
    )
    out.write(
        f"batch {args.batch}: {len(errors)} of {len(lines)} scan(s) refused, nothing booked\n"
    )
    return _store.EXIT_FINDINGS
