"""``medinv sync``: device events into the ledger, and the conflicts on record.

``medinv sync ingest FILE`` reads device events as JSON lines (``-`` for standard
input; see [`event_from_json`][medinv.sync.event_from_json] for the fields) and
ingests them through a [`SyncInbox`][medinv.sync.SyncInbox] over the ledger
database, ``--batch N`` events per transaction (each transaction commits the
movements and the inbox's records together). Running it again books nothing.
A malformed line stops the command before anything is ingested, naming the line
and field. Exit code 0 when every event was applied, a duplicate or held; 1 when
some ended in a conflict or were rejected; 2 on an error.

``medinv sync conflicts`` lists the conflicts on record (``--open``: the blocking
ones nobody resolved), as a table or ``--json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any, TextIO

from medinv.cli import _store
from medinv.cli._table import write_table
from medinv.ledger import Ledger
from medinv.sync import (
    DeviceEvent,
    Outcome,
    ShortStock,
    SyncInbox,
    SyncPolicy,
    parse_event_lines,
)

__all__ = ["FORMAT", "register"]

FORMAT = 1
"""The version of the ``--json`` objects; it changes only when a field changes meaning."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = "must be at least 1"
        raise ValueError(msg)
    return value


def _hours(text: str) -> float:
    value = float(text)
    if not value >= 0:
        msg = "must be 0 or more hours"
        raise ValueError(msg)
    return value


def register(commands: Any) -> None:
    """Add ``medinv sync`` and its sub-commands to the command line's sub-parsers."""
    sync = commands.add_parser("sync", help="offline scanner events: ingest, conflicts")
    actions = sync.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    ingest = actions.add_parser(
        "ingest",
        help="ingest device events (JSON lines) into the ledger",
        description=(
            "Ingest device events, one JSON object a line, into the ledger database: "
            "idempotent, in each device's sequence order, every event ending applied, "
            "duplicate, held, conflict or rejected."
        ),
        epilog="Exit status: 0 when every event was applied, a duplicate or held; 1 when "
        "some ended in a conflict or were rejected; 2 on an error.",
    )
    _store.one_line_errors(ingest)
    ingest.add_argument("file", metavar="FILE", help="the JSON-lines file ('-': standard input)")
    _store.add_store_options(ingest)
    option = _store.typed_option
    option(ingest, "--batch", _positive, "batch size", "events per transaction (default 500)",
           metavar="N", default=500)  # fmt: skip
    ingest.add_argument(
        "--partial",
        action="store_true",
        help="on short stock, apply what is there (default: apply nothing)",
    )
    option(ingest, "--hold-hours", _hours, "hours", "how long events wait behind a gap "
           "(default 120)", metavar="H", default=120.0)  # fmt: skip
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(handler=lambda args, out: _store.run_command(_ingest, args, out))

    conflicts = actions.add_parser("conflicts", help="list the conflicts on record")
    _store.one_line_errors(conflicts)
    _store.add_store_options(conflicts)
    conflicts.add_argument("--open", action="store_true", help="only those nobody resolved")
    conflicts.add_argument("--device", metavar="ID", help="only this device's")
    conflicts.add_argument("--json", action="store_true", help="print one JSON object")
    conflicts.set_defaults(handler=lambda args, out: _store.run_command(_conflicts, args, out))


def _read(file: str) -> list[DeviceEvent]:
    if file == "-":
        return list(parse_event_lines(sys.stdin))
    try:
        with open(file, encoding="utf-8") as lines:  # noqa: PTH123  (a path or '-')
            return list(parse_event_lines(lines))
    except OSError as e:
        raise _store.CommandError(f"cannot read {file!r}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise _store.CommandError(f"{file!r} is not UTF-8 text: {e.reason}") from None


def _ingest(args: argparse.Namespace, out: TextIO) -> int:
    events = _read(args.file)
    policy = SyncPolicy(
        short_stock=ShortStock.PARTIAL if args.partial else ShortStock.REJECT,
        hold_max=dt.timedelta(hours=args.hold_hours),
    )
    outcomes: list[Outcome] = []
    held: dict[str, list[int]] = {}  # event id -> where its deliveries were held
    released = 0
    with _store.open_writable_store(args, create=True) as store:
        inbox = SyncInbox(Ledger(store), policy=policy)
        for start in range(0, max(len(events), 1), args.batch):
            report = inbox.ingest(events[start : start + args.batch])
            for event_id, outcome in report.released:
                for at in held.pop(event_id, []):
                    outcomes[at] = outcome  # held by an earlier batch, decided now
                released += 1
            for event_id, outcome in report.outcomes:
                if outcome is Outcome.HELD:
                    held.setdefault(event_id, []).append(len(outcomes))
                outcomes.append(outcome)
        head = store.head().position
    counts = {o: outcomes.count(o) for o in Outcome}
    refused = counts[Outcome.CONFLICT] + counts[Outcome.REJECTED]
    if args.json:
        data = {
            "format": FORMAT,
            "events": len(events),
            "outcomes": {o.value: n for o, n in counts.items()},
            "released": released,
            "head": head,
        }
        out.write(json.dumps(data) + "\n")
    else:
        summary = ", ".join(f"{n} {o.value}" for o, n in counts.items())
        out.write(f"{len(events)} events: {summary}; {released} released from a hold; "
                  f"ledger at position {head}\n")  # fmt: skip
    return _store.EXIT_FINDINGS if refused else _store.EXIT_OK


def _conflicts(args: argparse.Namespace, out: TextIO) -> int:
    with _store.open_store(args) as store:
        inbox = SyncInbox(Ledger(store))
        found = inbox.conflicts(open_only=args.open, device_id=args.device)
        resolved = {r.conflict_id: r for r in inbox.resolutions()}
    rows = []
    for conflict in found:
        row = conflict.to_json()
        resolution = resolved.get(conflict.id)
        row["blocking"] = conflict.blocking
        row["resolution"] = None if resolution is None else resolution.to_json()
        rows.append(row)
    if args.json:
        out.write(json.dumps({"format": FORMAT, "conflicts": rows}, ensure_ascii=False) + "\n")
        return _store.EXIT_OK
    header = ["conflict", "device", "seq", "kind", "asked", "applied", "resolved"]
    write_table(
        out,
        header,
        [
            [row["id"], row["device_id"], str(row["seq"]), row["kind"], str(row["requested"]),
             str(row["applied"]), "" if row["resolution"] is None else row["resolution"]["action"]]
            for row in rows
        ],
    )  # fmt: skip
    return _store.EXIT_OK
