"""``medinv coldchain``: ingest temperature readings and list the excursions kept in the ledger.

- ``ingest``: read loggers' CSV files (``--csv``, streamed block by block) and EPCIS
  sensor documents (``--epcis``, with ``--read-point URI=LOCATION``), detect
  excursions against ``--low``/``--high`` and the allowed times, and keep them in
  the ledger database's ``coldchain`` records (an open one is updated when a later
  ingest sees it grow or close). With ``--state FILE`` the detector's state is kept
  from one ingest to the next (a run out of range across two days' files is one
  excursion); without it, give every file of a period in one call.
- ``excursions``: the kept excursions, filtered by sensor, place or openness, as
  a table, JSON (``--json``) or an EPCIS 2.0 document (``--epcis``).

Exit codes: 0 nothing to report, 1 excursions found (ingest: any; excursions: any
listed), 2 an error (a bad line names the file, line and field).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import pathlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from medinv.catalogue import TemperatureRange
from medinv.cli import _store
from medinv.cli._table import write_table
from medinv.coldchain import (
    Excursion,
    ExcursionDetector,
    ExcursionRule,
    Reading,
    excursions_document,
    read_epcis_sensor_events,
    read_logger_csv,
)
from medinv.errors import InvalidValueError
from medinv.locations import Location

__all__ = ["register"]

_BLOCK = 1 << 16


def register(commands: Any) -> None:
    """Add ``medinv coldchain`` and its two actions to the command line's sub-parsers."""
    coldchain = commands.add_parser("coldchain", help="temperature readings and excursions")
    actions = coldchain.add_subparsers(dest="coldchain_command", required=True, metavar="ACTION")
    ingest = actions.add_parser(
        "ingest",
        help="detect excursions in loggers' CSV files or EPCIS sensor events and keep them",
    )
    _store.one_line_errors(ingest)
    _store.add_store_options(ingest)
    ingest.add_argument("--csv", action="append", default=[], metavar="FILE", help="a logger CSV")
    ingest.add_argument(
        "--epcis", action="append", default=[], metavar="FILE", help="an EPCIS 2.0 JSON document"
    )
    ingest.add_argument(
        "--read-point",
        action="append",
        default=[],
        metavar="URI=LOCATION",
        help="the location of an EPCIS read point (repeat per read point)",
    )
    option = functools.partial(_store.typed_option, ingest)
    option("--low", Decimal, "temperature", "lowest allowed °C", metavar="C")
    option("--high", Decimal, "temperature", "highest allowed °C", metavar="C")
    option(
        "--max-consecutive",
        _minutes,
        "number of minutes",
        "minutes one run out of range may last (required)",
        metavar="MIN",
        required=True,
    )
    option(
        "--max-cumulative",
        _minutes,
        "number of minutes",
        "minutes the runs of one direction may add up to (default: no limit)",
        metavar="MIN",
    )
    ingest.add_argument(
        "--state",
        metavar="FILE",
        help=(
            "carry the detector's state from one ingest to the next in FILE (read if it "
            "exists, written after the ingest): a run out of range across two files is "
            "one excursion"
        ),
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(
        handler=lambda args, out: _store.run_command(_ingest, args, out), command="coldchain ingest"
    )

    listing = actions.add_parser("excursions", help="the excursions kept in the ledger")
    _store.one_line_errors(listing)
    _store.add_store_options(listing)
    listing.add_argument("--sensor", help="only this sensor's")
    option = functools.partial(_store.typed_option, listing)
    option("--location", Location.parse, "location", "only at this location or below it")
    listing.add_argument("--open", action="store_true", help="only excursions still in progress")
    shape = listing.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print one JSON object")
    shape.add_argument("--epcis", action="store_true", help="print an EPCIS 2.0 document")
    listing.set_defaults(
        handler=lambda args, out: _store.run_command(_excursions, args, out),
        command="coldchain excursions",
    )


def _minutes(text: str) -> dt.timedelta:
    value = int(text)
    if value < 0:
        msg = "must be at least 0"
        raise ValueError(msg)
    return dt.timedelta(minutes=value)


def _blocks(path: str) -> Iterator[str]:
    with Path(path).open(encoding="utf-8", newline="") as file:
        while block := file.read(_BLOCK):
            yield block


def _readings(args: argparse.Namespace) -> Iterator[Reading]:
    for path in args.csv:
        yield from read_logger_csv(_blocks(path), source=path)
    if args.epcis:
        points: dict[str, Location] = {}
        for pair in args.read_point:
            uri, sep, place = pair.partition("=")
            if not sep or not uri or not place:
                raise _store.CommandError(f"--read-point: expected URI=LOCATION, not {pair!r}")
            points[uri] = Location.parse(place)
        for path in args.epcis:
            try:
                document = json.loads(Path(path).read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise _store.CommandError(f"--epcis: {path!r} is not JSON: {e}") from None
            yield from read_epcis_sensor_events([document], locations=points)


def _detector(rule: ExcursionRule, state: pathlib.Path | None) -> ExcursionDetector:
    """A new detector, or one resumed from the ``--state`` file when it exists."""
    try:
        if state is not None and state.exists():
            return ExcursionDetector.resume(rule, state.read_text(encoding="utf-8"))
    except OSError as e:
        raise _store.CommandError(f"--state: {e}") from None
    except InvalidValueError as e:
        raise _store.CommandError(f"--state {state}: {e}") from None
    return ExcursionDetector(rule)


def _save_state(state: pathlib.Path, detector: ExcursionDetector) -> None:
    """Write the detector's state whole (a temporary file renamed over the old one)."""
    written = state.with_name(state.name + ".tmp")
    try:
        written.write_text(detector.state(), encoding="utf-8")
        written.replace(state)
    except OSError as e:
        raise _store.CommandError(f"--state: {e}") from None


def _ingest(args: argparse.Namespace, out: TextIO) -> int:
    if not args.csv and not args.epcis:
        raise _store.CommandError("nothing to ingest: give --csv FILE or --epcis FILE")
    if args.low is None and args.high is None:
        raise _store.CommandError("give the allowed range: --low, --high or both")
    rule = ExcursionRule(
        temperature=TemperatureRange(low=args.low, high=args.high),
        max_consecutive=args.max_consecutive,
        max_cumulative=args.max_cumulative,
    )
    state = None if args.state is None else pathlib.Path(args.state)
    detector = _detector(rule, state)
    found: list[Excursion] = []
    count = 0
    batch: list[Reading] = []
    try:
        for reading in _readings(args):
            batch.append(reading)
            if len(batch) >= _BLOCK:
                count += len(batch)
                found.extend(detector.feed(batch))
                batch.clear()
        count += len(batch)
        found.extend(detector.feed(batch))
    except OSError as e:
        raise _store.CommandError(str(e)) from None
    found.extend(detector.open())
    with _store.open_writable_store(args, create=False) as store:
        changed = store.coldchain.record_excursions(found)
    if state is not None:  # after the records: a failed ingest leaves the old state
        _save_state(state, detector)
    data = {"readings": count, "recorded": changed, "excursions": [_fields(e) for e in found]}
    if args.json:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        out.write(f"{count} readings, {len(found)} excursions ({changed} new or changed)\n")
        _write_rows(out, found)
    return _store.EXIT_FINDINGS if found else _store.EXIT_OK


def _excursions(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_store(args) as store:
        records = getattr(store, "coldchain", None)
        if records is None:
            raise _store.CommandError("this store keeps no cold-chain records")
        found = records.excursions(sensor=args.sensor, location=args.location, open_only=args.open)
    if args.epcis:
        out.write(json.dumps(excursions_document(found), ensure_ascii=False) + "\n")
    elif args.json:
        out.write(
            json.dumps({"excursions": [_fields(e) for e in found]}, ensure_ascii=False) + "\n"
        )
    else:
        _write_rows(out, found)
    return _store.EXIT_FINDINGS if found else _store.EXIT_OK


def _fields(e: Excursion) -> dict[str, Any]:
    return {
        "id": e.id,
        "sensor": e.sensor,
        "location": str(e.location),
        "kind": e.kind.value,
        "direction": e.direction.value,
        "start": e.start.isoformat(),
        "end": None if e.end is None else e.end.isoformat(),
        "open": e.is_open,
        "runs": len(e.spans),
        "minutes_out_of_range": round(e.out_of_range.total_seconds() / 60, 1),
        "min_celsius": e.min_celsius,
        "max_celsius": e.max_celsius,
    }


def _write_rows(out: TextIO, found: list[Excursion]) -> None:
    if not found:
        out.write("no excursions\n")
        return
    rows = [
        [
            f["sensor"],
            f["location"],
            f["kind"],
            f["direction"],
            f["start"],
            f["end"] or "open",
            f"{f['minutes_out_of_range']}",
            f"{f['min_celsius']}..{f['max_celsius']}",
        ]
        for f in map(_fields, found)
    ]
    headers = ["sensor", "location", "kind", "side", "start", "end", "minutes", "°C"]
    write_table(out, headers, rows)
