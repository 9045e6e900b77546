"""``medinv trace``: where a lot or serial is and went, or where it was at a moment.

The subject is a scan (any barcode ``medinv parse`` reads: a serial on it traces
that unit, else its lot) or ``--device`` with ``--lot`` or ``--serial``. Without
``--at`` the forward trace: the mass balance, where it is now by location and
status, the sites, locations and counterparties it went to (patients only by
pseudonymous reference) and, unless ``--summary``, every movement in ledger order.
With ``--at`` (a date: the end of that day in ``--timezone``; or a date-time with
offset) where it was then. ``--known-at POSITION`` answers as the ledger knew it at
that position, and lists the movements recorded later that occurred before
``--at`` (backdated). Table, or ``--json``: one JSON object.

Nothing a movement carries as free text (reference, reason, business references)
and nothing from the catalogue (party names) is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
from typing import Any, TextIO

import pendulum

from medinv.barcodes import parse_scan
from medinv.cli import _json, _store
from medinv.cli._table import write_table
from medinv.dates import facility_timezone, to_date, to_datetime
from medinv.identifiers import ItemKey, Lot, Serial, device_of
from medinv.trace import ForwardTrace, PointInTime, Tracer, TraceStep, TraceSubject

__all__ = ["configure", "run"]


def _moment(text: str) -> pendulum.DateTime | pendulum.Date:
    """A date-time with offset, or a plain date (resolved later in ``--timezone``)."""
    if "T" in text or " " in text.strip():
        return to_datetime(text)
    return to_date(text)


def _position(text: str) -> int:
    if not text.strip().isdigit():
        msg = "expected a ledger position, a whole number from 0"
        raise ValueError(msg)
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    parser.add_argument("scan", nargs="?", help="a scan naming the lot or serial (GS1, HIBC, MA)")
    option = functools.partial(_store.typed_option, parser)
    option("--device", device_of, "device identifier", "the device (a DI of any agency)",
           metavar="DI")  # fmt: skip
    option("--lot", Lot, "lot", "trace this lot of --device")
    option("--serial", Serial, "serial", "trace this serial of --device")
    option("--at", _moment, "moment",
           "where it was at the end of this date (YYYY-MM-DD) or at this date-time",
           metavar="DATE")  # fmt: skip
    option("--timezone", lambda t: facility_timezone(t).name, "time zone",
           "the facility's IANA time zone for a --at date (default UTC)",
           default="UTC", metavar="ZONE")  # fmt: skip
    option("--known-at", _position, "position", "as the ledger knew it at this position",
           metavar="POSITION")  # fmt: skip
    parser.add_argument("--summary", action="store_true", help="leave out the movement list")


def _subject(args: argparse.Namespace) -> TraceSubject:
    named = args.device is not None or args.lot is not None or args.serial is not None
    if args.scan is not None:
        if named:
            raise _store.CommandError("give a scan or --device with --lot/--serial, not both")
        return TraceSubject.of_item(parse_scan(args.scan).item_key())
    if args.device is None or (args.lot is None) == (args.serial is None):
        raise _store.CommandError("give a scan, or --device with exactly one of --lot, --serial")
    return TraceSubject(device=args.device, lot=args.lot, serial=args.serial)


def _instant(value: pendulum.DateTime | pendulum.Date | None, zone: str) -> dt.datetime | None:
    """A date means the end of that day in the facility's zone: the next day's start."""
    if value is None or isinstance(value, pendulum.DateTime):
        return value
    following = value.add(days=1)
    return pendulum.datetime(following.year, following.month, following.day,
                             tz=facility_timezone(zone))  # fmt: skip


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the trace; exit code 0."""
    subject = _subject(args)
    instant = _instant(args.at, args.timezone)
    with _store.open_store(args) as store:
        tracer = Tracer(store)
        if instant is not None:
            where = tracer.where(subject, at=instant, known_at=args.known_at)
            _write_where(out, where, json_output=args.json)
            return _store.EXIT_OK
        trace = tracer.forward(subject, known_at=args.known_at)
        steps = [] if args.summary else list(tracer.steps(subject, known_at=trace.known_at))
    _write_forward(out, trace, steps, json_output=args.json)
    return _store.EXIT_OK


# ---------------------------------------------------------------------- output


def step_fields(step: TraceStep) -> dict[str, Any]:
    """A step as a JSON object: no free text, the counterparty as ``KIND:id``."""
    return {
        "position": step.position,
        "id": step.movement_id,
        "kind": step.kind.value,
        "counts_as": step.effective_kind.value,
        "reverses": step.reverses,
        **_json.item_fields(step.item),
        "quantity": step.quantity,
        "signed_quantity": step.signed_quantity,
        "from_location": _json.json_value(step.from_location),
        "from_status": _json.json_value(step.from_status),
        "to_location": _json.json_value(step.to_location),
        "to_status": _json.json_value(step.to_status),
        "occurred_at": step.occurred_at.isoformat(),
        "recorded_at": step.recorded_at.isoformat(),
        "counterparty": None if step.counterparty is None else str(step.counterparty),
    }


def _holdings(holdings: Any) -> list[dict[str, Any]]:
    return [
        {
            **_json.item_fields(h.item),
            "location": str(h.location),
            "status": h.status.value,
            "quantity": h.quantity,
        }
        for h in holdings
    ]


def forward_fields(trace: ForwardTrace, steps: list[TraceStep]) -> dict[str, Any]:
    """The forward trace as one JSON object."""
    balance = trace.balance
    return {
        "subject": str(trace.subject),
        "known_at": trace.known_at,
        "movement_count": trace.movements,
        "first_at": _json.json_value(trace.first_at),
        "last_at": _json.json_value(trace.last_at),
        "balance": {
            "received": balance.received,
            "returned": balance.returned,
            "adjusted": balance.adjusted,
            "on_hand": balance.on_hand,
            "consumed": balance.consumed,
            "distributed": balance.distributed,
            "scrapped": balance.scrapped,
            "balances": balance.balances,
        },
        "holdings": _holdings(trace.holdings),
        "sites": [_flow(f) for f in trace.sites],
        "locations": [_flow(f) for f in trace.locations],
        "parties": [
            {
                "party": str(p.party),
                "kind": p.party.kind.value,
                "sent": p.sent,
                "received": p.received,
                "consumed": p.consumed,
                "first_at": p.first_at.isoformat(),
                "last_at": p.last_at.isoformat(),
            }
            for p in trace.parties
        ],
        "movements": [step_fields(s) for s in steps],
    }


def _flow(flow: Any) -> dict[str, Any]:
    return {
        "place": str(flow.place), "entered": flow.entered, "left": flow.left, "net": flow.net,
        "first_at": flow.first_at.isoformat(), "last_at": flow.last_at.isoformat(),
    }  # fmt: skip


def where_fields(where: PointInTime) -> dict[str, Any]:
    """The point-in-time answer as one JSON object."""
    return {
        "subject": str(where.subject),
        "at": _json.json_value(where.at),
        "known_at": where.known_at,
        "holdings": _holdings(where.holdings),
        "late": [step_fields(s) for s in where.late],
    }


def _item(step_item: ItemKey) -> str:
    text = step_item.device_text
    if step_item.lot is not None:
        text += f" lot {step_item.lot.value}"
    if step_item.serial is not None:
        text += f" serial {step_item.serial.value}"
    return text


def _side(location: Any, status: Any) -> str:
    return "-" if location is None else f"{location} ({status.value})"


def _step_rows(steps: list[TraceStep]) -> list[list[str]]:
    return [
        [
            str(s.position),
            s.movement_id,
            s.kind.value if s.reverses is None else f"REVERSAL of {s.effective_kind.value}",
            _item(s.item),
            str(s.quantity),
            _side(s.from_location, s.from_status),
            _side(s.to_location, s.to_status),
            s.occurred_at.isoformat(),
            "-" if s.counterparty is None else str(s.counterparty),
        ]
        for s in steps
    ]


_STEP_HEADER = ("position", "id", "kind", "item", "qty", "from", "to", "at", "counterparty")


def _write_holdings(out: TextIO, holdings: Any) -> None:
    if holdings:
        rows = [[_item(h.item), str(h.location), h.status.value, str(h.quantity)] for h in holdings]
        write_table(out, ("item", "location", "status", "qty"), rows)
    else:
        out.write("none\n")


def _write_forward(
    out: TextIO, trace: ForwardTrace, steps: list[TraceStep], *, json_output: bool
) -> None:
    if json_output:
        out.write(json.dumps(forward_fields(trace, steps), ensure_ascii=False) + "\n")
        return
    b = trace.balance
    out.write(f"{trace.subject}: {trace.movements} movements, as known at position "
              f"{trace.known_at}\n")  # fmt: skip
    out.write(
        f"received {b.received} + returned {b.returned} + adjusted {b.adjusted} = on hand "
        f"{b.on_hand} + consumed {b.consumed} + distributed {b.distributed} + scrapped "
        f"{b.scrapped}: {'balances' if b.balances else 'DOES NOT BALANCE'}\n"
    )
    out.write("\nwhere it is now\n")
    _write_holdings(out, trace.holdings)
    for title, flows in (("sites", trace.sites), ("locations", trace.locations)):
        out.write(f"\n{title}\n")
        rows = [[str(f.place), str(f.entered), str(f.left), str(f.net), f.first_at.isoformat(),
                 f.last_at.isoformat()] for f in flows]  # fmt: skip
        write_table(out, ("place", "entered", "left", "net", "first", "last"), rows)
    out.write("\ncounterparties\n")
    if trace.parties:
        rows = [[str(p.party), str(p.sent), str(p.received), str(p.consumed),
                 p.first_at.isoformat(), p.last_at.isoformat()] for p in trace.parties]  # fmt: skip
        write_table(out, ("party", "sent", "received", "consumed", "first", "last"), rows)
    else:
        out.write("none\n")
    if steps:
        out.write("\nmovements\n")
        write_table(out, _STEP_HEADER, _step_rows(steps))


def _write_where(out: TextIO, where: PointInTime, *, json_output: bool) -> None:
    if json_output:
        out.write(json.dumps(where_fields(where), ensure_ascii=False) + "\n")
        return
    moment = "-" if where.at is None else where.at.isoformat()
    out.write(f"{where.subject} before {moment}, as known at position {where.known_at}\n")
    _write_holdings(out, where.holdings)
    if where.late:
        out.write(f"\nrecorded after position {where.known_at}, occurred before {moment}\n")
        write_table(out, _STEP_HEADER, _step_rows(list(where.late)))
