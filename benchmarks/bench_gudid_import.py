"""GUDID import end to end: medinv into a SQLite catalogue against pandas, with or without SQLite.

``n`` device records in the openFDA ``device/udi`` JSON shape (the generator of
``bench_gudid.py``) are written to a temporary file. The contenders, interleaved,
each from the same file to a result of the same fields (primary DI, package DIs
with contained DI and quantity, the four production-identifier flags, storage
temperature, implantable, name):

- medinv ``import_gudid`` into a new SQLite ledger file's catalogue (streamed,
  validated, conflict-checked, each version chained and hashed, a thousand records
  per transaction through ``put_products``);
- peer 1: ``json.load`` + ``pandas.json_normalize`` + a dict per row (in memory only,
  no validation);
- peer 2: peer 1 + the same rows inserted raw into a new SQLite file (one table, the
  fields as columns and the packages as JSON text, ``executemany`` in one
  transaction; no validation, no conflict check, no history);
- without ``--no-baseline``, once: medinv ``import_gudid`` one ``put_product`` at a
  time (what the previous release did), for the speed-up of the batch writes.

Each SQLite file is written with the same pragmas medinv uses (WAL, ``synchronous =
FULL``). The script first checks that the medinv catalogue and the peer hold the same
primary DIs and package quantities, then times best of three interleaved runs.

Usage: ``python benchmarks/bench_gudid_import.py [--quick] [--seed N] [--no-baseline]``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import table
from benchmarks.bench_gudid import _timed, interleaved, peer, records

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import Product
from medinv.services.catalogue import import_gudid

VALID_FROM = "2026-01-01T00:00:00+00:00"


class _OneByOne:
    """A catalogue seen without ``put_products``: the import puts one product at a time."""

    def __init__(self, catalogue: Any) -> None:
        self._catalogue = catalogue

    def product(self, di: object, *, as_of: object = None) -> Any:
        return self._catalogue.product(di, as_of=as_of)

    def put_product(self, product: Product, *, valid_from: object) -> bool:
        return bool(self._catalogue.put_product(product, valid_from=valid_from))


def _medinv(source: Path, target: Path, *, batch: bool = True) -> int:
    target.unlink(missing_ok=True)
    with SqliteStore(target) as store:
        catalogue = store.catalogue if batch else _OneByOne(store.catalogue)
        report = import_gudid(catalogue, source, format="json", valid_from=VALID_FROM)  # type: ignore[arg-type]
    return report.imported


def _raw_rows(rows: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for r in rows:
        yield (
            r["primary_di"],
            json.dumps(r["packages"]),
            r["lot"],
            r["serial"],
            r["expiry"],
            r["production_date"],
            None if r["temperature"] is None else json.dumps(r["temperature"]),
            r["implantable"],
            r["name"],
        )


def _peer_sqlite(source: Path, target: Path) -> int:
    target.unlink(missing_ok=True)
    rows = peer(source)
    db = sqlite3.connect(target, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute(
            "CREATE TABLE products (primary_di TEXT PRIMARY KEY, packages TEXT, lot INTEGER,"
            " serial INTEGER, expiry INTEGER, production_date INTEGER, temperature TEXT,"
            " implantable INTEGER, name TEXT) WITHOUT ROWID"
        )
        db.execute("BEGIN")
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _raw_rows(rows))
        db.execute("COMMIT")
    finally:
        db.close()
    return len(rows)


def _check(source: Path, target: Path, n: int) -> None:
    """The catalogue and the peer hold the same primary DIs and package quantities."""
    assert _medinv(source, target) == n  # noqa: S101
    rows = {r["primary_di"]: sorted(q for _, _, q in r["packages"]) for r in peer(source)}
    with SqliteStore(target) as store:
        products = {
            p.primary_di.value: sorted(lv.quantity for lv in p.packages)
            for p in store.catalogue.products()
        }
    assert products == rows  # noqa: S101


def main() -> None:
    """Write the file, run the contenders interleaved, print times and ratios."""
    import argparse  # noqa: PLC0415  (the options of this script only)

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 records")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-by-one run")
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    repeat = 3
    with tempfile.TemporaryDirectory(prefix="medinv-bench-gudid-import-") as tmp:
        source, target = Path(tmp) / "udi.json", Path(tmp) / "target.sqlite3"
        data = records(n, args.seed)
        meta = {"meta": {"results": {"skip": 0, "limit": n, "total": n}}, "results": data}
        source.write_text(json.dumps(meta), encoding="utf-8")
        del data, meta
        _check(source, target, n)
        contenders: dict[str, Callable[[], object]] = {
            "medinv": lambda: _medinv(source, target),
            "peer": lambda: peer(source),
            "peer_sqlite": lambda: _peer_sqlite(source, target),
        }
        load = os.getloadavg()[0]
        best = interleaved(contenders, repeat)
        if not args.no_baseline:
            best["one_by_one"] = _timed(lambda: _medinv(source, target, batch=False))
        size = source.stat().st_size
    labels = {
        "medinv": "medinv import_gudid into SQLite (put_products)",
        "peer": "peer 1: json.load + pandas.json_normalize + dict build",
        "peer_sqlite": "peer 2: peer 1 + raw executemany into SQLite",
        "one_by_one": "medinv import_gudid, one put_product a record (once)",
    }
    medinv_wall, medinv_cpu = best["medinv"]
    rows = []
    for name, (wall, cpu) in best.items():
        rows.append(
            (
                labels[name],
                f"{wall:.2f}",
                f"{cpu:.2f}",
                f"{n / wall:,.0f}",
                f"{wall / medinv_wall:.2f}",
                f"{cpu / medinv_cpu:.2f}",
            )
        )
    print(
        f"GUDID import into SQLite, {n:,} records ({size / 1e6:,.1f} MB of JSON), best of "
        f"{repeat} interleaved, Python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(f"load average at start: {load:.1f} on {os.cpu_count()} CPUs")
    print(
        table(
            [
                "contender",
                "wall s",
                "CPU s",
                "records/s (wall)",
                "its time / medinv's (wall)",
                "its time / medinv's (CPU)",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
