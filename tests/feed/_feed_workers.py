"""Processes for the change feed's tests (run as scripts, never imported by tests).

``python _feed_workers.py write TARGET SCHEMA WORKER COUNT``
    One of several concurrent writers: posts COUNT receipts one by one through
    ``Ledger`` (retrying lost races), then prints ``done``.

``python _feed_workers.py follow TARGET SCHEMA LOG PAGE_SIZE STOP_AT``
    A follower keeping its checkpoint in the store: appends each page it is given
    to LOG (one line of positions per page, flushed and synced before the page is
    acknowledged), prints ``ready`` first, and stops once it has applied STOP_AT.

TARGET is a SQLite file path (SCHEMA ``-``) or a PostgreSQL DSN.
"""

# Workers report to the test through stdout and files.
# ruff: noqa: T201

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pendulum

from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement


def _store(target: str, schema: str):
    if schema == "-":
        from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(target, timeout=60)
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    return PostgresStore(target, schema=schema)


def write(target: str, schema: str, worker: int, count: int) -> None:
    with _store(target, schema) as store:
        ledger = Ledger(store)
        for n in range(count):
            movement = Movement.receipt(
                f"W{worker}-{n}",
                item=ItemKey("04006381333931", lot=f"W{worker}"),
                quantity=1,
                to=Location.parse("Site/Store"),
                occurred_at=pendulum.now("UTC"),
                actor=f"worker-{worker}",
            )
            ledger.post([movement], retries=1000)
    print("done", flush=True)


def follow(target: str, schema: str, log: Path, page_size: int, stop_at: int) -> None:
    from medinv.feed import Backoff, Follower, Page  # noqa: PLC0415

    with _store(target, schema) as store, log.open("a") as out:
        follower = Follower(Ledger(store), "crash-test", store.checkpoints, page_size=page_size)
        print("ready", flush=True)

        def apply(page: Page) -> None:
            out.write(" ".join(str(c.position) for c in page.changes) + "\n")
            out.flush()
            os.fsync(out.fileno())
            time.sleep(0.01)  # a window between applying and acknowledging

        follower.follow(
            apply,
            stop=lambda: follower.checkpoint().position >= stop_at,
            backoff=Backoff(initial=0.001, maximum=0.05),
        )
    print("caught up", flush=True)


if __name__ == "__main__":
    command, target, schema, *rest = sys.argv[1:]
    if command == "write":
        write(target, schema, int(rest[0]), int(rest[1]))
    else:
        follow(target, schema, Path(rest[0]), int(rest[1]), int(rest[2]))
