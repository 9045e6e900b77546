"""Demand: daily consumption with stock-out days, and the average monthly consumption.

Only issues and consumptions count as demand; a reversal of one takes it back on
the day it was issued; transfers, adjustments, scrap and receipts never count. A
**stock-out day** is a day on which the product had no usable stock (``AVAILABLE``
and not expired) at the location at any moment. The averages never reach back
before the product was first stocked at the location.
"""

from __future__ import annotations

import enum
import functools
import operator
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import Final, TypeVar

import attrs
import pendulum

from medinv._slots import new_instance, slot_setters
from medinv.analytics._history import AVAILABLE_NUMBER, ProductKey, StockHistory, _Event
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location

__all__ = [
    "DAYS_PER_MONTH",
    "AmcMethod",
    "AverageConsumption",
    "DemandSeries",
    "average_monthly_consumption",
    "averages",
    "demand",
]

_Item = TypeVar("_Item", int, ItemKey)
"""How a walk of days knows the items: by number (a history) or by key (the projection)."""

_DAY: Final = operator.itemgetter(2)
"""An event's facility day."""

DAYS_PER_MONTH: Final = Fraction(61, 2)
"""Days in an average month for the monthly figures (30.5, as the field tools use)."""


@attrs.frozen(kw_only=True)
class DemandSeries:
    """A product's daily demand at one location, from its first movement there to ``as_of``.

    Every tuple has one entry per day, ``start`` first. Empty (``start`` is
    ``None``) when the product never had stock at the location.
    """

    gtin: str
    """The product: the GTIN-14 digits the ledger counts it by."""
    location: Location
    """The location (exactly, not its subtree)."""
    start: pendulum.Date | None
    """The first day the product was at the location: the day of its first movement
    there (its first receipt, or an issue dated earlier still: the stock was there)."""
    consumed: tuple[int, ...]
    """Net quantity issued or consumed each day (reversals taken back)."""
    stock_out: tuple[bool, ...]
    """Whether the day had no usable stock at any moment."""
    closing: tuple[int, ...]
    """Usable quantity (``AVAILABLE``, not expired that day) at the end of each day."""

    @property
    def days(self) -> list[pendulum.Date]:
        """The day of each entry."""
        if self.start is None:
            return []
        return [self.start.add(days=i) for i in range(len(self.consumed))]


def location_of(location: object) -> Location:
    """``location`` as a `Location` (a path is parsed), checked at run time.

    Raises:
        InvalidValueError: not a `Location` nor a valid location path.
    """
    place = Location.parse(location) if isinstance(location, str) else location
    if not isinstance(place, Location):
        msg = f"location must be a Location or a path, not {type(location).__name__}"
        raise InvalidValueError(msg)
    return place


def demand(history: StockHistory, gtin: str, location: Location | str) -> DemandSeries:
    """The daily demand series of ``gtin`` at ``location`` up to ``history.as_of``.

    Args:
        history: the ledger as read by
            [`StockHistory.read`][medinv.analytics.StockHistory.read].
        gtin: the product's GTIN-14 digits.
        location: the location (a `Location` or its path).

    Raises:
        InvalidValueError: ``location`` is not a valid location path.
    """
    place = location_of(location)
    key: ProductKey = (gtin, place)
    # One pass over the place's events as read (days as ordinals, no date objects):
    # the full recompute of benchmarks/bench_analytics.py calls this for every place.
    events = history._day_events(key)  # noqa: SLF001  (this package's own reader)
    if not events:
        return DemandSeries(
            gtin=gtin, location=place, start=None, consumed=(), stock_out=(), closing=()
        )
    # The series starts on the place's first movement: usually its first receipt, but a
    # late entry of an issue dated earlier (the stock was there that day) starts it then,
    # so no issue falls before the series and the balance is folded from its start.
    first = min(map(_DAY, events))
    length = max(0, history.today.toordinal() - first + 1)
    consumed = [0] * length
    for _, day, quantity in history._day_issues(key):  # noqa: SLF001
        if 0 <= day - first < length:
            consumed[day - first] += quantity
    stock_out, closing = _stock_days(history, events, first, length)
    return DemandSeries(
        gtin=gtin,
        location=place,
        start=history._date(first),  # noqa: SLF001
        consumed=tuple(consumed),
        stock_out=tuple(stock_out),
        closing=tuple(closing),
    )


def _stock_days(
    history: StockHistory,
    events: list[_Event],
    first: int,
    length: int,
) -> tuple[list[bool], list[int]]:
    """Per day: whether no usable stock was there at any moment, and the usable closing stock.

    Days are counted as ordinals (whole numbers) here: date arithmetic per day costs
    more than everything else in the loop.
    """
    return expand_runs(_runs(history, events, first, first + length - 1))


def expand_runs(runs: Iterable[tuple[int, bool, int]]) -> tuple[list[bool], list[int]]:
    """Runs of days (``_day_runs``) as one stock-out flag and one closing stock per day."""
    stock_out: list[bool] = []
    closing: list[int] = []
    for days, out, usable in runs:
        if days == 1:
            stock_out.append(out)
            closing.append(usable)
        else:
            stock_out += [out] * days
            closing += [usable] * days
    return stock_out, closing


def count_runs(runs: Iterable[tuple[int, bool, int]]) -> tuple[int, int]:
    """Of runs of days (``_day_runs``): the stock-out days and the days closed with stock."""
    outs = closed = 0
    for days, out, usable in runs:
        if out:
            outs += days
        if usable > 0:
            closed += days
    return outs, closed


def _runs(
    history: StockHistory, events: list[_Event], start: int, today: int
) -> Iterator[tuple[int, bool, int]]:
    """The days of a place from ``start`` to ``today`` in runs (see ``_day_runs``).

    ``events`` are the place's, in time order. Those dated before ``start`` only
    move balances: no day before ``start`` is walked.
    """
    balances: dict[int, int] = {}  # by item number
    last_day: dict[int, int] = {}  # the last day each item is usable (its expiry)
    usable_until = history._last_day  # noqa: SLF001  (this package's own reader)
    dated = []
    for _, _, day, item, status, delta in events:
        if item not in last_day:
            last_day[item] = usable_until(item)
            balances[item] = 0
        if status == AVAILABLE_NUMBER:
            if day < start:
                balances[item] += delta
            else:
                dated.append((day, item, delta))
    return _day_runs(dated, balances, last_day, start, today)


def _day_runs(
    dated: list[tuple[int, _Item, int]],
    balances: dict[_Item, int],
    last_day: dict[_Item, int],
    start: int,
    today: int,
) -> Iterator[tuple[int, bool, int]]:
    """The days from ``start`` to ``today`` in runs: (days, stock-out, usable closing stock).

    ``balances`` hold every item's ``AVAILABLE`` balance before ``start`` (changed in
    place), ``last_day`` the last day each item is usable (its expiry's ordinal), and
    ``dated`` the ``AVAILABLE`` events from ``start`` on, in time order: ``(day, item,
    delta)``. A stock-out day had no usable stock at any moment. A day with events is a
    run of one; a run of days without events or expiry is given at once.

    The usable quantity is kept as a running total: each event changes it by what it
    changes the item's positive balance (a late entry can leave a balance below zero
    for a while in time order), and it is summed again only on the days after an
    item's expiry, when that item stops counting. At the start of every day it is
    the sum of the positive balances of the items still usable that day, so a walk
    may start on any day from the balances before it.
    """
    recounts = sorted({d + 1 for d in last_day.values() if start < d + 1 <= today})
    usable = sum(q for item, q in balances.items() if q > 0 and last_day[item] >= start)
    i, n, r = 0, len(dated), 0
    ordinal, end = start, today + 1
    while ordinal < end:
        if r < len(recounts) and recounts[r] == ordinal:
            r += 1
            usable = sum(q for item, q in balances.items() if q > 0 and last_day[item] >= ordinal)
        had_stock = usable > 0
        if i < n and dated[i][0] == ordinal:
            while i < n and dated[i][0] == ordinal:
                _, item, delta = dated[i]
                i += 1
                before = balances[item]
                after = balances[item] = before + delta
                if last_day[item] >= ordinal:
                    usable += (after if after > 0 else 0) - (before if before > 0 else 0)  # noqa: FURB136
                    if usable > 0:
                        had_stock = True
            yield 1, not had_stock, usable
            ordinal += 1
            continue
        # No event today, nor until the next event's day or the next recount (a walk
        # starts on or before its first event's day: none is dated before the day reached).
        stop = end
        if i < n and dated[i][0] < stop:
            stop = dated[i][0]
        if r < len(recounts) and recounts[r] < stop:
            stop = recounts[r]
        yield stop - ordinal, not had_stock, usable
        ordinal = stop


class AmcMethod(enum.Enum):
    """How the average monthly consumption counts the days it divides by."""

    CALENDAR = "calendar"
    """Every day of the window (clipped to the first stocked day)."""
    DAYS_IN_STOCK = "days-in-stock"
    """Only days that ended with usable stock (a day the stock ran out does not count)."""
    MSH = "msh"
    """Every day of the window minus the stock-out days (days with no usable stock at any
    moment), the adjustment of MSH's *Managing Access to Medicines*."""


@attrs.frozen(kw_only=True)
class AverageConsumption:
    """An average monthly consumption and what it was computed from."""

    method: AmcMethod
    """How the days were counted."""
    window_start: pendulum.Date | None
    """The first day counted: the window's start, or the first stocked day if later;
    ``None`` when the product never had stock at the location."""
    window_days: int
    """Calendar days from ``window_start`` to ``as_of``'s date, both included."""
    days_counted: int
    """The days the consumption is divided by (depends on ``method``)."""
    stock_out_days: int
    """Days of the window with no usable stock at any moment."""
    consumed: int
    """Net quantity consumed in the window."""
    per_day: Fraction
    """Exact daily rate: ``consumed / days_counted`` (0 when nothing was consumed)."""

    @property
    def per_month(self) -> Fraction:
        """The monthly rate: ``per_day`` times 30.5."""
        return self.per_day * DAYS_PER_MONTH


def average_monthly_consumption(
    series: DemandSeries,
    *,
    window_days: int = 365,
    method: AmcMethod = AmcMethod.MSH,
) -> AverageConsumption:
    """The average monthly consumption over the last ``window_days`` days of ``series``.

    The window ends on ``as_of``'s date and never starts before the first day the
    product was stocked at the location: a product stocked ten days ago averages
    over ten days, not over the whole window.

    With ``DAYS_IN_STOCK``, when no day of the window ended with stock but something
    was consumed (stock received and used up the same days), the days with usable
    stock at some moment are counted instead, so the rate stays finite.

    Raises:
        InvalidValueError: ``window_days`` is not a whole number of at least 1, or
            ``method`` is not an ``AmcMethod``.
    """
    _check_average(window_days, method)
    count = min(window_days, len(series.consumed))
    first = len(series.consumed) - count
    start = None if series.start is None or count == 0 else series.start.add(days=first)
    return _average_of_days(
        method, start, series.consumed[first:], series.stock_out[first:], series.closing[first:]
    )


def averages(
    history: StockHistory,
    *,
    window_days: int = 365,
    method: AmcMethod = AmcMethod.MSH,
) -> dict[ProductKey, AverageConsumption]:
    """The average monthly consumption of every place, in the order of ``history.places()``.

    Each equals ``average_monthly_consumption(demand(history, gtin, location), ...)``
    for its place, but is computed from the window's days alone: the place's
    movements before the window are folded into balances, without a daily series
    for the days before it. This is the full recompute a report of every product
    and location needs; its cost follows the movements read, not the days of
    history times the places (three years of 100,000 places are 110 million
    place-days, of which a window of 90 days holds 9 million).

    Raises:
        InvalidValueError: ``window_days`` is not a whole number of at least 1, or
            ``method`` is not an ``AmcMethod``.
    """
    _check_average(window_days, method)
    today = history.today.toordinal()
    return {
        key: _window_average(history, key, today, window_days, method) for key in history.places()
    }


def _window_average(
    history: StockHistory, key: ProductKey, today: int, window_days: int, method: AmcMethod
) -> AverageConsumption:
    """``average_monthly_consumption(demand(history, *key))`` from the window's days alone.

    The movements before the window only move balances; the days are walked from the
    window's first day, as ``demand`` walks them from the series' first.
    """
    events = history._day_events(key)  # noqa: SLF001  (this package's own reader)
    first = min(map(_DAY, events)) if events else today + 1
    length = today - first + 1
    if length <= 0:
        return _average(method, None, count=0, total=0, outs=0, closed=0)
    count = min(window_days, length)
    start = today - count + 1
    outs, closed = count_runs(_runs(history, events, start, today))
    consumed = 0
    for _, day, quantity in history._day_issues(key):  # noqa: SLF001
        if start <= day <= today:
            consumed += quantity
    first_day = history._date(start)  # noqa: SLF001
    return _average(method, first_day, count=count, total=consumed, outs=outs, closed=closed)


def _check_average(window_days: object, method: object) -> None:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        msg = f"window_days must be a whole number of days of at least 1, not {window_days!r:.40}"
        raise InvalidValueError(msg)
    if not isinstance(method, AmcMethod):
        msg = f"method must be an AmcMethod, not {method!r:.40}"
        raise InvalidValueError(msg)


def _average_of_days(
    method: AmcMethod,
    start: pendulum.Date | None,
    consumed: Sequence[int],
    stock_out: Sequence[bool],
    closing: Sequence[int],
) -> AverageConsumption:
    """The average over the window's days (``start`` first; ``None`` when there are none)."""
    outs = stock_out.count(True)  # in C (a sum of bools takes the slow path)
    closed = _positive_days(closing)
    return _average(
        method, start, count=len(consumed), total=sum(consumed), outs=outs, closed=closed
    )


def _positive_days(closing: Sequence[int]) -> int:
    """How many of the days ``closing`` ended with stock (a quantity above 0)."""
    if not closing:
        return 0
    if min(closing) >= 0:  # usable stock never goes below zero: count the zeros, in C
        return len(closing) - closing.count(0)
    return sum(1 for q in closing if q > 0)


def _average(  # noqa: PLR0917  (positional: a report's hot caller passes them so)
    method: AmcMethod,
    start: pendulum.Date | None,
    count: int,
    total: int,
    outs: int,
    closed: int,
) -> AverageConsumption:
    """The average over ``count`` days from ``start``.

    ``total`` was consumed, ``outs`` days had no stock at any moment and ``closed``
    days ended with usable stock. A report makes one per place (100,000 at the
    analytics benchmark's issue size): the value is built from its slots (every
    field is set here; the class has no validator) and the rates are made once
    per (quantity, days).
    """
    in_stock = count - outs
    if method is AmcMethod.CALENDAR:
        days = count
    elif method is AmcMethod.MSH:
        days = in_stock
    else:
        days = closed
        if days == 0 and total:
            days = in_stock
    made = new_instance(AverageConsumption)
    _SET_METHOD(made, method)
    _SET_START(made, start)
    _SET_WINDOW(made, count)
    _SET_DAYS(made, days)
    _SET_OUTS(made, outs)
    _SET_CONSUMED(made, total)
    _SET_RATE(made, _rate(total, days))
    return made


_SET_METHOD, _SET_START, _SET_WINDOW, _SET_DAYS, _SET_OUTS, _SET_CONSUMED, _SET_RATE = slot_setters(
    AverageConsumption,
    "method",
    "window_start",
    "window_days",
    "days_counted",
    "stock_out_days",
    "consumed",
    "per_day",
)


@functools.lru_cache(maxsize=1 << 16)
def _rate(total: int, days: int) -> Fraction:
    """``total / days`` exactly (0 without days); immutable, so made once and shared."""
    return Fraction(total, days) if days else Fraction(0)
