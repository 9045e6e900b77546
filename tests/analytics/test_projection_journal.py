"""The demand projection saved as a journal: loaded anywhere, it is the projection saved.

A day's save appends one journal row (what the day changed); every 16th save
rewrites the places' own rows instead and deletes the journal. Whatever the
number of saves, a projection loaded from the store (as a new process would)
equals the one that saved it and a full recompute, on every store; and its
average monthly consumption equals the one of the full series.
"""

from __future__ import annotations

import contextlib
import json
import random
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.analytics import (
    AmcMethod,
    DemandProjection,
    StockHistory,
    average_monthly_consumption,
    demand,
)
from medinv.errors import InvalidValueError, StockError
from medinv.ledger import Ledger
from medinv.movements import Movement
from medinv.ports import LedgerStore

from ._ledgers import CLOCK, GTINS, ITEMS, LOTS, PLACES, START, ZONE, random_ledger
from .test_projection import full, projected

JOURNAL = "\tjournal\t"
StoreMaker = Callable[[], contextlib.AbstractContextManager[LedgerStore]]


def stored_rows(store: LedgerStore) -> dict[str, str]:
    saved = store.projections.load("daily-demand")  # type: ignore[attr-defined]
    assert saved is not None
    return dict(saved.rows)


def saved_in_steps(store: LedgerStore, seed: int, late: float, extra_days: int) -> None:
    """Post a random ledger in steps into ``store``, saving the projection after each.

    After every save, the projection loaded from the store equals the one kept in
    this process; at the end both equal a full recompute.
    """
    moves = [r.movement for r in random_ledger(MemoryStore(), seed, steps=90).history()]
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    ledger = Ledger(store, clock=lambda: CLOCK, timezone=ZONE)
    projections = store.projections  # type: ignore[attr-defined]
    kept = DemandProjection(ZONE)
    held: list[Movement] = []
    saves = 0
    every = 2 if len(moves) > 40 else 1  # more than sixteen saves: a compaction at least
    for n, movement in enumerate(moves):
        if rng.random() < late:
            held.append(movement)  # stored later, dated before what is folded: a late entry
        else:
            _post(ledger, movement)
        if held and rng.random() < 0.3:
            _post(ledger, held.pop(0))
        if n % every == 0 or n == len(moves) - 1:
            for waiting in held if n == len(moves) - 1 else ():
                _post(ledger, waiting)
            kept.catch_up(ledger)
            kept.save(projections)
            saves += 1
            loaded = DemandProjection.load(projections)
            assert loaded is not None
            assert loaded.position == kept.position
            assert loaded.to_rows() == kept.to_rows()
    assert saves > 16  # the journal was compacted at least once
    as_of = max([START, *(r.movement.occurred_at for r in ledger.history())]).add(days=extra_days)
    loaded = DemandProjection.load(projections)
    assert loaded is not None
    expected = full(ledger, as_of)
    assert projected(kept, as_of) == expected
    assert projected(loaded, as_of) == expected
    # The loaded projection goes on as the one kept would: one more day, saved, loaded.
    _post(ledger, Movement.receipt("last", item=ITEMS[0], quantity=1, to=PLACES[0],
                                   occurred_at=as_of, actor="t", expiry=LOTS[(GTINS[0], "A")]))  # fmt: skip
    loaded.catch_up(ledger)
    loaded.save(projections)
    again = DemandProjection.load(projections)
    assert again is not None
    assert projected(again, as_of) == full(ledger, as_of)


def _post(ledger: Ledger, movement: Movement) -> None:
    with contextlib.suppress(StockError):
        ledger.post([movement])


@contextlib.contextmanager
def memory_store() -> Iterator[LedgerStore]:
    yield MemoryStore()


@contextlib.contextmanager
def sqlite_store() -> Iterator[LedgerStore]:
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "l.db") as store:
        yield store


STEPS = {"seed": st.integers(0, 10**6), "late": st.floats(0, 0.3), "extra_days": st.integers(0, 40)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**STEPS)
def test_saved_in_steps_in_memory_it_loads_as_saved(
    seed: int, late: float, extra_days: int
) -> None:
    with memory_store() as store:
        saved_in_steps(store, seed, late, extra_days)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**STEPS)
def test_saved_in_steps_in_sqlite_it_loads_as_saved(
    seed: int, late: float, extra_days: int
) -> None:
    with sqlite_store() as store:
        saved_in_steps(store, seed, late, extra_days)


@pytest.mark.postgres
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(**STEPS)
def test_saved_in_steps_in_postgresql_it_loads_as_saved(
    postgres_dsn: str, seed: int, late: float, extra_days: int
) -> None:
    import psycopg  # noqa: PLC0415  (only PostgreSQL tests need the driver)
    from psycopg import sql  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs the driver)

    schema = f"t_{uuid.uuid4().hex[:20]}"
    try:
        with PostgresStore(postgres_dsn, schema=schema) as store:
            saved_in_steps(store, seed, late, extra_days)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    extra_days=st.integers(0, 40),
    window=st.integers(1, 80),
    method=st.sampled_from(AmcMethod),
)
def test_the_projections_average_equals_the_average_of_the_full_series(
    seed: int, extra_days: int, window: int, method: AmcMethod
) -> None:
    ledger = random_ledger(MemoryStore(), seed, steps=80)
    projection = DemandProjection.build(ledger)
    as_of = max([START, *(r.movement.occurred_at for r in ledger.history())]).add(days=extra_days)
    history = StockHistory.read(ledger, as_of=as_of)
    for gtin in GTINS:
        for location in ("H/Store", "H/Ward", "H/Nowhere"):
            got = projection.average_monthly_consumption(
                gtin, location, as_of=as_of, window_days=window, method=method
            )
            series = demand(history, gtin, location)
            assert got == average_monthly_consumption(series, window_days=window, method=method)
    every = projection.averages(as_of=as_of, window_days=window, method=method)
    assert list(every) == projection.places()
    assert every == {
        (g, loc): projection.average_monthly_consumption(
            g, loc, as_of=as_of, window_days=window, method=method
        )
        for g, loc in projection.places()
    }


def test_the_projections_average_checks_what_it_is_given() -> None:
    projection = DemandProjection.build(random_ledger(MemoryStore(), 3, steps=20))
    as_of = START.add(days=200)
    with pytest.raises(InvalidValueError, match="window_days must be"):
        projection.average_monthly_consumption(GTINS[0], "H/Store", as_of=as_of, window_days=0)
    with pytest.raises(InvalidValueError, match="method must be"):
        projection.average_monthly_consumption(
            GTINS[0],
            "H/Store",
            as_of=as_of,
            method="msh",  # type: ignore[arg-type]
        )
    with pytest.raises(InvalidValueError, match="location must be"):
        projection.average_monthly_consumption(GTINS[0], 3, as_of=as_of)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="window_days must be"):
        projection.averages(as_of=as_of, window_days=True)
    with pytest.raises(InvalidValueError, match="before the latest movement"):
        projection.averages(as_of=START)


def _daily_ledger() -> tuple[Ledger, MemoryStore]:
    store = MemoryStore()
    ledger = random_ledger(store, seed=11, steps=60)
    return ledger, store


def _one_more_day(ledger: Ledger, day: int) -> None:
    at = START.add(days=70 + day)
    _post(ledger, Movement.receipt(f"more-r{day}", item=ITEMS[0], quantity=5, to=PLACES[0],
                                   occurred_at=at, actor="t", expiry=LOTS[(GTINS[0], "A")]))  # fmt: skip


def test_a_days_save_appends_one_journal_row_and_leaves_the_places_rows() -> None:
    ledger, store = _daily_ledger()
    projection = DemandProjection.refresh(ledger, store.projections)
    before = stored_rows(store)
    assert not any(key.startswith(JOURNAL) for key in before)
    _one_more_day(ledger, 0)
    projection.catch_up(ledger)
    assert projection.save(store.projections) == 1  # one place changed
    after = stored_rows(store)
    assert set(after) - set(before) == {f"{JOURNAL}0"}
    assert {k: after[k] for k in before} == before
    # Saving with nothing new writes no row.
    projection.save(store.projections)
    assert stored_rows(store) == after


def test_the_sixteenth_save_rewrites_the_places_rows_and_deletes_the_journal() -> None:
    ledger, store = _daily_ledger()
    projection = DemandProjection.refresh(ledger, store.projections)
    for day in range(15):
        _one_more_day(ledger, day)
        projection = DemandProjection.refresh(ledger, store.projections)  # a new process each day
    journal = {k for k in stored_rows(store) if k.startswith(JOURNAL)}
    assert journal == {f"{JOURNAL}{n}" for n in range(15)}
    _one_more_day(ledger, 15)
    projection = DemandProjection.refresh(ledger, store.projections)
    assert stored_rows(store) == projection.to_rows()
    as_of = START.add(days=100)
    assert projection.verify(ledger, as_of=as_of) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows.pop(f"{JOURNAL}0"), "not from 0 on"),
        (lambda rows: rows.update({f"{JOURNAL}x": "{}"}), "not a stored demand projection"),
        (lambda rows: rows.update({f"{JOURNAL}1": '{"format": 9}'}), "unknown format"),
        (
            lambda rows: rows.update({f"{JOURNAL}1": '{"format": 1, "gone": [], "places": [[1]]}'}),
            "not a stored demand projection",
        ),
    ],
)
def test_journal_rows_that_are_not_a_projection_are_refused(
    change: Callable[[dict[str, str]], object], message: str
) -> None:
    ledger, store = _daily_ledger()
    projection = DemandProjection.refresh(ledger, store.projections)
    for day in range(2):
        _one_more_day(ledger, day)
        projection.catch_up(ledger)
        projection.save(store.projections)
    rows = stored_rows(store)
    change(rows)
    with pytest.raises(InvalidValueError, match=message):
        DemandProjection.from_rows(rows, position=projection.position, timezone=ZONE)


def test_a_journal_entry_that_does_not_join_its_place_is_refused() -> None:
    ledger, store = _daily_ledger()
    projection = DemandProjection.refresh(ledger, store.projections)
    _one_more_day(ledger, 0)
    projection.catch_up(ledger)
    projection.save(store.projections)
    rows = stored_rows(store)
    data = json.loads(rows[f"{JOURNAL}0"])
    entry = data["places"][0]
    moved = [*entry[:2], entry[2] + 1, *entry[3:]]  # another start than the place's
    bad = {**rows, f"{JOURNAL}0": json.dumps({**data, "places": [moved]})}
    with pytest.raises(InvalidValueError, match="starts on"):
        DemandProjection.from_rows(bad, position=projection.position, timezone=ZONE)
    late = [*entry[:8], entry[8] + 10_000, *entry[9:]]  # days after the place's last
    bad = {**rows, f"{JOURNAL}0": json.dumps({**data, "places": [late]})}
    with pytest.raises(InvalidValueError, match="do not follow"):
        DemandProjection.from_rows(bad, position=projection.position, timezone=ZONE)
