"""Benchmark: the movement ledger on its stores against raw inserts, and lookup scaling.

Usage::

    python benchmarks/bench_ledger.py [--quick] [--seed N]

Three measurements, one row per backend, all in one run:

1. **Posting.** ``N`` movements (receipts, transfers, issues over a pool of items
   and locations; 200,000 full, 20,000 quick) posted in batches of 1,000 through
   ``Ledger(store).post`` (every rule checked, hash chain, balance projection,
   master data, one durable transaction per batch) against the raw driver's
   ``executemany`` of the same movements as pre-built tuples into a bare table
   (no index, no rule, no projection; one transaction per batch, same durability
   settings). The two alternate batch by batch so that both see the same machine
   load; only the post and insert calls are timed, with the prepared input frozen
   out of the garbage collector's scans (``gc.freeze``). Target: medinv <= 3x raw.
   The CPU time of the SQLite run is split between the store's methods (SQL,
   rows, decoding) and the rest (the ledger service: rules, hash chain, records,
   cache) by timing each store call. The same batches are also posted through the
   ledger over ``MemoryStore``, whose own indexes cost about as much as the
   service itself.
2. **Pages.** The same batches posted again into fresh files, counting the
   pages each commit writes to the WAL, medinv's and the raw insert's: a figure
   the machine's load does not disturb.
3. **Lookup.** The same balance queries (one item at a location subtree, one
   GTIN everywhere, one lot's positions) on a ledger of 1,000 movements and on
   one of 1,000,000 (100,000 quick), over the same pool of items, so that the
   answers have the same size. Target: large <= 2x small (indexed, not scanned).

Backends are rows of a table (`BACKENDS`): each is a `Backend` with a function
that opens a fresh empty store and one that opens the raw baseline's bare table.
PostgreSQL is measured the same way by ``benchmarks/bench_ledger_postgres.py``,
which manages its throwaway server.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Self

import pendulum

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore
from medinv.status import StockStatus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import table

BATCH = 1_000
GTINS = ("04006381333931", "00614141000418", "09506000134352", "05901234123457")
AVAILABLE = StockStatus.AVAILABLE
CLOCK = pendulum.datetime(2026, 11, 23, 7, 0, tz="UTC")

Row = tuple[object, ...]


# --------------------------------------------------------------------------- workload


@dataclass
class Workload:
    """Valid movements in batches, generated with a running balance so that rules pass.

    Each item is stocked at three neighbouring locations of ``locations`` (a central
    store shelf and nearby ward cabinets), as in a hospital; receipts, transfers
    between those and issues out of them keep every balance non-negative.
    """

    seed: int
    name: str = "M"
    gtins: tuple[str, ...] = GTINS
    items: int = 1_000
    locations: int = 20
    counter: int = 0
    rng: random.Random = field(init=False)
    stock: dict[tuple[int, int], int] = field(default_factory=dict)
    _keys: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.item_keys = [
            ItemKey(self.gtins[i % len(self.gtins)], lot=f"{self.name}-{i // len(self.gtins):05d}")
            for i in range(self.items)
        ]
        self.places = [
            Location.parse(f"CHU-Nord/{'Pharmacy' if j % 2 else 'Store'}/Z{j % 4}/B{j:03d}")
            for j in range(self.locations)
        ]
        self.at = pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris")

    def batches(self, total: int, size: int = BATCH) -> Iterator[list[Movement]]:
        while total > 0:
            n = min(size, total)
            yield [self.next() for _ in range(n)]
            total -= n

    def home(self, i: int) -> int:
        return (i + self.rng.randrange(3)) % self.locations

    def next(self) -> Movement:
        self.counter += 1
        rng, mid = self.rng, f"{self.name}-{self.counter:08d}"
        roll = rng.random()
        if roll < 0.4 or not self.stock:
            i = rng.randrange(self.items)
            j = self.home(i)
            self.stock[(i, j)] = self.stock.get((i, j), 0) + 50
            return Movement.receipt(
                mid,
                item=self.item_keys[i],
                quantity=50,
                to=self.places[j],
                occurred_at=self.at,
                actor="bench",
                expiry="2030-12-31",
                reference=f"DN-{self.counter // 100}",
            )
        (i, j), have = self._some_stock()
        quantity = rng.randint(1, min(have, 10))
        self.stock[(i, j)] = have - quantity
        if self.stock[(i, j)] == 0:
            del self.stock[(i, j)]
        k = self.home(i)
        if roll < 0.8 and k != j:
            self.stock[(i, k)] = self.stock.get((i, k), 0) + quantity
            return Movement.transfer(
                mid,
                item=self.item_keys[i],
                quantity=quantity,
                source=self.places[j],
                to=self.places[k],
                occurred_at=self.at,
                actor="bench",
            )
        return Movement.issue(
            mid,
            item=self.item_keys[i],
            quantity=quantity,
            source=self.places[j],
            occurred_at=self.at,
            actor="bench",
            reference=f"WARD-{j}",
        )

    def _some_stock(self) -> tuple[tuple[int, int], int]:
        keys = self._keys if len(self._keys) == len(self.stock) else list(self.stock)
        self._keys = keys
        while True:
            key = keys[self.rng.randrange(len(keys))]
            have = self.stock.get(key, 0)
            if have > 0:
                return key, have
            self._keys = keys = list(self.stock)


def raw_row(m: Movement) -> Row:
    """The movement as the flat row a hand-written insert would store."""
    return (
        m.id,
        m.kind.value,
        m.item.gtin.value,
        None if m.item.lot is None else m.item.lot.value,
        None if m.item.serial is None else m.item.serial.value,
        m.quantity,
        m.occurred_at.isoformat(),
        m.actor,
        None if m.from_location is None else str(m.from_location),
        None if m.from_status is None else m.from_status.value,
        None if m.to_location is None else str(m.to_location),
        None if m.to_status is None else m.to_status.value,
        m.reason,
        m.reference,
        None if m.expiry is None else m.expiry.isoformat(),
        m.reverses,
    )


# --------------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds, and CPU seconds of this process (the server's are not counted)."""

    wall: float
    cpu: float

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)


class Timer:
    """``with Timer() as t: ...`` then ``t.timing``."""

    timing = Timing(0.0, 0.0)

    def __enter__(self) -> Self:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.timing = Timing(time.perf_counter() - self._wall, time.process_time() - self._cpu)


STORE_CALLS = (
    "head",
    "movements_by_id",
    "reversals_of",
    "balances_of",
    "item_records",
    "lot_expiries",
    "movements",
    "append",
)
"""The store methods posting calls: `time_store_calls` times each."""


def time_store_calls(store: LedgerStore) -> list[float]:
    """Make ``store`` add the CPU seconds of its posting calls to the returned one-item list.

    Each method is shadowed on the instance by a wrapper, so that the ledger's
    calls go through it (a few calls per batch: the wrappers cost nothing measurable).
    """
    spent = [0.0]
    clock = time.process_time

    def timed(method: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object) -> object:
            start = clock()
            try:
                result = method(*args)
                if isinstance(result, Iterator):  # a lazy read: its rows are read here
                    result = iter(list(result))
                return result
            finally:
                spent[0] += clock() - start

        return call

    for name in STORE_CALLS:
        setattr(store, name, timed(getattr(store, name)))
    return spent


class RawTable(Protocol):
    """The baseline: a bare table of the movements' 16 fields, no index, no rule."""

    def insert(self, rows: list[Row]) -> None:
        """Insert one batch of rows in one durable transaction."""

    def close(self) -> None:
        """Release the connection."""


@dataclass
class Backend:
    """One store under test, and the raw baseline of its driver."""

    name: str
    """Shown in the tables."""
    open_store: Callable[[str], LedgerStore]
    """Open a fresh, empty store; the argument names it (a file stem, a schema ...)."""
    open_raw: Callable[[str], RawTable]
    """Create a fresh bare table for the baseline."""


class SqliteRawTable:
    """``sqlite3.executemany`` into a bare table, same file settings as the store."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute(
            "CREATE TABLE movements (id TEXT, kind TEXT, gtin TEXT, lot TEXT, serial TEXT, "
            "quantity INTEGER, occurred_at TEXT, actor TEXT, from_location TEXT, "
            "from_status TEXT, to_location TEXT, to_status TEXT, reason TEXT, reference TEXT, "
            "expiry TEXT, reverses TEXT)"
        )
        self._insert = "INSERT INTO movements VALUES (" + ", ".join("?" * 16) + ")"

    def insert(self, rows: list[Row]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany(self._insert, rows)
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


def sqlite_backend(folder: Path) -> Backend:
    """SQLite: `SqliteStore` on a file vs `sqlite3.executemany` into a bare table."""
    return Backend(
        "SQLite (file, WAL, synchronous=FULL)",
        lambda name: SqliteStore(folder / f"{name}.sqlite3"),
        lambda name: SqliteRawTable(folder / f"{name}-raw.sqlite3"),
    )


# Further peers are further rows of this list (PostgreSQL has its own script,
# benchmarks/bench_ledger_postgres.py, with its throwaway server).
BACKENDS: list[Callable[[Path], Backend]] = [sqlite_backend]


# --------------------------------------------------------------------------- measurements


def bench_posting(backend: Backend, total: int, seed: int) -> list[object]:
    """Raw and medinv alternate batch by batch, so that both see the same machine load.

    The input (every batch of movements and of raw rows, built beforehand) is moved
    out of the garbage collector's sight with `gc.freeze`: otherwise each full
    collection triggered by the posting would traverse millions of input objects
    that belong to the benchmark, not to the code under test.
    """
    batches = list(Workload(seed).batches(total))
    rows = [[raw_row(m) for m in batch] for batch in batches]
    gc.collect()
    gc.freeze()
    raw_table = backend.open_raw("posting")
    raw = medinv = in_memory = Timing(0.0, 0.0)
    with backend.open_store("posting") as store:
        in_store = time_store_calls(store)
        ledger = Ledger(store, clock=lambda: CLOCK)
        for batch, batch_rows in zip(batches, rows, strict=True):
            with Timer() as timer:
                raw_table.insert(batch_rows)
            raw += timer.timing
            with Timer() as timer:
                ledger.post(batch)
            medinv += timer.timing
        if ledger.head().position != total:
            raise SystemExit(f"posted {ledger.head().position} movements, not {total}")
    raw_table.close()
    # Then the same service over the in-memory store: what the rules, the hash chain
    # and the records cost with no database at all (a floor for any store). Run
    # after, not interleaved, so that its growing heap does not slow the runs above.
    with MemoryStore() as memory:
        service = Ledger(memory, clock=lambda: CLOCK)
        for batch in batches:
            with Timer() as timer:
                service.post(batch)
            in_memory += timer.timing
    gc.unfreeze()
    base = max(raw.cpu, 1e-9)
    in_service = medinv.cpu - in_store[0]
    return [
        backend.name,
        f"{total:,}",
        f"{raw.wall:.2f} s",
        f"{medinv.wall:.2f} s",
        f"{total / medinv.wall:,.0f}/s",
        f"{medinv.wall / raw.wall:.1f}x",
        "yes" if medinv.wall / raw.wall <= 3 else "NO",
        f"{raw.cpu:.2f} s / {medinv.cpu:.2f} s = {medinv.cpu / base:.2f}x",
        f"{in_store[0]:.2f} s = {in_store[0] / base:.2f}x raw",
        f"{in_service:.2f} s = {in_service / base:.2f}x raw",
        f"{in_memory.cpu:.2f} s = {in_memory.cpu / base:.1f}x raw",
    ]


def wal_frames(db: sqlite3.Connection) -> int:
    """The pages in the WAL file since the last call (then emptied): what one commit wrote."""
    _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(frames)


def bench_wal_pages(folder: Path, total: int, seed: int) -> list[object]:
    """Pages each batch's commit writes to the WAL, medinv and the raw insert (SQLite only).

    Unlike time, a count of pages does not depend on the machine's load: it is
    the size of what each commit hands to the disk (every page it changed, whole,
    4 KiB each) and, later, copies back into the database file at a checkpoint.
    The same batches as the timed runs are posted into fresh files with automatic
    checkpoints off, and the WAL is read and emptied after each commit.
    """
    path = folder / "pages.sqlite3"
    raw = SqliteRawTable(folder / "pages-raw.sqlite3")
    medinv_pages = raw_pages = batches = 0
    with SqliteStore(path) as store:
        # A second connection empties the store's WAL after each commit, so that the
        # store's own automatic checkpoint (at 1,000 pages) never runs.
        reader = sqlite3.connect(path, isolation_level=None)
        ledger = Ledger(store, clock=lambda: CLOCK)
        for batch in Workload(seed).batches(total):
            ledger.post(batch)
            medinv_pages += wal_frames(reader)
            raw.insert([raw_row(m) for m in batch])
            raw_pages += wal_frames(raw.db)
            batches += 1
        reader.close()
    raw.close()
    return [
        "SQLite (file, WAL, synchronous=FULL)",
        f"{total:,}",
        f"{raw_pages / batches:.0f}",
        f"{medinv_pages / batches:.0f}",
        f"{medinv_pages / raw_pages:.1f}x",
    ]


PROBE_GTIN = "09501101530003"


def build(backend: Backend, name: str, filler: int, seed: int) -> tuple[LedgerStore, Workload]:
    """A ledger of ``filler`` movements on 5,000 items, then the same 1,000 probe movements."""
    store = backend.open_store(name)
    ledger = Ledger(store, clock=lambda: CLOCK)
    for batch in Workload(seed + 1, name="F", items=5_000).batches(filler, size=5_000):
        ledger.post(batch)
    probe = Workload(seed, name="P", gtins=(PROBE_GTIN,), items=50)
    for batch in probe.batches(1_000):
        ledger.post(batch)
    return store, probe


def one_round(ledger: Ledger, item: ItemKey) -> tuple[float, object]:
    """Seconds for three balance queries on ``item``, and their answers."""
    subtree = Location.parse("CHU-Nord/Store")
    start = time.perf_counter()
    at_store = ledger.balance(item, location=subtree, status=AVAILABLE)
    everywhere = ledger.balance(gtin=item.gtin)
    positions = ledger.positions(lot=item.lot, status=AVAILABLE)
    took = time.perf_counter() - start
    return took, (at_store, everywhere, [(str(p.location), p.quantity) for p in positions])


def bench_lookup(backend: Backend, large: int, seed: int, rounds: int = 300) -> list[object]:
    """Both ledgers are queried in turn, round by round, so both see the same machine load."""
    small = 1_000
    small_store, probe = build(backend, "lookup-small", 0, seed)
    large_store, _ = build(backend, "lookup-large", large - small, seed)
    ledgers = (Ledger(small_store), Ledger(large_store))
    rng = random.Random(1)
    times: tuple[list[float], list[float]] = ([], [])
    with small_store, large_store:
        for _ in range(rounds):
            item = probe.item_keys[rng.randrange(probe.items)]
            answers = []
            for ledger, took in zip(ledgers, times, strict=True):
                seconds, answer = one_round(ledger, item)
                took.append(seconds)
                answers.append(answer)
            if answers[0] != answers[1]:
                raise SystemExit("the probe answers must not depend on the ledger's size")
    small_t, large_t = (statistics.median(t) for t in times)
    return [
        backend.name,
        f"{small:,}",
        f"{large:,}",
        f"{small_t * 1e3:.2f} ms",
        f"{large_t * 1e3:.2f} ms",
        f"{large_t / small_t:.2f}x",
        "yes" if large_t / small_t <= 2 else "NO",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed")
    args = parser.parse_args()
    posting = 10_000 if args.quick else 200_000
    large = 50_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="medinv-bench-") as tmp:
        backends = [make(Path(tmp)) for make in BACKENDS]
        print(f"medinv ledger benchmark ({'quick' if args.quick else 'full'}), seed {args.seed}")
        print(f"\nPosting {posting:,} movements in batches of {BATCH:,}: medinv vs raw executemany")
        print(
            table(
                [
                    "backend",
                    "movements",
                    "raw",
                    "medinv",
                    "medinv rate",
                    "ratio",
                    "<= 3x",
                    "CPU of this process: raw / medinv",
                    "of which in the store's calls",
                    "of which in the service",
                    "CPU: the same posts on MemoryStore",
                ],
                [bench_posting(b, posting, args.seed) for b in backends],
            )
        )
        print(f"\nPages written to the WAL per batch of {BATCH:,}: medinv vs raw (SQLite)")
        print(
            table(
                ["backend", "movements", "raw", "medinv", "ratio"],
                [bench_wal_pages(Path(tmp), posting, args.seed)],
            )
        )
        print(f"\nBalance lookups: ledger of 1,000 vs {large:,} movements (median of 300 rounds)")
        print(
            table(
                ["backend", "small", "large", "small time", "large time", "ratio", "<= 2x"],
                [bench_lookup(b, large, args.seed) for b in backends],
            )
        )


if __name__ == "__main__":
    main()
