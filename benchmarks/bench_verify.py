"""Benchmark: `Ledger.verify()` on a large SQLite ledger against the floor of re-hashing it.

Usage::

    python benchmarks/bench_verify.py [--quick] [--seed N] [--baseline SRC]

The ledger: ``N`` movements (1,000,000 full, 100,000 quick) of a hospital
workload (40 % receipts, transfers between neighbouring locations, issues)
over ``N / 5`` lots at 60 locations, so that the projection holds
hundreds of thousands of balances (the case that used to need a gigabyte).
It is built once through ``Ledger.post`` in batches of 10,000 and kept in the
temporary directory between runs (``medinv-bench-verify-schema<V>-<N>-<seed>.sqlite3``,
one per SQLite schema version, so that the code before a schema change still finds
a file it can open).

Measured, interleaved in one run (best of three wall times each):

- **floor**: read ``position, content, recorded_at, hash`` of every movement
  with raw ``sqlite3`` in position order and recompute the SHA-256 chain in a
  loop (what no verification can do without);
- **verify**: ``Ledger(SqliteStore(path)).verify()``: the chain, the indexed
  columns, the posting rules over the history, the balance projection and the
  master data. Target: verify <= 2x floor.

Each run is a fresh child process, so that building the ledger does not count:
it reports its time and its peak resident set (``ru_maxrss``); one more child
each measures tracemalloc's peak of Python allocations. ``--baseline SRC`` adds
one run of ``verify()`` from another medinv source tree (e.g. the main branch's
``src``) on the same file.

``--bounds`` adds, interleaved in the same rounds, three lower bounds of any
``verify()`` that checks the balances over the history, each doing only part of
the work (their code is in this file):

- **lean**: the floor plus, per row in Python, splitting the content, comparing
  the query columns and a sum and running minimum per balance key in a dict
  (nothing else: no serials, master data, projection; memory grows with the keys);
- **sql**: no hashing; SQLite alone reads the fields a balance needs out of the
  NUL-separated content (``json_quote`` turns each NUL into an escape that
  ``replace`` can split on) and computes each key's running minimum and total
  with a window function;
- **typed**: what the same costs if the store kept typed columns beside the
  content (a scratch copy of the movements with them, built once and kept next
  to the ledger): proving in SQL that the content equals the concatenation of
  the columns, plus the window function over the typed columns.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pendulum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, table

from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from medinv.chain import ENCODING_VERSION, GENESIS_HASH
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

CLOCK = pendulum.datetime(2026, 11, 23, 7, 0, tz="UTC")


def movements(total: int, seed: int) -> Iterator[Movement]:
    """Valid receipts, transfers and issues over ``total // 5`` lots at 60 locations.

    Each lot lives at three neighbouring locations: about 2.5 balances per lot.
    """
    rng = random.Random(seed)
    gtins = ("04006381333931", "00614141000418", "09506000134352", "05901234123457")
    lots = max(total // 5, 100)
    places = [
        Location.parse(f"CHU-Nord/{'Pharmacy' if j % 2 else 'Store'}/Z{j % 4}/B{j:03d}")
        for j in range(60)
    ]
    at = pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris")
    items: dict[int, ItemKey] = {}
    stock: dict[tuple[int, int], int] = {}
    stocked: list[int] = []
    for n in range(total):
        mid = f"V-{n:08d}"
        if rng.random() < 0.4 or not stocked:
            i = rng.randrange(lots)
            item = items.get(i) or items.setdefault(i, ItemKey(gtins[i % 4], lot=f"V-{i:06d}"))
            home = (i + rng.randrange(3)) % 60
            if not any(stock.get((i, (i + k) % 60)) for k in range(3)):
                stocked.append(i)
            stock[i, home] = stock.get((i, home), 0) + 50
            yield Movement.receipt(
                mid, item=item, quantity=50, to=places[home], occurred_at=at, actor="bench",
                expiry="2030-12-31", reference=f"DN-{n // 100}",
            )  # fmt: skip
            continue
        while True:
            slot = rng.randrange(len(stocked))
            i = stocked[slot]
            homes = [(i + k) % 60 for k in range(3) if stock.get((i, (i + k) % 60))]
            if homes:
                break
            stocked[slot] = stocked[-1]
            stocked.pop()
        home = rng.choice(homes)
        have = stock[i, home]
        quantity = rng.randint(1, min(have, 10))
        stock[i, home] = have - quantity
        other = (i + rng.randrange(3)) % 60
        if rng.random() < 0.66 and other != home:
            stock[i, other] = stock.get((i, other), 0) + quantity
            yield Movement.transfer(
                mid, item=items[i], quantity=quantity, source=places[home], to=places[other],
                occurred_at=at, actor="bench",
            )  # fmt: skip
        else:
            yield Movement.issue(
                mid, item=items[i], quantity=quantity, source=places[home], occurred_at=at,
                actor="bench", reference=f"WARD-{home}",
            )  # fmt: skip


def build(path: Path, total: int, seed: int) -> None:
    """Post ``total`` movements in batches of 10,000 (the file is a scratch copy: no fsync)."""
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    source = movements(total, seed)
    with SqliteStore(partial) as store:
        store._db.execute("PRAGMA synchronous = OFF")  # noqa: SLF001  (a scratch file)
        ledger = Ledger(store, clock=lambda: CLOCK)
        for n in range(1, total // 10_000 + 2):
            batch = list(itertools.islice(source, 10_000))
            if not batch:
                break
            ledger.post(batch)
            if n % 10 == 0:
                print(f"  built {n * 10_000:,} movements ({time.perf_counter() - started:.0f} s)")
    partial.rename(path)


def floor(path: Path) -> int:
    """Re-hash the chain from the raw content column; returns the rows read."""
    db = sqlite3_connect(path)
    sha256 = hashlib.sha256
    prefix = f"\x00{ENCODING_VERSION}\x00"
    prev = GENESIS_HASH
    bad = 0
    count = 0
    for position, content, recorded_at, hash_ in db.execute(
        "SELECT position, content, recorded_at, hash FROM movements ORDER BY position"
    ):
        digest = sha256(f"{prev}{prefix}{position}\x00{recorded_at}\x00{content}".encode())
        if digest.hexdigest() != hash_:
            bad += 1
        prev = hash_
        count += 1
    db.close()
    if bad:
        raise SystemExit(f"the floor found {bad} hashes that do not match")
    return count


def sqlite3_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


_BALANCE_FIELDS: Final = (
    "SELECT m.position, m.content, m.recorded_at, m.hash, m.id, "
    "coalesce('+' || m.reverses, '-'), k.gtin, "
    "CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END, "
    "CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END "
    "FROM movements AS m JOIN item_keys AS k ON k.item_no = m.item_no ORDER BY m.position"
)


def lean(path: Path) -> int:
    """Lower bound in Python: the floor, the query columns, a running minimum per balance key."""
    db = sqlite3_connect(path)
    sha256 = hashlib.sha256
    prefix = f"\x00{ENCODING_VERSION}\x00"
    prev = GENESIS_HASH
    bad = 0
    count = 0
    sums: dict[tuple[str, ...], list[int]] = {}
    get = sums.get
    for position, content, recorded_at, hash_, mid, rev, gtin, lot, serial in db.execute(
        _BALANCE_FIELDS
    ):
        digest = sha256(f"{prev}{prefix}{position}\x00{recorded_at}\x00{content}".encode())
        if digest.hexdigest() != hash_:
            bad += 1
        prev = hash_
        count += 1
        f = content.split("\x00")
        if f[0] != mid or f[15] != rev or f[2] != gtin or f[3] != lot or f[4] != serial:
            bad += 1
        q = int(f[5])
        if f[8] != "-":
            key = (gtin, lot, serial, f[8], f[9])
            v = get(key)
            if v is None:
                sums[key] = [-q, -q]
            else:
                v[0] -= q
                if v[0] < v[1]:  # noqa: PLR1730  (min() costs a call in the hot loop)
                    v[1] = v[0]
        if f[10] != "-":
            key = (gtin, lot, serial, f[10], f[11])
            v = get(key)
            if v is None:
                sums[key] = [q, 0]
            else:
                v[0] += q
    db.close()
    if bad or any(low < 0 for _, low in sums.values()):
        raise SystemExit("the lean pass found a difference")
    return count


# Each NUL of the content becomes "\u0000" in json_quote's output: a JSON array of the fields.
# (A content holding a backslash followed by "u0000" would split wrongly: none here.)
_FIELDS_JSON: Final = "'[' || replace(json_quote(content), '\\u0000', '\",\"') || ']'"
_RUNNING: Final = (
    "w AS (SELECT item_no, loc, st, q, "
    "sum(q) OVER (PARTITION BY item_no, loc, st ORDER BY position) AS run FROM d) "
    "SELECT count(*), sum(low < 0), sum(total) FROM "
    "(SELECT min(run) AS low, sum(q) AS total FROM w GROUP BY item_no, loc, st)"
)
_SQL_BOUND: Final = (
    f"WITH j AS (SELECT position, item_no, {_FIELDS_JSON} AS a FROM movements), "
    "d AS (SELECT position, item_no, a ->> 8 AS loc, a ->> 9 AS st, -(a ->> 5) AS q "
    "FROM j WHERE a ->> 8 <> '-' UNION ALL "
    "SELECT position, item_no, a ->> 10, a ->> 11, a ->> 5 FROM j WHERE a ->> 10 <> '-'), "
    + _RUNNING
)


def sql_bound(path: Path) -> int:
    """Lower bound in SQL (current schema): fields out of the content, running minimum per key."""
    db = sqlite3_connect(path)
    keys, negative, _ = db.execute(_SQL_BOUND).fetchone()
    (count,) = db.execute("SELECT count(*) FROM movements").fetchone()
    db.close()
    if negative or not keys:
        raise SystemExit("the SQL pass found a negative balance")
    return int(count)


_TYPED_COLUMNS: Final = (
    "kind", "quantity", "occurred_at", "actor", "from_location", "from_status", "to_location",
    "to_status", "reason", "reference", "expiry",
)  # fmt: skip
_TYPED_CONTENT: Final = " || char(0) || ".join(
    (
        "m.id",
        "m.kind",
        "k.gtin",
        "CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END",
        "CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END",
        "m.quantity",
        "m.occurred_at",
        "m.actor",
        *(f"coalesce('+' || m.{c}, '-')" for c in (*_TYPED_COLUMNS[4:], "reverses")),
    )
)


def typed_copy(path: Path) -> Path:
    """A scratch file: the movements with typed columns beside the content (built once)."""
    typed = path.with_name(path.stem + "-typed.sqlite3")
    if typed.exists():
        return typed
    partial = typed.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3_connect(path)
    db.execute("ATTACH ? AS t", (str(partial),))
    fields = ", ".join(
        f"a ->> {n} AS {c}" if n < 8 else f"nullif(substr(a ->> {n}, 2), '') AS {c}"
        for n, c in zip((1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), _TYPED_COLUMNS, strict=True)
    )
    db.execute(
        f"CREATE TABLE t.movements AS WITH j AS (SELECT position, item_no, id, reverses, "
        f"content, {_FIELDS_JSON} AS a FROM movements) "
        f"SELECT position, item_no, id, reverses, content, {fields} FROM j"
    )
    db.execute("CREATE TABLE t.item_keys AS SELECT * FROM item_keys")
    db.commit()
    db.close()
    partial.rename(typed)
    return typed


_TYPED_EQUAL: Final = (
    "SELECT count(*) FROM movements AS m JOIN item_keys AS k ON k.item_no = m.item_no "
    f"WHERE CAST(m.content AS BLOB) IS NOT CAST({_TYPED_CONTENT} AS BLOB)"
)
_TYPED_BOUND: Final = (
    "WITH d AS (SELECT position, item_no, from_location AS loc, from_status AS st, "
    "-quantity AS q FROM movements WHERE from_location IS NOT NULL UNION ALL "
    "SELECT position, item_no, to_location, to_status, quantity FROM movements "
    "WHERE to_location IS NOT NULL), " + _RUNNING
)


def typed_bound(path: Path) -> int:
    """Lower bound in SQL with typed columns: content equals the columns, running minimum."""
    db = sqlite3_connect(typed_copy(path))
    (differ,) = db.execute(_TYPED_EQUAL).fetchone()
    keys, negative, _ = db.execute(_TYPED_BOUND).fetchone()
    (count,) = db.execute("SELECT count(*) FROM movements").fetchone()
    db.close()
    if differ or negative or not keys:
        raise SystemExit("the typed pass found a difference")
    return int(count)


def verify(path: Path) -> int:
    with SqliteStore(path) as store:
        report = Ledger(store).verify()
    if not report.ok:
        raise SystemExit(f"verify() found {report.discrepancies[:5]}")
    return report.movements_checked


def child(kind: str, path: str, *, traced: bool) -> None:
    """Run one measurement in this (fresh) process and print its figures as JSON."""
    fn = {"floor": floor, "verify": verify, "lean": lean, "sql": sql_bound, "typed": typed_bound}[
        kind
    ]
    if traced:
        import tracemalloc  # noqa: PLC0415

        tracemalloc.start()
    started = time.perf_counter()
    rows = fn(Path(path))
    seconds = time.perf_counter() - started
    peak = 0
    if traced:
        import tracemalloc  # noqa: PLC0415

        peak = tracemalloc.get_traced_memory()[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "rss": rss, "traced": peak}))


def run_child(
    kind: str, path: Path, *, traced: bool = False, src: str | None = None
) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(  # noqa: S603  (this very script, with our own arguments)
        [sys.executable, __file__, "--child", kind, str(path), "1" if traced else "0"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:  # noqa: C901  (options, interleaved rounds, the table)
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], traced=sys.argv[4] == "1")
        return
    baseline = None
    if "--baseline" in sys.argv:
        at = sys.argv.index("--baseline")
        baseline = sys.argv[at + 1]
        del sys.argv[at : at + 2]
    bounds = "--bounds" in sys.argv
    if bounds:
        sys.argv.remove("--bounds")
    args = arguments("verify() on a large SQLite ledger against re-hashing its chain")
    total = 100_000 if args.quick else 1_000_000
    name = f"medinv-bench-verify-schema{SCHEMA_VERSION}-{total}-{args.seed}.sqlite3"
    path = Path(tempfile.gettempdir()) / name
    if not path.exists():
        print(f"building {path} ...")
        build(path, total, args.seed)
    with SqliteStore(path) as store:
        (balances,) = store._db.execute("SELECT count(*) FROM balances").fetchone()  # noqa: SLF001
        (lots,) = store._db.execute("SELECT count(*) FROM lots").fetchone()  # noqa: SLF001
    size = path.stat().st_size
    print(f"ledger: {total:,} movements, {balances:,} balances, {lots:,} lots, {size / 1e6:.0f} MB")

    runs: dict[str, list[dict[str, float]]] = {"floor": [], "verify": []}
    if baseline is not None:
        runs["baseline"] = []
    if bounds:
        typed_copy(path)  # built once, outside the measurements
        runs.update({"lean": [], "sql": [], "typed": []})
    for round_ in range(3):  # interleaved: each round runs every contender once
        for kind, figures in runs.items():
            if kind == "baseline" and round_:
                continue  # the code before this change: one run is enough to compare
            src = baseline if kind == "baseline" else None
            figures.append(run_child("verify" if kind == "baseline" else kind, path, src=src))
            if figures[-1]["rows"] != total:
                raise SystemExit(f"{kind} read {figures[-1]['rows']:,} movements, not {total:,}")
            last = figures[-1]
            seconds, rss = last["seconds"], last["rss"] / 1e6
            print(f"  round {round_ + 1} {kind}: {seconds:.2f} s, RSS {rss:.0f} MB")
    traced = {kind: run_child(kind, path, traced=True)["traced"] for kind in ("floor", "verify")}
    best_floor = min(f["seconds"] for f in runs["floor"])
    rows = []
    for kind, figures in runs.items():
        best = min(f["seconds"] for f in figures)
        rows.append(
            [
                kind,
                f"{best:.2f}",
                " / ".join(f"{f['seconds']:.2f}" for f in figures),
                f"{best / best_floor:.2f}x",
                f"{max(f['rss'] for f in figures) / 1e6:.0f}",
                f"{traced[kind] / 1e6:.1f}" if kind in traced else "-",
            ]
        )
    print(table(["", "best s", "runs s", "vs floor", "peak RSS MB", "peak traced MB"], rows))
    ratio = min(f["seconds"] for f in runs["verify"]) / best_floor
    print(f"verify / floor = {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
