"""``medinv export epcis`` and ``medinv import epcis``: GS1 EPCIS 2.0 JSON-LD interchange.

``export epcis`` writes the ledger's movements (a range of positions) as one
EPCISDocument, streamed to standard output or ``--output``; with ``--schema-file`` the
document is validated (GS1's JSON Schema and medinv's own checks) before it is
written. ``import epcis`` posts the movements of a document written by medinv into a
ledger, all or none; events already imported are skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pendulum

from medinv.cli import _store
from medinv.cli._alerts import catalogue_of
from medinv.epcis import (
    ExportOptions,
    SchemaValidator,
    export_chunks,
    import_document,
    read_document,
    write_document,
)
from medinv.ledger import Ledger

__all__ = ["prefix_length", "register"]


def prefix_length(text: str) -> tuple[str, int]:
    """``GTIN-PREFIX=LENGTH``: GTIN-14s starting with the digits have that company prefix length."""
    digits, equals, length = text.partition("=")
    if not equals or not digits.strip().isdigit():
        msg = "expected GTIN-PREFIX=LENGTH, e.g. 0400638=7"
        raise ValueError(msg)
    return digits.strip(), int(length)


def _position(text: str) -> int:
    value = int(text)
    if value < 0:
        msg = "a position is 0 or more"
        raise ValueError(msg)
    return value


def register(commands: Any) -> None:
    """Add ``medinv export epcis`` and ``medinv import epcis`` to the sub-parsers."""
    exporting = commands.add_parser("export", help="write the ledger for partners (EPCIS 2.0)")
    export_kinds = exporting.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    epcis_out = export_kinds.add_parser(
        "epcis",
        help="movements as a GS1 EPCIS 2.0 JSON-LD document",
        description="Write the movements in a range of positions as one EPCISDocument.",
    )
    _store.ledger_command(epcis_out, _export, "print a JSON summary on standard error")
    option = epcis_out.add_argument
    _store.typed_option(
        epcis_out,
        "--after",
        _position,
        "position",
        "start after (default 0)",
        default=0,
        metavar="N",
    )
    _store.typed_option(
        epcis_out,
        "--up-to",
        _position,
        "position",
        "end at this position (default: the head)",
        metavar="N",
    )
    option("--output", metavar="FILE", help="write to FILE (default: standard output)")
    option("--creation-date", metavar="ISO", help="the document's creationDate (default: now)")
    option(
        "--schema-file",
        metavar="PATH",
        help="validate against this EPCIS JSON Schema (GS1's) before writing",
    )
    _store.typed_option(
        epcis_out,
        "--prefix-length",
        prefix_length,
        "prefix length",
        "write EPC URNs for these GTINs (repeatable)",
        action="append",
        default=[],
        metavar="GTIN-PREFIX=N",
    )
    importing = commands.add_parser("import", help="read partners' data (EPCIS 2.0)")
    import_kinds = importing.add_subparsers(dest="import_format", required=True, metavar="FORMAT")
    epcis_in = import_kinds.add_parser(
        "epcis",
        help="post the movements of an EPCIS document written by medinv",
        description="Post the movements of a medinv EPCIS document: all or none; "
        "events already imported are skipped.",
    )
    _store.one_line_errors(epcis_in)
    _store.add_store_options(epcis_in)
    epcis_in.add_argument("file", metavar="FILE", help="the EPCIS JSON-LD document ('-': stdin)")
    epcis_in.add_argument("--actor", required=True, help="who imports (recorded on the movements)")
    epcis_in.add_argument("--schema-file", metavar="PATH", help="validate against this schema")
    epcis_in.add_argument("--json", action="store_true", help="print one JSON object")
    epcis_in.set_defaults(handler=lambda args, out: _store.run_command(_import, args, out))


@contextlib.contextmanager
def _target(path: str | None, out: TextIO) -> Iterator[TextIO]:
    if path is None:
        yield out
        return
    with Path(path).open("w", encoding="utf-8") as file:
        yield file


def _export(args: argparse.Namespace, out: TextIO) -> int:
    try:
        created: object = (
            pendulum.now("UTC")
            if args.creation_date is None
            else pendulum.parse(args.creation_date)
        )
    except ValueError:
        created = None
    if not isinstance(created, pendulum.DateTime):
        msg = "--creation-date: expected a date and time, e.g. 2026-12-04T10:00:00Z"
        raise _store.CommandError(msg)
    validator = None if args.schema_file is None else SchemaValidator(args.schema_file)
    with _store.open_store(args) as store:
        options = ExportOptions(
            catalogue=catalogue_of(store), company_prefix_lengths=dict(args.prefix_length)
        )
        chunks = export_chunks(
            Ledger(store),
            creation_date=created,
            after_position=args.after,
            up_to_position=args.up_to,
            options=options,
        )
        if validator is not None:  # validation needs the whole document: build it first
            text = "".join(chunks)
            validator.validate(json.loads(text))
            chunks = iter([text])
        with _target(args.output, out) as target:
            written = write_document(chunks, target)
    if args.json:
        sys.stderr.write(json.dumps({"characters": written, "validated": validator is not None}))
        sys.stderr.write("\n")
    return _store.EXIT_OK


def _import(args: argparse.Namespace, out: TextIO) -> int:
    try:
        if args.file == "-":
            document = read_document(sys.stdin)
        else:
            with Path(args.file).open(encoding="utf-8") as file:
                document = read_document(file)
    except OSError as error:
        raise _store.CommandError(f"cannot read {args.file!r}: {error}") from None
    if args.schema_file is not None:
        SchemaValidator(args.schema_file).validate(document)
    with _store.open_writable_store(args, create=False) as store:
        result = import_document(Ledger(store), document, actor=args.actor)
    if args.json:
        summary = {"posted": list(result.posted), "skipped": list(result.skipped)}
        out.write(json.dumps(summary) + "\n")
    else:
        out.write(
            f"posted {len(result.posted)} movements, skipped {len(result.skipped)} "
            "already imported\n"
        )
    return _store.EXIT_OK
