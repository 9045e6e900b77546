"""Trace answers equal a brute-force scan of the whole ledger, and the mass balance holds.

Random histories of receipts, transfers, issues, consumptions, returns, status
changes, scraps, adjustments, reversals and backdated movements, over lots and
serials whose texts collide on purpose; on memory and SQLite for many examples, on
PostgreSQL for a few. The trace reads in windows of 3 positions here (see
``small_windows``) so that the paging is exercised on these small ledgers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv import _windows
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore, RecordedMovement
from medinv.trace import Tracer, TraceStep, _read

from ._histories import (
    PARTIES,
    START,
    SUBJECTS,
    brute_backward_location,
    brute_backward_party,
    brute_balance,
    brute_holdings,
    everything,
    histories,
    post_each,
)

pytestmark = pytest.mark.usefixtures("small_windows")


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of 3 positions growing by 2, chunks of 2: many pages on a ledger of a few dozen."""
    monkeypatch.setattr(_windows, "FIRST_WINDOW", 3)
    monkeypatch.setattr(_windows, "_TARGET_ROWS", 3)
    monkeypatch.setattr(_read, "_GROWTH", 2)
    monkeypatch.setattr(_read, "_CHUNK", 2)
    # The PostgreSQL store's pages, for its movement_rows.
    monkeypatch.setattr("medinv.adapters.postgres._store._ROW_PAGE", 3)


def check_history(store: LedgerStore, movements: list[Movement], data: st.DataObject) -> None:
    """Post the history, then compare every answer with the brute force."""
    post_each(store, movements)
    rows = everything(store)
    head = store.head().position
    tracer = Tracer(store)
    positions = sorted({0, head, data.draw(st.integers(0, head), label="known_at")})
    for subject in SUBJECTS:
        # every movement of the subject, in ledger order, and nothing else, field for field
        mine = [r for r in rows if subject.covers(r.movement.item)]
        assert [repr(s) for s in tracer.steps(subject)] == [expected_step(r, rows) for r in mine]
        # the mass balance holds, and equals the brute force, after every position
        walked = dict(tracer.balances(subject))
        for position, balance in walked.items():
            assert balance.balances, (subject, position, balance)
        for position in positions:
            trace = tracer.forward(subject, known_at=position)
            expected = brute_holdings(rows, subject, up_to=position)
            assert {(h.item, h.location, h.status): h.quantity for h in trace.holdings} == expected
            assert trace.balance.balances
            figures = brute_balance(rows, subject, up_to=position)
            assert {k: getattr(trace.balance, k) for k in figures} == figures
            for flow in trace.locations:  # a location's net is what it holds
                held = sum(q for (_, loc, _), q in expected.items() if loc == flow.place)
                assert flow.net == held
            sent = sum(p.sent - p.received for p in trace.parties)
            assert sent == brute_party_net(rows, subject, position)
            seen = [r.movement.occurred_at for r in mine if r.position <= position]
            assert (trace.first_at, trace.last_at) == (
                (min(seen), max(seen)) if seen else (None, None)
            )
            assert trace.movements == len(seen)
        # point in time, bitemporal
        at = START.add(hours=data.draw(st.integers(-10, 50), label="at"))
        known = data.draw(st.sampled_from(positions), label="known")
        where = tracer.where(subject, at=at, known_at=known)
        expected = brute_holdings(rows, subject, up_to=known, before=at)
        assert {(h.item, h.location, h.status): h.quantity for h in where.holdings} == expected
        assert [repr(s) for s in where.late] == [
            expected_step(r, rows)
            for r in rows
            if r.position > known
            and subject.covers(r.movement.item)
            and r.movement.occurred_at < at
        ]
        store_a = Location.parse("A/Store")
        assert where.quantity_within(store_a) == sum(
            q for (_, loc, _), q in expected.items() if loc.is_within(store_a)
        )
    # backward: a location subtree over a period, and a party
    start = START.add(hours=data.draw(st.integers(-20, 20), label="from"))
    end = start.add(hours=data.draw(st.integers(1, 60), label="hours"))
    for place in ("A/Store", "A", "C/OR"):
        back = tracer.backward(location=place, occurred_from=start, occurred_to=end)
        found = {r.item: (r.reached, r.left) for r in back.items}
        wanted = brute_backward_location(
            rows, Location.parse(place), up_to=head, start=start, end=end
        )
        assert found == wanted
    for party in PARTIES:
        back = tracer.backward(party=party, known_at=positions[-1])
        assert {r.item: (r.reached, r.left) for r in back.items} == brute_backward_party(
            rows, party, up_to=head
        )
    same_through_movements(store, data)


def same_through_movements(store: LedgerStore, data: st.DataObject) -> None:
    """Every answer read through the store's light rows equals the one read through movements.

    Compared by ``repr`` too: the same date-times with the same offsets, in the same order.
    """
    head = store.head().position
    known = data.draw(st.integers(0, head), label="known_at (rows)")
    at = START.add(hours=data.draw(st.integers(-10, 50), label="at (rows)"))
    fast, slow = Tracer(store), Tracer(WithoutRows(store))
    for subject in SUBJECTS:
        assert repr(fast.forward(subject, known_at=known)) == repr(
            slow.forward(subject, known_at=known)
        )
        assert repr(fast.where(subject, at=at, known_at=known)) == repr(
            slow.where(subject, at=at, known_at=known)
        )
        assert list(fast.balances(subject)) == list(slow.balances(subject))
        assert repr(list(fast.steps(subject))) == repr(list(slow.steps(subject)))
    for place in ("A/Store", "C/OR"):
        assert repr(fast.backward(location=place)) == repr(slow.backward(location=place))


def expected_step(recorded: RecordedMovement, rows: list[RecordedMovement]) -> str:
    """The step of a stored movement, built from it (a reversal's kind from the one it undoes).

    Compared by ``repr``: the date-times keep their offsets.
    """
    m = recorded.movement
    kinds = {r.movement.id: r.movement.kind for r in rows}
    return repr(
        TraceStep(
            position=recorded.position,
            movement_id=m.id,
            kind=m.kind,
            effective_kind=m.kind if m.reverses is None else kinds[m.reverses],
            undoes=m.reverses is not None,
            reverses=m.reverses,
            item=m.item,
            quantity=m.quantity,
            occurred_at=m.occurred_at,
            recorded_at=recorded.recorded_at,
            from_location=m.from_location,
            from_status=m.from_status,
            to_location=m.to_location,
            to_status=m.to_status,
            counterparty=m.counterparty,
        )
    )


def brute_party_net(rows: list[Any], subject: Any, position: int) -> int:
    """Sent minus received over every counterparty of the subject, by brute force."""
    total = 0
    for party in PARTIES:
        for item, (sent, received) in brute_backward_party(rows, party, up_to=position).items():
            if subject.covers(item):
                total += sent - received
    return total


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(movements=histories(), data=st.data())
def test_memory_traces_equal_a_full_scan(movements: list[Movement], data: st.DataObject) -> None:
    check_history(MemoryStore(), movements, data)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(movements=histories(), data=st.data())
def test_sqlite_traces_equal_a_full_scan(
    tmp_path: Path, movements: list[Movement], data: st.DataObject
) -> None:
    with SqliteStore(tmp_path / f"{uuid.uuid4().hex}.db") as store:
        check_history(store, movements, data)


@pytest.fixture
def postgres_stores(postgres_dsn: str) -> Iterator[Callable[[], Any]]:
    """Fresh PostgreSQL stores, one schema each, dropped afterwards."""
    import psycopg  # noqa: PLC0415  (only PostgreSQL tests need the driver)
    from psycopg import sql  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    schemas: list[str] = []

    def make() -> Any:
        schemas.append(f"t_{uuid.uuid4().hex[:20]}")
        return PostgresStore(postgres_dsn, schema=schemas[-1])

    yield make
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for name in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.mark.postgres
@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(movements=histories(max_steps=30), data=st.data())
def test_postgresql_traces_equal_a_full_scan(
    postgres_stores: Callable[[], Any], movements: list[Movement], data: st.DataObject
) -> None:
    with postgres_stores() as store:
        check_history(store, movements, data)


class WithoutRows:
    """A store as a third party might write it: every method of the port but ``movement_rows``."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name == "movement_rows":
            raise AttributeError(name)
        return getattr(self._store, name)


def test_a_store_without_movement_rows_is_a_ledger_store() -> None:
    from medinv.ports import MovementRowReader  # noqa: PLC0415

    plain = WithoutRows(MemoryStore())
    assert isinstance(plain, LedgerStore)
    assert not isinstance(plain, MovementRowReader)
