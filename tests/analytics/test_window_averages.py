"""The full recompute from the window's days alone equals the average of the whole series."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import AmcMethod, StockHistory, average_monthly_consumption, averages, demand
from medinv.analytics._demand import _runs
from medinv.errors import InvalidValueError

from ._ledgers import START, random_ledger


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    offset_hours=st.integers(-24, 90 * 24),
    window=st.one_of(st.integers(1, 100), st.just(365)),
    late=st.sampled_from([0.0, 0.3]),
)
def test_averages_equal_the_average_of_each_series(
    seed: int, offset_hours: int, window: int, late: float
) -> None:
    # Windows that start before, on and after lots expire, balances that dip below
    # zero in time order (late entries), and a moment before the first movement.
    ledger = random_ledger(MemoryStore(), seed, steps=80, late=late)
    history = StockHistory.read(ledger, as_of=START.add(hours=offset_hours))
    for method in AmcMethod:
        got = averages(history, window_days=window, method=method)
        assert list(got) == history.places()
        for (gtin, location), amc in got.items():
            series = demand(history, gtin, location)
            expected = average_monthly_consumption(series, window_days=window, method=method)
            assert amc == expected, (gtin, location, method)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    offset_hours=st.integers(0, 90 * 24),
    cut=st.floats(0, 1),
    late=st.sampled_from([0.0, 0.3]),
)
def test_a_walk_from_any_day_gives_the_rest_of_the_series(
    seed: int, offset_hours: int, cut: float, late: float
) -> None:
    # The window's walk starts from the balances before its first day: each day's
    # stock-out flag and usable closing stock must equal the whole series' from there.
    ledger = random_ledger(MemoryStore(), seed, steps=80, late=late)
    history = StockHistory.read(ledger, as_of=START.add(hours=offset_hours))
    today = history.today.toordinal()
    for gtin, location in history.places():
        series = demand(history, gtin, location)
        if series.start is None or not series.consumed:
            continue
        skip = int(cut * (len(series.consumed) - 1))
        start = series.start.toordinal() + skip
        events = history._day_events((gtin, location))
        stock_out: list[bool] = []
        closing: list[int] = []
        for days, out, usable in _runs(history, events, start, today):
            stock_out += [out] * days
            closing += [usable] * days
        assert stock_out == list(series.stock_out[skip:]), (gtin, location, skip)
        assert closing == list(series.closing[skip:]), (gtin, location, skip)


@pytest.mark.parametrize("window", [0, -1, 1.5, True, "90"])
def test_averages_refuse_a_window_that_is_not_a_whole_number_of_days(window: object) -> None:
    history = StockHistory.read(random_ledger(MemoryStore(), 1), as_of=START.add(days=30))
    with pytest.raises(InvalidValueError, match="window_days must be a whole number"):
        averages(history, window_days=window)  # type: ignore[arg-type]


def test_averages_refuse_a_method_that_is_not_an_amc_method() -> None:
    history = StockHistory.read(random_ledger(MemoryStore(), 1), as_of=START.add(days=30))
    with pytest.raises(InvalidValueError, match="method must be an AmcMethod"):
        averages(history, method="msh")  # type: ignore[arg-type]
