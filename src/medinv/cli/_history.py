"""``medinv history``: the stored movements of a ledger, filtered, newest last.

Every filter is answered through the store's indexes: ``--id``, ``--gtin``,
``--device`` (a DI of any agency), ``--lot``, ``--serial``, ``--kind`` (one kind or
several, comma-separated), ``--actor``, ``--from``/``--to`` (occurred-at, half-open),
``--location`` (movements from or to that location or below it), ``--reference``,
``--party KIND:ID``, ``--business-ref TYPE:ID`` and ``--since POSITION``.
``--limit N`` keeps the N newest matches. Table, or ``--json``: JSON Lines, one
movement per line, written as they are read.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from medinv.actors import actor_key
from medinv.catalogue import BusinessReference, PartyRef
from medinv.cli import _json, _store
from medinv.cli._stock import add_item_filters
from medinv.cli._table import write_table
from medinv.dates import to_datetime
from medinv.journal import RecordedMovement
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery

__all__ = ["configure", "run"]


def _kind(text: str) -> frozenset[MovementKind]:
    try:
        return frozenset(MovementKind[part.strip().upper()] for part in text.split(","))
    except KeyError:
        names = ", ".join(k.value for k in MovementKind)
        msg = f"expected one or more (comma-separated) of {names}"
        raise ValueError(msg) from None


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        msg = "expected a whole number from 0"
        raise ValueError(msg)
    return int(text)


def _positive(text: str) -> int:
    number = _whole(text)
    if number == 0:
        msg = "expected a whole number from 1"
        raise ValueError(msg)
    return number


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "JSON Lines: one object per movement")
    parser.add_argument("--id", help="the movement with this id")
    add_item_filters(parser)
    option = functools.partial(_store.typed_option, parser)
    option("--kind", _kind, "kind", "this kind, or these (comma-separated)", metavar="KIND[,KIND]")
    option(
        "--actor",
        actor_key,
        "actor",
        "movements by this person (names compared as people, e.g. case and spacing)",
    )
    parser.add_argument("--reference", help="movements with exactly this reference")
    option(
        "--from",
        to_datetime,
        "date-time",
        "occurred at or after (ISO 8601 with offset)",
        dest="from_",
        metavar="DATETIME",
    )
    option(
        "--to",
        to_datetime,
        "date-time",
        "occurred before (ISO 8601 with offset)",
        metavar="DATETIME",
    )
    option(
        "--since",
        _whole,
        "position",
        "only movements after this ledger position",
        default=0,
        metavar="POSITION",
    )
    option("--limit", _positive, "limit", "only the N newest matching movements", metavar="N")
    option(
        "--party",
        PartyRef.parse,
        "party",
        "movements with this counterparty, e.g. PATIENT:P-000123 or DEPARTMENT:ICU",
        metavar="KIND:ID",
    )
    option(
        "--business-ref",
        BusinessReference.parse,
        "business reference",
        "movements for this document, e.g. po:PO-4711 or procedure:OP-77",
        metavar="TYPE:ID",
    )


def _selected(store: LedgerStore, args: argparse.Namespace) -> Iterator[RecordedMovement]:
    """The matching movements, in position order, read through the store's indexes."""
    query = MovementQuery(
        gtin=args.gtin,
        lot=args.lot,
        serial=args.serial,
        after_position=args.since,
        kind=args.kind,
        actor=args.actor,
        occurred_from=args.from_,
        occurred_to=args.to,
        location=args.location,
        reference=args.reference,
        device=args.device,
        counterparty=args.party,
        business_reference=args.business_ref,
    )
    if args.id is not None:
        found = store.movements_by_id([args.id]).get(args.id)
        if found is not None and query.matches(found):
            yield found
        return
    yield from store.movements(query)


def _row(recorded: RecordedMovement) -> list[str]:
    m = recorded.movement
    item = m.item.device_text
    if m.item.lot is not None:
        item += f" lot {m.item.lot.value}"
    if m.item.serial is not None:
        item += f" serial {m.item.serial.value}"
    source = "" if m.from_location is None else f"{m.from_location} ({m.from_status.value})"  # type: ignore[union-attr]
    target = "" if m.to_location is None else f"{m.to_location} ({m.to_status.value})"  # type: ignore[union-attr]
    return [
        str(recorded.position),
        m.id,
        m.kind.value,
        item,
        str(m.quantity),
        source or "-",
        target or "-",
        m.occurred_at.isoformat(),
        m.actor,
        m.reference or "-",
        "-" if m.counterparty is None else str(m.counterparty),
        " ".join(map(str, m.business_references)) or "-",
    ]


_HEADER = (
    "position",
    "id",
    "kind",
    "item",
    "qty",
    "from",
    "to",
    "occurred_at",
    "actor",
    "reference",
    "counterparty",
    "business_refs",
)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the matching movements, oldest first; exit code 0."""
    if args.from_ is not None and args.to is not None and args.to <= args.from_:
        raise _store.CommandError("--to: must be after --from")
    with _store.open_store(args) as store:
        found: Iterable[RecordedMovement] = _selected(store, args)
        if args.limit is not None:
            found = collections.deque(found, maxlen=args.limit)
        if args.json:
            out.writelines(
                json.dumps(_json.movement_fields(recorded), ensure_ascii=False) + "\n"
                for recorded in found
            )
            return _store.EXIT_OK
        rows = [_row(r) for r in found]
    if rows:
        write_table(out, _HEADER, rows)
    else:
        out.write("no movement matches\n")
    return _store.EXIT_OK
