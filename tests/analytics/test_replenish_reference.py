"""Reorder points and stock positions equal the pandas reference on random ledgers."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    StockHistory,
    average_monthly_consumption,
    demand,
    reorder_point,
    replenishment,
)
from medinv.catalogue import Product, ReorderPolicy

from . import _reference as ref
from ._ledgers import EXPIRIES, GTINS, START, ZONE, random_ledger


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    offset_hours=st.integers(0, 70 * 24),
    lead=st.integers(0, 20),
    service=st.floats(0.5, 0.999),
    on_order=st.integers(0, 50),
)
def test_reorder_points_and_positions_equal_the_pandas_reference(
    seed: int, offset_hours: int, lead: int, service: float, on_order: int
) -> None:
    store = MemoryStore()
    for gtin in GTINS:
        policy = ReorderPolicy(lead_time_days=lead, maximum=400)
        store.catalogue.put_product(
            Product(primary_di=gtin, reorder=policy), valid_from=START.subtract(days=1)
        )
    ledger = random_ledger(store, seed)
    as_of = START.add(hours=offset_hours)
    history = StockHistory.read(ledger, as_of=as_of)
    frame = ref.movements_frame(ledger.history(), as_of, ZONE)
    if not len(frame):
        assert replenishment(history, store.catalogue) == []
        return
    tables = ref.daily(frame, EXPIRIES, history.today)
    z = statistics.NormalDist().inv_cdf(service)
    rates = {}
    for gtin, location in history.places():
        series = demand(history, gtin, location)
        rate = average_monthly_consumption(series, window_days=60).per_day
        rates[(gtin, str(location))] = rate
        got = reorder_point(series, lead_time_days=lead, service_level=service, window_days=60)
        sd, point = ref.reorder_level(tables[(gtin, str(location))], 60, lead, z, rate)
        assert got.sd_per_day == pytest.approx(sd, abs=1e-9)
        assert got.quantity == point
    lots = ref.expiry(frame, EXPIRIES, rates, history.today)
    usable = lots.groupby(["gtin", "location"])["usable"].sum().to_dict()
    orders = dict.fromkeys(history.places(), on_order)
    lines = replenishment(history, store.catalogue, on_order=orders, service_level=service,
                          window_days=60)  # fmt: skip
    assert {(ln.product, str(ln.location)) for ln in lines} == set(tables)
    for line in lines:
        expected_usable = int(usable.get((line.product, str(line.location)), 0))
        assert line.usable == expected_usable
        assert line.position == expected_usable + on_order
        level = line.reorder_level
        assert line.quantity == (max(400, level) - line.position if line.position <= level else 0)
