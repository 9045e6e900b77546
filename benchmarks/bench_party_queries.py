"""Benchmark: movements by counterparty and business reference on a small and a large ledger.

Usage::

    python benchmarks/bench_party_queries.py [--quick] [--seed N]

Two SQLite ledgers are built through ``Ledger.post`` (batches of 10,000) and kept
in the temporary directory between runs: a small one of 1,000 movements and a
large one of 1,000,000 (100,000 with ``--quick``). Both hold the same answer:
one patient with 40 consumptions (and 4 returns, 4 reversals) under one procedure,
spread evenly over the ledger; the other movements are receipts, issues to 500
departments and consumptions for 20,000 other patients and procedures (about a
third of all movements carry a counterparty, a fifth a business reference).

Measured, interleaved in one run, best of five wall times, on each ledger:

- **floor**: read the same 48 rows with raw ``sqlite3`` by their known
  positions (what any answer has to read);
- **by party**: ``store.movements(MovementQuery(counterparty=patient))``;
- **by reference**: ``store.movements(MovementQuery(business_reference=procedure))``;
- **received**: ``medinv.services.received(ledger, party=patient)`` (the query,
  the decoding and the netting per item).

Printed: sizes, times, each call's ratio to the floor, and each call's ratio
large / small (target: at most 2x: the cost follows the answer, not the ledger).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, best_of, table

from medinv import ItemKey, Ledger, Location, Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import BusinessReference, PartyRef
from medinv.ports import MovementQuery
from medinv.services import received
from medinv.status import StockStatus

PATIENT = PartyRef(kind="PATIENT", id="P-000000042")
PROCEDURE = BusinessReference(type="procedure", id="OP-42")
TARGET_USES = 40
ITEMS = [ItemKey("04006381333931", lot=f"L{i}") for i in range(20)]
TARGET_ITEM = ItemKey("09506000134352", lot="IMPLANT-1")
SHELF = Location.parse("CHU/OR-1")
T0 = pendulum.datetime(2026, 1, 1, 8, tz="Europe/Paris")
BATCH = 10_000


def _workload(size: int) -> Iterator[Movement]:
    """``size`` movements; the target patient's 48 spread evenly over them."""
    every = size // TARGET_USES
    target = 0
    yield Movement.receipt(
        "OPEN", item=TARGET_ITEM, quantity=1000, to=SHELF, occurred_at=T0, actor="d"
    )
    for n in range(size):
        at = T0.add(seconds=n)
        item = ITEMS[n // 10 % len(ITEMS)]  # per block of 10: 5 receipts, 3 issues, 2 uses
        if n % every == every // 2 and target < TARGET_USES:
            target += 1
            use = Movement.consumption(
                f"T{target}", item=TARGET_ITEM, quantity=2, source=SHELF, occurred_at=at,
                actor="or", counterparty=PATIENT, business_references=[PROCEDURE],
            )  # fmt: skip
            yield use
            if target % 10 == 0:
                yield Movement.return_(
                    f"TB{target}", item=TARGET_ITEM, quantity=1, to=SHELF, occurred_at=at,
                    actor="or", counterparty=PATIENT, business_references=[PROCEDURE],
                    status=StockStatus.AVAILABLE,
                )  # fmt: skip
                yield Movement.reversal(f"TX{target}", of=use, occurred_at=at, actor="or")
            continue
        kind = n % 10
        if kind < 5:
            yield Movement.receipt(
                f"R{n}", item=item, quantity=5, to=SHELF, occurred_at=at, actor="d"
            )
        elif kind < 8:
            yield Movement.issue(
                f"I{n}", item=item, quantity=1, source=SHELF, occurred_at=at, actor="st",
                counterparty=f"DEPARTMENT:D{n % 500}",
            )  # fmt: skip
        else:
            yield Movement.consumption(
                f"C{n}", item=item, quantity=1, source=SHELF, occurred_at=at, actor="or",
                counterparty=f"PATIENT:P-{n % 20_000:09d}9",
                business_references=[f"procedure:OP-{n % 20_000}-x"],
            )  # fmt: skip


def _ledger_file(size: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"medinv-bench-party-{size}-{seed}.sqlite3"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    with SqliteStore(partial) as store:
        ledger = Ledger(store)
        batch: list[Movement] = []
        for movement in _workload(size):
            batch.append(movement)
            if len(batch) >= BATCH:
                ledger.post(batch)
                batch = []
        if batch:
            ledger.post(batch)
        if ledger.head().position <= size:
            raise SystemExit(f"the ledger holds {ledger.head().position} movements, not {size}+")
    partial.replace(path)
    print(f"built {path.name}: {size:,} movements in {time.perf_counter() - start:.1f} s")
    return path


def _calls(store: SqliteStore, raw: sqlite3.Connection) -> dict[str, Callable[[], int]]:
    """The measured calls over one open store (and one raw connection for the floor)."""
    ledger = Ledger(store)
    positions = [r.position for r in store.movements(MovementQuery(counterparty=PATIENT))]
    floor_sql = (
        "SELECT position, content, recorded_at, hash FROM movements "
        f"WHERE position IN ({', '.join('?' * len(positions))})"
    )
    return {
        "floor": lambda: len(raw.execute(floor_sql, positions).fetchall()),
        "by party": lambda: len(list(store.movements(MovementQuery(counterparty=PATIENT)))),
        "by reference": lambda: len(
            list(store.movements(MovementQuery(business_reference=PROCEDURE)))
        ),
        "received": lambda: len(received(ledger, party=PATIENT).lines),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    small, large = 1_000, 100_000 if args.quick else 1_000_000
    paths = {size: _ledger_file(size, args.seed) for size in (small, large)}
    stores = {size: SqliteStore(path) for size, path in paths.items()}
    raws = {size: sqlite3.connect(path) for size, path in paths.items()}
    try:
        calls = {size: _calls(stores[size], raws[size]) for size in paths}
        best: dict[tuple[int, str], float] = {}
        answers: dict[tuple[int, str], int] = {}
        for _ in range(7):  # interleaved rounds: the machine's noise hits every call alike
            for size in (small, large):
                for name, call in calls[size].items():
                    seconds, answer = best_of(call, repeat=3)
                    key = (size, name)
                    best[key] = min(best.get(key, float("inf")), seconds)
                    answers[key] = answer
    finally:
        for store in stores.values():
            store.close()
        for raw in raws.values():
            raw.close()
    rows = []
    for name in calls[small]:
        little, big = best[small, name], best[large, name]
        rows.append(
            [
                name,
                answers[small, name],
                f"{little * 1e3:.3f}",
                f"{big * 1e3:.3f}",
                f"{little / best[small, 'floor']:.1f}x",
                f"{big / best[large, 'floor']:.1f}x",
                f"{big / little:.2f}x",
            ]
        )
    print(f"SQLite ledgers of {small:,} and {large:,} movements; {TARGET_USES} uses of the patient")
    print(
        table(
            ["call", "rows", f"ms at {small:,}", f"ms at {large:,}", "vs floor (small)",
             "vs floor (large)", "large / small"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
