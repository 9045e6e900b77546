"""An index rebuilt after a restart plans exactly like the one kept current all along.

For any history of receipts, picks, status changes, kept reservations (made and
released) and location-profile changes in the catalogue,
the index a long-running process keeps current (``sync_index`` after each post,
``sync_pick_sequences`` after each catalogue change) and the index built afresh
from a new store object over the same database give the same plans: same picks,
same order, same skipped candidates with the same reasons. On memory, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import AllocationRequest, FefoIndex
from medinv.catalogue import LocationKind, LocationProfile
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services import (
    allocate_and_post,
    index_from_ledger,
    release_reservation,
    reserve_plan,
    sync_index,
    sync_pick_sequences,
    sync_reservations,
)
from medinv.status import StockStatus

GTINS = ("04006381333931", "00614141000418")
BINS = ("H/A/1", "H/A/2", "H/B/1", "H/B/2", "H/C")
PROFILED = ("H", "H/A", "H/B", "H/A/1", "H/B/2", "H/C")
RECEIVED = pendulum.datetime(2026, 11, 1, 8, tz="UTC")
USE = pendulum.date(2026, 11, 23)
EXPIRIES = (pendulum.date(2026, 11, 20), pendulum.date(2027, 1, 31), pendulum.date(2027, 6, 30))
START = pendulum.datetime(2026, 1, 1, tz="UTC")

receive = st.tuples(
    st.just("receive"),
    st.sampled_from(GTINS),
    st.sampled_from(("L1", "L2", "L3")),
    st.sampled_from(BINS),
    st.integers(1, 6),
)
pick = st.tuples(st.just("pick"), st.sampled_from(GTINS), st.integers(1, 8))
hold = st.tuples(st.just("hold"), st.sampled_from(GTINS), st.sampled_from(BINS))
relocate = st.tuples(st.just("profile"), st.sampled_from(PROFILED), st.integers(0, 4))
reserve = st.tuples(st.just("reserve"), st.sampled_from(GTINS), st.integers(1, 6))
unreserve = st.tuples(st.just("release"), st.integers(0, 13))
histories = st.lists(
    st.one_of(receive, receive, pick, hold, relocate, reserve, unreserve), min_size=1, max_size=14
)
LASTING = pendulum.now("UTC").add(days=1)
"""When the reservations made lapse (they are judged by the real clock)."""

Opener = Callable[[], Any]

TIE = [
    ("receive", GTINS[0], "L1", "H/A/1", 2),
    ("receive", GTINS[0], "L1", "H/B/1", 2),
    ("profile", "H/A", 4),
    ("hold", GTINS[0], "H/B/1"),
    ("pick", GTINS[0], 1),
]
"""One lot in two bins, one bin given a later pick sequence, then a hold and a pick."""


def _play(store: Any, steps: list[tuple[Any, ...]]) -> FefoIndex:
    """Run ``steps`` in one long-running process; return the index it kept current."""
    ledger = Ledger(store, clock=lambda: RECEIVED)
    index = index_from_ledger(ledger)
    for number, step in enumerate(steps):
        if step[0] == "receive":
            _, gtin, lot, path, quantity = step
            expiry = EXPIRIES[(GTINS.index(gtin) + int(lot[1:])) % len(EXPIRIES)]
            ledger.post(
                [
                    Movement.receipt(
                        f"r{number}",
                        item=ItemKey(gtin, lot=lot),
                        quantity=quantity,
                        to=Location.parse(path),
                        occurred_at=RECEIVED,
                        actor="goods-in",
                        expiry=expiry,
                    )
                ]
            )
            sync_index(index, ledger)
        elif step[0] == "pick":
            _, gtin, quantity = step
            request = AllocationRequest.of(gtin, quantity, use_date=USE)
            if index.allocate(request).picks:
                allocate_and_post(
                    ledger,
                    index,
                    request,
                    allow_partial=True,
                    kind=MovementKind.ISSUE,
                    movement_id=f"p{number}",
                    occurred_at=RECEIVED.add(days=1),
                    actor="picker",
                )
        elif step[0] == "hold":  # some stock in another status (skipped: NOT_AVAILABLE_STATUS)
            _, gtin, path = step
            found = ledger.positions(gtin=gtin, location=path, status=StockStatus.AVAILABLE)
            if found:
                ledger.post(
                    [
                        Movement.status_change(
                            f"h{number}",
                            item=found[0].item,
                            quantity=1,
                            at=found[0].location,
                            from_status=StockStatus.AVAILABLE,
                            to_status=StockStatus.HOLD,
                            occurred_at=RECEIVED.add(days=1),
                            actor="quality",
                            reason="QA",
                        )
                    ]
                )
                sync_index(index, ledger)
        elif step[0] == "reserve":
            _, gtin, quantity = step
            plan = index.allocate(AllocationRequest.of(gtin, quantity, use_date=USE))
            if plan.picks:
                reserve_plan(ledger, index, plan, reservation_id=f"R{number}", expires_at=LASTING)
        elif step[0] == "release":
            release_reservation(ledger, f"R{step[1]}", index=index)
        else:
            _, path, sequence = step
            store.catalogue.put_location(
                LocationProfile(path=path, kind=LocationKind.STORE, pick_sequence=sequence),
                valid_from=START.add(minutes=number),
            )
            sync_pick_sequences(index, ledger)
        index._check()
    return index


def _requests() -> Iterator[AllocationRequest]:
    for gtin in GTINS:
        for quantity in (1, 4, 9, 40):
            yield AllocationRequest.of(gtin, quantity, use_date=USE)
        yield AllocationRequest.of(gtin, 5, use_date=USE, min_shelf_life_days=60)


def _check_restart(open_store: Opener, steps: list[tuple[Any, ...]]) -> None:
    with open_store() as running:
        kept = _play(running, steps)
        with open_store() as restarted:  # a new process on the same database
            rebuilt = index_from_ledger(Ledger(restarted))
            sync_reservations(rebuilt, restarted.reservations)
            assert rebuilt.reservations() == kept.reservations()
            for request in _requests():
                assert kept.allocate(request, explain=True) == rebuilt.allocate(
                    request, explain=True
                ), request
            assert [(p.item, p.location, p.status) for p in kept.positions()] == [
                (p.item, p.location, p.status) for p in rebuilt.positions()
            ]


HOLD_UNDER_RESERVATION = [
    ("receive", GTINS[0], "L1", "H/A/1", 1),
    ("receive", GTINS[0], "L1", "H/A/2", 1),
    ("reserve", GTINS[0], 1),
    ("hold", GTINS[0], "H/A/1"),
]
"""Found by Hypothesis: a hold takes the one unit a reservation holds."""

STOCK_COMES_BACK = [
    ("receive", GTINS[0], "L1", "H/A/1", 1),
    ("reserve", GTINS[0], 1),
    ("hold", GTINS[0], "H/A/1"),
    ("receive", GTINS[0], "L1", "H/A/1", 1),
]
"""Found by Hypothesis: the reservation let go by the hold fits again after a receipt.

The store keeps it in force, so an index rebuilt after a restart holds it; the
long-running index must take it back too."""

WAITING_KEEPS_WHAT_IS_LEFT = [
    ("receive", GTINS[0], "L1", "H/A/2", 2),
    ("reserve", GTINS[0], 2),
    ("hold", GTINS[0], "H/A/2"),
    ("receive", GTINS[0], "L2", "H/A/1", 1),
    ("receive", GTINS[0], "L2", "H/A/1", 1),
    ("reserve", GTINS[0], 1),
]
"""Found by Hypothesis: a reservation waits for a unit a hold took; the unit left beside
it is still counted as reserved by the store, so the index must not plan it for another
reservation (which the store would refuse as stale, plan after plan)."""


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
@example(TIE)
@example(HOLD_UNDER_RESERVATION)
@example(STOCK_COMES_BACK)
@example(WAITING_KEEPS_WHAT_IS_LEFT)
def test_memory_index_rebuilt_plans_like_the_long_running_one(steps) -> None:
    store = MemoryStore()
    _check_restart(lambda: contextlib.nullcontext(store), steps)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(histories)
@example(TIE)
@example(STOCK_COMES_BACK)
@example(WAITING_KEEPS_WHAT_IS_LEFT)
def test_sqlite_index_rebuilt_after_restart_plans_like_the_long_running_one(steps) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        _check_restart(lambda: SqliteStore(path), steps)


@pytest.mark.postgres
def test_postgresql_index_rebuilt_after_restart_plans_like_the_long_running_one(
    postgres_dsn: str,
) -> None:
    @settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(histories)
    @example(TIE)
    @example(STOCK_COMES_BACK)
    @example(WAITING_KEEPS_WHAT_IS_LEFT)
    def check(steps) -> None:
        schema = f"t_{uuid.uuid4().hex[:20]}"
        try:
            _check_restart(lambda: PostgresStore(postgres_dsn, schema=schema), steps)
        finally:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )

    check()
