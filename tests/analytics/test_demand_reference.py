"""Demand and average monthly consumption equal the pandas reference on random ledgers."""

from __future__ import annotations

import pendulum
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    AmcMethod,
    StockHistory,
    average_monthly_consumption,
    averages,
    demand,
)

from . import _reference as ref
from ._ledgers import EXPIRIES, START, ZONE, random_ledger


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A transfer at 00:45 on the day New York moves its clocks: once filed an hour early,
# on the day before.
@example(seed=1, offset_hours=833, window=1)
@given(
    seed=st.integers(0, 10**6),
    offset_hours=st.integers(0, 70 * 24),
    window=st.integers(1, 80),
)
def test_demand_and_averages_equal_the_pandas_reference(
    seed: int, offset_hours: int, window: int
) -> None:
    ledger = random_ledger(MemoryStore(), seed)
    as_of = START.add(hours=offset_hours).in_timezone("UTC")
    history = StockHistory.read(ledger, as_of=as_of)
    frame = ref.movements_frame(ledger.history(), as_of, ZONE)
    today = as_of.in_timezone(ZONE).date()
    expected = ref.daily(frame, EXPIRIES, today) if len(frame) else {}
    keys = history.places()
    assert {(g, str(loc)) for g, loc in keys} == set(expected)
    every = {
        method: {
            (g, str(loc)): amc
            for (g, loc), amc in averages(history, window_days=window, method=method).items()
        }
        for method in AmcMethod
    }
    for (gtin, location), table in expected.items():
        series = demand(history, gtin, location)
        assert series.days == [pendulum.Date(d.year, d.month, d.day) for d in table.index]
        assert list(series.consumed) == table["consumed"].tolist()
        assert list(series.stock_out) == table["stock_out"].tolist()
        assert list(series.closing) == table["closing"].tolist()
        for method in AmcMethod:
            got = average_monthly_consumption(series, window_days=window, method=method)
            rate, days, consumed = ref.amc(table, window, method.value)
            assert (got.per_day, got.days_counted, got.consumed) == (rate, days, consumed)
            # The full recompute from the window's days alone gives the same figures.
            assert every[method][(gtin, location)] == got
