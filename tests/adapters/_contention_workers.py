"""A writer process for the contention tests (run as a script, never imported by tests).

``python _contention_workers.py TARGET SCHEMA WORKER OPS MODE START_AT``
    Waits until START_AT (a Unix time), then per op posts a receipt of 2 units of
    the shared lot and an issue of 1 from it, each in its own ``Ledger.post``:
    ``MODE`` ``lock`` posts with ``lock_head=True``, ``backoff`` optimistically
    with ``retries=50``. Prints one JSON line: the attempts each post took.

TARGET is a SQLite file path (SCHEMA ``-``) or a PostgreSQL DSN.
"""

# Workers report to the test through stdout.
# ruff: noqa: T201

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pendulum

from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

SHARED = ItemKey("04006381333931", lot="SHARED")
SHELF = Location.parse("Site/Store")


def _store(target: str, schema: str) -> Any:
    if schema == "-":
        from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(target, timeout=60)
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    return PostgresStore(target, schema=schema)


def write(target: str, schema: str, worker: int, ops: int, *, mode: str, start_at: float) -> None:
    with _store(target, schema) as store:
        ledger = Ledger(store)
        reads = store.head
        attempts = 0

        def head() -> Any:  # every attempt of a post reads the head once
            nonlocal attempts
            attempts += 1
            return reads()

        store.head = head
        counts = []
        time.sleep(max(0.0, start_at - time.time()))
        for op in range(ops):
            at = pendulum.now("UTC")
            for movement in (
                Movement.receipt(
                    f"W{worker}-{op}-in",
                    item=SHARED,
                    quantity=2,
                    to=SHELF,
                    occurred_at=at,
                    actor="w",
                ),
                Movement.issue(
                    f"W{worker}-{op}-out",
                    item=SHARED,
                    quantity=1,
                    source=SHELF,
                    occurred_at=at,
                    actor="w",
                ),
            ):
                attempts = 0
                ledger.post([movement], retries=50, lock_head=mode == "lock")
                counts.append(attempts)
    print(json.dumps({"worker": worker, "attempts": counts}), flush=True)


if __name__ == "__main__":
    target, schema, worker, ops, mode, start_at = sys.argv[1:]
    write(target, schema, int(worker), int(ops), mode=mode, start_at=float(start_at))
