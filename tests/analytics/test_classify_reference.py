"""Classes and stock ageing equal the pandas reference."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    StockHistory,
    classify_abc,
    classify_demand_pattern,
    classify_xyz,
    stock_ageing,
)

from . import _reference as ref
from ._ledgers import START, ZONE, random_ledger

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
