"""``medinv alerts``: expiring stock, low stock and dead stock, computed from the ledger.

The figures are those of [`medinv.analytics`][medinv.analytics] as of ``--as-of``
(an instant, never the clock) with days in ``--timezone``. Sections: lots expiring
within ``--within`` days (quantity and value at risk), products at or below their
reorder level (products with a reorder policy in the catalogue), and slow or dead
stock. Exit code 0 when there is nothing to report, 1 when there is.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from typing import Any, TextIO

from medinv.analytics import (
    AmcMethod,
    MovementClass,
    StockHistory,
    expiring_lots,
    expiry_risk,
    replenishment,
    stock_ageing,
)
from medinv.cli import _json, _store
from medinv.cli._table import write_table
from medinv.dates import facility_timezone, to_datetime
from medinv.ports import CatalogueStore, LedgerStore

__all__ = [
    "add_analytics_options",
    "catalogue_of",
    "configure",
    "days_at_least",
    "read_history",
    "run",
]


def days_at_least(minimum: int) -> Callable[[str], int]:
    """An option converter: a whole number of days of at least ``minimum``."""

    def convert(text: str) -> int:
        value = int(text)
        if value < minimum:
            msg = f"must be at least {minimum}"
            raise ValueError(msg)
        return value

    return convert


def _method(text: str) -> AmcMethod:
    try:
        return AmcMethod(text.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in AmcMethod)
        msg = f"expected one of {names}"
        raise ValueError(msg) from None


def add_analytics_options(parser: argparse.ArgumentParser) -> Callable[..., None]:
    """``--as-of``, ``--timezone``, ``--window`` and ``--method``; returns an option adder."""
    option = functools.partial(_store.typed_option, parser)
    option(
        "--as-of",
        to_datetime,
        "date-time",
        "the moment the figures describe (ISO 8601 with offset); required",
        metavar="DATETIME",
        required=True,
    )
    option(
        "--timezone",
        lambda text: facility_timezone(text).name,
        "time zone",
        "the facility's IANA time zone, which decides the day of a movement; required",
        metavar="ZONE",
        required=True,
    )
    option(
        "--window",
        days_at_least(1),
        "number of days",
        "days of demand the averages are taken over (default 365)",
        metavar="DAYS",
        default=365,
    )
    option(
        "--method",
        _method,
        "method",
        "average consumption method: msh (default), days-in-stock or calendar",
        default=AmcMethod.MSH,
    )
    return option


def read_history(store: LedgerStore, args: argparse.Namespace) -> StockHistory:
    """The ledger as of ``--as-of`` in ``--timezone``."""
    return StockHistory.read(store, as_of=args.as_of, timezone=args.timezone)


def catalogue_of(store: LedgerStore) -> CatalogueStore | None:
    """The catalogue kept in the ledger's database, if the store has one."""
    found: object = getattr(store, "catalogue", None)
    return found if isinstance(found, CatalogueStore) else None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    option = add_analytics_options(parser)
    option(
        "--within",
        days_at_least(0),
        "number of days",
        "report lots expiring within DAYS days (default 90)",
        metavar="DAYS",
        default=90,
    )
    option(
        "--dead-after",
        days_at_least(1),
        "number of days",
        "idle days from which stock is dead (default 180; slow from half of it)",
        metavar="DAYS",
        default=180,
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the alerts; exit code 1 when there are any."""
    with _store.open_store(args) as store:
        history = read_history(store, args)
        catalogue = catalogue_of(store)
        risks = expiry_risk(
            history, catalogue=catalogue, window_days=args.window, method=args.method
        )
        expiring = expiring_lots(risks, history, within_days=args.within)
        low = []
        if catalogue is not None:
            lines = replenishment(
                history, catalogue, window_days=args.window, method=args.method, risks=risks
            )
            low = [line for line in lines if line.low]
        dead_after = args.dead_after
        idle = [
            a
            for a in stock_ageing(
                history, slow_after_days=max(dead_after // 2, 1), dead_after_days=dead_after
            )
            if a.movement is not MovementClass.ACTIVE
        ]
    data = {
        "as_of": history.as_of.isoformat(),
        "timezone": history.timezone,
        "expiring": [
            {
                **_json.item_fields(lot.item),
                "location": str(lot.location),
                "expiry": _json.json_value(lot.expiry),
                "on_hand": lot.on_hand,
                "at_risk": lot.at_risk,
                "risk": lot.risk.value,
                "value_at_risk": _json.json_value(lot.value_at_risk),
            }
            for lot in expiring
        ],
        "low_stock": [
            {
                "product": line.product,
                "location": str(line.location),
                "usable": line.usable,
                "reserved": line.reserved,
                "reorder_level": line.reorder_level,
            }
            for line in low
        ],
        "idle_stock": [
            {
                **_json.item_fields(a.item),
                "location": str(a.location),
                "on_hand": a.on_hand,
                "age_days": a.age_days,
                "idle_days": a.idle_days,
                "class": a.movement.value,
            }
            for a in idle
        ],
    }
    if args.json:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        _write_text(out, data)
    found = data["expiring"] or data["low_stock"] or data["idle_stock"]
    return _store.EXIT_FINDINGS if found else _store.EXIT_OK


def _write_text(out: TextIO, data: dict[str, Any]) -> None:
    out.write(f"Expiring within the window ({len(data['expiring'])}):\n")
    write_table(
        out,
        ["gtin", "lot", "location", "expiry", "on hand", "at risk", "risk", "value at risk"],
        [
            [r["gtin"], r["lot"] or "", r["location"], r["expiry"], str(r["on_hand"]),
             str(r["at_risk"]), r["risk"], _amount_text(r["value_at_risk"])]
            for r in data["expiring"]
        ],
    )  # fmt: skip
    out.write(f"\nLow stock ({len(data['low_stock'])}):\n")
    write_table(
        out,
        ["product", "location", "usable", "reserved", "reorder level"],
        [
            [r["product"], r["location"], str(r["usable"]), str(r["reserved"]),
             str(r["reorder_level"])]
            for r in data["low_stock"]
        ],
    )  # fmt: skip
    out.write(f"\nSlow and dead stock ({len(data['idle_stock'])}):\n")
    write_table(
        out,
        ["gtin", "lot", "location", "on hand", "age", "idle days", "class"],
        [
            [r["gtin"], r["lot"] or "", r["location"], str(r["on_hand"]), str(r["age_days"]),
             str(r["idle_days"]), r["class"]]
            for r in data["idle_stock"]
        ],
    )  # fmt: skip


def _amount_text(value: dict[str, Any] | None) -> str:
    return "" if value is None else f"{value['amount']} {value['currency']}"
