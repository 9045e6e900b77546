"""Calendar dates, expiry and shelf life (see [the rules](../explanation/rules.md#identifiers)).

**An item is usable on its expiry day and expired from the day after.** This
module holds the one predicate that every check in medinv uses:

```pycon
>>> import pendulum
>>> from medinv.dates import is_expired
>>> expiry = pendulum.date(2026, 3, 31)
>>> is_expired(expiry, as_of=pendulum.date(2026, 3, 31))
False
>>> is_expired(expiry, as_of=pendulum.date(2026, 4, 1))
True

```

Nothing here reads the clock: every time-dependent function takes the date
(``as_of``) it is asked about, as a date in the facility's time zone
([`facility_date`][medinv.dates.facility_date] turns an instant into one).

An expiry printed to the month only (GS1 day ``00``, HIBC ``MMYY``) means the
last day of that month, and keeps its precision so that reports can show it as
printed:

```pycon
>>> e = Expiry.month_end(2028, 2)
>>> e.date, e.precision.value, str(e)
(Date(2028, 2, 29), 'month', '2028-02')

```
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs
import pendulum

from medinv.errors import InvalidDateError

__all__ = [
    "DatePrecision",
    "Expiry",
    "facility_date",
    "facility_timezone",
    "is_expired",
    "last_day_of_month",
    "remaining_shelf_life",
    "to_date",
    "to_datetime",
]


def to_date(value: object) -> pendulum.Date:
    """Convert a `datetime.date`, `pendulum.Date` or ISO ``YYYY-MM-DD`` text to a `pendulum.Date`.

    A `datetime.datetime` is refused: which calendar day an instant falls on
    depends on the time zone, so use [`facility_date`][medinv.dates.facility_date].

    ```pycon
    >>> to_date("2026-02-28")
    Date(2026, 2, 28)

    ```

    Raises:
        InvalidDateError: the value is not a date, or names a day that does not exist.
    """
    if isinstance(value, dt.datetime):
        raise InvalidDateError(
            value, "a date-time is not a calendar date; convert it with facility_date()"
        )
    if isinstance(value, pendulum.Date):
        return value
    if isinstance(value, dt.date):
        return pendulum.date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError as e:
            raise InvalidDateError(value, "expected an ISO date YYYY-MM-DD") from e
        if len(value) != 10:  # noqa: PLR2004  (YYYY-MM-DD only, no week dates)
            raise InvalidDateError(value, "expected an ISO date YYYY-MM-DD")
        return pendulum.date(parsed.year, parsed.month, parsed.day)
    raise InvalidDateError(value, f"expected a date, got {type(value).__name__}")


def to_datetime(value: object) -> pendulum.DateTime:
    """Convert an aware `datetime.datetime` or ISO 8601 text with offset to `pendulum.DateTime`.

    Naive date-times are refused: an instant without a time zone is ambiguous. The
    instant is the one Python gives the value: a wall time in a daylight-saving gap
    or fold keeps the UTC offset Python gives it (``fold`` decides which side), and
    comes back with that fixed offset rather than being moved by an hour.

    ```pycon
    >>> to_datetime("2026-11-23T08:30:00+01:00").isoformat()
    '2026-11-23T08:30:00+01:00'

    ```

    Raises:
        InvalidDateError: the value is not an aware date-time.
    """
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as e:
            raise InvalidDateError(value, "expected an ISO 8601 date-time with offset") from e
    if not isinstance(value, dt.datetime):
        raise InvalidDateError(value, f"expected a date-time, got {type(value).__name__}")
    offset = value.utcoffset() if value.tzinfo is not None else None
    if offset is None:
        raise InvalidDateError(value, "a date-time must carry a time zone or UTC offset")
    if isinstance(value, pendulum.DateTime):
        return value
    if isinstance(value.tzinfo, dt.timezone):  # a fixed offset: no gap, no fold
        return pendulum.instance(value)
    converted = pendulum.instance(value)
    if converted.utcoffset() == offset and converted.replace(tzinfo=None) == value.replace(
        tzinfo=None
    ):
        return converted
    # A wall time in a DST gap or fold: pendulum would normalise it to another instant.
    # Keep the wall time and the offset Python gives it (hence its instant) instead.
    return pendulum.instance(value.replace(tzinfo=dt.timezone(offset), fold=0))


def facility_timezone(tz: object) -> pendulum.Timezone:
    """The facility time zone named ``tz`` (an IANA name such as ``"Europe/Paris"``).

    Raises:
        InvalidDateError: ``tz`` is not text naming a known IANA time zone.
    """
    if not isinstance(tz, str) or not tz or "\x00" in tz:
        raise InvalidDateError(tz, "expected the IANA name of a time zone, e.g. 'Europe/Paris'")
    try:
        return pendulum.timezone(tz)
    except Exception as e:  # pendulum raises its own InvalidTimezone / ValueError / KeyError
        raise InvalidDateError(tz, "not a known IANA time zone") from e


def facility_date(instant: dt.datetime, tz: str) -> pendulum.Date:
    """The calendar date of ``instant`` in the facility's time zone ``tz`` (an IANA name).

    ```pycon
    >>> import pendulum
    >>> late = pendulum.datetime(2026, 3, 31, 23, 30, tz="UTC")
    >>> facility_date(late, "Europe/Berlin")
    Date(2026, 4, 1)

    ```

    Raises:
        InvalidDateError: ``instant`` is naive or ``tz`` is not a known time zone.
    """
    moment = to_datetime(instant)
    return moment.in_timezone(facility_timezone(tz)).date()


def last_day_of_month(year: int, month: int) -> pendulum.Date:
    """The last day of a month.

    ```pycon
    >>> last_day_of_month(2100, 2)
    Date(2100, 2, 28)

    ```

    Raises:
        InvalidDateError: ``month`` is not 1-12 or ``year`` is out of range.
    """
    if isinstance(year, bool) or isinstance(month, bool):
        raise InvalidDateError((year, month), "a year and a month are whole numbers")
    try:
        return pendulum.date(year, month, 1).end_of("month")
    except (ValueError, TypeError, OverflowError) as e:
        raise InvalidDateError(f"{year!r:.20}-{month!r:.20}", "no such month") from e


def is_expired(expiry: dt.date | None, as_of: dt.date) -> bool:
    """The one expiry predicate: expired when ``as_of`` is after the expiry date.

    Stock is usable on its expiry day. Stock without an expiry never expires.
    ``as_of`` is a date in the facility's time zone.

    Raises:
        InvalidDateError: ``expiry`` or ``as_of`` is not a date.
    """
    try:
        return expiry is not None and as_of > expiry
    except TypeError:
        raise InvalidDateError((expiry, as_of), "expiry and as_of must both be dates") from None


def remaining_shelf_life(expiry: dt.date | None, as_of: dt.date) -> int | None:
    """Whole days from ``as_of`` to the expiry date: 0 on the expiry day, negative once expired.

    A request for a minimum remaining shelf life of ``n`` days admits stock with
    ``remaining_shelf_life(expiry, use_date) >= n``; with ``n == 0`` that is exactly the
    stock that [`is_expired`][medinv.dates.is_expired] calls usable. ``None`` when there
    is no expiry (no limit).

    ```pycon
    >>> import pendulum
    >>> remaining_shelf_life(pendulum.date(2026, 1, 31), pendulum.date(2026, 1, 1))
    30
    >>> remaining_shelf_life(pendulum.date(2026, 1, 31), pendulum.date(2026, 2, 1))
    -1

    ```
    """
    if expiry is None:
        return None
    try:
        return int(expiry.toordinal() - as_of.toordinal())
    except (AttributeError, TypeError):
        raise InvalidDateError((expiry, as_of), "expiry and as_of must both be dates") from None


class DatePrecision(enum.Enum):
    """How precisely a date was printed on the label."""

    DAY = "day"
    """A full date."""
    MONTH = "month"
    """Month only (GS1 day ``00``, HIBC ``MMYY``); the date is the last day of the month."""


@attrs.frozen(kw_only=True)
class Expiry:
    """An expiry date as printed, with its precision and (optionally) the raw label text."""

    date: pendulum.Date = attrs.field(converter=to_date)
    """The last day on which the item is usable."""
    precision: DatePrecision = attrs.field(default=DatePrecision.DAY)
    """Whether the label gave a day or a month only."""
    raw: str | None = attrs.field(default=None, eq=False)
    """The element string as scanned (e.g. ``"280200"``), kept for audit; not part of equality."""

    @precision.validator
    def _check_precision(self, _attribute: object, value: DatePrecision) -> None:
        if value is DatePrecision.MONTH and self.date != self.date.end_of("month"):
            raise InvalidDateError(
                self.date, "a month-precision expiry must fall on the last day of its month"
            )

    @classmethod
    def on(cls, date: object, *, raw: str | None = None) -> Expiry:
        """An expiry on a given day."""
        return cls(date=to_date(date), raw=raw)

    @classmethod
    def month_end(cls, year: int, month: int, *, raw: str | None = None) -> Expiry:
        """An expiry given to the month only: the last day of that month."""
        return cls(date=last_day_of_month(year, month), precision=DatePrecision.MONTH, raw=raw)

    def is_expired(self, as_of: dt.date) -> bool:
        """See [`is_expired`][medinv.dates.is_expired]."""
        return is_expired(self.date, as_of)

    def remaining_shelf_life(self, as_of: dt.date) -> int:
        """See [`remaining_shelf_life`][medinv.dates.remaining_shelf_life]."""
        return self.date.toordinal() - as_of.toordinal()

    def __str__(self) -> str:
        if self.precision is DatePrecision.MONTH:
            return f"{self.date.year:04d}-{self.date.month:02d}"
        return self.date.isoformat()
