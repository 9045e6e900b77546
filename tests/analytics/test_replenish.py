"""Replenishment: the stock position, on-order suppression, packaging, reorder points."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    DemandSeries,
    StockHistory,
    combined_series,
    reorder_point,
    replenishment,
)
from medinv.catalogue import PackageLevel, Product, ReorderPolicy
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ZONE = "Europe/Paris"
EACH, BOX, CASE = "04006381333931", "14006381333938", "24006381333935"
STORE = Location.parse("Main/Store")
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)
PACKS = (
    PackageLevel(di=CASE, contains=BOX, quantity=5),
    PackageLevel(di=BOX, contains=EACH, quantity=10),
)


def store_with(
    policy: ReorderPolicy | None, *, packages: tuple[PackageLevel, ...] = PACKS
) -> MemoryStore:
    store = MemoryStore()
    store.catalogue.put_product(
        Product(primary_di=EACH, packages=packages, reorder=policy),
        valid_from=DAY0.subtract(days=30),
    )
    return store


def post(store: MemoryStore, *movements: Movement) -> Ledger:
    ledger = Ledger(store, timezone=ZONE)
    ledger.post(movements)
    return ledger


def receipt(
    n: int, quantity: int, expiry: str | None = None, *, gtin: str = EACH, lot: str = "A"
) -> Movement:
    return Movement.receipt(f"R{n}", item=ItemKey(gtin, lot=lot), quantity=quantity, to=STORE,
                            expiry=expiry, occurred_at=DAY0, actor="a")  # fmt: skip


def issues(per_day: list[int], *, lot: str = "A") -> list[Movement]:
    return [
        Movement.issue(
            f"I{d}",
            item=ItemKey(EACH, lot=lot),
            quantity=q,
            source=STORE,
            occurred_at=DAY0.add(days=d, hours=1),
            actor="a",
        )
        for d, q in enumerate(per_day)
        if q
    ]


def read(ledger: Ledger, day: int) -> StockHistory:
    return StockHistory.read(ledger, as_of=DAY0.add(days=day, hours=12))


def test_stock_on_order_suppresses_a_new_proposal() -> None:
    # ERPNext #36154: a new material request was raised every day for the same need.
    store = store_with(ReorderPolicy(reorder_point=100, maximum=300))
    ledger = post(store, receipt(0, 120), *issues([10] * 5))
    [day5] = replenishment(read(ledger, 5), store.catalogue)
    assert (day5.position, day5.low, day5.quantity, day5.order_di, day5.packages) == (
        70,
        True,
        230,
        BOX,
        23,
    )
    # The order is placed (not received yet): the next day proposes nothing more.
    ledger.post(issues([0] * 5 + [5]))
    [day6] = replenishment(read(ledger, 6), store.catalogue, on_order={(EACH, "Main/Store"): 230})
    assert (day6.usable, day6.on_order, day6.position, day6.low, day6.quantity) == (
        65,
        230,
        295,
        True,
        0,
    )


def test_stock_at_risk_of_expiry_and_reservations_are_not_counted_on() -> None:
    store = store_with(ReorderPolicy(reorder_point=50, maximum=200))
    # 10 a day; lot A (100) expires in 3 days: 40 of it are usable, 60 at risk.
    ledger = post(store, receipt(0, 150, "2026-01-08"), *issues([10] * 5))
    [line] = replenishment(read(ledger, 4), store.catalogue, reserved={(EACH, STORE): 5})
    assert (line.usable, line.at_risk, line.reserved) == (40, 60, 5)
    assert line.usable + line.at_risk == 100
    assert (line.position, line.quantity, line.packages) == (35, 170, 17)


def test_min_max_orders_up_to_the_maximum_only_at_or_below_the_minimum() -> None:
    store = store_with(ReorderPolicy(minimum=40, maximum=95), packages=())
    ledger = post(store, receipt(0, 41))
    assert [line.quantity for line in replenishment(read(ledger, 0), store.catalogue)] == [0]
    ledger.post(issues([1]))
    [line] = replenishment(read(ledger, 0), store.catalogue)
    assert (line.reorder_level, line.target, line.quantity, line.order_di) == (40, 95, 55, EACH)


def test_the_reorder_point_comes_from_demand_and_lead_time_without_a_typed_one() -> None:
    store = store_with(ReorderPolicy(minimum=5, lead_time_days=4), packages=())
    daily = [3, 5, 0, 4, 8, 2, 6, 4]
    ledger = post(store, receipt(0, 1000), *issues(daily))
    [line] = replenishment(read(ledger, 7), store.catalogue, service_level=0.9)
    assert line.computed is not None
    d, sd = Fraction(sum(daily), 8), statistics.stdev(daily)
    z = statistics.NormalDist().inv_cdf(0.9)
    assert (line.computed.per_day, line.computed.sd_per_day) == (d, sd)
    assert line.computed.safety_stock == pytest.approx(z * sd * 2)
    assert line.reorder_level == math.ceil(float(d) * 4 + z * sd * 2)
    assert line.target == line.reorder_level + math.ceil(d * 4)
    assert line.quantity == 0  # 1000 - 32 on hand


def test_the_variable_lead_time_form() -> None:
    series = DemandSeries(gtin=EACH, location=STORE, start=DAY0.date(),
                          consumed=(2, 4, 6, 4), stock_out=(False,) * 4, closing=(9,) * 4)  # fmt: skip
    fixed = reorder_point(series, lead_time_days=9)
    varied = reorder_point(series, lead_time_days=9, lead_time_sd_days=2.0)
    sd, z = statistics.stdev([2, 4, 6, 4]), statistics.NormalDist().inv_cdf(0.95)
    assert fixed.safety_stock == pytest.approx(z * sd * 3)
    assert varied.safety_stock == pytest.approx(z * math.sqrt(sd**2 * 9 + 16 * 4))
    assert varied.quantity == math.ceil(36 + varied.safety_stock)
    empty = DemandSeries(
        gtin=EACH, location=STORE, start=None, consumed=(), stock_out=(), closing=()
    )
    assert reorder_point(empty, lead_time_days=3).quantity == 0


def test_a_product_counted_in_boxes_and_eaches_is_one_line_in_base_units() -> None:
    store = store_with(ReorderPolicy(reorder_point=100, maximum=200))
    ledger = post(store, receipt(0, 30), receipt(1, 4, gtin=BOX, lot="B"), *issues([5, 5]))
    [line] = replenishment(read(ledger, 1), store.catalogue)
    assert (line.product, line.usable, line.position) == (EACH, 20 + 40, 60)
    assert (line.quantity, line.packages) == (140, 14)


def test_products_without_a_policy_or_outside_the_catalogue_are_left_out() -> None:
    store = store_with(None)
    ledger = post(store, receipt(0, 3), receipt(1, 3, gtin="09501101530003"))
    assert replenishment(read(ledger, 0), store.catalogue) == []


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_quantities_and_parameters_are_refused(bad: object) -> None:
    store = store_with(ReorderPolicy(minimum=1))
    history = read(post(store, receipt(0, 3)), 0)
    with pytest.raises(InvalidValueError, match="on_order"):
        replenishment(history, store.catalogue, on_order={(EACH, STORE): bad})  # type: ignore[arg-type]
    series = DemandSeries(
        gtin=EACH, location=STORE, start=None, consumed=(), stock_out=(), closing=()
    )
    with pytest.raises(InvalidValueError, match="lead_time_days"):
        reorder_point(series, lead_time_days=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="service_level"):
        reorder_point(series, lead_time_days=1, service_level=bad + 1)  # type: ignore[operator]
    with pytest.raises(InvalidValueError, match="lead_time_sd_days"):
        reorder_point(series, lead_time_days=1, lead_time_sd_days=float("nan"))


def test_combined_series_counts_a_day_out_only_when_every_gtin_was_out() -> None:
    a = DemandSeries(gtin=EACH, location=STORE, start=DAY0.date(), consumed=(1, 2, 0),
                     stock_out=(False, True, True), closing=(1, 0, 0))  # fmt: skip
    b = DemandSeries(gtin=BOX, location=STORE, start=DAY0.date().add(days=1), consumed=(1, 0),
                     stock_out=(False, True), closing=(2, 0))  # fmt: skip
    both = combined_series([(a, 1), (b, 10)], gtin=EACH, location=STORE)
    assert (both.consumed, both.stock_out, both.closing) == (
        (1, 12, 0),
        (False, False, True),
        (1, 20, 0),
    )
    assert combined_series([], gtin=EACH, location=STORE).start is None
