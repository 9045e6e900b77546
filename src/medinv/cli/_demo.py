"""``medinv demo``: a guided tour over real data, one section per capability.

Each section is a function ``(out, context) -> None``; capabilities append theirs
to [`SECTIONS`][medinv.cli._demo.SECTIONS].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import attrs
import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.cli._demo_barcodes import barcodes
from medinv.cli._demo_fefo import fefo_allocation
from medinv.cli._demo_ledger import FIRST_MOVEMENT, ledger_on_sqlite
from medinv.cli._demo_recall import recall_campaign
from medinv.cli._demo_stocktake import stocktake
from medinv.dates import Expiry, is_expired, remaining_shelf_life
from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import Gtin, ItemKey
from medinv.locations import Location
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity


@attrs.define
class DemoContext:
    """What the sections share: the database path and the demo's fixed 'today'."""

    db_path: Path
    """The one SQLite file every section writes: ledger and stocktakes together."""
    today: pendulum.Date = attrs.field(factory=lambda: pendulum.date(2026, 11, 23))
    """The date the demo runs 'as of' (medinv never reads the clock)."""
    tz: str = "Europe/Paris"
    """The facility's time zone."""


Section = Callable[[TextIO, DemoContext], None]


def _heading(out: TextIO, title: str) -> None:
    out.write(f"\n== {title} ==\n")


def value_objects(out: TextIO, ctx: DemoContext) -> None:
    """Identifiers, expiry and packaging: the values everything else is built from."""
    _heading(out, "Identifiers: GTINs are normalised to GTIN-14 and check-digit verified")
    for text in ("4006381333931", "96385074", "10614141000415", "4006381333932"):
        try:
            gtin = Gtin(text)
            out.write(
                f"  {text:<15} -> {gtin.value}  packaging indicator {gtin.packaging_indicator}\n"
            )
        except InvalidValueError as e:
            out.write(f"  {text:<15} -> refused: {e}\n")
    item = ItemKey("04006381333931", lot="L2026-11", serial="SN000123")
    out.write(f"  item key: {item}\n")

    _heading(out, "Expiry: usable on the expiry day, expired the day after")
    expiry = Expiry.month_end(2026, 11, raw="261100")
    out.write(f"  label 17:261100 (GS1 day 00) means {expiry.date} (printed as {expiry})\n")
    for day in (ctx.today, expiry.date, expiry.date.add(days=1)):
        state = "EXPIRED" if is_expired(expiry.date, day) else "usable"
        days = remaining_shelf_life(expiry.date, day)
        out.write(f"  as of {day}: {state:<8} remaining shelf life {days} day(s)\n")

    _heading(out, "Packaging: a case of 10 boxes of 20 gloves")
    hierarchy = PackagingHierarchy.chain(
        PackagingLevel(unit="CS", gtin="10614141000415", contains=10),
        PackagingLevel(unit="BX", gtin="00614141000418", contains=20),
        PackagingLevel(unit="EA"),
    )
    cases = Quantity.of(3, "CS")
    out.write(f"  {cases} = {hierarchy.to_base(cases)} = {hierarchy.convert(cases, 'BX')}\n")
    try:
        hierarchy.convert(Quantity.of(30, "EA"), "BX")
    except InvalidValueError as e:
        out.write(f"  30 EA to boxes: refused: {e}\n")
    try:
        _ = Quantity.of(3, "BX") + Quantity.of(2, "EA")
    except InvalidValueError as e:
        out.write(f"  3 BX + 2 EA: refused: {e}\n")
    loc = Location.parse("CHU-Nord/Pharmacy/A/03", pick_sequence=30)
    out.write(f"  location {loc} (pick sequence {loc.pick_sequence}) is within {loc.parent}\n")


SECTIONS: list[Section] = [value_objects, barcodes, ledger_on_sqlite, fefo_allocation, stocktake]
SECTIONS.append(recall_campaign)
"""The demo's sections, in order."""


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run every section against one demo database file, started afresh."""
    if args.db is not None:
        path = Path(args.db)
        path.parent.mkdir(parents=True, exist_ok=True)
        refusal = _start_afresh(path)
        if refusal is not None:
            sys.stderr.write(f"medinv demo: {refusal}\n")
            return 2
        return _run_sections(out, DemoContext(db_path=path))
    with tempfile.TemporaryDirectory(prefix="medinv-demo-") as tmp:
        return _run_sections(out, DemoContext(db_path=Path(tmp) / "medinv-demo.sqlite3"))


def _start_afresh(path: Path) -> str | None:
    """Remove the file an earlier demo run wrote; refuse (say why) any other existing file.

    A file is the demo's when its ledger starts with the demo's first movement, or
    is empty and holds no stocktake but the demo's.
    """
    if not path.exists():
        return None
    try:
        with SqliteStore(path) as store:
            first = store.movements_by_id([FIRST_MOVEMENT]).get(FIRST_MOVEMENT)
            ours = (first is not None and first.position == 1) or (
                store.head().position == 0
                and {st.id for st in store.stocktakes.stocktakes()} <= {"ST-1"}
            )
    except StorageError as e:
        return f"{path} is not a file the demo wrote ({e}); name a new file with --db"
    if not ours:
        return f"{path} holds data the demo did not write; name a new file with --db"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return None


def _run_sections(out: TextIO, ctx: DemoContext) -> int:
    out.write(f"medinv demo (as of {ctx.today}, facility time zone {ctx.tz})\n")
    for section in SECTIONS:
        section(out, ctx)
    out.write("\nDemo complete.\n")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to its sub-command parser."""
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help=(
            "the one SQLite file to write, ledger and stocktakes together; a file an "
            "earlier demo wrote is started afresh, any other existing file is refused "
            "(default: a temporary file removed afterwards)"
        ),
    )
    parser.set_defaults(handler=run)
