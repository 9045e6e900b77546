"""Benchmark: a stock controller's queries on a large SQLite ledger against a small one.

Usage::

    python benchmarks/bench_queries.py [--quick] [--seed N] [--rebuild] [--postgres [--dsn DSN]]

Every query of [`MovementQuery`][medinv.ports.MovementQuery] (reference, actor,
occurred-at window, location subtree, kind, and combinations with each other and
with an item), of [`PositionQuery`][medinv.ports.PositionQuery] (expiry window,
positions without an expiry, location subtree and status) and the totals of
[`position_totals`][medinv.services.position_totals] runs on a ledger of 1,000
movements and on one of 1,000,000 (100,000 with ``--quick``). The large ledger
holds the same 1,000 **probe** movements after its **filler** (movements of other
products, places, people, references and days), so every query gives the same
answer on both (the script checks it) and any difference in time is the cost of
the ledger's size. Target: large <= 2x small for every query (indexed, not
scanned).

The filler is 40% receipts, 40% transfers and 20% issues over 1,000 lots (the
ledger benchmark's workload), spread over 2026 (one movement every ~30 seconds)
by 40 people; the probe is receipts, transfers, consumptions, issues and holds of
its own products on one day of 2027 by three people. A kind filter alone is
measured on CONSUMPTION, a kind the filler does not hold: a kind that half the
ledger holds answers half the ledger, whatever the index.

Both ledgers are built by posting through ``Ledger.post`` (every rule checked) in
batches of 5,000 and kept under the temp directory between runs (``--rebuild``
builds them again). ``--postgres`` measures the same on PostgreSQL too, in two
fresh schemas (of ``--dsn``, or of a throwaway server like the tests'), built in
the same run and dropped afterwards. Each round runs every query on the small ledger then on the
large one, so both see the same machine load; medians of the rounds.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum

from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore, MovementQuery, PositionQuery
from medinv.services import position_totals
from medinv.status import StockStatus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import table
from benchmarks.bench_ledger import Workload

CACHE_VERSION = 2
"""Part of the cached ledgers' names: change it when the workload changes."""
CLOCK = pendulum.datetime(2027, 3, 1, 8, tz="UTC")
PROBE_GTIN = "09501101530003"  # a GTIN the filler does not use
PROBE_DAY = pendulum.datetime(2027, 2, 1, 6, tz="Europe/Paris")
PEOPLE = tuple(f"Staff {i:02d}" for i in range(40))
PROBE_PEOPLE = ("Probe Pat", "Probe Quinn", "Probe Robin")


class Filler(Workload):
    """The ledger benchmark's workload, spread over 2026 by 40 people."""

    def next(self) -> Movement:
        movement = super().next()
        return attrs.evolve(
            movement,
            occurred_at=pendulum.datetime(2026, 1, 1, tz="UTC").add(seconds=30 * self.counter),
            actor=PEOPLE[self.counter % len(PEOPLE)],
        )


def probe(seed: int) -> list[Movement]:
    """1,000 movements of the probe's own products, places and people on one day."""
    rng = random.Random(seed)
    lots = [ItemKey(PROBE_GTIN, lot=f"P{i:02d}") for i in range(40)]
    lotless = [ItemKey(PROBE_GTIN, serial=f"SN-{i:03d}") for i in range(50)]
    store = [Location.parse(f"Probe/Store/B{i}") for i in range(10)]
    wards = [Location.parse(f"Probe/Ward/{i}") for i in range(1, 4)]
    stock: dict[tuple[ItemKey, Location], int] = {}
    out: list[Movement] = []

    def common() -> dict[str, Any]:
        return {
            "occurred_at": PROBE_DAY.add(seconds=60 * len(out)),
            "actor": PROBE_PEOPLE[len(out) % 3],
        }

    for i, item in enumerate(lots):  # 40 receipts of 60, with expiries in 2031
        place = store[i % 10]
        stock[item, place] = 60
        out.append(
            Movement.receipt(
                f"PR-{i}", item=item, quantity=60, to=place, reference=f"PROBE-PO-{i // 4}",
                expiry=f"2031-{i % 12 + 1:02d}-15", **common(),
            )
        )  # fmt: skip
    for i, item in enumerate(lotless):  # 50 serials without an expiry
        place = store[i % 10]
        stock[item, place] = 1
        out.append(
            Movement.receipt(
                f"PS-{i}", item=item, quantity=1, to=place, reference=f"PROBE-PO-{10 + i // 5}",
                **common(),
            )
        )  # fmt: skip
    while len(out) < 1_000:
        (item, place), have = rng.choice([kv for kv in stock.items() if kv[1] > 0])
        n = len(out)
        if place.path[1] == "Store":
            ward = rng.choice(wards)
            stock[item, place] -= 1
            stock[item, ward] = stock.get((item, ward), 0) + 1
            out.append(
                Movement.transfer(
                    f"PT-{n}", item=item, quantity=1, source=place, to=ward, **common()
                )
            )
        elif n % 4:
            stock[item, place] -= 1
            out.append(Movement.consumption(f"PC-{n}", item=item, quantity=1, source=place,
                                            reference=f"PAT-{n % 97}", **common()))  # fmt: skip
        elif n % 8:
            stock[item, place] -= 1
            out.append(Movement.issue(f"PI-{n}", item=item, quantity=1, source=place, **common()))
        else:
            stock[item, place] -= 1
            out.append(Movement.status_change(f"PH-{n}", item=item, quantity=1, at=place,
                                              from_status=StockStatus.AVAILABLE,
                                              to_status=StockStatus.HOLD, **common()))  # fmt: skip
        del have
    return out


def fill(store: LedgerStore, size: int, seed: int) -> None:
    """Post ``size`` movements into an empty store: the filler, then the probe."""
    ledger = Ledger(store, clock=lambda: CLOCK)
    for batch in Filler(seed + 1, name="F").batches(size - 1_000, size=5_000):
        ledger.post(batch)
    ledger.post(probe(seed))


def ledger_file(size: int, seed: int, *, rebuild: bool) -> Path:
    """A ledger of ``size`` movements (filler, then the probe), built once and kept."""
    folder = Path(tempfile.gettempdir()) / "medinv-bench-queries"
    folder.mkdir(exist_ok=True)
    path = folder / f"v{CACHE_VERSION}-schema{SCHEMA_VERSION}-{size}-{seed}.sqlite3"
    if path.exists() and not rebuild:
        return path
    for old in folder.glob(path.name + "*"):
        old.unlink()
    building = path.with_suffix(".building")
    for old in folder.glob(building.name + "*"):
        old.unlink()
    start = time.perf_counter()
    with SqliteStore(building) as store:
        fill(store, size, seed)
    building.rename(path)
    print(f"built a ledger of {size:,} movements in {time.perf_counter() - start:.0f} s: {path}")
    return path


def on_postgres(dsn: str | None, size: int, seed: int, rounds: int) -> list[list[object]]:
    """The same measurement in two schemas of ``dsn`` or of a throwaway server (then dropped)."""
    import psycopg  # noqa: PLC0415  (the postgres extra)
    from psycopg import sql  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415
    from medinv.testing.pgserver import ThrowawayPostgres  # noqa: PLC0415

    def measure_on(target: str) -> list[list[object]]:
        schemas = [f"bench_queries_{n}_{int(time.time())}" for n in ("small", "large")]
        try:
            start = time.perf_counter()
            with PostgresStore(target, schema=schemas[0]) as small:
                fill(small, 1_000, seed)
            with PostgresStore(target, schema=schemas[1]) as large:
                fill(large, size, seed)
            print(f"built PostgreSQL ledgers in {time.perf_counter() - start:.0f} s")
            with psycopg.connect(target, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(
                        sql.SQL("VACUUM ANALYZE {}.movement_tags").format(sql.Identifier(schema))
                    )
            with (
                PostgresStore(target, schema=schemas[0]) as small,
                PostgresStore(target, schema=schemas[1]) as large,
            ):
                return list(measure(small, large, rounds))
        finally:
            with psycopg.connect(target, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                    )

    if dsn:
        return measure_on(dsn)
    with ThrowawayPostgres(database="medinv_bench") as server:
        print("throwaway PostgreSQL server (fsync off), unix socket in", server.directory)
        return measure_on(server.dsn)


Query = Callable[[LedgerStore], object]


def movements(**filters: Any) -> Query:
    query = MovementQuery(**filters)
    return lambda store: [r.movement.id for r in store.movements(query)]


def positions(**filters: Any) -> Query:
    query = PositionQuery(**filters)
    return lambda store: sorted(
        (repr(p.item), str(p.location), p.status.value, p.quantity, str(p.expiry))
        for p in store.positions(query)
    )


def totals(**filters: Any) -> Query:
    return lambda store: position_totals(store, by=("product", "location"), **filters)


HOUR = (PROBE_DAY.add(hours=3), PROBE_DAY.add(hours=4))
QUERIES: dict[str, Query] = {
    "movements: reference": movements(reference="PROBE-PO-3"),
    "movements: actor": movements(actor="probe quinn"),
    "movements: occurred-at hour": movements(occurred_from=HOUR[0], occurred_to=HOUR[1]),
    "movements: location subtree": movements(location="Probe/Ward/2"),
    "movements: kind (CONSUMPTION)": movements(kind="CONSUMPTION"),
    "movements: kind + hour": movements(kind="ISSUE", occurred_from=HOUR[0], occurred_to=HOUR[1]),
    "movements: actor + subtree + kind": movements(
        actor="Probe Pat", location="Probe/Store", kind=["TRANSFER", "RECEIPT"]
    ),
    "movements: gtin + kind": movements(gtin=PROBE_GTIN, kind="STATUS_CHANGE"),
    "positions: expiry window": positions(expires_from="2031-01-01", expires_before="2031-04-01"),
    "positions: without expiry": positions(has_expiry=False),
    "positions: subtree + status": positions(location="Probe/Ward", status="AVAILABLE"),
    "totals: subtree per product, location": totals(location="Probe"),
}


def measure(small: LedgerStore, large: LedgerStore, rounds: int) -> Iterator[list[object]]:
    """Each round runs every query on both ledgers, the small one first in even rounds.

    The garbage collector runs between the timed calls, not during them: a
    collection triggered by one query would otherwise be charged to the next.
    """
    times: dict[str, dict[int, list[float]]] = {name: {0: [], 1: []} for name in QUERIES}
    sizes: dict[str, int] = {}
    stores = (small, large)
    for round_ in range(rounds):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        for name, query in QUERIES.items():
            answers: dict[int, object] = {}
            for which in order:
                gc.collect()
                gc.disable()
                start = time.perf_counter()
                answers[which] = query(stores[which])
                times[name][which].append(time.perf_counter() - start)
                gc.enable()
            if answers[0] != answers[1]:
                raise SystemExit(f"{name}: the answers must not depend on the ledger's size")
            sizes[name] = len(answers[0])  # type: ignore[arg-type]
    for name, took in times.items():
        s, big = statistics.median(took[0]), statistics.median(took[1])
        yield [name, sizes[name], f"{s * 1e3:.2f} ms", f"{big * 1e3:.2f} ms", f"{big / s:.2f}x",
               "yes" if big / s <= 2 else "NO"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 vs 1,000 (well under a minute)"
    )
    parser.add_argument("--seed", type=int, default=20261204, help="random seed")
    parser.add_argument("--rebuild", action="store_true", help="build the cached ledgers again")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also on PostgreSQL: --dsn, MEDINV_TEST_POSTGRES_DSN or a throwaway server",
    )
    parser.add_argument("--dsn", default=os.environ.get("MEDINV_TEST_POSTGRES_DSN"))
    args = parser.parse_args()
    size = 100_000 if args.quick else 1_000_000
    rounds = 15 if args.quick else 30
    small_path = ledger_file(1_000, args.seed, rebuild=args.rebuild)
    large_path = ledger_file(size, args.seed, rebuild=args.rebuild)
    print(f"medinv query benchmark ({'quick' if args.quick else 'full'}), seed {args.seed}, "
          f"SQLite schema {SCHEMA_VERSION}")  # fmt: skip
    print(f"\nLedger of 1,000 vs {size:,} movements, median of {rounds} interleaved rounds")
    with SqliteStore(small_path) as small, SqliteStore(large_path) as large:
        rows = list(measure(small, large, rounds))
    print(table(["query", "answer", "1,000", f"{size:,}", "ratio", "<= 2x"], rows))
    if args.postgres:
        print(f"\nPostgreSQL: ledger of 1,000 vs {size:,} movements, median of {rounds} rounds")
        rows = on_postgres(args.dsn, size, args.seed, rounds)
        print(table(["query", "answer", "1,000", f"{size:,}", "ratio", "<= 2x"], rows))


if __name__ == "__main__":
    main()
