"""`position_totals` / `sum_positions`: positions summed per product, lot, location, status."""

from __future__ import annotations

import collections
import itertools

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv import ItemKey, Location
from medinv.adapters.memory import MemoryStore
from medinv.errors import InvalidValueError
from medinv.movements import StockPosition
from medinv.ports import PositionQuery
from medinv.services import position_totals, sum_positions
from medinv.services.stock_totals import TOTAL_KEYS
from medinv.status import StockStatus
from medinv.testing import _queries
from medinv.testing.contract import _forged_commit

ITEMS = [
    ItemKey("04006381333931", lot="L1"),
    ItemKey("04006381333931"),
    ItemKey("09501101530003", lot="L1"),
]
PLACES = [Location.parse(p) for p in ("CHU/Store/A1", "CHU/Store/A2", "CHU/Ward")]

positions = st.lists(
    st.builds(
        StockPosition,
        item=st.sampled_from(ITEMS),
        location=st.sampled_from(PLACES),
        status=st.sampled_from(list(StockStatus)),
        quantity=st.integers(1, 1000),
        expiry=st.none() | st.dates().map(lambda d: pendulum.date(d.year, d.month, d.day)),
        received_at=st.none(),
    ),
    max_size=30,
)
keys = st.sampled_from(
    [c for n in range(1, 5) for c in itertools.permutations(TOTAL_KEYS, n) if len(c) <= 2]
)


@given(positions, keys)
def test_totals_are_plain_sums_per_group(found: list[StockPosition], by: tuple[str, ...]) -> None:
    def group(p: StockPosition) -> tuple[object, ...]:
        return (
            p.item.device if "product" in by or "lot" in by else None,
            p.item.lot if "lot" in by else None,
            p.location.path if "location" in by else None,
            p.status if "status" in by else None,
        )

    sums: collections.Counter[tuple[object, ...]] = collections.Counter()
    counts: collections.Counter[tuple[object, ...]] = collections.Counter()
    for p in found:
        sums[group(p)] += p.quantity
        counts[group(p)] += 1
    totals = sum_positions(found, by=by)
    assert {
        (t.product, t.lot, None if t.location is None else t.location.path, t.status): (
            t.quantity,
            t.positions,
        )
        for t in totals
    } == {g: (sums[g], counts[g]) for g in sums}
    assert totals == sorted(totals, key=lambda t: t.sort_key())
    for t in totals:
        members = [
            p.expiry
            for p in found
            if group(p)
            == (t.product, t.lot, None if t.location is None else t.location.path, t.status)
        ]
        dated = [e for e in members if e is not None]
        assert t.earliest_expiry == (min(dated) if dated else None)


def test_position_totals_read_the_store_with_the_query() -> None:
    store = MemoryStore()
    _queries.store_query_ledger(store, _forged_commit, size=60)
    query = PositionQuery(location="CHU/Store", expires_before="2027-01-01")
    assert position_totals(store, query, by=["location"]) == sum_positions(
        store.positions(query), by=["location"]
    )
    by_filters = position_totals(
        store, location="CHU/Store", expires_before="2027-01-01", by=["location"]
    )
    assert by_filters == position_totals(store, query, by=["location"])
    assert {str(t.location) for t in by_filters} <= {"CHU/Store", "CHU/Store/A1", "CHU/Store/A2"}
    assert sum(t.quantity for t in position_totals(store, by="product")) == sum(
        p.quantity for p in store.positions(PositionQuery())
    )


@pytest.mark.parametrize("by", [(), ("shelf",), ("lot", "lot")])
def test_bad_keys_are_refused(by: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValueError, match="invalid totals keys"):
        sum_positions([], by=by)


def test_a_query_and_filters_together_are_refused() -> None:
    with pytest.raises(InvalidValueError, match="not both"):
        position_totals(MemoryStore(), PositionQuery(), status="HOLD")
