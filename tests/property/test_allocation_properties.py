"""Property tests: plans never over-allocate, never pick ineligible stock, and are FEFO-optimal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.allocation import AllocationRequest, FefoIndex, Plan, Policy, fefo_key
from medinv.allocation._entries import Product
from medinv.errors import InsufficientStockError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

GTINS = ("04006381333931", "00614141000418")
BASE = pendulum.date(2026, 11, 23)
T0 = pendulum.datetime(2026, 1, 1, tz="UTC")
LOCATIONS = (
    Location.parse("H/Store/A", pick_sequence=2),
    Location.parse("H/Store/B", pick_sequence=1),
    Location.parse("H/Ward/1", pick_sequence=1),
)
SUBTREES = (None, Location.parse("H/Store"), Location.parse("H/Ward"), Location.parse("H"))


@st.composite
def stocks(draw: st.DrawFn) -> list[StockPosition]:
    """Distinct positions over two products, a few lots, locations and statuses."""
    lots = {
        lot: (
            draw(st.none() | st.integers(-3, 12).map(lambda n: BASE.add(days=n))),
            draw(st.integers(0, 3)),
        )
        for lot in draw(st.sets(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1))
    }
    out: dict[tuple[ItemKey, Location, StockStatus], StockPosition] = {}
    for _ in range(draw(st.integers(1, 14))):
        lot = draw(st.sampled_from(sorted(lots)))
        expiry, received = lots[lot]
        item = ItemKey(draw(st.sampled_from(GTINS)), lot=lot)
        location = draw(st.sampled_from(LOCATIONS))
        status = draw(
            st.sampled_from(
                [StockStatus.AVAILABLE] * 4 + [StockStatus.QUARANTINE, StockStatus.HOLD]
            )
        )
        out[item, location, status] = StockPosition(
            item=item,
            location=location,
            status=status,
            quantity=draw(st.integers(1, 9)),
            expiry=expiry,
            received_at=T0.add(days=received),
        )
    return list(out.values())


@st.composite
def requests(draw: st.DrawFn) -> AllocationRequest:
    return AllocationRequest.of(
        draw(st.sampled_from(GTINS)),
        draw(st.integers(1, 40)),
        use_date=BASE.add(days=draw(st.integers(-2, 6))),
        min_shelf_life_days=draw(st.integers(0, 5)),
        location=draw(st.sampled_from(SUBTREES)),
    )


def eligible(stock: StockPosition, request: AllocationRequest) -> bool:
    return (
        stock.item.gtin == request.gtin
        and stock.status is StockStatus.AVAILABLE
        and (stock.expiry is None or stock.expiry >= request.min_expiry)
        and (request.location is None or stock.location.is_within(request.location))
    )


def check_plan(stock: list[StockPosition], request: AllocationRequest, plan: Plan) -> None:
    by_key = {(s.item, s.location, s.status): s for s in stock}
    picked: dict[tuple[ItemKey, Location], int] = {}
    for pick in plan.picks:
        assert pick.quantity > 0
        source = by_key[pick.item, pick.location, StockStatus.AVAILABLE]
        # never picks ineligible stock
        assert eligible(source, request)
        picked[pick.item, pick.location] = picked.get((pick.item, pick.location), 0) + pick.quantity
    # never over-allocates: per position and in total
    for (item, location), quantity in picked.items():
        assert quantity <= by_key[item, location, StockStatus.AVAILABLE].quantity
    assert plan.quantity + plan.shortfall == request.quantity
    assert plan.quantity <= request.quantity
    # FEFO-optimal: no eligible unit is left while a unit later in the order is picked
    candidates = sorted((s for s in stock if eligible(s, request)), key=fefo_key)
    expected_total = min(request.quantity, sum(s.quantity for s in candidates))
    assert plan.quantity == expected_total
    remaining = request.quantity
    greedy = []
    for s in candidates:
        if not remaining:
            break
        take = min(s.quantity, remaining)
        greedy.append((s.item, s.location, take))
        remaining -= take
    assert [(p.item, p.location, p.quantity) for p in plan.picks] == greedy


@settings(max_examples=150)
@given(stocks(), requests(), st.booleans())
def test_plans_are_safe_and_fefo_optimal(stock, request, explain):
    index = FefoIndex.from_positions(stock)
    plan = index.allocate(request, explain=explain)
    check_plan(stock, request, plan)
    if explain:
        # every ineligible position of the product is explained, and nothing picked is
        picked = {(p.item, p.location) for p in plan.picks}
        explained = {(s.item, s.location, s.status) for s in plan.skipped}
        for s in stock:
            if s.item.gtin == request.gtin and not eligible(s, request):
                assert (s.item, s.location, s.status) in explained
        assert not {(i, loc) for i, loc, st_ in explained if st_ is StockStatus.AVAILABLE} & picked


@settings(max_examples=60)
@given(stocks(), st.randoms(use_true_random=False), requests())
def test_insertion_order_does_not_matter(stock, rng, request):
    shuffled = list(stock)
    rng.shuffle(shuffled)
    a = FefoIndex.from_positions(stock).allocate(request, explain=True)
    b = FefoIndex.from_positions(shuffled).allocate(request, explain=True)
    assert a == b


@settings(max_examples=60)
@given(stocks(), requests(), st.sampled_from([Policy.FIFO, Policy.MANUAL]))
def test_other_policies_never_over_allocate_or_pick_ineligible_stock(stock, request, policy):
    lots = tuple(sorted({s.item.lot.value for s in stock if s.item.lot}))[:2]
    req = AllocationRequest(
        gtin=request.gtin,
        quantity=request.quantity,
        use_date=request.use_date,
        min_shelf_life_days=request.min_shelf_life_days,
        location=request.location,
        policy=policy,
        lots=lots if policy is Policy.MANUAL else (),
    )
    plan = FefoIndex.from_positions(stock).allocate(req)
    by_key = {(s.item, s.location, s.status): s for s in stock}
    for pick in plan.picks:
        source = by_key[pick.item, pick.location, StockStatus.AVAILABLE]
        assert eligible(source, req)
        assert pick.quantity <= source.quantity
        if policy is Policy.MANUAL:
            assert pick.item.lot is not None
            assert pick.item.lot.value in lots
    assert plan.quantity + plan.shortfall == req.quantity


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("delta"),
            st.sampled_from(GTINS),
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from(LOCATIONS),
            st.sampled_from([StockStatus.AVAILABLE, StockStatus.AVAILABLE, StockStatus.HOLD]),
            st.integers(-6, 8),
        ),
        st.tuples(st.just("reserve"), requests()),
        st.tuples(st.just("release"), st.integers(0, 10)),
        st.tuples(st.just("commit"), requests()),
        st.tuples(st.just("expire"), st.integers(0, 10)),
        st.tuples(st.just("fifo"), requests()),
        st.tuples(st.just("take"), requests()),
    ),
    max_size=40,
)


@contextlib.contextmanager
def sublists_of(load: int | None) -> Iterator[None]:
    """Give the free lists made inside the block ``load`` (values per run).

    The index's hot path walks and edits the free list's runs itself; a small load
    splits a product's free list into many runs (and joins them as they shrink), so
    that those paths run on the few positions a test has.
    """
    if load is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Product, "load", load)
        yield


@settings(max_examples=80)
@given(stocks(), operations, st.sampled_from([None, 4]))
def test_index_invariants_hold_after_random_updates(stock, ops, load):
    with sublists_of(load):
        check_random_updates(stock, ops)


def check_random_updates(stock: list[StockPosition], ops: list[tuple[Any, ...]]) -> None:  # noqa: C901  (one branch per operation)
    index = FefoIndex.from_positions(stock)
    index._check()
    counter = 0
    expiry = {"A": BASE.add(days=1), "B": None, "C": BASE.add(days=-1)}
    for op in ops:
        kind = op[0]
        if kind == "delta":
            _, gtin, lot, location, status, delta = op
            item = ItemKey(gtin, lot=lot)
            before = index.positions()
            try:
                index.apply_delta(item, location, status, delta, expiry=expiry[lot], received_at=T0)
            except InsufficientStockError:
                assert index.positions() == before  # a refused delta changes nothing
        elif kind in {"reserve", "commit"}:
            plan = index.allocate(op[1])
            counter += 1
            if kind == "reserve":
                at = T0.add(hours=counter)
                index.reserve(plan, reservation_id=f"R{counter}", expires_at=at)
            else:
                index.commit(plan)
        elif kind == "release":
            index.release(f"R{op[1]}")
        elif kind == "expire":
            index.expire_reservations(T0.add(hours=op[1]))
        elif kind == "take":
            # the hot path (plain FEFO without a location) against the general planner
            expected = index.allocate(op[1], explain=True)
            plan = index.take(op[1])
            assert (plan.picks, plan.shortfall) == (expected.picks, expected.shortfall)
        else:
            request = op[1]
            fifo = AllocationRequest(
                gtin=request.gtin,
                quantity=request.quantity,
                use_date=request.use_date,
                policy=Policy.FIFO,
            )
            index.allocate(fifo)
        index._check()
    # With every reservation released, the index plans exactly like a fresh one.
    for reservation in index.reservations() + index.waiting_reservations():
        index.release(reservation.id)
    index._check()
    fresh = FefoIndex.from_positions(index.positions())
    fresh._check()
    for gtin in GTINS:
        request = AllocationRequest.of(gtin, 50, use_date=BASE)
        assert index.allocate(request, explain=True) == fresh.allocate(request, explain=True)
