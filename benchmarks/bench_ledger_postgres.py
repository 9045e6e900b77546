"""Benchmark: the movement ledger on PostgreSQL against raw psycopg inserts, and lookup scaling.

Usage::

    python benchmarks/bench_ledger_postgres.py [--quick] [--seed N] [--dsn DSN]

Without ``--dsn`` (or ``MEDINV_TEST_POSTGRES_DSN``) the script starts the same
throwaway server as the tests ([`medinv.testing.pgserver.ThrowawayPostgres`]: a
private cluster in a temp dir, ``fsync`` off) and removes it afterwards. With a
DSN it works in a fresh schema of that database and drops it at the end.

Two measurements, in one run:

1. **Posting.** ``N`` movements (receipts, transfers and issues over a pool of
   items and locations; 200,000 full, 20,000 quick) posted in batches of 1,000
   through ``Ledger(PostgresStore).post`` (every rule checked, hash chain, balance
   projection, master data, one transaction per batch with the head row locked)
   against psycopg's ``executemany`` of the same movements as pre-built tuples
   into a bare table (same columns, no index, no rule, no projection; one
   transaction per batch). The two alternate batch by batch, so both see the same
   machine load; only the post / insert calls are timed (building the movements
   is not). Target: medinv <= 3x raw.
2. **Lookup.** The same balance queries (one item at a location subtree, one GTIN
   everywhere, one lot's positions) on a ledger of 1,000 movements and on one of
   1,000,000 (100,000 quick) over the same pool of items and locations, so the
   answers have the same size. Each repetition queries both ledgers in turn, so
   both see the same machine load; medians of 300 repetitions, right after
   building and again after ``VACUUM ANALYZE``. Target: large <= 2x small
   (indexed, not scanned).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import psycopg
from psycopg import sql

from medinv.adapters.postgres import PostgresStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.testing.pgserver import ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import table

BATCH = 1_000
GTINS = ("04006381333931", "09501101530003")
LOTS = ("L1", "L2", "L3", "L4", "L5")
ITEMS = tuple(ItemKey(g, lot=lot) for g in GTINS for lot in LOTS)
BINS = tuple(
    Location.parse(path)
    for path in [*(f"Main/Store/Bin-{b}" for b in range(6)), "Main/Ward-1", "Main/Ward-2"]
)
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
CLOCK = pendulum.datetime(2026, 11, 23, 8, 0, tz="UTC")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed")
    parser.add_argument("--dsn", default=os.environ.get("MEDINV_TEST_POSTGRES_DSN"))
    return parser.parse_args()


def workload(count: int, seed: int, prefix: str) -> Iterator[list[Movement]]:
    """Batches of valid movements: 40% receipts, 40% transfers, 20% issues, stock tracked."""
    rng = random.Random(seed)
    stock: dict[tuple[ItemKey, Location], int] = {}
    n = 0
    while n < count:
        batch: list[Movement] = []
        for _ in range(min(BATCH, count - n)):
            n += 1
            item, place = rng.choice(ITEMS), rng.choice(BINS)
            have = stock.get((item, place), 0)
            roll = rng.random()
            mid = f"{prefix}-{n}"
            if roll < 0.4 or have < 3:
                batch.append(
                    Movement.receipt(
                        mid, item=item, quantity=10, to=place, occurred_at=AT, actor="bench"
                    )
                )
                stock[(item, place)] = have + 10
            elif roll < 0.8:
                to = rng.choice([b for b in BINS if b != place])
                batch.append(
                    Movement.transfer(
                        mid, item=item, quantity=3, source=place, to=to, occurred_at=AT, actor="b"
                    )
                )
                stock[(item, place)] = have - 3
                stock[(item, to)] = stock.get((item, to), 0) + 3
            else:
                batch.append(
                    Movement.issue(
                        mid, item=item, quantity=2, source=place, occurred_at=AT, actor="bench"
                    )
                )
                stock[(item, place)] = have - 2
        yield batch


def _raw_row(m: Movement, position: int) -> tuple[object, ...]:
    def path(loc: Location | None) -> str | None:
        return None if loc is None else str(loc)

    return (
        position,
        m.id,
        m.kind.value,
        m.item.gtin.value,
        m.item.lot.value if m.item.lot else "",
        "",
        m.quantity,
        m.occurred_at.isoformat(),
        m.actor,
        path(m.from_location),
        m.from_status.value if m.from_status else None,
        path(m.to_location),
        m.to_status.value if m.to_status else None,
        m.reason,
        m.reference,
        m.expiry,
        m.reverses,
        CLOCK.isoformat(),
        "0" * 64,
        "f" * 64,
    )


RAW_TABLE = """CREATE TABLE {t} (position bigint, id text, kind text, gtin text, lot text,
    serial text, quantity bigint, occurred_at text, actor text, from_location text,
    from_status text, to_location text, to_status text, reason text, reference text,
    expiry date, reverses text, recorded_at text, prev_hash text, hash text)"""


def post_medinv(dsn: str, schema: str, count: int, seed: int) -> tuple[float, int]:
    """Seconds spent in ``Ledger.post`` for ``count`` movements; and the final head position."""
    spent = 0.0
    with PostgresStore(dsn, schema=schema) as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        for batch in workload(count, seed, "m"):
            start = time.perf_counter()
            ledger.post(batch)
            spent += time.perf_counter() - start
        return spent, store.head().position


def post_both(dsn: str, schemas: dict[str, str], count: int, seed: int) -> tuple[float, float]:
    """Seconds in ``Ledger.post`` and in raw ``executemany`` of the same batches.

    The two alternate batch by batch (medinv batch 1, raw batch 1, medinv batch 2
    ...), so that both see the same machine load. Raw: one transaction per batch
    into a bare table with the same 20 columns.
    """
    medinv = raw = 0.0
    target = sql.Identifier(schemas["raw"], "raw_movements")
    with (
        PostgresStore(dsn, schema=schemas["post"]) as store,
        psycopg.connect(dsn, autocommit=True) as conn,
    ):
        ledger = Ledger(store, clock=lambda: CLOCK)
        conn.execute(sql.SQL(RAW_TABLE).format(t=target))
        insert = sql.SQL("INSERT INTO {} VALUES ({})").format(
            target, sql.SQL(", ").join([sql.Placeholder()] * 20)
        )
        position = 0
        for batch in workload(count, seed, "m"):
            rows = []
            for m in batch:
                position += 1
                rows.append(_raw_row(m, position))
            start = time.perf_counter()
            ledger.post(batch)
            medinv += time.perf_counter() - start
            start = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(insert, rows)
            raw += time.perf_counter() - start
        head = store.head().position
        if head != count:
            raise SystemExit(f"expected {count} movements in the ledger, found {head}")
    return medinv, raw


def vacuum(dsn: str, schema: str) -> None:
    """``VACUUM ANALYZE`` the ledger's tables, as autovacuum does on a live database.

    A freshly built ledger has rewritten each balance row many times; until vacuum
    removes the dead row versions, an index lookup wades through them.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in ("movements", "balances", "lots", "items", "head"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, name)))


def lookups(ledger: Ledger) -> list[Callable[[], object]]:
    """The keyed queries whose cost must not grow with the ledger."""
    item, store_area = ITEMS[3], Location.parse("Main/Store")
    return [
        lambda: ledger.balance(item, location=store_area),
        lambda: ledger.balance(gtin=GTINS[1]),
        lambda: ledger.positions(lot=LOTS[2]),
    ]


def best_and_median_lookups(
    ledgers: dict[str, Ledger], repeat: int
) -> dict[str, list[tuple[float, float]]]:
    """(best, median) seconds of each lookup on each ledger, interleaved.

    Each repetition runs the query on every ledger in turn (one warm-up run
    first), so that all see the same machine load. The best time is the query's
    own cost; the median includes what a busy machine adds.
    """
    queries = {name: lookups(ledger) for name, ledger in ledgers.items()}
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in ledgers}
    for index in range(len(next(iter(queries.values())))):
        times: dict[str, list[float]] = {name: [] for name in ledgers}
        for name in ledgers:
            queries[name][index]()
        for _ in range(repeat):
            for name in ledgers:
                start = time.perf_counter()
                queries[name][index]()
                times[name].append(time.perf_counter() - start)
        for name in ledgers:
            out[name].append((min(times[name]), statistics.median(times[name])))
    return out


def run(dsn: str, *, quick: bool, seed: int) -> None:
    """Both measurements against the database of ``dsn``, in schemas dropped at the end."""
    posted = 20_000 if quick else 200_000
    large = 100_000 if quick else 1_000_000
    run_id = uuid.uuid4().hex[:10]
    schemas = {name: f"bench_{name}_{run_id}" for name in ("post", "raw", "small", "large")}
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schemas["raw"])))
        print(f"PostgreSQL {version[0] if version else '?'}; batches of {BATCH:,}")

        medinv, raw = post_both(dsn, schemas, posted, seed)
        print()
        print(
            table(
                ["posting", "movements", "seconds", "movements/s", "ratio"],
                [
                    [
                        "raw psycopg executemany",
                        f"{posted:,}",
                        f"{raw:.2f}",
                        f"{posted / raw:,.0f}",
                        "1.00x",
                    ],
                    [
                        "medinv Ledger + PostgresStore",
                        f"{posted:,}",
                        f"{medinv:.2f}",
                        f"{posted / medinv:,.0f}",
                        f"{medinv / raw:.2f}x (target <= 3x)",
                    ],
                ],
            )
        )

        timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
        build = {}
        for name, size in (("small", 1_000), ("large", large)):
            start = time.perf_counter()
            post_medinv(dsn, schemas[name], size, seed)
            build[name] = time.perf_counter() - start
        # One connection (one server process) for both ledgers: they differ in size only.
        with (
            psycopg.connect(dsn, autocommit=True) as shared,
            PostgresStore(shared, schema=schemas["small"]) as small_store,
            PostgresStore(shared, schema=schemas["large"]) as large_store,
        ):
            ledgers = {"small": Ledger(small_store), "large": Ledger(large_store)}
            for state in ("fresh", "vacuumed"):
                if state == "vacuumed":
                    vacuum(dsn, schemas["small"])
                    vacuum(dsn, schemas["large"])
                for name, found in best_and_median_lookups(ledgers, repeat=300).items():
                    timings[(name, state)] = found
        print()
        labels = ["balance of an item in a subtree", "balance of a GTIN", "positions of a lot"]
        rows = [
            [
                f"{label} ({state})",
                f"{small[0] * 1e3:.3f} / {small[1] * 1e3:.3f}",
                f"{big[0] * 1e3:.3f} / {big[1] * 1e3:.3f}",
                f"{big[0] / small[0]:.2f}x / {big[1] / small[1]:.2f}x",
            ]
            for state in ("fresh", "vacuumed")
            for label, small, big in zip(
                labels, timings[("small", state)], timings[("large", state)], strict=True
            )
        ]
        print(
            table(
                [
                    "lookup: best / median ms",
                    "1,000 movements",
                    f"{large:,} movements",
                    "ratio (target <= 2x)",
                ],
                rows,
            )
        )
        print(
            f"\n(building the {large:,}-movement ledger took {build['large']:.0f} s; "
            "'fresh': right after building, 'vacuumed': after VACUUM ANALYZE)"
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in schemas.values():
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def main() -> None:
    """Run against ``--dsn`` or a throwaway server."""
    args = _arguments()
    # Leave through `finally` and `with` on SIGTERM too, so the throwaway server is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.dsn:
        run(args.dsn, quick=args.quick, seed=args.seed)
        return
    with ThrowawayPostgres(database="medinv_bench") as server:
        print("throwaway PostgreSQL server (fsync off), unix socket in", server.directory)
        run(server.dsn, quick=args.quick, seed=args.seed)


if __name__ == "__main__":
    main()
