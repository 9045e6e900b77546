"""Reservations kept in the store: seen by every process, kept across a restart, released on posting.

Each "process" is a store object of its own over one database, with its own ledger
and FEFO index (on memory, two ledgers over one store object). On memory, SQLite
and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import AllocationRequest, FefoIndex, SkipReason
from medinv.errors import InvalidValueError, StalePlanError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore, ReservationConflictError
from medinv.services import (
    index_from_ledger,
    plan_movements,
    post_plan,
    release_reservation,
    reserve_plan,
    sync_index,
    sync_reservations,
)

GTIN = "04006381333931"
STORE = Location.parse("H/Store")
EARLY, LATE = ItemKey(GTIN, lot="EARLY"), ItemKey(GTIN, lot="LATE")
USE = pendulum.date(2026, 11, 23)
AT = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
SOON = pendulum.now("UTC").add(hours=2)  # reservations are judged by the real clock


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request, tmp_path) -> Callable[[], Any]:
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: contextlib.nullcontext(shared)
    if request.param == "sqlite":
        return lambda: SqliteStore(tmp_path / "ledger.sqlite3")
    dsn, schema = (
        request.getfixturevalue("postgres_dsn"),
        request.getfixturevalue("postgres_schema"),
    )
    return lambda: PostgresStore(dsn, schema=schema)


class Process:
    """One process: its store object, ledger and index."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.ledger = Ledger(store, clock=lambda: AT)
        self.index = index_from_ledger(self.ledger)

    def sync(self) -> None:
        sync_index(self.index, self.ledger)
        sync_reservations(self.index, self.ledger)

    def plan(self, quantity: int, *, explain: bool = False):
        return self.index.allocate(
            AllocationRequest.of(GTIN, quantity, use_date=USE), explain=explain
        )

    def post(self, plan, movement_id: str, reservation_id: str | None = None):
        return post_plan(
            self.ledger,
            plan,
            index=self.index,
            reservation_id=reservation_id,
            kind=MovementKind.ISSUE,
            movement_id=movement_id,
            occurred_at=AT,
            actor="picker",
        )


@contextlib.contextmanager
def process(open_store: Callable[[], Any]) -> Iterator[Process]:
    with open_store() as store:
        yield Process(store)


def stock(open_store: Callable[[], Any]) -> None:
    """4 of EARLY, 10 of LATE in the store."""
    with open_store() as store:
        ledger = Ledger(store, clock=lambda: AT)
        for mid, item, quantity, days in (("r1", EARLY, 4, 10), ("r2", LATE, 10, 90)):
            ledger.post(
                [
                    Movement.receipt(
                        mid,
                        item=item,
                        quantity=quantity,
                        to=STORE,
                        occurred_at=AT.subtract(days=30),
                        actor="goods-in",
                        expiry=USE.add(days=days),
                    )
                ]
            )


def test_another_process_skips_what_one_reserved_and_posts_it(open_store) -> None:
    stock(open_store)
    with process(open_store) as a, process(open_store) as b:
        plan = a.plan(4)
        reservation = reserve_plan(
            a.ledger, a.index, plan, reservation_id="ORDER-1", expires_at=SOON
        )
        assert (
            reserve_plan(a.ledger, a.index, plan, reservation_id="ORDER-1", expires_at=SOON)
            == reservation
        )
        # B does not know yet: its plan would take EARLY; the store refuses to reserve it.
        stale = b.plan(4)
        assert [p.item for p in stale.picks] == [EARLY]
        with pytest.raises(ReservationConflictError, match="ORDER-2"):
            reserve_plan(b.ledger, b.index, stale, reservation_id="ORDER-2", expires_at=SOON)
        assert b.index.reservations() == ()
        # Synced, B plans around A's reservation, with the reason.
        assert sync_reservations(b.index, b.ledger) == 1
        fresh = b.plan(6, explain=True)
        assert [(p.item, p.quantity) for p in fresh.picks] == [(LATE, 6)]
        assert [(s.item, s.reason) for s in fresh.skipped] == [(EARLY, SkipReason.RESERVED)]
        # B posts A's reservation (a picker on another terminal): the store lets it go.
        b.post(plan, "PICK-1", reservation_id="ORDER-1")
        assert b.store.reservations.active() == []
        assert b.index.reservations() == ()
        a.sync()
        assert a.index.reservations() == ()
        assert a.ledger.balance(item=EARLY) == 0
        assert [(p.item, p.quantity) for p in a.plan(3).picks] == [(LATE, 3)]


def test_reservations_are_kept_across_a_restart(open_store) -> None:
    stock(open_store)
    with process(open_store) as a:
        plan = a.plan(5)
        reserve_plan(a.ledger, a.index, plan, reservation_id="ORDER-1", expires_at=SOON)
    with process(open_store) as restarted:
        assert restarted.index.reservations() == ()
        assert sync_reservations(restarted.index, restarted.ledger) == 1
        assert sync_reservations(restarted.index, restarted.ledger) == 0  # already in step
        [held] = restarted.index.reservations()
        assert (held.id, held.plan) == ("ORDER-1", plan)
        assert restarted.index.available(GTIN) == 9
        assert release_reservation(restarted.ledger, "ORDER-1", index=restarted.index) == held
        assert restarted.index.available(GTIN) == 14
        assert release_reservation(restarted.ledger, "ORDER-1") is None


def test_an_expired_reservation_holds_nothing_and_cannot_be_posted(open_store) -> None:
    stock(open_store)
    with process(open_store) as a:
        plan = a.plan(4)
        now = pendulum.now("UTC")
        reserve_plan(
            a.ledger,
            a.index,
            plan,
            reservation_id="ORDER-1",
            expires_at=now.subtract(seconds=1),  # lapsed by the time it is posted
            as_of=now.subtract(minutes=5),
        )
        assert [r.id for r in a.index.reservations()] == ["ORDER-1"]  # not synced yet
        with pytest.raises(StalePlanError, match="'ORDER-1' is not held"):
            a.post(plan, "PICK-1", reservation_id="ORDER-1")
        with pytest.raises(StalePlanError, match="'ORDER-2' is not held"):
            a.post(plan, "PICK-1", reservation_id="ORDER-2")
        assert a.ledger.balance(item=EARLY) == 4  # nothing was posted
        assert sync_reservations(a.index, a.ledger) == 1
        assert a.index.reservations() == ()
        assert a.store.reservations.purge() == 1


def test_a_stored_reservation_posted_with_another_plan_is_refused(open_store) -> None:
    stock(open_store)
    with process(open_store) as a:
        reserve_plan(a.ledger, a.index, a.plan(2), reservation_id="ORDER-1", expires_at=SOON)
        other = a.plan(3)
        with pytest.raises(InvalidValueError, match="holds another plan"):
            a.post(other, "PICK-1", reservation_id="ORDER-1")


def test_a_reservation_whose_stock_was_posted_without_release_is_not_held(open_store) -> None:
    """A process died between posting a reserved plan and releasing its reservation."""
    stock(open_store)
    with process(open_store) as a:
        plan = a.plan(4)
        reserve_plan(a.ledger, a.index, plan, reservation_id="ORDER-1", expires_at=SOON)
        a.ledger.post(
            plan_movements(
                plan, kind=MovementKind.ISSUE, movement_id="P", occurred_at=AT, actor="a"
            )
        )
    with process(open_store) as b:
        assert sync_reservations(b.index, b.ledger) == 0  # its units are gone: nothing to hold
        assert b.index.available(GTIN) == 10


def test_the_index_behind_the_ledger_lets_the_stored_reservation_go(open_store) -> None:
    stock(open_store)
    with process(open_store) as a, process(open_store) as b:
        plan = a.plan(4)
        index = FefoIndex()  # knows no stock at all
        with pytest.raises(StalePlanError):
            reserve_plan(b.ledger, index, plan, reservation_id="ORDER-1", expires_at=SOON)
        assert a.store.reservations.active() == []
        # A reservation already kept (by A) is not let go when B's stale index refuses it.
        kept = reserve_plan(a.ledger, a.index, plan, reservation_id="ORDER-1", expires_at=SOON)
        with pytest.raises(StalePlanError):
            reserve_plan(b.ledger, index, plan, reservation_id="ORDER-1", expires_at=SOON)
        assert a.store.reservations.active() == [kept]


def test_reservation_services_need_a_store_that_keeps_them(store_without) -> None:
    bare = store_without("reservations")
    assert isinstance(bare, LedgerStore)
    ledger = Ledger(bare)
    index = FefoIndex()
    plan = index.allocate(AllocationRequest.of(GTIN, 1, use_date=USE))
    with pytest.raises(InvalidValueError, match="keeps no reservations"):
        reserve_plan(ledger, index, plan, reservation_id="R", expires_at=SOON)
    with pytest.raises(InvalidValueError, match="keeps no reservations"):
        sync_reservations(index, ledger)
    with pytest.raises(InvalidValueError, match="takes a Plan"):
        reserve_plan(Ledger(MemoryStore()), index, "plan", reservation_id="R", expires_at=SOON)  # type: ignore[arg-type]
