"""``medinv stock``: the stock positions of a ledger, filtered, per position or aggregated.

Filters: ``--gtin``, ``--lot``, ``--serial``, ``--location`` (that location and its
subtree), ``--status``, ``--expiring-before DATE`` (positions whose expiry is before
DATE), ``--as-of POSITION|DATETIME`` (the stock right after that ledger position, or
as the ledger stood at that instant). ``--by`` sums the positions per product, lot,
location and/or status (comma-separated). Table or ``--json``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

import pendulum

from medinv.cli import _json, _store
from medinv.cli._table import write_table
from medinv.dates import to_date, to_datetime
from medinv.identifiers import Gtin, Lot, Serial
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import LedgerStore, MovementQuery
from medinv.status import StockStatus

__all__ = ["BY_KEYS", "configure", "position_as_of", "run"]

BY_KEYS = ("product", "lot", "location", "status")
"""What ``--by`` may sum positions per."""


def _by(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip().lower() for k in text.split(","))
    for key in keys:
        if key not in BY_KEYS:
            msg = f"unknown key {key!r}: expected a comma-separated list of {', '.join(BY_KEYS)}"
            raise ValueError(msg)
    if len(set(keys)) != len(keys):
        msg = "a key is given twice"
        raise ValueError(msg)
    return keys


def _as_of(text: str) -> int | pendulum.DateTime:
    if text.strip().isdigit():
        return int(text)
    return to_datetime(text.strip())


def add_item_filters(parser: argparse.ArgumentParser) -> None:
    """``--gtin``, ``--lot``, ``--serial`` and ``--location`` (shared with ``history``)."""
    parser.add_argument("--gtin", type=_store.option_type(Gtin, "GTIN"), help="this product")
    parser.add_argument("--lot", type=_store.option_type(Lot, "lot"), help="this lot")
    parser.add_argument("--serial", type=_store.option_type(Serial, "serial"), help="this serial")
    parser.add_argument(
        "--location",
        type=_store.option_type(Location.parse, "location"),
        metavar="PATH",
        help="this location and everything below it, e.g. Main/Store",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.one_line_errors(parser)
    _store.add_store_options(parser)
    add_item_filters(parser)
    parser.add_argument(
        "--status", type=_store.option_type(StockStatus.parse, "status"), help="this status"
    )
    parser.add_argument(
        "--expiring-before",
        type=_store.option_type(to_date, "date"),
        metavar="DATE",
        help="only positions with an expiry before DATE (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--as-of",
        type=_store.option_type(_as_of, "position or date-time"),
        metavar="POSITION|DATETIME",
        help="the stock right after this ledger position, or as recorded at this instant "
        "(ISO 8601 with offset)",
    )
    parser.add_argument(
        "--by",
        type=_store.option_type(_by, "--by"),
        metavar="KEYS",
        help=f"sum per {', '.join(BY_KEYS)} (comma-separated, e.g. product,location)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=lambda args, out: _store.run_command(run, args, out))


def position_as_of(store: LedgerStore, instant: pendulum.DateTime) -> int:
    """The last ledger position recorded at or before ``instant`` (0: none).

    ``recorded_at`` never goes back along the ledger (``verify`` checks it), so a
    binary search over positions finds it in about log2(head) indexed reads.
    """
    low, high = 0, store.head().position
    while low < high:
        middle = (low + high + 1) // 2
        found = list(
            store.movements(MovementQuery(after_position=middle - 1, up_to_position=middle))
        )
        if found and found[0].recorded_at <= instant:
            low = middle
        else:
            high = middle - 1
    return low


def _group(position: StockPosition, keys: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    parts: list[tuple[str, Any]] = []
    for key in keys:
        if key == "product":
            parts.append(("gtin", position.item.gtin.value))
        elif key == "lot":
            if "product" not in keys:
                parts.append(("gtin", position.item.gtin.value))
            parts.append(("lot", None if position.item.lot is None else position.item.lot.value))
        elif key == "location":
            parts.append(("location", str(position.location)))
        else:
            parts.append(("status", position.status.value))
    return tuple(parts)


def aggregate(positions: Sequence[StockPosition], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Positions summed per ``keys``: quantity, number of positions, earliest expiry."""
    groups: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for p in positions:
        group = _group(p, keys)
        row = groups.get(group)
        if row is None:
            row = groups[group] = {
                **dict(group),
                "quantity": 0,
                "positions": 0,
                "earliest_expiry": None,
            }
        row["quantity"] += p.quantity
        row["positions"] += 1
        if p.expiry is not None and (
            row["earliest_expiry"] is None or p.expiry < row["earliest_expiry"]
        ):
            row["earliest_expiry"] = p.expiry
    rows = sorted(groups.values(), key=lambda r: [(v is not None, str(v)) for v in r.values()])
    for row in rows:
        row["earliest_expiry"] = _json.json_value(row["earliest_expiry"])
    return rows


def _position_data(p: StockPosition) -> dict[str, Any]:
    return {
        **_json.item_fields(p.item),
        "location": str(p.location),
        "status": p.status.value,
        "quantity": p.quantity,
        "expiry": _json.json_value(p.expiry),
        "received_at": _json.json_value(p.received_at),
    }


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the positions; exit code 0."""
    with _store.open_store(args) as store:
        ledger = Ledger(store)
        as_of = args.as_of
        if isinstance(as_of, pendulum.DateTime):
            as_of = position_as_of(store, as_of)
        head = store.head().position
        if as_of is not None and as_of > head:
            raise _store.CommandError(f"--as-of: position {as_of} is after the head ({head})")
        positions = ledger.positions(
            gtin=args.gtin,
            lot=args.lot,
            serial=args.serial,
            location=args.location,
            status=args.status,
            as_of_position=as_of,
        )
    if args.expiring_before is not None:
        positions = [
            p for p in positions if p.expiry is not None and p.expiry < args.expiring_before
        ]
    rows = (
        [_position_data(p) for p in positions] if args.by is None else aggregate(positions, args.by)
    )
    if args.json:
        data = {
            "as_of_position": head if as_of is None else as_of,
            "by": None if args.by is None else list(args.by),
            "total_quantity": sum(p.quantity for p in positions),
            "rows": rows,
        }
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return _store.EXIT_OK
    if not rows:
        out.write("no stock matches\n")
        return _store.EXIT_OK
    header = list(rows[0])
    write_table(out, header, [["-" if v is None else str(v) for v in r.values()] for r in rows])
    return _store.EXIT_OK
