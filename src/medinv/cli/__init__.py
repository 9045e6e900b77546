"""The ``medinv`` command line: a thin layer over the library.

``medinv demo`` walks through what medinv does, on real data it creates;
each capability adds its own section to the demo.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from medinv import __version__
from medinv.cli import (
    _alerts,
    _catalog,
    _coldchain,
    _demo,
    _epcis,
    _history,
    _parse,
    _recall,
    _receive,
    _replenish,
    _report,
    _stock,
    _sync,
    _trace,
    _verify,
)

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medinv",
        description="Domain core for medical-device and consumables inventory.",
    )
    parser.add_argument("--version", action="version", version=f"medinv {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the guided demo")
    _demo.configure(demo)
    parse = commands.add_parser(
        "parse",
        help="parse scanner input (GS1, Digital Link, GTIN, SSCC, HIBC, MA) and show the fields",
    )
    _parse.configure(parse)
    _verify.configure(
        commands.add_parser("verify", help="check a stored ledger (exit 1 on findings)")
    )
    _stock.configure(commands.add_parser("stock", help="stock positions, filtered or summed"))
    _history.configure(commands.add_parser("history", help="stored movements, filtered"))
    _catalog.register(commands)
    _receive.configure(commands.add_parser("receive", help="book scanner lines from stdin"))
    _alerts.configure(commands.add_parser("alerts", help="expiring, low and dead stock"))
    _replenish.configure(commands.add_parser("replenish", help="replenishment proposals"))
    _trace.configure(commands.add_parser("trace", help="where a lot or serial is, went or was"))
    _epcis.register(commands)
    _recall.configure(commands.add_parser("recall", help="recall campaigns: open, status, ..."))
    _sync.register(commands)
    _coldchain.register(commands)
    _report.configure(commands.add_parser("report", help="the stock-health report (HTML page)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    handler = args.handler
    result: int = handler(args, sys.stdout)
    return result


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
