"""``medinv stock``: the stock positions of a ledger, filtered, per position or aggregated.

Filters: ``--gtin``, ``--device`` (a DI of any agency), ``--lot``, ``--serial``,
``--location`` (that location and its subtree), ``--status``, ``--expires-before DATE`` /
``--expires-from DATE`` (positions whose expiry is before / on or after DATE; positions
without an expiry never match them; ``--expiring-before`` is the old name of
``--expires-before``), ``--no-expiry`` (only positions without an expiry), ``--as-of
POSITION|DATETIME`` (the stock right after that ledger position, or as the ledger stood
at that instant). ``--by`` sums the positions per product, lot, location and/or status
(comma-separated). Table or
``--json``.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Sequence
from typing import Any, TextIO

import pendulum

from medinv.cli import _json, _store
from medinv.cli._table import write_table
from medinv.dates import to_date, to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import Gtin, Lot, Serial, device_of
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import LedgerStore, MovementQuery, PositionQuery
from medinv.status import StockStatus

__all__ = ["BY_KEYS", "configure", "position_as_of", "run"]

BY_KEYS = ("product", "lot", "location", "status")
"""What ``--by`` may sum positions per."""

_FILTERS = ("gtin", "lot", "serial", "location", "status", "device")
"""The options passed on to `Ledger.positions` as they are."""


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
    """The item filters (``--gtin``, ``--device``, ``--lot``, ...), shared with ``history``."""
    _store.typed_option(parser, "--gtin", Gtin, "GTIN", "this product")
    _store.typed_option(
        parser,
        "--device",
        device_of,
        "device identifier",
        "this product, by a DI of any agency: GTIN digits, HIBCC:A123BJC5D6E71, MA:MA.156...",
        metavar="DI",
    )
    _store.typed_option(parser, "--lot", Lot, "lot", "this lot")
    _store.typed_option(parser, "--serial", Serial, "serial", "this serial")
    _store.typed_option(
        parser,
        "--location",
        Location.parse,
        "location",
        "this location and everything below it, e.g. Main/Store",
        metavar="PATH",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    add_item_filters(parser)
    option = functools.partial(_store.typed_option, parser)
    option("--status", StockStatus.parse, "status", "this status")
    for flag, help_text in (
        ("--expires-before", "only positions with an expiry before DATE (YYYY-MM-DD)"),
        ("--expiring-before", argparse.SUPPRESS),  # its former name, still accepted
    ):
        option(flag, to_date, "date", help_text, metavar="DATE", dest="expires_before")
    option(
        "--expires-from",
        to_date,
        "date",
        "only positions with an expiry on or after DATE (YYYY-MM-DD)",
        metavar="DATE",
    )
    parser.add_argument("--no-expiry", action="store_true", help="only positions without an expiry")
    option(
        "--as-of",
        _as_of,
        "position or date-time",
        "the stock right after this ledger position, or as recorded at this instant "
        "(ISO 8601 with offset)",
        metavar="POSITION|DATETIME",
    )
    option(
        "--by",
        _by,
        "--by",
        f"sum per {', '.join(BY_KEYS)} (comma-separated, e.g. product,location)",
        metavar="KEYS",
    )


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
            parts.append(("gtin", position.item.device_text))
        elif key == "lot":
            if "product" not in keys:
                parts.append(("gtin", position.item.device_text))
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


def _query(args: argparse.Namespace, filters: dict[str, Any]) -> PositionQuery:
    try:
        return PositionQuery(
            **filters,
            expires_from=args.expires_from,
            expires_before=args.expires_before,
            has_expiry=False if args.no_expiry else None,
        )
    except InvalidValueError as e:
        raise _store.CommandError(f"expiry options: {e}") from None


def _position_order(p: StockPosition) -> tuple[Any, ...]:
    """The order of `Ledger.positions`: item, location path, status."""
    return (p.item.sort_key(), p.location.path, p.status.value)


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
        filters = {name: getattr(args, name) for name in _FILTERS}
        query = _query(args, filters)
        if as_of is None:  # every filter through the store's indexes
            positions = sorted(store.positions(query), key=_position_order)
        else:
            positions = ledger.positions(**filters, as_of_position=as_of)
            positions = [p for p in positions if query.matches_expiry(p.expiry)]
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
