"""Classes and stock ageing equal the pandas reference."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    StockHistory,
    classify_abc,
    classify_demand_pattern,
    classify_xyz,
    consumption_values,
    stock_ageing,
    stock_cover,
)
from medinv.catalogue import Product, UnitValue

from . import _reference as ref
from ._ledgers import EXPIRIES, GTINS, START, ZONE, random_ledger

keys = st.text("ABCDEFGH", min_size=1, max_size=3)


@given(
    values=st.dictionaries(keys, st.integers(0, 1000), max_size=12),
    a=st.integers(0, 100),
    b=st.integers(0, 100),
)
def test_abc_equals_the_pandas_reference(values: dict[str, int], a: int, b: int) -> None:
    share_a, share_b = Fraction(a, 100), Fraction(min(b, 100 - a), 100)
    fractions = {k: Fraction(v) for k, v in values.items()}
    assert classify_abc(values, a=share_a, b=share_b) == ref.abc(fractions, share_a, share_b)


@given(
    demand=st.dictionaries(keys, st.lists(st.integers(0, 50), max_size=12), max_size=8),
    x=st.floats(0, 2),
    spread=st.floats(0, 2),
    adi=st.floats(0.5, 3),
    cv2=st.floats(0.01, 2),
)
def test_xyz_and_demand_patterns_equal_the_pandas_reference(
    demand: dict[str, list[int]], x: float, spread: float, adi: float, cv2: float
) -> None:
    xyz, pattern = ref.xyz_and_pattern(demand, x, x + spread, adi, cv2)
    assert classify_xyz(demand, x=x, y=x + spread) == xyz
    got = classify_demand_pattern(demand, adi=adi, cv2=cv2)
    assert {k: p.value for k, p in got.items()} == pattern


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), offset_hours=st.integers(0, 200 * 24))
def test_stock_ageing_equals_the_pandas_reference(seed: int, offset_hours: int) -> None:
    ledger = random_ledger(MemoryStore(), seed)
    as_of = START.add(hours=offset_hours)
    history = StockHistory.read(ledger, as_of=as_of)
    frame = ref.movements_frame(ledger.history(), as_of, ZONE)
    expected = ref.ageing(frame, history.today) if len(frame) else {}
    got = {
        (a.item.gtin.value, str(a.location), a.item.lot.value if a.item.lot else ""): (
            a.on_hand, a.age_days, a.idle_days)
        for a in stock_ageing(history)
    }  # fmt: skip
    assert got == expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    offset_hours=st.integers(0, 70 * 24),
    window=st.integers(1, 80),
)
def test_cover_turnover_and_consumption_values_equal_the_pandas_reference(
    seed: int, offset_hours: int, window: int
) -> None:
    store = MemoryStore()
    prices = {GTINS[0]: Decimal("1.5"), GTINS[1]: Decimal("0.25")}
    for gtin, price in prices.items():
        store.catalogue.put_product(
            Product(primary_di=gtin, unit_value=UnitValue(amount=price, currency="EUR")),
            valid_from=START.subtract(days=1),
        )
    ledger = random_ledger(store, seed)
    as_of = START.add(hours=offset_hours)
    history = StockHistory.read(ledger, as_of=as_of)
    frame = ref.movements_frame(ledger.history(), as_of, ZONE)
    tables = ref.daily(frame, EXPIRIES, history.today) if len(frame) else {}
    got = {(c.gtin, str(c.location)): c for c in stock_cover(history, window_days=window)}
    assert set(got) == set(tables)
    for key, table in tables.items():
        rate, _, consumed = ref.amc(table, window, "msh")
        on_hand = int(table["closing"].iloc[-1])
        closing = table["closing"].tail(window)
        mean = Fraction(int(closing.sum()), len(closing))
        cover = got[key]
        assert (cover.on_hand, cover.per_day) == (on_hand, rate)
        assert cover.days_on_hand == (on_hand / rate if rate else None)
        assert cover.turnover == (consumed / mean if mean else None)
    expected: dict[str, Decimal] = {}
    if len(frame):
        used = ref.consumption(frame)
        first = history.today.subtract(days=window - 1)
        mask = pd.Series([day >= first for day in used["day"]], index=used.index, dtype=bool)
        for product, qty in used.loc[mask].groupby("gtin")["qty"].sum().items():
            expected[str(product)] = prices[str(product)] * int(qty)
    values = consumption_values(history, store.catalogue, window_days=window)
    assert {k: v for k, v in values.items() if v} == {k: v for k, v in expected.items() if v}
