"""The daily demand projection: caught up in steps, it equals a full recompute."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import AmcMethod, DemandProjection, StockHistory, averages, demand
from medinv.errors import InvalidValueError, StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

from ._ledgers import CLOCK, GTINS, START, ZONE, random_ledger


def full(ledger: Ledger, as_of: pendulum.DateTime) -> dict[tuple[str, str], object]:
    history = StockHistory.read(ledger, as_of=as_of)
    return {(g, str(loc)): demand(history, g, loc) for g, loc in history.places()}


def projected(
    projection: DemandProjection, as_of: pendulum.DateTime
) -> dict[tuple[str, str], object]:
    return {(g, str(loc)): projection.demand(g, loc, as_of=as_of) for g, loc in projection.places()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), late=st.floats(0, 0.4), extra_days=st.integers(0, 40))
def test_caught_up_in_steps_it_equals_a_full_recompute(
    seed: int, late: float, extra_days: int
) -> None:
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK, timezone=ZONE)
    saved = MemoryStore().projections
    projection = DemandProjection(ZONE)
    for _ in _replayed_in_steps(ledger, seed, late, 12, rng):
        projection.catch_up(ledger)
        projection.save(saved)  # only what changed since the last save
    read = projection.catch_up(ledger)
    assert projection.position == ledger.store.head().position
    assert projection.catch_up(ledger) == 0 <= read
    as_of = max([START, *(r.movement.occurred_at for r in ledger.history())]).add(days=extra_days)
    assert projected(projection, as_of) == full(ledger, as_of)
    assert projection.verify(ledger, as_of=as_of) == []
    # What the store keeps, saved in steps, reads back to the same projection.
    projection.save(saved)
    again = DemandProjection.load(saved)
    assert again is not None
    assert projected(again, as_of) == full(ledger, as_of)
    assert again.to_rows() == projection.to_rows()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    late=st.floats(0, 0.4),
    windows=st.lists(st.sampled_from([1, 3, 7, 30, 365]), min_size=1, max_size=4),
)
def test_averages_asked_between_catch_ups_equal_a_full_recompute(
    seed: int, late: float, windows: list[int]
) -> None:
    # A report after every few postings: the running totals a place keeps between
    # reports must follow every change (a day folded on top, an issue or reversal
    # counted on an earlier day, a late entry that folds the product again, a
    # projection loaded back from its journal), and a wider window asked later.
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK, timezone=ZONE)
    saved = MemoryStore().projections
    projection = DemandProjection(ZONE)
    for step in _replayed_in_steps(ledger, seed, late, 8, rng):
        projection.catch_up(ledger)
        projection.save(saved)
        if rng.random() < 0.2:
            loaded = DemandProjection.load(saved)
            assert loaded is not None
            projection = loaded
        as_of = max([START, *(r.movement.occurred_at for r in ledger.history())]).add(
            days=rng.randint(0, 20)
        )
        history = StockHistory.read(ledger, as_of=as_of)
        for window in windows:
            assert projection.averages(as_of=as_of, window_days=window) == averages(
                history, window_days=window
            ), (step, window)


def test_a_report_then_more_postings_on_its_last_day_counts_that_day_again() -> None:
    # The day reported on is folded again when later movements of the same day come:
    # a stock-out at noon, stock back in the afternoon, reported before and after.
    ledger, item, store = _small_ledger()  # 30 received on the 1st, 4 issued on the 3rd
    day = START.add(days=4)
    ledger.post([Movement.issue("i5", item=item, quantity=26, source=store,
                                occurred_at=day.add(hours=2), actor="a")])  # fmt: skip
    projection = DemandProjection.build(ledger)
    as_of = day.add(hours=14)
    for method in AmcMethod:
        assert projection.averages(as_of=as_of, window_days=3, method=method) == averages(
            StockHistory.read(ledger, as_of=as_of), window_days=3, method=method
        )
    ledger.post([Movement.receipt("r5", item=item, quantity=10, to=store, expiry="2026-03-20",
                                  occurred_at=day.add(hours=6), actor="a")])  # fmt: skip
    projection.catch_up(ledger)
    for method in AmcMethod:
        got = projection.averages(as_of=as_of, window_days=3, method=method)
        assert got == averages(StockHistory.read(ledger, as_of=as_of), window_days=3, method=method)
    assert got[(GTINS[0], store)].days_counted == 3  # the last day closed with stock again


def _replayed_in_steps(
    ledger: Ledger, seed: int, late: float, every: int, rng: random.Random
) -> Iterator[int]:
    """Post a random ledger's movements into ``ledger``, yielding every few of them.

    Some movements are held back so they are stored late (dated before what was
    already folded); refused ones are dropped. What is held back is posted at the end.
    """
    source = random_ledger(MemoryStore(), seed, steps=80)
    held: list[Movement] = []
    for n, movement in enumerate(r.movement for r in source.history()):
        if rng.random() < late:
            held.append(movement)
        else:
            _post(ledger, movement)
        if held and rng.random() < 0.3:
            _post(ledger, held.pop(0))
        if n % rng.randint(1, every) == 0:
            yield n
    for movement in held:
        _post(ledger, movement)


def _post(ledger: Ledger, movement: Movement) -> None:
    with contextlib.suppress(StockError):
        ledger.post([movement])


def _small_ledger() -> tuple[Ledger, ItemKey, Location]:
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK, timezone=ZONE)
    item, store = ItemKey(GTINS[0], lot="A"), Location.parse("H/Store")
    ledger.post([
        Movement.receipt("r1", item=item, quantity=30, to=store, occurred_at=START, actor="a",
                         expiry="2026-03-20"),
        Movement.issue("i1", item=item, quantity=4, source=store, occurred_at=START.add(days=2),
                       actor="a"),
    ])  # fmt: skip
    return ledger, item, store


def test_a_late_entry_and_a_reversal_of_an_earlier_issue_are_folded_in() -> None:
    ledger, item, store = _small_ledger()
    projection = DemandProjection.build(ledger)
    as_of = START.add(days=10)
    ledger.post([
        Movement.issue("i0", item=item, quantity=26, source=store, occurred_at=START.add(days=1),
                       actor="a"),
        Movement.reversal("v1", of=ledger.store.movements_by_id(["i1"])["i1"].movement,
                          occurred_at=START.add(days=5), actor="a"),
    ])  # fmt: skip
    assert projection.catch_up(ledger) == 2
    series = projection.demand(GTINS[0], "H/Store", as_of=as_of)
    assert series.consumed[:3] == (0, 26, 0)
    assert series.stock_out[2:6] == (False, True, True, False)
    assert series == demand(StockHistory.read(ledger, as_of=as_of), GTINS[0], store)
    assert projection.verify(ledger, as_of=as_of) == []


def test_places_and_averages_follow_new_places_and_late_entries() -> None:
    # places() is kept between calls: a new place, folded on top or by a late entry
    # (which folds its product again), must show in it and in averages().
    ledger, item, store = _small_ledger()
    projection = DemandProjection.build(ledger)
    as_of = START.add(days=10)

    def agrees() -> None:
        expected = StockHistory.read(ledger, as_of=as_of).places()
        assert projection.places() == expected
        assert list(projection.averages(as_of=as_of)) == expected

    agrees()
    ward, annex = Location.parse("H/Ward"), Location.parse("H/Annex")
    ledger.post([Movement.transfer("t1", item=item, quantity=5, source=store, to=ward,
                                   occurred_at=START.add(days=3), actor="a")])  # fmt: skip
    projection.catch_up(ledger)
    agrees()
    ledger.post([Movement.transfer("t0", item=item, quantity=2, source=store, to=annex,
                                   occurred_at=START.add(days=1), actor="a")])  # fmt: skip
    projection.catch_up(ledger)
    agrees()
    assert [str(loc) for _, loc in projection.places()] == ["H/Annex", "H/Store", "H/Ward"]


@pytest.mark.parametrize("last_day", ["2026-03-19", "2026-03-20", "2026-03-21"])
def test_the_days_after_the_last_folded_one_stop_counting_a_lot_after_its_expiry(
    last_day: str,
) -> None:
    # Lot A expires on 2026-03-20: usable that day, not after. With the last event
    # folded the day before, on or after its expiry, the days carried after it must
    # count the stock-outs from the 21st on, as a full recompute does.
    ledger, item, store = _small_ledger()
    day = pendulum.Date.fromisoformat(last_day)
    at = pendulum.datetime(day.year, day.month, day.day, 10, tz=ZONE)
    if day <= pendulum.date(2026, 3, 20):
        last = Movement.issue("i9", item=item, quantity=1, source=store, occurred_at=at, actor="a")
    else:  # expired stock is scrapped, not issued
        last = Movement.scrap("x9", item=item, quantity=1, source=store, occurred_at=at,
                              actor="a", reason="expired")  # fmt: skip
    ledger.post([last])
    projection = DemandProjection.build(ledger)
    as_of = START.add(days=60)
    history = StockHistory.read(ledger, as_of=as_of)
    for window in (3, 10, 60):
        got = projection.averages(as_of=as_of, window_days=window)
        assert got == averages(history, window_days=window)
        amc = got[(GTINS[0], store)]
        assert amc.stock_out_days == min(window, (as_of.date() - pendulum.date(2026, 3, 20)).days)


def test_a_lot_received_after_a_report_on_the_last_day_stops_counting_at_its_expiry() -> None:
    # A report looks past the last day folded, where no lot stops being usable; a lot
    # received later that same day expires two days on. The days carried after the
    # last one must stop counting it then (the place keeps the next expiry it found
    # until a lot is added), as a full recompute does.
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK, timezone=ZONE)
    store, a, b = Location.parse("H/Store"), ItemKey(GTINS[0], lot="A"), ItemKey(GTINS[0], lot="B")
    ledger.post([
        Movement.receipt("ra", item=a, quantity=5, to=store, occurred_at=START, actor="a",
                         expiry="2027-01-31"),
        Movement.issue("ia", item=a, quantity=5, source=store, occurred_at=START.add(hours=1),
                       actor="a"),
    ])  # fmt: skip
    projection = DemandProjection.build(ledger)
    as_of = START.add(days=10)
    assert projection.averages(as_of=as_of, window_days=30)[(GTINS[0], store)].stock_out_days == 10
    ledger.post([Movement.receipt("rb", item=b, quantity=10, to=store, expiry="2026-02-03",
                                  occurred_at=START.add(hours=2), actor="a")])  # fmt: skip
    projection.catch_up(ledger)
    got = projection.averages(as_of=as_of, window_days=30)
    assert got == averages(StockHistory.read(ledger, as_of=as_of), window_days=30)
    assert got[(GTINS[0], store)].stock_out_days == 8  # usable from the 1st to the 3rd


def test_a_projection_that_disagrees_with_the_ledger_is_found() -> None:
    ledger, _, store = _small_ledger()
    projection = DemandProjection.build(ledger)
    as_of = START.add(days=10)
    rows = projection.to_rows()
    [key] = [k for k in rows if k.startswith(f"{GTINS[0]} H/Store\t")]
    data = json.loads(rows[key])
    data["consumed"][0][1] += 1
    tampered = DemandProjection.from_rows(
        {**rows, key: json.dumps(data)}, position=projection.position, timezone=ZONE
    )
    [mismatch] = tampered.verify(ledger, as_of=as_of)
    assert (mismatch.gtin, mismatch.location) == (GTINS[0], store)
    assert sum(mismatch.projected.consumed) == sum(mismatch.recomputed.consumed) + 1
    # Postings the projection has not caught up with are not a disagreement: it
    # describes the ledger up to its position.
    assert projection.verify(ledger, as_of=as_of) == []


def test_as_of_before_what_was_folded_is_refused() -> None:
    ledger, _, _ = _small_ledger()
    projection = DemandProjection.build(ledger)
    with pytest.raises(InvalidValueError, match="before the latest movement folded in"):
        projection.demand(GTINS[0], "H/Store", as_of=START.add(days=1))
    with pytest.raises(InvalidValueError, match="location must be"):
        projection.demand(GTINS[0], 3, as_of=START.add(days=3))  # type: ignore[arg-type]
    empty = projection.demand(GTINS[1], "H/Store", as_of=START.add(days=3))
    assert (empty.start, empty.consumed) == (None, ())


@pytest.mark.parametrize(
    ("rows", "position", "message"),
    [
        ({"x H/Store": "{"}, 0, "is not a stored demand projection"),
        ({"x H/Store": '{"format": 9}'}, 0, "unknown format"),
        ({"x H/Store": '{"format": 1}'}, 0, "is not a stored demand projection"),
        ({"x H/Store\t1": "{"}, 0, "is not a stored demand projection"),
        ({"x H/Store\t1": "{}"}, 0, "hold days of no stored place"),
        ({}, -1, "position must be"),
        ({}, True, "position must be"),
    ],
)
def test_rows_that_are_not_a_projection_are_refused(
    rows: dict[str, str], position: int, message: str
) -> None:
    with pytest.raises(InvalidValueError, match=message):
        DemandProjection.from_rows(rows, position=position, timezone=ZONE)


def test_a_time_zone_is_required() -> None:
    with pytest.raises(InvalidValueError, match="time zone"):
        DemandProjection("Mars/Olympus")
    with pytest.raises(InvalidValueError, match="give the facility time zone"):
        DemandProjection.build(MemoryStore())


def test_rows_that_do_not_join_up_are_refused() -> None:
    ledger, _, _ = _small_ledger()
    rows = DemandProjection.build(ledger).to_rows()
    state = f"{GTINS[0]} H/Store"
    [chunk] = [k for k in rows if k.startswith(state + "\t")]
    data = json.loads(rows[chunk])
    moved = {**rows, chunk: json.dumps({**data, "from": data["from"] + 1})}
    with pytest.raises(InvalidValueError, match="do not follow the days before them"):
        DemandProjection.from_rows(moved, position=2, timezone=ZONE)
    short = {**rows, chunk: json.dumps({**data, "closing": data["closing"][:-1]})}
    with pytest.raises(InvalidValueError, match="differ in length"):
        DemandProjection.from_rows(short, position=2, timezone=ZONE)
    outside = {**rows, chunk: json.dumps({**data, "consumed": [[data["from"] - 1, 2]]})}
    with pytest.raises(InvalidValueError, match="outside its row's days"):
        DemandProjection.from_rows(outside, position=2, timezone=ZONE)
    with pytest.raises(InvalidValueError, match="the days end on"):
        DemandProjection.from_rows({state: rows[state]}, position=2, timezone=ZONE)


def test_a_day_of_postings_rewrites_the_state_and_the_last_days_only() -> None:
    ledger, item, store = _small_ledger()
    ledger.post([
        Movement.issue(f"d{day}", item=item, quantity=1, source=store,
                       occurred_at=START.add(days=day), actor="a")
        for day in range(3, 20)
    ])  # fmt: skip
    projection = DemandProjection.build(ledger)
    first = START.date().toordinal()
    state = f"{GTINS[0]} H/Store"
    assert set(projection.to_rows()) == {state} | {
        f"{state}\t{n}" for n in range(first // 64, (first + 19) // 64 + 1)
    }
    ledger.post([Movement.receipt("r2", item=item, quantity=5, to=store,
                                  occurred_at=START.add(days=150), actor="a",
                                  expiry="2026-03-20")])  # fmt: skip
    projection.catch_up(ledger)
    # The state and the rows from the last day folded before (day 19) to day 150.
    assert set(projection.to_rows(changed_only=True)) == {state} | {
        f"{state}\t{n}" for n in range((first + 19) // 64, (first + 150) // 64 + 1)
    }
