"""Expiry risk equals the pandas reference on random ledgers; usable + at risk = on hand."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import StockHistory, average_monthly_consumption, demand, expiry_risk

from . import _reference as ref
from ._ledgers import EXPIRIES, START, ZONE, random_ledger


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), offset_hours=st.integers(0, 70 * 24))
def test_expiry_risk_equals_the_pandas_reference(seed: int, offset_hours: int) -> None:
    ledger = random_ledger(MemoryStore(), seed)
    as_of = START.add(hours=offset_hours)
    history = StockHistory.read(ledger, as_of=as_of)
    risks = expiry_risk(history, window_days=30)
    rates = {
        (g, str(loc)): average_monthly_consumption(demand(history, g, loc), window_days=30).per_day
        for g, loc in history.places()
    }
    frame = ref.movements_frame(ledger.history(), as_of, ZONE)
    expected = ref.expiry(frame, EXPIRIES, rates, history.today) if len(frame) else None
    got = {
        (r.gtin, str(r.location), lot.item.lot.value if lot.item.lot else ""): (
            lot.on_hand, lot.usable, lot.at_risk)
        for r in risks for lot in r.lots
    }  # fmt: skip
    want = {} if expected is None else {
        (row.gtin, row.location, row.lot): (row.qty, row.usable, row.at_risk)
        for row in expected.itertuples()
    }  # fmt: skip
    assert got == want
    for r in risks:
        assert r.usable + r.at_risk == r.on_hand
        assert [lot.item for lot in r.lots] == sorted(
            (lot.item for lot in r.lots),
            key=lambda i: (EXPIRIES[(i.gtin.value, i.lot.value if i.lot else "")] is None,
                           EXPIRIES[(i.gtin.value, i.lot.value if i.lot else "")] or history.today,
                           i.sort_key()),
        )  # fmt: skip
