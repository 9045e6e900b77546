"""Benchmark: the change feed under 8 writer processes, against eventsourcing's notifications.

Usage::

    python benchmarks/bench_feed.py [--quick] [--seed N] [--dsn DSN]

For SQLite (a file in a temp dir) and PostgreSQL (the throwaway server of the
tests, ``fsync`` off, or ``--dsn``), in one run and interleaved:

- **medinv**: 8 writer processes each post ``N`` receipts one at a time through
  ``Ledger(store).post([movement], retries=...)`` (one transaction per movement,
  optimistic: a lost race is retried after a jittered back-off);
- **medinv lock_head**: the same with ``lock_head=True`` (each post holds the
  store's head lock from its first read to its commit: writers queue instead of
  racing). For both, a [`Follower`][medinv.feed.Follower] in the main process
  polls ``ledger.changes`` in pages of 500, checks every page (positions, links
  and hashes) and saves its checkpoint in the store after each page.
- **eventsourcing** (the PyPI package, when it is installed): 8 writer processes
  each insert ``N`` stored events one at a time through its application
  recorder (``insert_events``; on PostgreSQL it takes ``LOCK TABLE ... IN
  EXCLUSIVE MODE`` so that readers never pass over a gap), while a reader polls
  ``select_notifications`` in pages of 500 and keeps its position in memory (no
  tracking record: less work than medinv's follower does).

Each event carries the wall-clock time just before its post; the follower takes
it off again when the event is delivered: **latency** is post to delivery (p50,
p99, max); for medinv, whose post is a read-check-append that starts again after a
lost race, the time from the append (its ``recorded_at``) to delivery is shown too
(eventsourcing's post is its insert). **Throughput** is events delivered per
second from the first post to the last delivery (the writer processes' start-up,
which differs between the two libraries' imports, is not counted). Both followers poll
with the same backoff (1 ms doubling to 50 ms). The ratio column is medinv /
eventsourcing (throughput: higher is better; latency: lower is better).
"""

# The benchmark prints its results.

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import table

WRITERS = 8
PAGE = 500
RACING = "medinv"  # Ledger.post(..., retries=...): optimistic, lost races back off
LOCKED = "medinv lock_head"  # Ledger.post(..., lock_head=True): writers queue on the head
GTIN = "04006381333931"


# ------------------------------------------------------------------ writers (child processes)


def _medinv_store(target: str, schema: str) -> Any:
    if schema == "-":
        from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415

        return SqliteStore(target, timeout=120)
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    return PostgresStore(target, schema=schema)


def medinv_writer(
    target: str, schema: str, worker: int, count: int, start_at: float, *, lock: bool
) -> None:
    import pendulum  # noqa: PLC0415

    from medinv import ItemKey, Location, Movement  # noqa: PLC0415
    from medinv.ledger import Ledger  # noqa: PLC0415

    with _medinv_store(target, schema) as store:
        ledger = Ledger(store)
        item, place = ItemKey(GTIN, lot=f"W{worker}"), Location.parse("Site/Store")
        time.sleep(max(0.0, start_at - time.time()))
        for n in range(count):
            movement = Movement.receipt(
                f"W{worker}-{n}",
                item=item,
                quantity=1,
                to=place,
                occurred_at=pendulum.now("UTC"),  # the post time, read back by the follower
                actor=f"writer-{worker}",
            )
            ledger.post([movement], retries=10_000, lock_head=lock)


def _es_recorder(target: str, schema: str, *, create: bool = False) -> Any:
    if schema == "-":
        from eventsourcing.sqlite import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            SQLiteApplicationRecorder,
            SQLiteDatastore,
        )

        recorder: Any = SQLiteApplicationRecorder(SQLiteDatastore(target, lock_timeout=120))
    else:
        import psycopg  # noqa: PLC0415
        from eventsourcing.postgres import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            PostgresApplicationRecorder,
            PostgresDatastore,
        )
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

        if create:
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # its name is ours
        info = conninfo_to_dict(target)
        recorder = PostgresApplicationRecorder(
            PostgresDatastore(
                str(info["dbname"]),
                str(info.get("host", "")),
                str(info.get("port", "5432")),
                str(info.get("user", "")),
                str(info.get("password", "")),
                schema=schema,
            )
        )
    if create:
        recorder.create_table()
    return recorder


def es_writer(target: str, schema: str, worker: int, count: int, start_at: float) -> None:
    from eventsourcing.persistence import StoredEvent  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415

    recorder = _es_recorder(target, schema)
    time.sleep(max(0.0, start_at - time.time()))
    for n in range(count):
        state = json.dumps({"posted": time.time(), "worker": worker, "n": n}).encode()
        event = StoredEvent(
            originator_id=uuid.uuid4(), originator_version=1, topic="bench:Receipt", state=state
        )
        recorder.insert_events([event])


# ------------------------------------------------------------------ followers (main process)


def _follow_medinv(
    target: str, schema: str, total: int, failed: Callable[[], bool]
) -> tuple[list[float], list[float], float]:
    from medinv.feed import Follower, Page  # noqa: PLC0415
    from medinv.ledger import Ledger  # noqa: PLC0415

    latencies: list[float] = []
    committed: list[float] = []
    first = [float("inf")]
    with _medinv_store(target, schema) as store:
        follower = Follower(Ledger(store), "bench", store.checkpoints, page_size=PAGE)

        def apply(page: Page) -> None:
            now = time.time()
            posted = [c.movement.occurred_at.timestamp() for c in page.changes]
            first[0] = min(first[0], *posted)
            latencies.extend(now - at for at in posted)
            committed.extend(now - c.recorded_at.timestamp() for c in page.changes)

        _poll_until(
            lambda: follower.poll(apply) is not None, lambda: len(latencies) >= total, failed
        )
    return latencies, committed, first[0]


def _follow_es(
    target: str, schema: str, total: int, failed: Callable[[], bool]
) -> tuple[list[float], list[float], float]:
    recorder = _es_recorder(target, schema)
    latencies: list[float] = []
    first = float("inf")
    position = 0

    def poll() -> bool:
        nonlocal position, first
        notes = recorder.select_notifications(start=position + 1, limit=PAGE)
        if not notes:
            return False
        now = time.time()
        for note in notes:
            if note.id != position + 1:
                raise AssertionError(f"notification {note.id} after {position}")
            posted = json.loads(note.state)["posted"]
            first = min(first, posted)
            latencies.append(now - posted)
            position = note.id
        return True

    _poll_until(poll, lambda: len(latencies) >= total, failed)
    return latencies, latencies, first  # one insert is the post and its commit


def _poll_until(
    poll: Callable[[], bool], done: Callable[[], bool], failed: Callable[[], bool]
) -> None:
    delay, deadline = 0.001, time.monotonic() + 1800
    while not done():
        if time.monotonic() > deadline or failed():
            raise RuntimeError("a writer failed, or the follower did not catch up in 30 minutes")
        if poll():
            delay = 0.001
            continue
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# ------------------------------------------------------------------ one measurement


def measure(system: str, backend: str, target: str, schema: str, each: int) -> dict[str, float]:
    """Start 8 writers and follow them; return throughput and latency figures."""
    context = multiprocessing.get_context("spawn")
    medinv = system.startswith("medinv")
    writer = medinv_writer if medinv else es_writer
    lock = system == LOCKED
    if medinv:
        _medinv_store(target, schema).close()  # the schema, created once
    else:
        _es_recorder(target, schema, create=True)
    start_at = time.time() + 3.0  # after every writer has imported and connected
    processes = [
        context.Process(
            target=writer,
            args=(target, schema, w, each, start_at),
            kwargs={"lock": lock} if medinv else {},
        )
        for w in range(WRITERS)
    ]
    for process in processes:
        process.start()
    follow = _follow_medinv if medinv else _follow_es

    def failed() -> bool:
        return any(p.exitcode not in {None, 0} for p in processes)

    latencies, committed, first_post = follow(target, schema, WRITERS * each, failed)
    elapsed = time.time() - first_post  # from the first post: process start-up not counted
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a {system} writer on {backend} failed ({process.exitcode})")
    latencies.sort()
    committed = sorted(committed)
    return {
        "commit_p99": committed[int(0.99 * (len(committed) - 1))] * 1000,
        "events": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "max": latencies[-1] * 1000,
    }


def run(dsn: str | None, *, quick: bool) -> None:
    each = 40 if quick else 400
    try:
        import eventsourcing  # type: ignore[import-not-found,unused-ignore]  # noqa: F401, PLC0415

        systems = [RACING, LOCKED, "eventsourcing"]
    except ImportError:
        print("eventsourcing is not installed (pip install eventsourcing psycopg_pool):")
        print("medinv only")
        systems = [RACING, LOCKED]
    print(f"{WRITERS} writer processes x {each:,} events, one transaction each; pages of {PAGE}")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        backends = [("SQLite", "sqlite")]
        if dsn is not None:
            backends.append(("PostgreSQL", "postgres"))
        for label, backend in backends:
            results: dict[str, dict[str, float]] = {}
            for system in systems:  # interleaved: the same machine state for both
                run_id = uuid.uuid4().hex[:8]
                name = system.replace(" ", "_")
                if backend == "sqlite":
                    target, schema = str(Path(directory) / f"{name}-{run_id}.sqlite3"), "-"
                else:
                    target, schema = str(dsn), f"bench_{name}_{run_id}"
                results[system] = measure(system, backend, target, schema, each)
                figures = results[system]
                print(
                    f"  {label} {system}: {figures['per_second']:,.0f} events/s, "
                    f"p99 {figures['p99']:.1f} ms",
                    flush=True,
                )
            base = results.get("eventsourcing")
            for system, figures in results.items():
                ratio = (
                    ""
                    if base is None or system == "eventsourcing"
                    else f"{figures['per_second'] / base['per_second']:.2f}x / "
                    f"{figures['p99'] / base['p99']:.2f}x"
                )
                rows.append(
                    [
                        label,
                        system,
                        f"{figures['events']:,}",
                        f"{figures['per_second']:,.0f}",
                        f"{figures['p50']:.1f}",
                        f"{figures['p99']:.1f}",
                        f"{figures['max']:.1f}",
                        f"{figures['commit_p99']:.1f}",
                        ratio,
                    ]
                )
    print()
    print(
        table(
            [
                "store",
                "system",
                "events",
                "events/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "append->delivery p99 ms",
                "medinv/es: throughput / p99",
            ],
            rows,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    parser.add_argument("--seed", type=int, default=20261123, help="unused: no randomness")
    parser.add_argument("--dsn", default=os.environ.get("MEDINV_TEST_POSTGRES_DSN"))
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    if args.no_postgres or args.dsn:
        run(None if args.no_postgres else args.dsn, quick=args.quick)
        return
    from medinv.testing.pgserver import ThrowawayPostgres  # noqa: PLC0415

    with ThrowawayPostgres(database="medinv_bench") as server:
        print("throwaway PostgreSQL server (fsync off), unix socket in", server.directory)
        run(server.dsn, quick=args.quick)


if __name__ == "__main__":
    main()
