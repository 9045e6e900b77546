"""Benchmark: device events through ``SyncInbox.ingest`` vs ``Ledger.post`` loops, a dedupe table.

Usage: ``python benchmarks/bench_sync.py [--quick] [--per-device N] [--commit-each] [--seed N]``.

50 devices x 10,000 events (``--quick``: 10 x 50; ``--per-device`` sets the
events per device), each device with its own lot at its own location: a receipt
of 20 units every 10 events, consumptions of 1 or 2 units between (never short),
so every event applies and all three runs book the same movements. Delivery as
devices sync in the field: each device's stream cut into sync batches of 100;
the batches of all devices interleaved at random; one batch in ten overtakes the
device's batch before it (its events wait behind the gap); the events of a batch
shuffled; 5 % of the events delivered a second time in a later batch (a replay
after a lost acknowledgement). The inbox ingests deliveries of 500 events.

**medinv**: ``SyncInbox(Ledger(SqliteStore(path))).ingest(delivery)``: per event
the duplicate check, the device's sequence (holds behind gaps, released when
filled), one ``Ledger.post`` of its movement under every ledger rule and the hash
chain, and the inbox's rows; one durable transaction per delivery for all of it.

**Peers**, on their own files, fed the same movements in the order the inbox
applied them, delivery by delivery. Each commits once per delivery, as the inbox
does:

- ``post loop``: ``Ledger.post([movement])`` per movement, all of a delivery's
  posts inside one ``store.lock_head()`` transaction (each post a savepoint of
  it, one durable commit per delivery); no duplicate in its input;
- ``post per delivery``: one ``Ledger.post`` of all the movements the inbox booked
  from a delivery (one durable commit per delivery): the CPU floor;
- ``dedupe table``: per delivered event, duplicates included,
  ``INSERT INTO seen (event_id) VALUES (?) ON CONFLICT (event_id) DO NOTHING`` in
  the ledger's file (its own connection, one transaction per delivery), then the
  new events' movements posted one ``Ledger.post([movement])`` at a time in one
  ``lock_head()`` transaction: two durable commits per delivery. No sequence
  order, no hold, no record of outcomes, and a crash between the two commits
  loses the delivery's events or books them without their rows.

With ``--commit-each`` (the default up to 20,000 events), two more peers commit
once per event, as a plain loop of posts does: ``post loop, commit each``
(``Ledger.post([movement])``, autocommit) and ``dedupe table, commit each`` (the
``INSERT`` autocommitted, then the post). At 500,000 events they alone would run
for about an hour and a half on this project's machine.

The contenders alternate delivery by delivery, so they see the same machine load.
The script checks the inbox's audit (every delivery accounted for), that no
movement was booked twice, and that every ledger holds the same balances.
Target: medinv at most 1.5x the post loop.
"""

from __future__ import annotations

import gc
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pendulum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import table

from medinv.adapters.sqlite import SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.sync import DeviceEvent, EventKind, Outcome, SyncInbox, SyncPolicy

GTIN = "04006381333931"
SYNC_BATCH = 100
DELIVERY = 500
NOW = pendulum.datetime(2026, 12, 4, 9, tz="UTC")
TARGET = 1.5


EACH_UP_TO = 20_000  # events: above it the peers that commit per event are left out


def _arguments() -> tuple[bool, int | None, bool | None, int]:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 devices x 50 events")
    parser.add_argument("--per-device", type=int, default=None, help="events per device")
    parser.add_argument(
        "--commit-each",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"also run the peers that commit per event (default: up to {EACH_UP_TO:,} events)",
    )
    parser.add_argument("--seed", type=int, default=20261204, help="random seed")
    args = parser.parse_args()
    return args.quick, args.per_device, args.commit_each, args.seed


def streams(devices: int, per_device: int) -> list[list[DeviceEvent]]:
    """Each device's events in sequence order: receipts of 20, consumptions of 1-2."""
    out = []
    for device in range(devices):
        item, place = ItemKey(GTIN, lot=f"D{device}"), Location.parse(f"H/Ward/{device}")
        stock, events = 0, []
        for seq in range(1, per_device + 1):
            receipt = seq % 10 == 1 or stock < 2
            quantity = 20 if receipt else 1 + seq % 2
            stock += quantity if receipt else -quantity
            events.append(
                DeviceEvent(
                    device_id=f"scanner-{device:02d}",
                    seq=seq,
                    event_id=f"scanner-{device:02d}/{seq}",
                    captured_at=NOW.add(seconds=seq),
                    known_position=0,
                    kind=EventKind.RECEIPT if receipt else EventKind.CONSUMPTION,
                    item=item,
                    quantity=quantity,
                    location=place,
                    actor=f"nurse-{device}",
                    expiry="2028-06-30" if receipt else None,
                    reference=None if receipt else "procedure",
                )
            )
        out.append(events)
    return out


def deliveries(streams_: list[list[DeviceEvent]], rng: random.Random) -> list[list[DeviceEvent]]:
    """Sync batches interleaved, some overtaking, shuffled inside, 5 % replayed; then cut."""
    batches: list[list[DeviceEvent]] = []
    queues = []
    for events in streams_:
        device_batches = [events[i : i + SYNC_BATCH] for i in range(0, len(events), SYNC_BATCH)]
        for i in range(len(device_batches) - 1):
            if rng.random() < 0.1:
                device_batches[i], device_batches[i + 1] = device_batches[i + 1], device_batches[i]
        queues.append(device_batches)
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        batch = list(queue.pop(0))
        rng.shuffle(batch)
        batches.append(batch)
    flat = [e for b in batches for e in b]
    replays = rng.sample(range(len(flat)), len(flat) // 20)
    for at in sorted(replays, reverse=True):
        later = min(len(flat), at + rng.randint(1, 5 * DELIVERY))
        flat.insert(later, flat[at])
    return [flat[i : i + DELIVERY] for i in range(0, len(flat), DELIVERY)]


LOOP, BULK, DEDUPE = "post loop", "post per delivery", "dedupe table"
LOOP_EACH, DEDUPE_EACH = "post loop, commit each", "dedupe table, commit each"
FILES = {
    "medinv": "inbox",
    LOOP: "loop",
    BULK: "bulk",
    DEDUPE: "dedupe",
    LOOP_EACH: "loop-each",
    DEDUPE_EACH: "dedupe-each",
}


class Dedupe:
    """A ledger with a table of the event ids seen, in the ledger's file."""

    def __init__(self, path: Path) -> None:
        self.store = SqliteStore(path)
        self.ledger = Ledger(self.store, clock=lambda: NOW)
        self.seen = sqlite3.connect(path, isolation_level=None)
        self.seen.execute("PRAGMA synchronous = FULL")
        self.seen.execute("PRAGMA busy_timeout = 10000")
        self.seen.execute("CREATE TABLE seen (event_id TEXT PRIMARY KEY)")

    def is_new(self, event: DeviceEvent) -> bool:
        cursor = self.seen.execute(
            "INSERT INTO seen (event_id) VALUES (?) ON CONFLICT (event_id) DO NOTHING",
            (event.event_id,),
        )
        return cursor.rowcount == 1

    def close(self) -> None:
        self.seen.close()
        self.store.close()


class Runs:
    """The ledgers, each in its own SQLite file, and their timers."""

    def __init__(self, folder: Path, *, commit_each: bool) -> None:
        self.inbox_store = SqliteStore(folder / "inbox.sqlite3")
        self.inbox = SyncInbox(
            Ledger(self.inbox_store, clock=lambda: NOW),
            policy=SyncPolicy(hold_max=None),
            clock=lambda: NOW,
        )
        self.loop_store = SqliteStore(folder / "loop.sqlite3")
        self.loop = Ledger(self.loop_store, clock=lambda: NOW)
        self.bulk_store = SqliteStore(folder / "bulk.sqlite3")
        self.bulk = Ledger(self.bulk_store, clock=lambda: NOW)
        self.dedupe = Dedupe(folder / "dedupe.sqlite3")
        self.each: tuple[SqliteStore, Ledger, Dedupe] | None = None
        if commit_each:
            store = SqliteStore(folder / "loop-each.sqlite3")
            self.each = (
                store,
                Ledger(store, clock=lambda: NOW),
                Dedupe(folder / "dedupe-each.sqlite3"),
            )
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def stores(self) -> list[SqliteStore]:
        """Every ledger's store, the inbox's first."""
        stores = [self.inbox_store, self.loop_store, self.bulk_store, self.dedupe.store]
        if self.each is not None:
            stores += [self.each[0], self.each[2].store]
        return stores

    def timed(self, name: str, work: object) -> None:
        assert callable(work)  # noqa: S101
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.wall[name] += time.perf_counter() - wall
        self.cpu[name] += time.process_time() - cpu

    def close(self) -> None:
        self.dedupe.close()
        for store in (self.inbox_store, self.loop_store, self.bulk_store):
            store.close()
        if self.each is not None:
            self.each[0].close()
            self.each[2].close()


def _post_each(ledger: Ledger, applied: list[tuple[DeviceEvent, Movement]]) -> None:
    """One post per movement, each its own durable commit."""
    for _, movement in applied:
        ledger.post([movement])


def _post_loop(
    store: SqliteStore, ledger: Ledger, applied: list[tuple[DeviceEvent, Movement]]
) -> None:
    """One post per movement, all in one transaction: one durable commit per delivery."""
    with store.lock_head():
        _post_each(ledger, applied)


def _dedupe(dedupe: Dedupe, batch: list[DeviceEvent], movements: dict[str, Movement]) -> None:
    """The ids of a delivery in one transaction, then its new movements in another."""
    dedupe.seen.execute("BEGIN IMMEDIATE")
    new = [e for e in batch if dedupe.is_new(e)]
    dedupe.seen.execute("COMMIT")
    with dedupe.store.lock_head():
        for event in new:
            dedupe.ledger.post([movements[event.event_id]])


def _dedupe_each(dedupe: Dedupe, batch: list[DeviceEvent], movements: dict[str, Movement]) -> None:
    """Per event: the id (autocommit), then its post (a commit of its own) when new."""
    for event in batch:
        if dedupe.is_new(event):
            dedupe.ledger.post([movements[event.event_id]])


def main() -> None:  # noqa: PLR0915  (one benchmark, read top to bottom)
    quick, per_device, commit_each, seed = _arguments()
    devices = 10 if quick else 50
    per_device = per_device or (50 if quick else 10_000)
    if commit_each is None:
        commit_each = devices * per_device <= EACH_UP_TO
    rng = random.Random(seed)
    streams_ = streams(devices, per_device)
    delivered = deliveries(streams_, rng)
    by_id = {e.event_id: e for batch in delivered for e in batch}
    movements: dict[str, Movement] = {}
    seen_ids: set[str] = set()
    events = sum(len(s) for s in streams_)
    deliveries_total = sum(len(b) for b in delivered)
    print(
        f"{devices} devices x {per_device} events = {events:,} events, "
        f"{deliveries_total - events:,} duplicate deliveries, {len(delivered)} deliveries of "
        f"up to {DELIVERY}",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="medinv-bench-sync-"))
    try:
        runs = Runs(folder, commit_each=commit_each)
        gc.collect()
        gc.freeze()
        for number, batch in enumerate(delivered, start=1):
            before = runs.inbox.ledger.head().position
            runs.timed("medinv", lambda batch=batch: runs.inbox.ingest(batch))
            # What the inbox booked from this delivery, in its order (read untimed): the
            # peers book the same. The dedupe peer sees each event when the inbox applied
            # it (a held event comes later) and the duplicates where they were delivered.
            booked = [
                (by_id[r.movement.id.removeprefix("sync:")], r.movement)
                for r in runs.inbox.ledger.history(after_position=before)
            ]
            movements.update((e.event_id, m) for e, m in booked)
            peer = [e for e, _ in booked] + [e for e in batch if e.event_id in seen_ids]
            seen_ids.update(e.event_id for e in peer)
            runs.timed(LOOP, lambda booked=booked: _post_loop(runs.loop_store, runs.loop, booked))
            runs.timed(BULK, lambda booked=booked: runs.bulk.post([m for _, m in booked]))
            runs.timed(DEDUPE, lambda peer=peer: _dedupe(runs.dedupe, peer, movements))
            if runs.each is not None:
                _, loop_each, dedupe_each = runs.each
                runs.timed(
                    LOOP_EACH,
                    lambda booked=booked, ledger=loop_each: _post_each(ledger, booked),
                )
                runs.timed(
                    DEDUPE_EACH,
                    lambda peer=peer, dedupe=dedupe_each: _dedupe_each(dedupe, peer, movements),
                )
            if number % 50 == 0:
                print(
                    f"  {number}/{len(delivered)} deliveries, medinv {runs.wall['medinv']:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        audit = runs.inbox.audit()
        assert audit.ok, audit  # noqa: S101
        outcomes = dict.fromkeys(Outcome, 0)
        for device in audit.devices:
            outcomes[Outcome.APPLIED] += device.applied
            outcomes[Outcome.DUPLICATE] += device.duplicate
            outcomes[Outcome.HELD] += device.held
        booked_ids = [
            r.movement.id for r in runs.inbox.ledger.history() if r.movement.id.startswith("sync:")
        ]
        assert len(booked_ids) == len(set(booked_ids)) == events, (len(booked_ids), events)  # noqa: S101
        snapshots = [sorted(s.balances_snapshot(), key=str) for s in runs.stores()]
        assert all(s == snapshots[0] for s in snapshots)  # noqa: S101
        sizes = {
            name: sum(p.stat().st_size for p in folder.glob(f"{stem}.sqlite3*"))
            for name, stem in FILES.items()
        }
        runs.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = runs.wall["medinv"]
    rows = []
    for name in FILES:
        if name not in runs.wall:
            continue
        wall = runs.wall[name]
        rows.append(
            [
                name,
                f"{wall:.1f} s",
                f"{events / wall:,.0f}/s",
                f"{runs.cpu[name]:.1f} s",
                "1.00" if name == "medinv" else f"{base / wall:.2f}",
                f"{sizes[name] / 1e6:.0f} MB",
            ]
        )
    print(table(["run", "wall", "events/s", "CPU", "medinv / this", "files"], rows))
    print(
        f"applied {outcomes[Outcome.APPLIED]:,}, duplicates {outcomes[Outcome.DUPLICATE]:,}, "
        f"held at the end {outcomes[Outcome.HELD]}, lost 0, booked twice 0"
    )
    _verdicts(runs.wall)


def _verdicts(wall: dict[str, float]) -> None:
    """The inbox's time over each peer's; the target applies to the post loops."""
    for name in (LOOP, LOOP_EACH, DEDUPE, DEDUPE_EACH, BULK):
        if name in wall:
            ratio = wall["medinv"] / wall[name]
            target = (
                f" (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})"
                if name in {LOOP, LOOP_EACH}
                else ""
            )
            print(f"medinv / {name} = {ratio:.2f}{target}")


if __name__ == "__main__":
    main()
