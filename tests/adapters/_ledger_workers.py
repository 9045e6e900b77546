"""Writer processes for the SQLite acceptance tests (run as scripts, never imported by tests).

``python _ledger_workers.py issue PATH WORKER OPS SEED GO_FILE``
    One of several concurrent writers: posts OPS issues (some of them batches of
    two lots, some a movement id shared by every worker with worker-specific
    content) through ``Ledger(SqliteStore(PATH))`` with the retry helper, and
    prints one JSON line per attempt with its outcome.

``python _ledger_workers.py crash PATH FIRST_BATCH SEED``
    A writer that posts batches (receipts, transfers and issues) until it is
    killed; prints ``ready`` once imported and opened, then one line per
    committed batch.
"""

# Workers report to the test through stdout; their randomness is for test data only.
# ruff: noqa: T201, S311

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.errors import ConcurrencyError, IdempotencyConflictError, StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, PostResult, retry
from medinv.locations import Location
from medinv.movements import Movement

GTIN = "04006381333931"
LOTS = ("LOT-A", "LOT-B", "LOT-C")
STORE = Location.parse("Site/Store/A1")
AT = pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris")


def issue(id_: str, lot: str, quantity: int, worker: int) -> Movement:
    return Movement.issue(
        id_,
        item=ItemKey(GTIN, lot=lot),
        quantity=quantity,
        source=STORE,
        occurred_at=AT,
        actor=f"worker-{worker}",
        reference=f"worker-{worker}",
    )


def issue_batch(op: int, worker: int, rng: random.Random) -> list[Movement]:
    """Op 9, 19 ...: an id every worker posts, with content that differs per worker."""
    if op % 10 == 9:
        return [issue(f"SHARED-{op}", LOTS[0], 1 + worker % 2, worker)]
    if op % 3 == 2:
        return [
            issue(f"W{worker}-{op}-{lot}", lot, rng.randint(1, 4), worker)
            for lot in rng.sample(LOTS, 2)
        ]
    return [issue(f"W{worker}-{op}", rng.choice(LOTS), rng.randint(1, 6), worker)]


def attempt(ledger: Ledger, batch: list[Movement]) -> dict[str, Any]:
    """Post with the retry helper; the outcome as the caller sees it."""
    retries = 0

    def post() -> PostResult:
        nonlocal retries
        try:
            return ledger.post(batch)
        except ConcurrencyError:
            retries += 1
            raise

    record: dict[str, Any]
    try:
        result = retry(post, attempts=200, wait=0.0005)
    except IdempotencyConflictError as e:
        record = {"outcome": "id-conflict", "error": str(e)}
    except StockError as e:
        record = {"outcome": "refused", "error": type(e).__name__, "message": str(e)}
    except ConcurrencyError as e:
        record = {"outcome": "gave-up", "error": str(e)}
    else:
        record = {
            "outcome": "replayed" if result.replayed else "accepted",
            "positions": [r.position for r in result.movements],
            "quantities": {m.id: [str(m.item.lot), m.quantity] for m in batch},
        }
    record["retries"] = retries
    return record


def run_issues(path: str, worker: int, ops: int, seed: int, go_file: str) -> None:
    rng = random.Random(seed * 1000 + worker)
    with SqliteStore(path, timeout=60) as store:
        ledger = Ledger(store)
        Path(f"{go_file}.ready-{worker}").touch()
        while not Path(go_file).exists():
            time.sleep(0.001)
        for op in range(ops):
            batch = issue_batch(op, worker, rng)
            record = {"worker": worker, "op": op, "ids": [m.id for m in batch]}
            print(json.dumps(record | attempt(ledger, batch)), flush=True)


def crash_batch(number: int, rng: random.Random) -> list[Movement]:
    """A batch whose every movement carries the marker ``crash-B<number>/<size>``."""
    size = rng.randint(1, 12)
    lot = f"L{number % 7}"
    item = ItemKey(GTIN, lot=lot)
    shelf = Location.parse(f"Crash/Store/S{number % 5}")
    ward = Location.parse(f"Crash/Ward/W{number % 3}")
    marker = f"crash-B{number}/{size}"
    common: dict[str, Any] = {"item": item, "occurred_at": AT, "actor": "crash-writer"}
    out: list[Movement] = [
        Movement.receipt(
            f"B{number}-0",
            quantity=size * 3,
            to=shelf,
            reference=marker,
            expiry="2030-12-31",
            **common,
        )
    ]
    for i in range(1, size):
        if i % 2:
            out.append(
                Movement.transfer(
                    f"B{number}-{i}", quantity=2, source=shelf, to=ward, reference=marker, **common
                )
            )
        else:
            out.append(
                Movement.issue(
                    f"B{number}-{i}", quantity=1, source=shelf, reference=marker, **common
                )
            )
    return out


def run_crash(path: str, first: int, seed: int) -> None:
    rng = random.Random(seed)
    with SqliteStore(path, timeout=60) as store:
        ledger = Ledger(store)
        print("ready", flush=True)
        number = first
        while True:
            batch = crash_batch(number, rng)
            print(f"posting {number}", flush=True)
            ledger.post(batch, retries=5)
            print(f"committed {number}", flush=True)
            number += 1


def main(argv: list[str]) -> None:
    if argv[0] == "issue":
        run_issues(argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5])
    elif argv[0] == "crash":
        run_crash(argv[1], int(argv[2]), int(argv[3]))
    else:  # pragma: no cover
        raise SystemExit(f"unknown worker {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
