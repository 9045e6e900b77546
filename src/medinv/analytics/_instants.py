"""Instants and facility days of movement times, without a time-zone conversion per movement.

Converting an aware date-time to its instant (``timestamp()``) and that instant
to the facility's calendar day costs a few microseconds each in the interpreter,
more than everything else the analytics do with a movement
(``benchmarks/bench_analytics.py``: about half of a full recompute). Both only
depend on the hour a movement falls in: this module keeps, for each wall-clock
hour it has seen (per time zone and fold), the instant the hour starts at and its
facility day, and does the rest with integer arithmetic.

An hour is kept only when its UTC offset is the same at its first and at its last
microsecond, and the facility's offset and day are the same at its first and last
second; any other hour (one with a change of offset in it, or the facility's
midnight) is converted exactly, each time. Time-zone rules never change twice
within one hour, so a kept hour has no change in it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import zoneinfo
from collections.abc import Iterator
from typing import Final

import pendulum

from medinv.errors import InvalidValueError

__all__ = ["EPOCH_ORDINAL", "DayDates", "FacilityDays", "collector_paused", "exact_instant"]

EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
"""The day ordinal of 1970-01-01, the epoch of POSIX timestamps."""
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def exact_instant(moment: dt.datetime) -> int:
    """Microseconds from the epoch to the aware ``moment`` (the exact conversion, no cache).

    Raises:
        InvalidValueError: ``moment`` is naive.
    """
    offset = moment.utcoffset()
    if offset is None:
        msg = f"expected an aware date-time, not {moment!r}"
        raise InvalidValueError(msg)
    seconds = (moment.toordinal() - EPOCH_ORDINAL) * 86400 + moment.hour * 3600
    seconds += moment.minute * 60 + moment.second
    # A plain timedelta: pendulum's own durations do not divide by one.
    plain = dt.timedelta(days=offset.days, seconds=offset.seconds, microseconds=offset.microseconds)
    return seconds * 1_000_000 + moment.microsecond - plain // _MICROSECOND


class DayDates(dict[int, pendulum.Date]):
    """The date of each day ordinal, made once: ``dates[ordinal]``.

    A report gives the same few window starts to thousands of places; a lookup of a
    day already made costs a dictionary read instead of two date constructions.
    """

    def __missing__(self, ordinal: int) -> pendulum.Date:
        plain = dt.date.fromordinal(ordinal)
        made = self[ordinal] = pendulum.Date(plain.year, plain.month, plain.day)
        return made


class FacilityDays:
    """The instant (microseconds since the epoch) and the facility day of aware date-times.

    ``hours`` maps (``id`` of the time zone, hour counted from day ordinal 0, fold)
    to (the UTC second the hour starts at, its facility day ordinal). Hot loops
    look a moment's hour up there themselves (the instant is then that second plus
    the moment's minutes, seconds and microseconds) and call
    `instant_and_day` only when it is missing.

    Every time zone an hour was kept for is held here too, so its ``id`` stays its own.
    """

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone
        self.hours: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._zones: dict[int, dt.tzinfo] = {}

    def instant_and_day(self, moment: dt.datetime) -> tuple[int, int]:
        """``moment``'s microseconds since the epoch and the ordinal of its facility day.

        Remembers ``moment``'s hour in ``hours`` when nothing changes within it.
        """
        at = exact_instant(moment)
        seconds = at // 1_000_000
        day = self._facility_day(seconds)
        tz = moment.tzinfo
        if tz is None:  # pragma: no cover  (exact_instant refused it)
            return at, day
        year, month, date, hour, fold = (
            moment.year, moment.month, moment.day, moment.hour, moment.fold
        )  # fmt: skip
        first = dt.datetime(year, month, date, hour, tzinfo=tz, fold=fold)
        last = dt.datetime(year, month, date, hour, 59, 59, 999_999, tzinfo=tz, fold=fold)
        offset = first.utcoffset()
        if offset is None or offset.microseconds or last.utcoffset() != offset:
            return at, day
        start = (first.toordinal() - EPOCH_ORDINAL) * 86400 + hour * 3600
        start -= offset.days * 86400 + offset.seconds
        before = dt.datetime.fromtimestamp(start, self.zone)
        after = dt.datetime.fromtimestamp(start + 3599, self.zone)
        if before.utcoffset() != after.utcoffset() or before.toordinal() != after.toordinal():
            return at, day
        self._zones[id(tz)] = tz
        self.hours[(id(tz), first.toordinal() * 24 + hour, fold)] = (start, day)
        return at, day

    def _facility_day(self, seconds: int) -> int:
        """The ordinal of the facility day of the whole second ``seconds`` since the epoch."""
        return (_EPOCH + dt.timedelta(seconds=seconds)).astimezone(self.zone).toordinal()

    def lookup(self, moment: dt.datetime) -> tuple[int, int]:
        """As `instant_and_day`, from the kept hour when there is one.

        The loop ``StockHistory.read`` inlines; the projection's catch-up of one day
        (``benchmarks/bench_analytics.py``) calls this for each movement: most of
        them fall in hours seen before, and the exact conversion costs ten times more.
        """
        found = self.hours.get(
            (id(moment.tzinfo), moment.toordinal() * 24 + moment.hour, moment.fold)
        )
        if found is None:
            return self.instant_and_day(moment)
        at = (found[0] + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond
        return at, found[1]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk read; resume it after, if it ran.

    A full recompute keeps a few small tuples per movement (nothing in them refers back
    to them: no cycle to collect). Each few thousand of them set off a collection, and
    one in ten of those walks the whole heap, the ledger included: without the pause
    that was more than half the time of ``StockHistory.read`` in
    ``benchmarks/bench_analytics.py``. Reference counting still frees memory at once.
    """
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
