"""Time-aware expected quantities, as a pure function over the book and movements.

The expected quantity of a counted key is the book at the stocktake's start point
plus the movements after the start point that **occurred** at or before the key's
count time. See the "Count timing" explanation page for why ``occurred_at`` (and not
``recorded_at``) decides, and [`CountTiming`][medinv.stocktake.CountTiming] to choose
otherwise.

```pycon
>>> import pendulum
>>> from medinv import ItemKey, Location, Movement, StockStatus
>>> item, bin_ = ItemKey("04006381333931", lot="L1"), Location.parse("Main/A1")
>>> key = (item, bin_, StockStatus.AVAILABLE)
>>> t = lambda h, m=0: pendulum.datetime(2026, 11, 23, h, m, tz="Europe/Paris")
>>> issue = Movement.issue("i1", item=item, quantity=3, source=bin_, occurred_at=t(10),
...                        actor="nurse")
>>> expected_quantities({key: 10}, [TimedMovement(issue, t(10, 1))], {key: t(10, 30)},
...                     closed_at=t(12))[key]
7
>>> expected_quantities({key: 10}, [TimedMovement(issue, t(10, 1))], {key: t(9, 30)},
...                     closed_at=t(12))[key]
10

```
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping

import attrs
import pendulum

from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.journal import StoredMovement
from medinv.locations import Location
from medinv.movements import Movement
from medinv.stocktake._model import StockKey, StocktakeScope

__all__ = ["CountTiming", "TimedMovement", "expected_quantities"]


class CountTiming(enum.Enum):
    """Which time stamp of a movement places it before or after a count."""

    OCCURRED_AT = "occurred_at"
    """When the stock physically moved (the default): what the counter's shelf reflects.

    A movement recorded late (an offline scanner syncing, a paper slip typed in)
    is still placed where it happened, so it makes no false variance.
    """
    RECORDED_AT = "recorded_at"
    """When the ledger recorded it: what the book said at the count time."""


def _check_movement(_: object, __: object, value: Movement) -> None:
    given: object = value  # checked at run time, whatever the annotations say
    if not isinstance(given, Movement):
        msg = f"a timed movement needs a Movement, not {type(given).__name__}"
        raise InvalidValueError(msg)


def _check_position(_: object, __: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"a timed movement's position is a whole number from 0, not {value!r:.60}"
        raise InvalidValueError(msg)


@attrs.frozen
class TimedMovement:
    """The plain [`StoredMovement`][medinv.journal.StoredMovement], for callers without a ledger.

    A movement with the time it was recorded (and, if known, its ledger position;
    0 when it is not from a ledger). The stocktake reads only ``movement`` and
    ``recorded_at``; a ledger's [`RecordedMovement`][medinv.journal.RecordedMovement]s
    can be passed as they are.

    Raises:
        InvalidValueError: ``movement`` is not a `Movement`, or ``position`` is not a
            whole number from 0.
    """

    movement: Movement = attrs.field(validator=_check_movement)
    """The movement."""
    recorded_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When it was recorded."""
    position: int = attrs.field(default=0, kw_only=True, validator=_check_position)
    """Its position in the ledger (0: not from a ledger). A
    [`FefoIndex`][medinv.allocation.FefoIndex] skips records at or below its own
    position, so give it plain movements rather than records at position 0."""


def expected_quantities(
    start: Mapping[StockKey, int],
    movements: Iterable[StoredMovement],
    count_times: Mapping[StockKey, dt.datetime],
    *,
    closed_at: dt.datetime,
    scope: StocktakeScope | None = None,
    timing: CountTiming = CountTiming.OCCURRED_AT,
    bin_times: Mapping[Location, dt.datetime] | None = None,
) -> dict[StockKey, int]:
    """The book each key should show at its own count time.

    Args:
        start: the book at the start point, ``(item, location, status) → quantity``.
        movements: the movements after the start point, in ledger order (only those up
            to the evaluation's ledger head).
        count_times: when each counted key was counted.
        closed_at: the count time of keys nobody counted in a bin nobody counted
            (when counting closed).
        scope: keep only keys the stocktake covers (``None``: keep all).
        timing: which movement time stamp is compared with the count time.
        bin_times: location → when its count was finished: the count time of keys
            nobody counted at a location that was counted (stock that arrived there
            later was not there to be counted).

    Returns:
        ``key → expected quantity`` for every key of ``start`` and of the movements
        within scope (a key in neither is expected to be empty); a movement at exactly
        the count time counts as before it (the counter sees its result).
    """
    closed = to_datetime(closed_at)
    times = {key: to_datetime(at) for key, at in count_times.items()}
    bins = {location: to_datetime(at) for location, at in (bin_times or {}).items()}
    result: dict[StockKey, int] = {
        key: qty for key, qty in start.items() if scope is None or scope.covers(key[0], key[1])
    }
    by_recorded = timing is CountTiming.RECORDED_AT
    for record in movements:
        movement = record.movement
        when = record.recorded_at if by_recorded else movement.occurred_at
        item = movement.item
        for location, status, delta in movement.deltas():
            key = (item, location, status)
            if scope is not None and not scope.covers(item, location):
                continue
            at = times.get(key)
            if at is None:
                at = bins.get(location, closed)
            if when <= at:
                result[key] = result.get(key, 0) + delta
            else:
                result.setdefault(key, 0)
    return result
