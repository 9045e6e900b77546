"""``medinv replenish``: replenishment proposals computed from the ledger and the catalogue.

For every product with a reorder policy in the catalogue kept in the ledger's
database, at every location it was stocked at: the stock position (usable stock
minus the quantity at risk of expiry, minus ``--reserved``, plus ``--on-order``)
against the reorder level, and the proposal rounded up to whole packages. Only
lines with a proposal are shown unless ``--all``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from medinv.analytics import DEFAULT_SERVICE_LEVEL, ReplenishmentLine, replenishment
from medinv.cli import _store
from medinv.cli._alerts import add_analytics_options, catalogue_of, read_history
from medinv.cli._table import write_table
from medinv.devices import DeviceIdentifier
from medinv.locations import Location

__all__ = ["configure", "line_fields", "run", "stock_quantity"]


def stock_quantity(text: str) -> tuple[tuple[str, Location], int]:
    """``DI@LOCATION=QUANTITY`` as ((DI, location), quantity)."""
    where, equals, amount = text.rpartition("=")
    di, at, place = where.partition("@")
    if not equals or not at:
        msg = "expected DI@LOCATION=QUANTITY, e.g. 04006381333931@Main/Store=120"
        raise ValueError(msg)
    quantity = int(amount)
    if quantity < 0:
        msg = "the quantity must be at least 0"
        raise ValueError(msg)
    return (DeviceIdentifier.parse(di.strip()).value, Location.parse(place.strip())), quantity


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        msg = "must be between 0 and 1, both excluded"
        raise ValueError(msg)
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    option = add_analytics_options(parser)
    for flag, what in (("--on-order", "ordered and not received yet"), ("--reserved", "reserved")):
        option(
            flag,
            stock_quantity,
            "DI@LOCATION=QUANTITY",
            f"base units {what} (repeatable)",
            metavar="DI@LOCATION=QTY",
            action="append",
            default=[],
        )
    option(
        "--service-level",
        _share,
        "service level",
        f"for the safety stock, between 0 and 1 (default {DEFAULT_SERVICE_LEVEL})",
        metavar="P",
        default=DEFAULT_SERVICE_LEVEL,
    )
    parser.add_argument("--all", action="store_true", help="show every line, not only proposals")


def _summed(pairs: list[tuple[tuple[str, Location], int]]) -> dict[tuple[str, Location], int]:
    out: dict[tuple[str, Location], int] = {}
    for key, quantity in pairs:
        out[key] = out.get(key, 0) + quantity
    return out


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the proposals; exit code 0."""
    with _store.open_store(args) as store:
        catalogue = catalogue_of(store)
        if catalogue is None:  # pragma: no cover  (every command store has one)
            raise _store.CommandError("this ledger has no catalogue to read reorder policies from")
        lines = replenishment(
            read_history(store, args),
            catalogue,
            on_order=_summed(args.on_order),
            reserved=_summed(args.reserved),
            service_level=args.service_level,
            window_days=args.window,
            method=args.method,
        )
    shown = lines if args.all else [line for line in lines if line.quantity]
    rows: list[dict[str, Any]] = [line_fields(line) for line in shown]
    if args.json:
        data = {"as_of": args.as_of.isoformat(), "timezone": args.timezone, "lines": rows}
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return _store.EXIT_OK
    header = ["product", "location", "position", "level", "target", "order", "packages", "of"]
    keys = ["product", "location", "position", "reorder_level", "target", "quantity", "packages",
            "order_di"]  # fmt: skip
    write_table(out, header, [[str(row[k]) for k in keys] for row in rows])
    return _store.EXIT_OK


def line_fields(line: ReplenishmentLine) -> dict[str, Any]:
    """A replenishment line as JSON values."""
    return {
        "product": line.product,
        "location": str(line.location),
        "usable": line.usable,
        "at_risk": line.at_risk,
        "reserved": line.reserved,
        "on_order": line.on_order,
        "position": line.position,
        "reorder_level": line.reorder_level,
        "target": line.target,
        "quantity": line.quantity,
        "order_di": line.order_di,
        "packages": line.packages,
        "low": line.low,
    }
