"""Slow and dead stock (age survives transfers), cover and turnover, classes' parameters."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    DemandPattern,
    MovementClass,
    StockHistory,
    classify_abc,
    classify_demand_pattern,
    classify_xyz,
    consumption_values,
    demand,
    period_totals,
    stock_ageing,
    stock_cover,
)
from medinv.catalogue import PackageLevel, Product, UnitValue
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ZONE = "Europe/Paris"
GTIN, BOX, OTHER = "04006381333931", "14006381333938", "09501101530003"
STORE, WARD = Location.parse("Main/Store"), Location.parse("Main/Ward")
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)
A = ItemKey(GTIN, lot="A")


def at(day: int) -> pendulum.DateTime:
    return DAY0.add(days=day)


def ledger_with(*movements: Movement, store: MemoryStore | None = None) -> Ledger:
    ledger = Ledger(store or MemoryStore(), timezone=ZONE)
    ledger.post(movements)
    return ledger


def test_age_survives_a_transfer_and_idle_days_count_from_the_last_issue_there() -> None:
    # ERPNext #43401: stock age was reset when the stock was transferred.
    last = Movement.issue("I2", item=A, quantity=1, source=STORE, occurred_at=at(150), actor="a")
    ledger = ledger_with(
        Movement.receipt("R1", item=A, quantity=10, to=STORE, occurred_at=at(0), actor="a"),
        Movement.issue("I1", item=A, quantity=1, source=STORE, occurred_at=at(20), actor="a"),
        Movement.transfer("T1", item=A, quantity=5, source=STORE, to=WARD, occurred_at=at(100), actor="a"),
        last,
        Movement.reversal("V2", of=last, occurred_at=at(151), actor="a"),
    )  # fmt: skip
    history = StockHistory.read(ledger, as_of=at(200))
    ages = {a.location: a for a in stock_ageing(history)}
    ward, store = ages[WARD], ages[STORE]
    assert (ward.first_received, ward.age_days, ward.last_issue) == (at(0).date(), 200, None)
    assert (ward.idle_days, ward.movement) == (200, MovementClass.DEAD)
    # The issue of day 150 was reversed: the last issue at the store is day 20's.
    assert (store.on_hand, store.last_issue, store.idle_days) == (4, at(20).date(), 180)
    assert [a.movement for a in stock_ageing(history, slow_after_days=10, dead_after_days=190)] == [
        MovementClass.DEAD, MovementClass.SLOW,
    ]  # fmt: skip
    assert [a.movement for a in stock_ageing(history, slow_after_days=181, dead_after_days=300)] == [
        MovementClass.SLOW, MovementClass.ACTIVE,
    ]  # fmt: skip
    with pytest.raises(InvalidValueError, match="above"):
        stock_ageing(history, slow_after_days=200, dead_after_days=100)
    with pytest.raises(InvalidValueError, match="slow_after_days"):
        stock_ageing(history, slow_after_days=0)


def test_days_on_hand_and_turnover() -> None:
    ledger = ledger_with(
        Movement.receipt("R1", item=A, quantity=100, to=STORE, occurred_at=at(0), actor="a"),
        *[Movement.issue(f"I{d}", item=A, quantity=10, source=STORE, occurred_at=at(d).add(hours=1),
                         actor="a") for d in range(4)],
    )  # fmt: skip
    [cover] = stock_cover(StockHistory.read(ledger, as_of=at(3).add(hours=5)))
    assert (cover.on_hand, cover.per_day, cover.days_on_hand) == (60, Fraction(10), Fraction(6))
    # Closing stock 90, 80, 70, 60: mean 75; 40 consumed.
    assert cover.turnover == Fraction(40, 75)
    [idle] = stock_cover(StockHistory.read(ledger, as_of=at(0)))
    assert (idle.per_day, idle.days_on_hand, idle.turnover) == (Fraction(0), None, Fraction(0))


def test_consumption_values_sum_every_gtin_and_location_in_base_units() -> None:
    store = MemoryStore()
    store.catalogue.put_product(
        Product(primary_di=GTIN, unit_value=UnitValue(amount="0.50", currency="EUR"),
                packages=(PackageLevel(di=BOX, contains=GTIN, quantity=10),)),
        valid_from=at(-1),
    )  # fmt: skip
    store.catalogue.put_product(Product(primary_di=OTHER), valid_from=at(-1))
    box, other = ItemKey(BOX, lot="B"), ItemKey(OTHER)
    ledger = ledger_with(
        Movement.receipt("R1", item=A, quantity=100, to=STORE, occurred_at=at(0), actor="a"),
        Movement.receipt("R2", item=box, quantity=5, to=WARD, occurred_at=at(0), actor="a"),
        Movement.receipt("R3", item=other, quantity=5, to=WARD, occurred_at=at(0), actor="a"),
        Movement.issue("I1", item=A, quantity=3, source=STORE, occurred_at=at(1), actor="a"),
        Movement.issue("I2", item=box, quantity=2, source=WARD, occurred_at=at(5), actor="a"),
        Movement.issue("I3", item=other, quantity=2, source=WARD, occurred_at=at(5), actor="a"),
        store=store,
    )  # fmt: skip
    history = StockHistory.read(ledger, as_of=at(5).add(hours=1))
    assert consumption_values(history, store.catalogue) == {GTIN: Decimal("11.50")}
    assert consumption_values(history, store.catalogue, window_days=1) == {GTIN: Decimal("10.00")}
    # The window ends on as_of's date (day 5) and holds window_days days.
    assert consumption_values(history, store.catalogue, window_days=4) == {GTIN: Decimal("10.00")}
    assert consumption_values(history, store.catalogue, window_days=5) == {GTIN: Decimal("11.50")}
    with pytest.raises(InvalidValueError, match="window_days"):
        consumption_values(history, store.catalogue, window_days=0)
    store.catalogue.put_product(
        Product(primary_di=OTHER, unit_value=UnitValue(amount="1", currency="USD")),
        valid_from=at(2),
    )
    with pytest.raises(InvalidValueError, match="currencies"):
        consumption_values(history, store.catalogue)


def test_period_totals_are_whole_periods_ending_on_as_of() -> None:
    ledger = ledger_with(
        Movement.receipt("R1", item=A, quantity=100, to=STORE, occurred_at=at(0), actor="a"),
        *[Movement.issue(f"I{d}", item=A, quantity=d, source=STORE, occurred_at=at(d).add(hours=1),
                         actor="a") for d in range(1, 10)],
    )  # fmt: skip
    series = demand(StockHistory.read(ledger, as_of=at(9).add(hours=2)), GTIN, STORE)
    assert period_totals(series, period_days=3) == [1 + 2 + 3, 4 + 5 + 6, 7 + 8 + 9]
    assert period_totals(series, period_days=4) == [2 + 3 + 4 + 5, 6 + 7 + 8 + 9]
    assert period_totals(series, period_days=4, window_days=5) == [6 + 7 + 8 + 9]
    with pytest.raises(InvalidValueError, match="period_days"):
        period_totals(series, period_days=0)


def test_class_thresholds_are_parameters_and_bad_ones_are_refused() -> None:
    values = {"p": 70, "q": 20, "r": 6, "s": 4, "t": 0}
    assert classify_abc(values) == {"p": "A", "q": "A", "r": "B", "s": "C", "t": "C"}
    assert classify_abc(values, a=Fraction(1, 2), b=Fraction(1, 4)) == {
        "p": "A", "q": "B", "r": "C", "s": "C", "t": "C",
    }  # fmt: skip
    with pytest.raises(InvalidValueError, match="a \\+ b"):
        classify_abc(values, a=0.9, b=0.2)
    with pytest.raises(InvalidValueError, match="from 0 to 1"):
        classify_abc(values, a=2)
    with pytest.raises(InvalidValueError, match="at least 0"):
        classify_abc({"p": -1})
    demand_by = {"steady": [10, 10, 10, 10], "none": [0, 0], "rare": [0, 0, 9, 0, 0, 1]}
    assert classify_xyz(demand_by) == {"steady": "X", "none": "N", "rare": "Z"}
    assert classify_demand_pattern(demand_by) == {
        "steady": DemandPattern.SMOOTH, "none": DemandPattern.NONE, "rare": DemandPattern.LUMPY,
    }  # fmt: skip
    with pytest.raises(InvalidValueError, match="must not be above"):
        classify_xyz(demand_by, x=1.0, y=0.5)
    with pytest.raises(InvalidValueError, match="whole numbers"):
        classify_xyz({"k": [1, -1]})
    with pytest.raises(InvalidValueError, match="adi"):
        classify_demand_pattern(demand_by, adi=float("inf"))
