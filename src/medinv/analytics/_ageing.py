"""Slow and dead stock, days on hand and turnover.

A lot's **age** counts from the first day it came into any location, so moving
it to another shelf does not make it young again; its **idle days** count from
its last issue or consumption at the location (from its age when it was never
issued there).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from fractions import Fraction

import attrs
import pendulum

from medinv.analytics._demand import AmcMethod, average_monthly_consumption, demand
from medinv.analytics._history import StockHistory
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.ports import CatalogueStore

__all__ = [
    "LotAge",
    "MovementClass",
    "StockCover",
    "consumption_values",
    "stock_ageing",
    "stock_cover",
]


class MovementClass(enum.Enum):
    """How a lot at a location moves."""

    ACTIVE = "active"
    """Issued within the slow-moving threshold."""
    SLOW = "slow"
    """Idle for at least the slow-moving threshold."""
    DEAD = "dead"
    """Idle for at least the dead-stock threshold."""


@attrs.frozen(kw_only=True)
class LotAge:
    """One item on hand at one location: how old it is and how long it has sat idle."""

    item: ItemKey
    """The stock item."""
    location: Location
    """Where it is."""
    on_hand: int
    """Quantity at the location at ``as_of``, in every status."""
    first_received: pendulum.Date
    """The first day it came into any location (transfers do not reset it)."""
    age_days: int
    """Days from ``first_received`` to ``as_of``'s date."""
    last_issue: pendulum.Date | None
    """The last day it was issued or consumed at this location; ``None`` if never."""
    idle_days: int
    """Days since ``last_issue``, else since ``first_received``."""
    movement: MovementClass
    """Active, slow or dead by ``idle_days``."""


def _days(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{name} must be a whole number of days of at least 1, not {value!r:.40}"
        raise InvalidValueError(msg)
    return value


def stock_ageing(
    history: StockHistory, *, slow_after_days: int = 90, dead_after_days: int = 180
) -> list[LotAge]:
    """Every item on hand at every location with its age and idle days.

    Args:
        history: the ledger as read by
            [`StockHistory.read`][medinv.analytics.StockHistory.read].
        slow_after_days: idle days from which stock is slow-moving (default 90).
        dead_after_days: idle days from which stock is dead (default 180).

    Returns:
        Sorted by idle days (longest first), then item and location.

    Raises:
        InvalidValueError: thresholds that are not whole numbers of at least 1, or
            a slow threshold above the dead one.
    """
    slow, dead = (
        _days("slow_after_days", slow_after_days),
        _days("dead_after_days", dead_after_days),
    )
    if slow > dead:
        msg = f"slow_after_days ({slow}) must not be above dead_after_days ({dead})"
        raise InvalidValueError(msg)
    today = history.today
    out = []
    for key in history.places():
        held: dict[ItemKey, int] = {}
        for (item, _status), quantity in history.balances(key).items():
            held[item] = held.get(item, 0) + quantity
        last = history.last_issue(key)
        for item, quantity in held.items():
            if quantity <= 0:
                continue
            first = history.first_received(item) or today
            issued = last.get(item)
            idle = (today - (issued or first)).days
            kind = (
                MovementClass.DEAD
                if idle >= dead
                else MovementClass.SLOW
                if idle >= slow
                else MovementClass.ACTIVE
            )
            out.append(
                LotAge(
                    item=item,
                    location=key[1],
                    on_hand=quantity,
                    first_received=first,
                    age_days=(today - first).days,
                    last_issue=issued,
                    idle_days=idle,
                    movement=kind,
                )
            )
    out.sort(key=lambda a: (-a.idle_days, a.item.sort_key(), a.location.path))
    return out


@attrs.frozen(kw_only=True)
class StockCover:
    """How long a product's usable stock at a location lasts, and how fast it turns."""

    gtin: str
    """The product's GTIN-14 digits."""
    location: Location
    """The location."""
    on_hand: int
    """Usable stock (``AVAILABLE``, not expired) at ``as_of``."""
    per_day: Fraction
    """Average daily consumption."""
    days_on_hand: Fraction | None
    """``on_hand / per_day``; ``None`` when nothing is consumed."""
    turnover: Fraction | None
    """Consumption in the window over the average usable stock at the days' ends;
    ``None`` when there was no stock in the window."""


def stock_cover(
    history: StockHistory, *, window_days: int = 365, method: AmcMethod = AmcMethod.MSH
) -> list[StockCover]:
    """Days on hand and turnover of every product at every location it was stocked at.

    Turnover is taken over the same window as the average (clipped to the first
    stocked day): consumed / mean closing usable stock of the window's days.
    """
    out = []
    for gtin, location in history.places():
        series = demand(history, gtin, location)
        average = average_monthly_consumption(series, window_days=window_days, method=method)
        on_hand = sum(
            q
            for (item, status), q in history.balances((gtin, location)).items()
            if q > 0 and history.usable(item, status, history.today)
        )
        closing = series.closing[len(series.closing) - average.window_days :]
        mean = Fraction(sum(closing), len(closing)) if closing else Fraction(0)
        out.append(
            StockCover(
                gtin=gtin,
                location=location,
                on_hand=on_hand,
                per_day=average.per_day,
                days_on_hand=on_hand / average.per_day if average.per_day else None,
                turnover=average.consumed / mean if mean else None,
            )
        )
    return out


def consumption_values(
    history: StockHistory, catalogue: CatalogueStore, *, window_days: int = 365
) -> dict[str, Decimal]:
    """Consumption value per product (primary DI) over the last ``window_days`` days.

    Every location and every GTIN of the product counts, each unit at the unit
    value of the product version in force at ``as_of``. Products without a unit
    value in the catalogue are left out (they cannot be ranked by value).

    Raises:
        InvalidValueError: a window that is not a whole number of at least 1, or
            products valued in different currencies.
    """
    _days("window_days", window_days)
    first = history.today.subtract(days=window_days - 1)
    values: dict[str, Decimal] = {}
    currencies: set[str] = set()
    for key in history.places():
        match = catalogue.product(key[0], as_of=history.as_of)
        if match is None or match.product.unit_value is None:
            continue
        unit = match.product.unit_value
        currencies.add(unit.currency)
        units = sum(q for day, q in history.consumed(key).items() if day >= first)
        primary = match.product.primary_di.value
        values[primary] = values.get(primary, Decimal(0)) + unit.amount * units * match.base_units
    if len(currencies) > 1:
        shown = ", ".join(sorted(currencies))
        msg = f"consumption values in several currencies ({shown}) cannot be ranked together"
        raise InvalidValueError(msg)
    return values
