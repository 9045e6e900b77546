from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from medinv.dates import (
    DatePrecision,
    Expiry,
    facility_date,
    is_expired,
    last_day_of_month,
    remaining_shelf_life,
    to_date,
    to_datetime,
)
from medinv.errors import InvalidDateError


def test_usable_on_expiry_day_expired_the_day_after():
    expiry = pendulum.date(2026, 12, 31)
    assert not is_expired(expiry, pendulum.date(2026, 12, 30))
    assert not is_expired(expiry, expiry)
    assert is_expired(expiry, pendulum.date(2027, 1, 1))
    assert not is_expired(None, pendulum.date(2999, 1, 1))


def test_predicate_accepts_stdlib_dates():
    assert is_expired(dt.date(2026, 1, 31), dt.date(2026, 2, 1))
    assert remaining_shelf_life(dt.date(2026, 3, 1), dt.date(2026, 2, 27)) == 2


def test_remaining_shelf_life_matches_predicate():
    expiry = pendulum.date(2028, 2, 29)
    assert remaining_shelf_life(expiry, pendulum.date(2028, 2, 1)) == 28
    assert remaining_shelf_life(expiry, expiry) == 0
    assert remaining_shelf_life(expiry, pendulum.date(2028, 3, 1)) == -1
    assert remaining_shelf_life(None, expiry) is None


def test_month_end_and_precision():
    assert last_day_of_month(2024, 2) == pendulum.date(2024, 2, 29)
    assert last_day_of_month(2100, 2) == pendulum.date(2100, 2, 28)
    e = Expiry.month_end(2026, 4, raw="260400")
    assert e.date == pendulum.date(2026, 4, 30)
    assert e.precision is DatePrecision.MONTH
    assert str(e) == "2026-04"
    assert e.raw == "260400"
    assert e == Expiry.month_end(2026, 4)  # raw is for audit, not identity
    assert not e.is_expired(pendulum.date(2026, 4, 30))
    assert e.is_expired(pendulum.date(2026, 5, 1))
    assert e.remaining_shelf_life(pendulum.date(2026, 4, 20)) == 10
    assert str(Expiry.on("2026-04-15")) == "2026-04-15"


def test_month_precision_must_fall_on_month_end():
    with pytest.raises(InvalidDateError, match="last day of its month"):
        Expiry(date="2026-04-15", precision=DatePrecision.MONTH)


def test_no_such_month():
    with pytest.raises(InvalidDateError, match="no such month"):
        last_day_of_month(2026, 13)


def test_to_date_conversions_and_refusals():
    assert to_date(dt.date(2026, 1, 2)) == pendulum.date(2026, 1, 2)
    assert isinstance(to_date(dt.date(2026, 1, 2)), pendulum.Date)
    day = pendulum.date(2026, 1, 2)
    assert to_date(day) is day
    with pytest.raises(InvalidDateError, match="facility_date"):
        to_date(dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    with pytest.raises(InvalidDateError, match="ISO date"):
        to_date("2026-02-30")
    with pytest.raises(InvalidDateError, match="ISO date"):
        to_date("20260102")
    with pytest.raises(InvalidDateError, match="got int"):
        to_date(20260102)


def test_to_datetime_requires_a_zone():
    aware = to_datetime("2026-11-23T08:30:00+01:00")
    assert aware.utcoffset() == dt.timedelta(hours=1)
    assert to_datetime(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).year == 2026
    moment = pendulum.datetime(2026, 1, 1, tz="UTC")
    assert to_datetime(moment) is moment
    with pytest.raises(InvalidDateError, match="time zone"):
        to_datetime("2026-11-23T08:30:00")
    with pytest.raises(InvalidDateError, match="ISO 8601"):
        to_datetime("yesterday")
    with pytest.raises(InvalidDateError, match="got Date"):
        to_datetime(pendulum.date(2026, 1, 1))


def test_facility_date_uses_the_facility_zone():
    instant = pendulum.datetime(2026, 3, 31, 22, 30, tz="UTC")
    assert facility_date(instant, "Europe/Berlin") == pendulum.date(2026, 4, 1)
    assert facility_date(instant, "America/New_York") == pendulum.date(2026, 3, 31)
    with pytest.raises(InvalidDateError, match="IANA"):
        facility_date(instant, "Mars/Olympus")
