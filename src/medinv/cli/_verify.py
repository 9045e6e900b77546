"""``medinv verify``: check a stored ledger and report every finding.

Runs [`Ledger.verify`][medinv.ledger.Ledger.verify] over the ledger the options
name, its catalogue included (``--no-catalogue``: the ledger only); prints how many
movements, balances and catalogue versions were checked, the findings by kind and
each finding's sentence. Exit code 0 when nothing was found, 1 when something was,
2 when the arguments or the store failed. ``--json`` prints one object (see the
"Command line" reference). A progress line counts the movements read on standard
error when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any, TextIO

from medinv.cli import _json, _store
from medinv.cli._progress import Progress
from medinv.ports import LedgerHead, LedgerStore
from medinv.verification import VerifyReport, verify_store

__all__ = ["FORMAT", "configure", "report_data", "run"]

FORMAT = 1
"""The version of the ``--json`` object; it changes only when a field changes meaning."""


def _anchor(text: str) -> LedgerHead:
    position, sep, hash_ = text.partition(":")
    if not sep or not position.strip().isdigit() or not hash_.strip():
        msg = "expected POSITION:HASH, e.g. 1200:9f2c..."
        raise ValueError(msg)
    return LedgerHead(int(position), hash_.strip())


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print one JSON object")
    _store.typed_option(
        parser,
        "--anchor",
        _anchor,
        "anchor",
        "a head recorded elsewhere: the movement at POSITION must still have HASH",
        metavar="POSITION:HASH",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress line on standard error"
    )
    parser.add_argument(
        "--no-catalogue", action="store_true", help="skip the catalogue (verify the ledger only)"
    )


class _Counting:
    """Something read through, with everything but what it overrides passed on."""

    def __init__(self, wrapped: Any, progress: Progress) -> None:
        self._wrapped = wrapped
        self._progress = progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _Counted(_Counting):
    """A store whose verification source counts the movements read on a progress line."""

    def verification_source(self) -> Any:
        return _CountedSource(self._wrapped.verification_source(), self._progress)


class _CountedSource(_Counting):
    """A verification source that counts the movements it yields."""

    def movement_rows(self) -> Iterator[Any]:
        advance = self._progress.advance
        for row in self._wrapped.movement_rows():
            advance()
            yield row


def _verify(store: LedgerStore, args: argparse.Namespace) -> VerifyReport:
    if not hasattr(store, "verification_source"):  # pragma: no cover  (both SQL stores have it)
        return verify_store(store, anchor=args.anchor, catalogue=not args.no_catalogue)
    progress = Progress.for_terminal(
        sys.stderr, "verify: movements", store.head().position, wanted=not args.no_progress
    )
    try:
        # What Ledger.verify runs, over the store seen through the counting wrapper.
        counted: Any = _Counted(store, progress)
        return verify_store(counted, anchor=args.anchor, catalogue=not args.no_catalogue)
    finally:
        progress.finish()


def report_data(report: VerifyReport) -> dict[str, Any]:
    """The ``--json`` object of a report."""
    kinds = Counter(type(f).__name__ for f in report.findings)
    return {
        "format": FORMAT,
        "ok": report.ok,
        "head": {"position": report.head.position, "hash": report.head.hash},
        "movements_checked": report.movements_checked,
        "balances_checked": report.balances_checked,
        "catalogue_versions_checked": report.catalogue_versions_checked,
        "findings_by_kind": dict(sorted(kinds.items())),
        "findings": [
            {
                "kind": type(f).__name__,
                "description": f.description,
                "fields": _json.json_value(f),
            }
            for f in report.findings
        ],
    }


def _print_text(out: TextIO, report: VerifyReport) -> None:
    head = report.head
    out.write(
        f"ledger head: position {head.position}, hash {head.hash}\n"
        f"checked: {report.movements_checked:,} movements, "
        f"{report.balances_checked:,} balances, "
        f"{report.catalogue_versions_checked:,} catalogue versions\n"
    )
    if report.ok:
        out.write("OK: no findings\n")
        return
    kinds = Counter(type(f).__name__ for f in report.findings)
    out.write(f"FINDINGS: {len(report.findings)}\n")
    out.writelines(f"  {kind}: {count}\n" for kind, count in sorted(kinds.items()))
    out.writelines(
        f"- {type(finding).__name__}: {finding.description}\n" for finding in report.findings
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Verify the ledger; exit code 0 clean, 1 findings."""
    with _store.open_store(args) as store:
        report = _verify(store, args)
    if args.json:
        out.write(json.dumps(report_data(report), ensure_ascii=False) + "\n")
    else:
        _print_text(out, report)
    return _store.EXIT_OK if report.ok else _store.EXIT_FINDINGS
