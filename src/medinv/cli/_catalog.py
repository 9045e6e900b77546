"""``medinv catalog``: master data in a ledger database (``import-gudid``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from medinv.cli._store import CommandError, open_writable_store
from medinv.errors import MedinvError
from medinv.services.catalogue import GudidImportReport, import_gudid

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``medinv catalog`` and its sub-commands to the command line's sub-parsers."""
    catalog = commands.add_parser("catalog", help="keep master data: import FDA GUDID records")
    actions = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    gudid = actions.add_parser(
        "import-gudid",
        help="import FDA GUDID device records (XML download or openFDA JSON) into the catalogue",
        description=(
            "Store the products of a GUDID file in the catalogue of a ledger database: "
            "primary DI, package DIs with the contained DI and quantity, controls, "
            "storage and handling conditions. A package pointing at an unknown DI is "
            "reported, not invented; importing the same file again stores nothing."
        ),
        epilog="Exit status: 0 when every product was stored or already there, 1 when the "
        "catalogue refused some (a DI that belongs to another product), 2 on an error.",
    )
    gudid.add_argument("file", metavar="FILE", help="the GUDID XML or openFDA JSON file")
    where = gudid.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", metavar="PATH", help="the SQLite ledger file")
    where.add_argument("--dsn", metavar="DSN", help="a PostgreSQL connection string")
    gudid.add_argument("--schema", default="medinv", help="the PostgreSQL schema (default: medinv)")
    gudid.add_argument(
        "--format",
        choices=("auto", "xml", "json"),
        default="auto",
        help="the file's format (default: by its name; .json, .jsonl, .ndjson are JSON)",
    )
    gudid.add_argument(
        "--valid-from",
        metavar="ISO",
        help="the moment the versions apply from, ISO 8601 with offset (default: now)",
    )
    gudid.add_argument("--json", action="store_true", help="print the report as JSON")
    gudid.set_defaults(handler=_import_gudid)


def _progress(count: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rrecords read: {count:,}")
        sys.stderr.flush()


def _import_gudid(args: argparse.Namespace, out: TextIO) -> int:
    try:
        with open_writable_store(args, create=True) as store:
            report = import_gudid(
                store.catalogue,
                args.file,
                format=args.format,
                valid_from=args.valid_from,
                progress=_progress,
            )
    except (MedinvError, CommandError, OSError) as e:
        sys.stderr.write(f"medinv catalog import-gudid: {e}\n")
        return 2
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        out.write(json.dumps(_as_json(report), ensure_ascii=False) + "\n")
    else:
        _write_text(report, out)
    return 1 if report.refused else 0


def _as_json(report: GudidImportReport) -> dict[str, Any]:
    return {
        "records": report.records,
        "imported": report.imported,
        "unchanged": report.unchanged,
        "without_product": report.without_product,
        "findings": [
            {
                "record": f.record,
                "primary_di": f.primary_di,
                "kind": f.kind.name,
                "message": f.message,
            }
            for f in report.findings
        ],
        "refused": [
            {"record": r.record, "primary_di": r.primary_di, "reason": r.reason}
            for r in report.refused
        ],
    }


def _write_text(report: GudidImportReport, out: TextIO) -> None:
    out.write(
        f"{report.records} records: {report.imported} imported, {report.unchanged} unchanged, "
        f"{report.without_product} without a product, {len(report.refused)} refused, "
        f"{len(report.findings)} findings\n"
    )
    out.writelines(
        f"record {f.record} ({f.primary_di or 'no DI'}): {f.kind.value}: {f.message}\n"
        for f in report.findings
    )
    out.writelines(
        f"record {r.record} ({r.primary_di}): refused: {r.reason}\n" for r in report.refused
    )
