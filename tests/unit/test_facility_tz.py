"""Date-times in daylight-saving gaps and folds, and the facility's time zone for expiry."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.chain import format_instant
from medinv.dates import facility_timezone, to_datetime
from medinv.errors import InvalidDateError, InvalidValueError, StockNotIssuableError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ITEM = ItemKey("04006381333931", lot="L1")
BIN = Location.parse("H/Store/A1")
NOW = pendulum.datetime(2026, 11, 23, 8, 0, tz="UTC")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")

WALL_TIMES: list[tuple[zoneinfo.ZoneInfo, tuple[int, int, int, int, int]]] = [
    (PARIS, (2026, 3, 29, 2, 30)),  # spring gap
    (PARIS, (2026, 10, 25, 2, 30)),  # autumn fold
    (SANTIAGO, (2026, 9, 6, 0, 30)),  # gap at midnight
    (SANTIAGO, (2026, 4, 4, 23, 30)),  # fold before midnight
]


@pytest.mark.parametrize(("zone", "wall"), WALL_TIMES)
@pytest.mark.parametrize("fold", [0, 1])
def test_a_wall_time_in_a_gap_or_fold_keeps_the_instant_python_gives_it(zone, wall, fold):
    year, month, day, hour, minute = wall
    value = dt.datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)
    converted = to_datetime(value)
    assert converted.timestamp() == value.timestamp()
    assert converted.utcoffset() == value.utcoffset()
    assert converted.date() == value.date()
    assert format_instant(converted) == value.isoformat()


@given(
    st.datetimes(
        min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001  (st.datetimes takes naive bounds)
        max_value=dt.datetime(2060, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([PARIS, SANTIAGO, zoneinfo.ZoneInfo("Australia/Lord_Howe")]),
        allow_imaginary=True,
    )
)
def test_every_zoned_instant_is_kept(value):
    converted = to_datetime(value)
    assert converted.timestamp() == value.timestamp()
    assert converted.date() == value.date()
    assert converted.utcoffset() == value.utcoffset()


def receipt(mid: str = "R1", expiry: str = "2026-03-31") -> Movement:
    at = pendulum.datetime(2026, 3, 1, 9, 0, tz="Europe/Paris")
    return Movement.receipt(
        mid, item=ITEM, quantity=5, to=BIN, occurred_at=at, actor="jm", expiry=expiry
    )


def issue(at: dt.datetime | str, mid: str = "I1") -> Movement:
    return Movement.issue(mid, item=ITEM, quantity=1, source=BIN, occurred_at=at, actor="jm")


def test_expiry_is_judged_on_the_facility_date_whatever_offset_the_caller_used():
    # 22:30 UTC on the 31st is 00:30 on April 1st in Paris: expired there.
    late_utc = "2026-03-31T22:30:00+00:00"
    paris = Ledger(MemoryStore(), clock=lambda: NOW, timezone="Europe/Paris")
    paris.post([receipt()])
    with pytest.raises(StockNotIssuableError, match=r"movement date 2026-04-01 in Europe/Paris"):
        paris.post([issue(late_utc)])
    # The same instant given in Paris time: the same verdict.
    with pytest.raises(StockNotIssuableError):
        paris.post([issue("2026-04-01T00:30:00+02:00")])
    # Still usable on the 31st, Paris time, given in UTC.
    paris.post([issue("2026-03-31T21:30:00+00:00")])
    assert paris.timezone == "Europe/Paris"


def test_without_a_facility_zone_the_date_is_the_one_of_the_offset_given():
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    assert ledger.timezone is None
    ledger.post([receipt()])
    ledger.post([issue("2026-03-31T22:30:00+00:00")])  # the 31st in UTC: usable
    with pytest.raises(StockNotIssuableError, match=r"movement date 2026-04-01\)"):
        ledger.post([issue("2026-04-01T00:30:00+02:00", mid="I2")])


def test_a_zone_whose_gap_is_at_midnight_issues_no_expired_lot():
    ledger = Ledger(MemoryStore(), clock=lambda: NOW, timezone="America/Santiago")
    ledger.post([receipt(expiry="2026-09-05")])
    gap = dt.datetime(2026, 9, 6, 0, 30, tzinfo=SANTIAGO)  # does not exist: 00:00 -> 01:00
    with pytest.raises(StockNotIssuableError, match="2026-09-06"):
        ledger.post([issue(gap)])
    ledger.post([issue(dt.datetime(2026, 9, 5, 23, 59, tzinfo=SANTIAGO))])


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "+01:00", 1, None.__class__, b"UTC", "a\x00"])
def test_an_unknown_facility_zone_is_refused(bad):
    with pytest.raises(InvalidValueError):
        Ledger(MemoryStore(), timezone=bad)
    with pytest.raises(InvalidDateError):
        facility_timezone(bad)
