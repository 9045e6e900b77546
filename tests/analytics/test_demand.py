"""Demand: what counts as consumption, stock-out days, and the averages' windows."""

from __future__ import annotations

from fractions import Fraction

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    AmcMethod,
    DemandSeries,
    StockHistory,
    average_monthly_consumption,
    demand,
)
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

ZONE = "Europe/Paris"
GTIN = "04006381333931"
LOT = ItemKey(GTIN, lot="A")
STORE, WARD = Location.parse("Main/Store"), Location.parse("Main/Ward")
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)


def ledger_with(*movements: Movement) -> Ledger:
    ledger = Ledger(MemoryStore(), timezone=ZONE)
    ledger.post(movements)
    return ledger


def receive(n: int, quantity: int, day: int, *, to: Location = STORE, item: ItemKey = LOT,
            expiry: str | None = None) -> Movement:  # fmt: skip
    return Movement.receipt(f"R{n}", item=item, quantity=quantity, to=to,
                            occurred_at=DAY0.add(days=day), actor="a", expiry=expiry)  # fmt: skip


def issue(n: int, quantity: int, day: int, *, source: Location = STORE, hours: int = 0) -> Movement:
    return Movement.issue(f"I{n}", item=LOT, quantity=quantity, source=source,
                          occurred_at=DAY0.add(days=day, hours=hours), actor="a")  # fmt: skip


def series_at(ledger: Ledger, day: int, location: Location = STORE) -> DemandSeries:
    history = StockHistory.read(ledger, as_of=DAY0.add(days=day))
    return demand(history, GTIN, location)


def test_the_window_never_reaches_back_before_the_product_was_first_stocked() -> None:
    # bhima #5482: a window starting before the depot opened doubled the average.
    # Stocked on day 300, 10 a day consumed for 30 days, a one-year window.
    moves = [receive(0, 1000, 300)] + [issue(d, 10, 300 + d) for d in range(30)]
    ledger = ledger_with(*moves)
    series = series_at(ledger, 329)
    assert series.start == DAY0.add(days=300).date()
    for method in AmcMethod:
        amc = average_monthly_consumption(series, window_days=365, method=method)
        assert amc.window_days == 30
        assert amc.window_start == DAY0.add(days=300).date()
        assert amc.per_day == 10
        assert amc.per_month == 305


def test_only_issues_and_consumptions_count_and_reversals_net_out_on_their_day() -> None:
    original = issue(1, 7, 2)
    ledger = ledger_with(
        receive(0, 100, 0),
        issue(0, 5, 1),
        original,
        Movement.consumption("C1", item=LOT, quantity=3, source=STORE,
                             occurred_at=DAY0.add(days=3), actor="a", reference="P"),
        Movement.transfer("T1", item=LOT, quantity=20, source=STORE, to=WARD,
                          occurred_at=DAY0.add(days=3), actor="a"),
        Movement.scrap("X1", item=LOT, quantity=2, source=STORE,
                       occurred_at=DAY0.add(days=3), actor="a", reason="broken"),
        Movement.reversal("V1", of=original, occurred_at=DAY0.add(days=4), actor="a"),
        issue(2, 4, 4, source=WARD),
    )  # fmt: skip
    assert series_at(ledger, 4).consumed == (0, 5, 0, 3, 0)
    assert series_at(ledger, 4, WARD).consumed == (0, 4)
    # Before the reversal occurred, the issue still counts.
    assert series_at(ledger, 3).consumed == (0, 5, 7, 3)


def test_days_are_facility_days_whatever_offset_a_movement_was_given_in() -> None:
    # 23:30 UTC on 1 January is 00:30 on 2 January in Paris.
    late = pendulum.datetime(2026, 1, 1, 23, 30, tz="UTC")
    ledger = ledger_with(
        receive(0, 10, 0),
        Movement.issue("I9", item=LOT, quantity=4, source=STORE, occurred_at=late, actor="a"),
    )
    assert series_at(ledger, 1).consumed == (0, 4)


def test_stock_out_days_are_days_without_usable_stock_at_any_moment() -> None:
    ledger = ledger_with(
        receive(0, 10, 0),
        issue(0, 10, 1),  # runs out on day 1: day 1 had stock
        # days 2 and 3 have none
        Movement.receipt("R1", item=LOT, quantity=5, to=STORE, occurred_at=DAY0.add(days=4),
                         actor="a", status=StockStatus.QUARANTINE),
        Movement.status_change("S1", item=LOT, quantity=5, at=STORE,
                               from_status=StockStatus.QUARANTINE,
                               to_status=StockStatus.AVAILABLE,
                               occurred_at=DAY0.add(days=5), actor="a", reason="QA"),
    )  # fmt: skip
    series = series_at(ledger, 6)
    assert series.stock_out == (False, False, True, True, True, False, False)
    assert series.closing == (10, 0, 0, 0, 0, 5, 5)
    msh = average_monthly_consumption(series, method=AmcMethod.MSH)
    dis = average_monthly_consumption(series, method=AmcMethod.DAYS_IN_STOCK)
    cal = average_monthly_consumption(series, method=AmcMethod.CALENDAR)
    assert (msh.days_counted, dis.days_counted, cal.days_counted) == (4, 3, 7)
    assert msh.stock_out_days == 3
    assert msh.per_day == Fraction(10, 4)


def test_expired_stock_is_not_usable_stock() -> None:
    ledger = ledger_with(receive(0, 10, 0, expiry="2026-01-02"))
    assert series_at(ledger, 3).stock_out == (False, False, True, True)


def test_days_in_stock_falls_back_when_every_day_ended_empty() -> None:
    ledger = ledger_with(receive(0, 4, 0), issue(0, 4, 0, hours=1))
    amc = average_monthly_consumption(series_at(ledger, 1), method=AmcMethod.DAYS_IN_STOCK)
    assert (amc.days_counted, amc.per_day) == (1, Fraction(4))


def test_a_product_never_stocked_there_has_an_empty_series_and_no_consumption() -> None:
    ledger = ledger_with(receive(0, 4, 0))
    series = series_at(ledger, 3, WARD)
    assert (series.start, series.days, series.consumed) == (None, [], ())
    amc = average_monthly_consumption(series)
    assert (amc.window_start, amc.window_days, amc.per_month) == (None, 0, Fraction(0))


def test_movements_after_as_of_or_after_the_position_are_left_out() -> None:
    ledger = ledger_with(receive(0, 10, 0), issue(0, 3, 1), issue(1, 2, 5))
    assert sum(series_at(ledger, 4).consumed) == 3
    history = StockHistory.read(ledger, as_of=DAY0.add(days=9), up_to_position=2)
    assert sum(demand(history, GTIN, "Main/Store").consumed) == 3


def test_reading_needs_a_time_zone_an_aware_moment_and_a_ledger() -> None:
    store = MemoryStore()
    with pytest.raises(InvalidValueError, match="facility time zone"):
        StockHistory.read(store, as_of=DAY0)
    with pytest.raises(InvalidValueError, match="time zone"):
        StockHistory.read(store, as_of=DAY0, timezone="Mars/Olympus")
    with pytest.raises(InvalidValueError, match="Ledger or a LedgerStore"):
        StockHistory.read(object(), as_of=DAY0, timezone=ZONE)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        StockHistory.read(store, as_of="2026-01-01T10:00:00", timezone=ZONE)
    history = StockHistory.read(store, as_of=DAY0, timezone=ZONE)
    assert (history.places(), history.timezone, history.today) == ([], ZONE, DAY0.date())


@pytest.mark.parametrize("window", [0, -1, 1.5, True, "7"])
def test_a_window_is_a_whole_number_of_days(window: object) -> None:
    series = series_at(ledger_with(receive(0, 4, 0)), 1)
    with pytest.raises(InvalidValueError, match="window_days"):
        average_monthly_consumption(series, window_days=window)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="AmcMethod"):
        average_monthly_consumption(series, method="msh")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="location"):
        demand(StockHistory.read(MemoryStore(), as_of=DAY0, timezone=ZONE), GTIN, 3)  # type: ignore[arg-type]


def test_a_late_entry_of_an_earlier_receipt_moves_the_first_stocked_day_back() -> None:
    ledger = ledger_with(receive(0, 10, 5))
    ledger.post([receive(1, 4, 2, to=STORE)])  # recorded later, occurred earlier
    series = series_at(ledger, 6)
    assert series.start == DAY0.add(days=2).date()
    assert series.stock_out == (False,) * 5
