"""The FEFO index's hot path walks its free list's runs itself: it must agree with irange.

A free list (`SortedRuns`) keeps its values as runs of at most twice its load
(1,000 by default); these tests give the lists a load of 4, so that a few dozen
positions span many runs, which split and join as stock comes and goes.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from medinv.allocation import AllocationRequest, FefoIndex, Pick, Policy, fefo_key
from medinv.allocation._entries import Product
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

GTIN = "04006381333931"
USE = pendulum.date(2026, 11, 23)
T0 = pendulum.datetime(2026, 1, 1, tz="UTC")
BINS = tuple(Location.parse(f"H/Store/{n}", pick_sequence=n % 3) for n in range(4))


@contextlib.contextmanager
def small_runs(load: int = 4) -> Iterator[None]:
    """Free lists made inside the block get ``load`` as their load (values per run)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Product, "load", load)
        yield


def lot_position(n: int, quantity: int, expiry_day: int | None) -> StockPosition:
    return StockPosition(
        item=ItemKey(GTIN, lot=f"L{n:03d}"),
        location=BINS[n % len(BINS)],
        status=StockStatus.AVAILABLE,
        quantity=quantity,
        expiry=None if expiry_day is None else USE.add(days=expiry_day),
        received_at=T0.add(hours=n % 5),
    )


def stock(count: int) -> list[StockPosition]:
    """``count`` lots whose expiries repeat and straddle the use date; some have none."""
    return [
        lot_position(n, 1 + n % 7, None if n % 11 == 0 else (n * 7) % 23 - 6) for n in range(count)
    ]


def free_list(index: FefoIndex) -> Any:
    product = index._products.get(GTIN)  # an emptied product is forgotten
    return [] if product is None else product.free


def greedy(index: FefoIndex, request: AllocationRequest) -> tuple[Pick, ...]:
    """The reference plan: unreserved AVAILABLE units not expired, sorted by `fefo_key`.

    Every reservation in force counts against the units it picks, held or waiting
    (as a reservation store counts them).
    """
    held: Counter[tuple[ItemKey, Location]] = Counter()
    for reservation in index.reservations() + index.waiting_reservations():
        for pick in reservation.plan.picks:
            held[pick.item, pick.location] += pick.quantity
    candidates = sorted(
        (
            stock
            for stock in index.positions(request.gtin)
            if stock.status is StockStatus.AVAILABLE
            and (stock.expiry is None or stock.expiry >= request.min_expiry)
        ),
        key=fefo_key,
    )
    picks = []
    remaining = request.quantity
    for stock in candidates:
        free = stock.quantity - held[stock.item, stock.location]
        if free <= 0 or not remaining:
            continue
        take = min(free, remaining)
        picks.append(
            Pick(item=stock.item, location=stock.location, quantity=take, expiry=stock.expiry)
        )
        remaining -= take
    return tuple(picks)


def test_the_walk_starts_where_irange_does_for_every_threshold():
    with small_runs():
        index = FefoIndex.from_positions(stock(60))
    product = index._products[GTIN]
    free = product.free
    lists = free.runs
    assert len(lists) > 5  # the test is about many runs
    flat = [slot for sub in lists for slot in sub]
    base = USE.toordinal()
    for threshold in [*range(base - 8, base + 20), 10**9, 10**9 + 1]:
        for remembered in (False, True):  # a fresh bisection, then the remembered one
            if not remembered:
                product.at = (-1, 0, 0)  # forget the last bisection
            pos, idx = product.first(threshold)
            before = sum(len(sub) for sub in lists[:pos]) + idx
            assert flat[before:] == list(free.irange((threshold,)))
        index._check()


def test_the_walk_starts_where_irange_does_with_one_run_and_with_none():
    index = FefoIndex.from_positions(stock(30))
    product = index._products[GTIN]
    assert len(product.free.runs) == 1
    base = USE.toordinal()
    for threshold in range(base - 8, base + 20):
        product.at = (-1, 0, 0)  # forget the last bisection
        pos, idx = product.first(threshold)
        assert product.free.runs[pos][idx:] == list(product.free.irange((threshold,)))
    empty = FefoIndex.from_positions([lot_position(1, 3, 5)])
    empty.take(AllocationRequest.of(GTIN, 3, use_date=USE))
    assert empty.allocate(AllocationRequest.of(GTIN, 1, use_date=USE)).shortfall == 1
    empty._check()


@pytest.mark.parametrize("load", [4, 1000])
def test_taking_everything_one_unit_at_a_time_empties_the_index(load):
    with small_runs(load):
        index = FefoIndex.from_positions(stock(40))
    total = index.available(GTIN)
    while True:
        plan = index.take(AllocationRequest.of(GTIN, 1, use_date=USE.add(days=-8)))
        index._check()
        if plan.shortfall:
            break
    assert index.available(GTIN) == 0
    assert total == sum(p.quantity for p in stock(40))
    assert index.positions() == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("take"),
                st.integers(1, 30),
                st.integers(-8, 12),
                st.sampled_from([0, 0, 0, 3]),
            ),
            st.tuples(st.just("delta"), st.integers(0, 59), st.integers(-3, 6)),
            st.tuples(st.just("reserve"), st.integers(1, 10), st.integers(-8, 12)),
        ),
        max_size=60,
    )
)
# Found by Hypothesis: a reservation left waiting by a unit that went keeps the rest.
@example([("reserve", 6, 4), ("delta", 8, -1), ("take", 1, 4, 0)])
def test_takes_over_many_runs_match_the_general_planner(ops):
    with small_runs():
        index = FefoIndex.from_positions(stock(60))
        held = 0
        for op in ops:
            if op[0] == "take":
                _, quantity, day, shelf = op
                request = AllocationRequest.of(
                    GTIN, quantity, use_date=USE.add(days=day), min_shelf_life_days=shelf
                )
                expected = greedy(index, request)
                assert index.allocate(request, explain=True).picks == expected
                assert index.allocate(request).picks == expected
                plan = index.take(request)
                assert plan.picks == expected
                assert plan.shortfall == quantity - sum(p.quantity for p in expected)
            elif op[0] == "delta":
                _, n, delta = op
                spec = lot_position(n, 1, None if n % 11 == 0 else (n * 7) % 23 - 6)
                balance = {
                    p.item: p.quantity for p in index.positions() if p.location == spec.location
                }.get(spec.item, 0)
                index.apply_delta(
                    spec.item,
                    spec.location,
                    StockStatus.AVAILABLE,
                    max(delta, -balance),
                    expiry=spec.expiry,
                    received_at=spec.received_at,
                )
            else:
                _, quantity, day = op
                plan = index.allocate(
                    AllocationRequest.of(GTIN, quantity, use_date=USE.add(days=day))
                )
                held += 1
                index.reserve(plan, reservation_id=f"R{held}")
            index._check()


def test_taking_keeps_the_fifo_list_in_step():
    with small_runs():
        index = FefoIndex.from_positions(stock(40))
        fifo = AllocationRequest.of(GTIN, 5, use_date=USE, policy=Policy.FIFO)
        index.allocate(fifo)  # builds the FIFO list, maintained from then on
        product = index._products[GTIN]
        assert product.fifo is not None
        before = len(product.fifo)
        index.take(AllocationRequest.of(GTIN, 25, use_date=USE))
        index._check()
    assert len(product.fifo) < before
    assert index.allocate(fifo) == FefoIndex.from_positions(index.positions()).allocate(fifo)


def test_check_notices_broken_runs():
    with small_runs():
        index = FefoIndex.from_positions(stock(40))
    free = free_list(index)
    free.maxes[0] = free.runs[1][0]
    with pytest.raises(AssertionError, match="runs are consistent"):
        index._check()


def test_check_notices_a_wrong_remembered_bisection():
    index = FefoIndex.from_positions(stock(40))
    index.take(AllocationRequest.of(GTIN, 1, use_date=USE))
    product = index._products[GTIN]
    threshold, pos, idx = product.at
    assert threshold == USE.toordinal()
    product.at = (threshold, pos, idx + 1)
    with pytest.raises(AssertionError, match="remembered bisection is where"):
        index._check()
    product.at = (threshold, pos + 5, idx)
    with pytest.raises(AssertionError, match="remembered bisection is a place"):
        index._check()
