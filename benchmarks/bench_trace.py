"""Benchmark: tracing a hot lot in a large ledger, against a full scan and hand-written SQL.

Usage::

    python benchmarks/bench_trace.py [--quick] [--seed N] [--rebuild] [--postgres [--dsn DSN]]

The ledger (1,000,000 movements; 100,000 with ``--quick``) holds two **hot lots**
among the filler of the ledger benchmark's workload (1,000 lots moving between 20
places): lot ``HOT-EXITS``, received 13 times and leaving 1,300 times (consumptions
on patients, issues to customers), and lot ``HOT-BUSY`` with 100,000 movements
(10,000 with ``--quick``): receipts, transfers to four wards, consumptions and
issues. Both are spread evenly over the whole ledger, every movement a minute of
business time after the one before.

Measured on each hot lot, in one run, the trace and its two SQL peers taking turns
(best of 5 rounds each):

- ``Tracer.forward`` (medinv.trace) against a **full scan** in Python (every
  movement read through ``LedgerStore.movements`` and filtered: what a system
  without an item index does; once, it is slow) and against **hand-written SQL** on
  the same SQLite file (the period-and-item index the store keeps, one query, the
  rows split and summed in Python without building movements: the floor for any
  Python client of that file). Targets: >= 20x the scan, within 2x the SQL.
- ``Tracer.where`` at an instant half-way through the ledger, as known at a position
  three quarters of the way: the same peers, the same targets.
- Both against a **same-answer** hand-written peer (``sqlite_same_answer``,
  ``pg_same_answer``): the same query's rows folded by hand into the whole answer
  the trace gives (flows per place, site and party with their dates, the mass
  balance; for the point in time the backdated ids too), checked equal to medinv's.
- Peak Python memory (tracemalloc) of ``Tracer.forward`` and ``Tracer.where`` on
  both lots, the busy one as known at a tenth, half and all of the ledger (10x the
  movements from first to last: the peak must not grow with them), and of reading
  each lot's movements at once (``list(store.movements(...))``), the thing the
  trace's windows avoid.

The ledger is built once by posting through ``Ledger.post`` in batches of 5,000 and
kept under the temp directory (``--rebuild`` builds it again). ``--postgres``
measures the forward trace and the point-in-time query on PostgreSQL too, on a
ledger a fifth the size (200,000 movements; 20,000 with ``--quick``) whose busy lot
is a tenth (10,000; 1,000) built in the run in a fresh
schema (of ``--dsn``, or of a throwaway server like the tests') and dropped
afterwards; its SQL peer is the same idea on its ``(gtin, lot, serial, position)``
index.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import functools
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum

from medinv.adapters._codec import recorded_movement
from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from medinv.chain import CONTENT_FIELDS, MovementDecoder
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore, MovementQuery
from medinv.trace import Tracer, TraceSubject

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import best_of, peak_memory, table
from benchmarks.bench_ledger import Workload

CACHE_VERSION = 2
"""Part of the cached ledger's name: change it when the workload changes."""
HOT_GTIN = "09501101530003"  # a GTIN the filler does not use
EXITS = ItemKey(HOT_GTIN, lot="HOT-EXITS")
BUSY = ItemKey(HOT_GTIN, lot="HOT-BUSY")
START = pendulum.datetime(2026, 1, 1, tz="UTC")
CLOCK = pendulum.datetime(2140, 1, 1, tz="UTC")
BATCH = 5_000
STORE = Location.parse("Hot/Store/Bin-1")
BUSY_STORE = Location.parse("Hot/Store/Bin-2")
WARDS = tuple(Location.parse(f"Hot/Ward/W{i}") for i in range(4))


def at(position: int) -> pendulum.DateTime:
    """Business time: one minute per position."""
    return START.add(minutes=position)


def exits_lot() -> Iterator[Callable[[str, pendulum.DateTime], Movement]]:
    """HOT-EXITS: a receipt of 100, then 100 single exits, 13 times (1,313 movements)."""
    for cycle in range(13):
        yield lambda mid, when: Movement.receipt(
            mid, item=EXITS, quantity=100, to=STORE, occurred_at=when, actor="bench",
            counterparty="SUPPLIER:ACME",
        )  # fmt: skip
        for n in range(100):
            if n % 5:
                patient = f"PATIENT:P-{cycle:02d}{n:03d}"
                yield lambda mid, when, p=patient: Movement.consumption(  # type: ignore[misc]
                    mid, item=EXITS, quantity=1, source=STORE, occurred_at=when, actor="bench",
                    counterparty=p,
                )  # fmt: skip
            else:
                yield lambda mid, when: Movement.issue(
                    mid, item=EXITS, quantity=1, source=STORE, occurred_at=when, actor="bench",
                    counterparty="CUSTOMER:CLINIC-9",
                )  # fmt: skip


def busy_lot(size: int) -> Iterator[Callable[[str, pendulum.DateTime], Movement]]:
    """HOT-BUSY: cycles of 20 (a receipt, 4 transfers, 12 consumptions, 3 issues)."""
    for _ in range(size // 20):
        yield lambda mid, when: Movement.receipt(
            mid, item=BUSY, quantity=60, to=BUSY_STORE, occurred_at=when, actor="bench"
        )
        for ward in WARDS:
            yield lambda mid, when, w=ward: Movement.transfer(  # type: ignore[misc]
                mid, item=BUSY, quantity=10, source=BUSY_STORE, to=w, occurred_at=when,
                actor="bench", counterparty="DEPARTMENT:" + w.name,
            )  # fmt: skip
        for n in range(12):
            ward = WARDS[n % 4]
            yield lambda mid, when, w=ward, n=n: Movement.consumption(  # type: ignore[misc]
                mid, item=BUSY, quantity=2, source=w, occurred_at=when, actor="bench",
                counterparty=f"PATIENT:P-9{n:04d}",
            )  # fmt: skip
        for _ in range(3):
            yield lambda mid, when: Movement.issue(
                mid, item=BUSY, quantity=5, source=BUSY_STORE, occurred_at=when, actor="bench",
                counterparty="CUSTOMER:CLINIC-9",
            )  # fmt: skip


def ledger_movements(size: int, busy: int, seed: int) -> Iterator[Movement]:
    """``size`` movements: the filler with both hot lots spread evenly through it."""
    filler = Workload(seed, name="F")
    exits, busy_moves = exits_lot(), busy_lot(busy)
    every_exit, every_busy = size // 1_313, size // busy
    exit_due = 0  # exits due but not yet placed (a busy movement had the position)
    for position in range(1, size + 1):
        exit_due += position % every_exit == 1
        make = None
        if position % every_busy == 0:
            make = next(busy_moves, None)
        elif exit_due:
            make = next(exits, None)
            exit_due -= 1
        if make is not None:
            yield make(f"H-{position}", at(position))
        else:
            yield attrs.evolve(filler.next(), occurred_at=at(position))


def fill(store: LedgerStore, size: int, busy: int, seed: int) -> None:
    ledger = Ledger(store, clock=lambda: CLOCK)
    moves = ledger_movements(size, busy, seed)
    while batch := [m for _, m in zip(range(BATCH), moves, strict=False)]:
        ledger.post(batch)


def ledger_file(size: int, busy: int, seed: int, *, rebuild: bool) -> Path:
    """The benchmark's SQLite ledger, built once and kept under the temp directory."""
    folder = Path(tempfile.gettempdir()) / "medinv-bench-trace"
    folder.mkdir(exist_ok=True)
    path = folder / f"v{CACHE_VERSION}-schema{SCHEMA_VERSION}-{size}-{busy}-{seed}.sqlite3"
    if path.exists() and not rebuild:
        return path
    building = path.with_suffix(".building")
    for old in folder.glob(building.name + "*"):
        old.unlink()
    start = time.perf_counter()
    with SqliteStore(building) as store:
        fill(store, size, busy, seed)
    building.rename(path)
    print(f"built a ledger of {size:,} movements in {time.perf_counter() - start:.0f} s: {path}")
    return path


# ---------------------------------------------------------------------- the answers compared

Holdings = dict[tuple[str, str], int]


def by_trace(store: LedgerStore, item: ItemKey) -> Holdings:
    trace = Tracer(store).forward(TraceSubject.of_item(item))
    return {(str(h.location), h.status.value): h.quantity for h in trace.holdings}


def where_by_trace(store: LedgerStore, item: ItemKey, instant: Any, known: int) -> Holdings:
    found = Tracer(store).where(TraceSubject.of_item(item), at=instant, known_at=known)
    return {(str(h.location), h.status.value): h.quantity for h in found.holdings}


def by_scan(
    store: LedgerStore, item: ItemKey, instant: Any = None, known: int | None = None
) -> Holdings:
    """Every movement of the ledger read and filtered in Python."""
    subject = TraceSubject.of_item(item)
    totals: Holdings = collections.defaultdict(int)
    for recorded in store.movements(MovementQuery(up_to_position=known)):
        m = recorded.movement
        if not subject.covers(m.item) or (instant is not None and m.occurred_at >= instant):
            continue
        for location, status, delta in m.deltas():
            totals[str(location), status.value] += delta
    return {key: qty for key, qty in totals.items() if qty}


SQLITE_SQL = """
WITH RECURSIVE periods (p) AS (
    SELECT 0 UNION ALL SELECT p + 1 FROM periods
    WHERE p < (SELECT position FROM head WHERE singleton = 1) >> 14)
SELECT position, content FROM periods CROSS JOIN movements
WHERE (position >> 14) = periods.p
  AND item_no IN (SELECT item_no FROM item_keys WHERE gtin = ? AND lot = ?)
  AND position <= ?
ORDER BY position
"""


def sum_rows(rows: Iterator[tuple[int, str]], instant: dt.datetime | None) -> Holdings:
    """The rows' content split by hand: quantity, occurred-at, source and destination."""
    totals: Holdings = collections.defaultdict(int)
    for _, content in rows:
        f = content.split("\x00")
        if instant is not None and dt.datetime.fromisoformat(f[6]) >= instant:
            continue
        quantity = int(f[5])
        if f[8] != "-":  # from location, status
            totals[f[8][1:], f[9][1:]] -= quantity
        if f[10] != "-":  # to location, status
            totals[f[10][1:], f[11][1:]] += quantity
    return {key: qty for key, qty in totals.items() if qty}


def by_sql(path: Path, item: ItemKey, instant: Any = None, known: int | None = None) -> Holdings:
    """Hand-written SQL on the same file (read-only connection)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        lot = item.lot.value if item.lot else ""
        last = known if known is not None else 2**62
        rows = db.execute(SQLITE_SQL, (item.device_text, lot, last))
        return sum_rows(rows, instant)


def decoded(rows: Iterator[tuple[int, str]], instant: dt.datetime | None) -> Holdings:
    """The rows decoded into movements by medinv's own decoder, then summed."""
    decoder = MovementDecoder()
    totals: Holdings = collections.defaultdict(int)
    for _, content in rows:
        m = decoder.content(content)
        if instant is not None and m.occurred_at >= instant:
            continue
        for location, status, delta in m.deltas():
            totals[str(location), status.value] += delta
    return {key: qty for key, qty in totals.items() if qty}


def by_sql_decoded(
    path: Path, item: ItemKey, instant: Any = None, known: int | None = None
) -> Holdings:
    """The same SQL, each row decoded into a `Movement` (what every store hands out)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        lot = item.lot.value if item.lot else ""
        last = known if known is not None else 2**62
        return decoded(db.execute(SQLITE_SQL, (item.device_text, lot, last)), instant)


# ---------------------------------------------------------------------- measuring


def read_all(store: LedgerStore, query: MovementQuery) -> list[object]:
    """Every matching movement, read at once."""
    return list(store.movements(query))


def peak(fn: Callable[[], object]) -> int:
    """Peak Python allocations while ``fn`` runs."""
    return peak_memory(fn)[0]


def compare(  # noqa: PLR0917  (the four ways, named, and the optional fifth)
    name: str,
    trace: Callable[[], Holdings],
    scan: Callable[[], Holdings],
    sql: Callable[[], Holdings],
    sql_decoded: Callable[[], Holdings],
    repeat: int,
    same: tuple[Callable[[], object], Callable[[], object]] | None = None,
) -> list[object]:
    """One row: the trace, the scan (once) and the SQL with and without decoding, which agree.

    The trace and the SQL peers take turns, ``repeat`` rounds, best of each: on a
    shared machine a burst of load then slows all of them, not one. ``same``: the
    whole answer by medinv and by the same-answer SQL peer (`same_answer`), which
    must be equal; the peer then takes its turn too and gets two more columns.
    """
    peers = [sql, sql_decoded, trace] + ([same[1]] if same else [])
    best = [float("inf")] * len(peers)
    answers: list[object] = [None] * len(peers)
    for _ in range(repeat):
        for i, fn in enumerate(peers):
            elapsed, answers[i] = best_of(fn, 1)
            best[i] = min(best[i], elapsed)
    t_sql, t_decoded, t_trace = best[:3]
    expected, decoded_answer, traced = answers[:3]
    t_scan, scanned = best_of(scan, 1)
    if not traced == scanned == expected == decoded_answer:
        raise SystemExit(f"{name}: the trace, the scan and the SQL disagree")
    row: list[object] = [
        name,
        f"{t_trace * 1e3:.1f} ms",
        f"{t_scan:.2f} s",
        f"{t_scan / t_trace:.0f}x",
        f"{t_sql * 1e3:.1f} ms",
        f"{t_trace / t_sql:.2f}x",
        f"{t_decoded * 1e3:.1f} ms",
        f"{t_trace / t_decoded:.2f}x",
    ]
    if same is not None:
        if same[0]() != answers[3]:
            raise SystemExit(f"{name}: the trace and the same-answer SQL disagree")
        row += [f"{best[3] * 1e3:.1f} ms", f"{t_trace / best[3]:.2f}x"]
    return row


Peer = Callable[..., Holdings]
"""Holdings of an item, optionally before an instant and up to a position."""


def two_rows(  # noqa: PLR0917  (the store, two peers, the item, its label, the repeats)
    store: LedgerStore,
    sql: Peer,
    sql_decoded: Peer,
    item: ItemKey,
    label: str,
    repeat: int,
    same: Callable[..., object] | None = None,
) -> list[list[object]]:
    """The forward trace and the point in time of ``item``, each against its peers.

    ``same``: the same-answer SQL peer (`same_answer`), compared with medinv's whole
    answer (`forward_answer`, `where_answer`).
    """
    head = store.head().position
    instant, known = at(head // 2), head * 3 // 4
    forward_same = where_same = None
    if same is not None:
        forward_same = (
            functools.partial(forward_answer, store, item),
            functools.partial(same, item),
        )
        where_same = (
            functools.partial(where_answer, store, item, instant, known),
            functools.partial(same, item, instant, known),
        )
    return [
        compare(
            f"forward: {label}",
            functools.partial(by_trace, store, item),
            functools.partial(by_scan, store, item),
            functools.partial(sql, item),
            functools.partial(sql_decoded, item),
            repeat,
            forward_same,
        ),
        compare(
            f"where at mid, known at 3/4: {label}",
            functools.partial(where_by_trace, store, item, instant, known),
            functools.partial(by_scan, store, item, instant, known),
            functools.partial(sql, item, instant, known),
            functools.partial(sql_decoded, item, instant, known),
            repeat,
            where_same,
        ),
    ]


HEADERS = (
    "question",
    "medinv.trace",
    "full scan",
    "scan / trace",
    "hand SQL",
    "trace / SQL",
    "SQL + decode",
    "trace / (SQL + decode)",
)


def on_sqlite(path: Path, repeat: int) -> None:
    with SqliteStore(path) as store:
        head = store.head().position
        rows = []
        for item in (EXITS, BUSY):
            count = sum(1 for _ in Tracer(store).steps(TraceSubject.of_item(item)))
            rows += two_rows(
                store, functools.partial(by_sql, path), functools.partial(by_sql_decoded, path),
                item, f"{item.lot} ({count:,} movements)", repeat,
                functools.partial(sqlite_same_answer, path),
            )  # fmt: skip
        print(f"\nSQLite, {head:,} movements ({path.stat().st_size / 1e6:.0f} MB file)")
        print(table((*HEADERS, "same-answer SQL", "trace / same-answer SQL"), rows))
        print("\npeak Python memory (tracemalloc)")
        print(memory_table(store, head))
        plan = sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute(
            "EXPLAIN QUERY PLAN " + SQLITE_SQL, ("x", "y", 1)
        )
        print("\nhand SQL plan:", "; ".join(row[-1] for row in plan))


def memory_table(store: LedgerStore, head: int) -> str:
    """Peak memory of the trace's questions as the busy lot grows (known at 1/10, 1/2, all)."""
    memory = []
    peaks = []
    for item, known_at in ((EXITS, head), (BUSY, head // 10), (BUSY, head // 2), (BUSY, head)):
        subject = TraceSubject.of_item(item)
        tracer = Tracer(store)
        count = sum(1 for _ in tracer.steps(subject, known_at=known_at))
        traced = peak(functools.partial(tracer.forward, subject, known_at=known_at))
        instant = at(known_at // 2)
        where = peak(functools.partial(tracer.where, subject, at=instant, known_at=known_at))
        query = subject.query(up_to_position=known_at)
        at_once = peak(functools.partial(read_all, store, query))
        if item is BUSY:
            peaks.append(max(traced, where))
        memory.append([
            f"{item.lot} as known at {known_at:,}", f"{count:,}", f"{traced / 1e6:.2f} MB",
            f"{where / 1e6:.2f} MB", f"{at_once / 1e6:.2f} MB",
        ])  # fmt: skip
    headers = ("lot", "movements", "Tracer.forward", "Tracer.where", "reading them at once")
    growth = f"\nbusy lot, 10x the movements: peak x{peaks[-1] / peaks[0]:.2f}"
    return table(headers, memory) + growth


PG_SQL = """
SELECT position, quantity, occurred_at, from_location, from_status, to_location, to_status
FROM {schema}.movements WHERE gtin = %s AND lot = %s AND position <= %s ORDER BY position
"""
PG_DECODED_SQL = """
SELECT {columns} FROM {schema}.movements
WHERE gtin = %s AND lot = %s AND position <= %s ORDER BY position
"""


def sum_columns(rows: Iterator[tuple[Any, ...]], instant: dt.datetime | None) -> Holdings:
    """PostgreSQL rows (a column per field) summed without building movements."""
    totals: Holdings = collections.defaultdict(int)
    for _, quantity, occurred_at, source, source_status, target, target_status in rows:
        if instant is not None and dt.datetime.fromisoformat(occurred_at) >= instant:
            continue
        if source is not None:
            totals[source, source_status] -= quantity
        if target is not None:
            totals[target, target_status] += quantity
    return {key: qty for key, qty in totals.items() if qty}


def decoded_columns(rows: Iterator[tuple[Any, ...]], instant: dt.datetime | None) -> Holdings:
    """PostgreSQL rows decoded into movements by medinv's own decoder, then summed."""
    decoder = MovementDecoder()
    totals: Holdings = collections.defaultdict(int)
    for row in rows:
        m = recorded_movement(decoder, row[0], row[1:-3], *row[-3:]).movement
        if instant is not None and m.occurred_at >= instant:
            continue
        for location, status, delta in m.deltas():
            totals[str(location), status.value] += delta
    return {key: qty for key, qty in totals.items() if qty}


# ---------------------------------------------------------------------- the same answer, by hand

Answer = tuple[object, ...]
"""A forward trace's whole answer as plain values: count, first and last instants,
holdings, location, site and party flows, mass balance (`forward_answer`); or a point
in time's: holdings and the ids of the backdated movements (`where_answer`)."""

CATEGORY = {
    "RECEIPT": "received", "RETURN": "returned", "ADJUSTMENT": "adjusted",
    "ISSUE": "distributed", "CONSUMPTION": "consumed", "SCRAP": "scrapped",
}  # fmt: skip
FROM_PARTY = frozenset({"RECEIPT", "RETURN"})
TO_PARTY = frozenset({"ISSUE", "CONSUMPTION", "SCRAP", "TRANSFER"})


def forward_answer(store: LedgerStore, item: ItemKey) -> Answer:
    """medinv's forward trace of ``item`` as plain values (to compare with `same_answer`)."""
    t = Tracer(store).forward(TraceSubject.of_item(item))
    b = t.balance
    return (
        t.movements, t.first_at, t.last_at,
        {(str(h.location), h.status.value): h.quantity for h in t.holdings},
        {str(f.place): (f.entered, f.left, f.first_at, f.last_at) for f in t.locations},
        {str(f.place): (f.entered, f.left, f.first_at, f.last_at) for f in t.sites},
        {str(p.party): (p.sent, p.received, p.consumed, p.first_at, p.last_at) for p in t.parties},
        (b.received, b.returned, b.adjusted, b.on_hand, b.consumed, b.distributed, b.scrapped),
    )  # fmt: skip


def where_answer(store: LedgerStore, item: ItemKey, instant: Any, known: int) -> Answer:
    """medinv's point in time of ``item`` as plain values (to compare with `same_answer`)."""
    found = Tracer(store).where(TraceSubject.of_item(item), at=instant, known_at=known)
    holdings = {(str(h.location), h.status.value): h.quantity for h in found.holdings}
    return holdings, [step.movement_id for step in found.late]


def _cross(flows: dict[Any, list[Any]], source: Any, target: Any, qty: int, when: Any) -> None:
    for place, side in ((target, 0), (source, 1)):
        if place is not None:
            flow = flows.get(place)
            if flow is None:
                flow = flows[place] = [0, 0, when, when]
            flow[side] += qty
            flow[2] = min(flow[2], when)
            flow[3] = max(flow[3], when)


def _party_flow(parties: dict[str, list[Any]], party: str, kind: str, qty: int, when: Any) -> None:
    if kind not in FROM_PARTY and kind not in TO_PARTY:
        return
    flow = parties.get(party)
    if flow is None:
        flow = parties[party] = [0, 0, 0, when, when]
    if kind in FROM_PARTY:
        flow[1] += qty
    else:
        flow[0] += qty
        flow[2] += qty if kind == "CONSUMPTION" else 0
    flow[3] = min(flow[3], when)
    flow[4] = max(flow[4], when)


def fold_answer(rows: Iterator[tuple[Any, ...]], originals: dict[str, str]) -> Answer:
    """A forward trace folded by hand from plain rows: what `forward_answer` holds.

    Each row: kind, the id it reverses, quantity, occurred-at text, source and its
    status, destination and its status, counterparty. ``originals``: the kind of
    each reversed movement (a reversal counts against it, in its direction).
    """
    holdings: Holdings = collections.defaultdict(int)
    places: dict[Any, list[Any]] = {}
    sites: dict[Any, list[Any]] = {}
    parties: dict[str, list[Any]] = {}
    totals = dict.fromkeys(CATEGORY.values(), 0)
    count, first, last = 0, None, None
    for own_kind, reverses, qty, occurred_at, out_of, out_status, into, into_status, party in rows:
        when = dt.datetime.fromisoformat(occurred_at)
        count += 1
        first = when if first is None or when < first else first
        last = when if last is None or when > last else last
        if out_of is not None:
            holdings[out_of, out_status] -= qty
        if into is not None:
            holdings[into, into_status] += qty
        kind, quantity, source, target = own_kind, qty, out_of, into
        if reverses is not None:
            kind, quantity, source, target = originals[reverses], -qty, into, out_of
        category = CATEGORY.get(kind)
        if category is not None:
            totals[category] += -quantity if kind == "ADJUSTMENT" and target is None else quantity
        if source != target:
            _cross(places, source, target, quantity, when)
            source_site = None if source is None else source.partition("/")[0]
            target_site = None if target is None else target.partition("/")[0]
            if source_site != target_site:
                _cross(sites, source_site, target_site, quantity, when)
        if party is not None:
            _party_flow(parties, party, kind, quantity, when)
    return (
        count, first, last, {key: qty for key, qty in holdings.items() if qty},
        {place: tuple(flow) for place, flow in places.items()},
        {site: tuple(flow) for site, flow in sites.items()},
        {party: tuple(flow) for party, flow in parties.items()},
        (
            totals["received"], totals["returned"], totals["adjusted"], sum(holdings.values()),
            totals["consumed"], totals["distributed"], totals["scrapped"],
        ),
    )  # fmt: skip


PG_SAME_SQL = """
SELECT kind, reverses, quantity, occurred_at, from_location, from_status, to_location,
       to_status, counterparty
FROM {schema}.movements WHERE gtin = %s AND lot = %s AND position <= %s
"""
PG_KINDS_SQL = "SELECT id, kind FROM {schema}.movements WHERE id = ANY(%s)"
PG_LATE_SQL = """
SELECT id, occurred_at FROM {schema}.movements
WHERE gtin = %s AND lot = %s AND position > %s ORDER BY position
"""
PG_GROUPED_SQL = """
SELECT m.counterparty, coalesce(o.kind, m.kind), m.reverses IS NOT NULL, sum(m.quantity),
       min(m.occurred_at::timestamptz), max(m.occurred_at::timestamptz)
FROM {schema}.movements m LEFT JOIN {schema}.movements o ON o.id = m.reverses
WHERE m.gtin = %s AND m.lot = %s AND m.position <= %s AND m.counterparty IS NOT NULL
GROUP BY 1, 2, 3
"""
"""The party flows alone grouped in the database (measured, not the peer: slower than
reading the rows, see docs/benchmarks/trace.md)."""


def pg_same_answer(
    conn: Any,
    schema: str,
    item: ItemKey,
    instant: Any = None,
    known: int | None = None,
) -> Answer:
    """The same answer as medinv's by hand on PostgreSQL: the forward trace (no ``instant``)
    or the point in time (holdings at ``instant`` as known at ``known``, and the ids of
    the movements recorded after ``known`` that occurred before ``instant``)."""
    lot = item.lot.value if item.lot else ""
    if instant is None:
        rows = conn.execute(PG_SAME_SQL.format(schema=schema), (item.device_text, lot, 2**62))
        rows = rows.fetchall()
        reversed_ids = [row[1] for row in rows if row[1] is not None]
        originals = {}
        if reversed_ids:
            originals = dict(conn.execute(PG_KINDS_SQL.format(schema=schema), (reversed_ids,)))
        return fold_answer(iter(rows), originals)
    limit = dt.datetime.fromisoformat(instant.isoformat())  # a plain date-time compares faster
    text = PG_SQL.format(schema=schema)
    holdings = sum_columns(iter(conn.execute(text, (item.device_text, lot, known))), limit)
    later = conn.execute(PG_LATE_SQL.format(schema=schema), (item.device_text, lot, known))
    late = [mid for mid, occurred_at in later if dt.datetime.fromisoformat(occurred_at) < limit]
    return holdings, late


SQLITE_LATE_SQL = SQLITE_SQL.replace("AND position <= ?", "AND position > ?")
"""The lot's movements recorded after a position, by the same index as `SQLITE_SQL`."""
_PLAIN = len(CONTENT_FIELDS)


def _content_row(content: str) -> tuple[Any, ...]:
    """A stored content text split by hand into the row `fold_answer` reads."""
    f = content.split("\x00")
    party = f[_PLAIN] if len(f) > _PLAIN else "-"
    return (
        f[1], None if f[15] == "-" else f[15][1:], int(f[5]), f[6],
        None if f[8] == "-" else f[8][1:], None if f[9] == "-" else f[9][1:],
        None if f[10] == "-" else f[10][1:], None if f[11] == "-" else f[11][1:],
        None if party == "-" else party[1:],
    )  # fmt: skip


def sqlite_same_answer(
    path: Path, item: ItemKey, instant: Any = None, known: int | None = None
) -> Answer:
    """The same answer as medinv's by hand on the SQLite file (as `pg_same_answer`):
    the lot's rows by the hand SQL's query, each content text split and folded."""
    lot = item.lot.value if item.lot else ""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        if instant is None:
            rows = [
                _content_row(content)
                for _, content in db.execute(SQLITE_SQL, (item.device_text, lot, 2**62))
            ]
            reversed_ids = [row[1] for row in rows if row[1] is not None]
            originals: dict[str, str] = {}
            if reversed_ids:
                marks = ",".join("?" * len(reversed_ids))
                found = db.execute(
                    f"SELECT id, content FROM movements WHERE id IN ({marks})",
                    reversed_ids,
                )
                originals = {mid: content.split("\x00")[1] for mid, content in found}
            return fold_answer(iter(rows), originals)
        limit = dt.datetime.fromisoformat(instant.isoformat())  # a plain date-time compares faster
        holdings = sum_rows(db.execute(SQLITE_SQL, (item.device_text, lot, known)), limit)
        later = db.execute(SQLITE_LATE_SQL, (item.device_text, lot, known))
        late = []
        for _, content in later:
            f = content.split("\x00")
            if dt.datetime.fromisoformat(f[6]) < limit:
                late.append(f[0])
        return holdings, late


def _fetch(conn: Any, text: str, args: tuple[object, ...]) -> list[Any]:
    return list(conn.execute(text, args).fetchall())


def grouped_parties(conn: Any, schema: str, repeat: int) -> str:
    """How long the party flows alone take grouped in the database (`PG_GROUPED_SQL`)."""
    text = PG_GROUPED_SQL.format(schema=schema)
    found = []
    for item in (EXITS, BUSY):
        lot = item.lot.value if item.lot else ""
        args = (item.device_text, lot, 2**62)
        elapsed = min(
            best_of(functools.partial(_fetch, conn, text, args), 1)[0] for _ in range(repeat)
        )
        found.append(f"{item.lot} {elapsed * 1e3:.1f} ms")
    return "party flows alone by GROUP BY in the database: " + ", ".join(found)


def on_postgres(dsn: str | None, size: int, busy: int, seed: int, repeat: int) -> None:
    import psycopg  # noqa: PLC0415  (the postgres extra)
    from psycopg import sql  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415
    from medinv.adapters.postgres._sql import MOVEMENT_COLUMNS  # noqa: PLC0415
    from medinv.testing.pgserver import ThrowawayPostgres  # noqa: PLC0415

    def measure_on(target: str) -> None:
        schema = f"bench_trace_{int(time.time())}"
        try:
            start = time.perf_counter()
            with PostgresStore(target, schema=schema) as store:
                fill(store, size, busy, seed)
            print(f"built a PostgreSQL ledger in {time.perf_counter() - start:.0f} s")
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(sql.SQL("VACUUM ANALYZE {}.movements").format(sql.Identifier(schema)))
            with PostgresStore(target, schema=schema) as store, psycopg.connect(target) as conn:
                head = store.head().position
                text = PG_SQL.format(schema=schema)
                full = PG_DECODED_SQL.format(columns=MOVEMENT_COLUMNS, schema=schema)

                def by_pg(item: ItemKey, when: Any = None, up_to: int | None = None) -> Holdings:
                    lot = item.lot.value if item.lot else ""
                    rows = conn.execute(text, (item.device_text, lot, up_to or 2**62))
                    return sum_columns(iter(rows), when)

                def by_pg_decoded(
                    item: ItemKey, when: Any = None, up_to: int | None = None
                ) -> Holdings:
                    lot = item.lot.value if item.lot else ""
                    rows = conn.execute(full, (item.device_text, lot, up_to or 2**62))
                    return decoded_columns(iter(rows), when)

                same = functools.partial(pg_same_answer, conn, schema)
                rows = []
                for item in (EXITS, BUSY):
                    rows += two_rows(store, by_pg, by_pg_decoded, item, str(item.lot), repeat, same)
                print(f"\nPostgreSQL, {head:,} movements")
                print(table((*HEADERS, "same-answer SQL", "trace / same-answer SQL"), rows))
                print(grouped_parties(conn, schema, repeat))
                print("\npeak Python memory (tracemalloc)")
                print(memory_table(store, head))
        finally:
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )

    if dsn:
        measure_on(dsn)
        return
    with ThrowawayPostgres(database="medinv_bench") as server:
        print("throwaway PostgreSQL server (fsync off), unix socket in", server.directory)
        measure_on(server.dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 movements (under a minute)")
    parser.add_argument("--seed", type=int, default=20261204, help="random seed")
    parser.add_argument("--rebuild", action="store_true", help="build the cached ledger again")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--dsn", default=os.environ.get("MEDINV_TEST_POSTGRES_DSN"))
    args = parser.parse_args()
    size, busy = (100_000, 10_000) if args.quick else (1_000_000, 100_000)
    repeat = 5
    path = ledger_file(size, busy, args.seed, rebuild=args.rebuild)
    on_sqlite(path, repeat)
    if args.postgres:
        on_postgres(args.dsn, size // 5, busy // 10, args.seed, repeat)


if __name__ == "__main__":
    main()
