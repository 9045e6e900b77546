"""Expiry risk: FEFO consumption at the forecast rate, the no-demand class, values."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    RiskClass,
    StockHistory,
    expiring_lots,
    expiry_risk,
)
from medinv.catalogue import PackageLevel, Product, UnitValue
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ZONE = "Europe/Paris"
GTIN, BOX = "04006381333931", "14006381333938"
STORE = Location.parse("Main/Store")
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)


def lot(name: str, gtin: str = GTIN) -> ItemKey:
    return ItemKey(gtin, lot=name)


def receipt(n: int, item: ItemKey, quantity: int, expiry: str | None, day: int = 0) -> Movement:
    return Movement.receipt(f"R{n}", item=item, quantity=quantity, to=STORE, expiry=expiry,
                            occurred_at=DAY0.add(days=day), actor="a")  # fmt: skip


def issues(item: ItemKey, per_day: int, days: int) -> list[Movement]:
    return [
        Movement.issue(
            f"I{d}",
            item=item,
            quantity=per_day,
            source=STORE,
            occurred_at=DAY0.add(days=d, hours=2),
            actor="a",
        )
        for d in range(days)
    ]


def history_of(*movements: Movement, day: int, store: MemoryStore | None = None) -> StockHistory:
    ledger = Ledger(store or MemoryStore(), timezone=ZONE)
    ledger.post(movements)
    return StockHistory.read(ledger, as_of=DAY0.add(days=day, hours=12))


def test_lots_are_consumed_in_fefo_order_at_the_forecast_rate() -> None:
    # 10 a day for 10 days (1 to 10 January); as of 10 January: 10 a day.
    history = history_of(
        receipt(0, lot("OLD"), 200, "2026-01-14"),  # 100 left after the issues
        receipt(1, lot("NEW"), 100, "2026-01-19"),
        receipt(2, lot("NONE"), 30, None),
        *issues(lot("OLD"), 10, 10),
        day=9,
    )  # fmt: skip
    [risk] = expiry_risk(history, window_days=10)
    assert risk.per_day == 10
    by_lot = {r.item.lot.value: (r.on_hand, r.usable, r.at_risk, r.risk) for r in risk.lots}  # type: ignore[union-attr]
    assert by_lot == {
        "OLD": (100, 50, 50, RiskClass.AT_RISK),  # 10 to 14 January: 5 days x 10
        "NEW": (100, 50, 50, RiskClass.AT_RISK),  # 10 days x 10 by the 19th, 50 went to OLD
        "NONE": (30, 30, 0, RiskClass.SAFE),
    }
    assert [r.item.lot.value for r in risk.lots] == ["OLD", "NEW", "NONE"]  # type: ignore[union-attr]
    assert risk.usable + risk.at_risk == risk.on_hand == 230


def test_lots_used_before_they_expire_are_not_at_risk() -> None:
    # bhima #5422: a lot consumed in time at the current rate was flagged at risk.
    history = history_of(receipt(0, lot("A"), 100, "2026-12-31"), *issues(lot("A"), 2, 10), day=9)
    [risk] = expiry_risk(history, window_days=10)
    assert [(r.at_risk, r.risk) for r in risk.lots] == [(0, RiskClass.SAFE)]


def test_zero_consumption_is_unused_stock_never_safe_and_never_at_risk() -> None:
    # bhima #5321: stock with no consumption was reported "at risk of expiring".
    history = history_of(
        receipt(0, lot("A"), 50, "2026-02-01"), receipt(1, lot("N"), 5, None), day=20
    )
    [risk] = expiry_risk(history)
    assert risk.per_day == 0
    assert [(r.at_risk, r.risk) for r in risk.lots] == [
        (50, RiskClass.NO_DEMAND),
        (0, RiskClass.SAFE),
    ]
    assert risk.usable + risk.at_risk == risk.on_hand


def test_expired_stock_is_all_at_risk_and_consumes_nothing() -> None:
    history = history_of(
        receipt(0, lot("A"), 20, "2026-01-03"), receipt(1, lot("B"), 20, "2026-01-30"),
        *issues(lot("A"), 1, 3), day=5,
    )  # fmt: skip
    [risk] = expiry_risk(history, rates={(GTIN, STORE): Fraction(1)})
    assert [(r.item.lot.value, r.usable, r.at_risk, r.risk) for r in risk.lots] == [  # type: ignore[union-attr]
        ("A", 0, 17, RiskClass.EXPIRED),
        ("B", 20, 0, RiskClass.SAFE),  # 1 a day from day 5 to day 29 is 25 days
    ]
    assert [lt.item.lot for lt in expiring_lots([risk], history, within_days=0)] == [lot("A").lot]
    assert len(expiring_lots([risk], history, within_days=30)) == 2
    with pytest.raises(InvalidValueError, match="within_days"):
        expiring_lots([risk], history, within_days=-1)
    with pytest.raises(InvalidValueError, match="negative"):
        expiry_risk(history, rates={(GTIN, STORE): Fraction(-1)})


def test_value_at_risk_uses_the_unit_value_of_the_scanned_level() -> None:
    store = MemoryStore()
    store.catalogue.put_product(
        Product(primary_di=GTIN, unit_value=UnitValue(amount="2.50", currency="EUR"),
                packages=(PackageLevel(di=BOX, contains=GTIN, quantity=10),)),
        valid_from=DAY0.subtract(days=1),
    )  # fmt: skip
    history = history_of(
        receipt(0, lot("A"), 4, "2026-01-10"), receipt(1, lot("B", BOX), 3, "2026-01-10"),
        day=2, store=store,
    )  # fmt: skip
    risks = expiry_risk(history, catalogue=store.catalogue)
    assert [(r.gtin, r.value_at_risk) for r in risks] == [
        (GTIN, UnitValue(amount=Decimal("10.00"), currency="EUR")),
        (BOX, UnitValue(amount=Decimal("75.00"), currency="EUR")),
    ]
    assert all(r.value_at_risk is None for r in expiry_risk(history))


def test_an_hibc_device_is_analysed_like_a_gtin_and_apart_from_its_look_alike() -> None:
    # The HIBC DI A04006381333931 shares the GTIN's digits; its stock is its own.
    hibc = "HIBCC:A04006381333931"
    history = history_of(
        receipt(0, lot("OLD", hibc), 200, "2026-01-14"),
        receipt(1, lot("OLD"), 7, "2026-01-14"),
        *issues(lot("OLD", hibc), 10, 10),
        day=9,
    )
    risks = {r.gtin: r for r in expiry_risk(history, window_days=10)}
    assert set(risks) == {GTIN, hibc}
    assert (risks[hibc].per_day, risks[hibc].on_hand, risks[hibc].at_risk) == (
        Fraction(10),
        100,
        50,
    )
    assert (risks[GTIN].per_day, risks[GTIN].on_hand) == (Fraction(0), 7)
    ledger = Ledger(MemoryStore(), timezone=ZONE)
    ledger.post([receipt(0, lot("OLD", hibc), 5, None), receipt(1, lot("OLD"), 7, None)])
    only = StockHistory.read(ledger, as_of=DAY0.add(hours=12), gtin=hibc)
    assert [r.gtin for r in expiry_risk(only)] == [hibc]
