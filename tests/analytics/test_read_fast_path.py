"""The full recompute's fast read equals the slow, obvious one it replaced.

``StockHistory.read`` takes each movement's instant and facility day from cached
UTC offsets per hour (medinv.analytics._instants) and files its effects inline.
These tests hold it to the conversion the standard library gives
(``fromtimestamp(timestamp(), zone)``), in time zones with daylight-saving gaps
and folds, half-hour and odd offsets, and to a plain re-implementation of the read.
"""

from __future__ import annotations

import datetime as dt
import gc
import zoneinfo
from collections import defaultdict

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.analytics import DemandProjection, StockHistory, demand
from medinv.analytics._instants import FacilityDays, collector_paused, exact_instant
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery

from ._ledgers import random_ledger

ZONES = (
    "Europe/Paris",
    "America/Santiago",  # changes at midnight
    "Australia/Lord_Howe",  # half-hour daylight saving
    "Asia/Kolkata",  # half-hour offset: the facility's midnight inside a UTC hour
    "America/St_Johns",
    "Pacific/Apia",  # skipped a whole day in 2011
    "Asia/Kathmandu",
    "UTC",
)
FIRST, LAST = dt.datetime(1890, 1, 1), dt.datetime(2060, 1, 1)  # noqa: DTZ001  (naive bounds)
FIXED = (dt.timedelta(hours=-3, minutes=-30), dt.timedelta(hours=5, minutes=45, seconds=7))


def _slow(moment: dt.datetime, facility: str) -> tuple[int, int]:
    stamp = moment.timestamp()
    day = dt.datetime.fromtimestamp(stamp, zoneinfo.ZoneInfo(facility)).toordinal()
    return round(stamp * 1_000_000), day


def _fast(days: FacilityDays, moment: dt.datetime) -> tuple[int, int]:
    """What the hot loop of StockHistory.read does, cache first."""
    found = days.hours.get((id(moment.tzinfo), moment.toordinal() * 24 + moment.hour, moment.fold))
    if found is None:
        return days.instant_and_day(moment)
    at = (found[0] + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond
    return at, found[1]


moments = st.builds(
    lambda naive, zone, fold, pendulum_zone: (
        pendulum.instance(naive.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold))
        if pendulum_zone
        else naive.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold)
    ),
    st.datetimes(FIRST, LAST),
    st.sampled_from(ZONES),
    st.integers(0, 1),
    st.booleans(),
) | st.builds(
    lambda naive, offset: naive.replace(tzinfo=dt.timezone(offset)),
    st.datetimes(FIRST, LAST),
    st.sampled_from(FIXED),
)


@settings(max_examples=300)
@given(st.lists(moments, min_size=1, max_size=30), st.sampled_from(ZONES))
def test_instants_and_days_equal_the_standard_library_conversion(
    found: list[dt.datetime], facility: str
) -> None:
    days = FacilityDays(zoneinfo.ZoneInfo(facility))
    for moment in found * 2:  # the second time round, from the cache
        assert _fast(days, moment) == _slow(moment, facility)
        same_hour = moment.replace(minute=59, second=59, microsecond=999_999)
        assert _fast(days, same_hour) == _slow(same_hour, facility)
        assert days.lookup(same_hour) == _slow(same_hour, facility)  # the catch-up's


@pytest.mark.parametrize(
    ("text", "facility"),
    [
        ("2026-03-29T02:30:00+01:00", "Europe/Paris"),  # in the spring gap, as stated
        ("2026-10-25T02:30:00+02:00", "Europe/Paris"),  # the fold, first time
        ("2026-10-25T02:30:00+01:00", "Europe/Paris"),  # the fold, second time
        ("2026-04-04T23:59:59.999999-03:00", "America/Santiago"),
        ("2026-04-05T00:00:00-04:00", "America/Santiago"),
        ("2026-01-10T18:29:59.999999+00:00", "Asia/Kolkata"),  # facility midnight in the hour
        ("2026-01-10T18:30:00+00:00", "Asia/Kolkata"),
        ("2011-12-29T23:59:59-10:00", "Pacific/Apia"),  # the day Samoa skipped
    ],
)
def test_the_edges_of_days_and_offsets(text: str, facility: str) -> None:
    moment = dt.datetime.fromisoformat(text)
    days = FacilityDays(zoneinfo.ZoneInfo(facility))
    for zone in (None, zoneinfo.ZoneInfo(facility)):
        given = moment if zone is None else moment.astimezone(zone)
        assert _fast(days, given) == _slow(given, facility)
        assert _fast(days, given) == _slow(given, facility)


def test_an_hour_with_a_change_in_it_is_never_kept() -> None:
    lord_howe = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    days = FacilityDays(lord_howe)
    # Daylight saving ends at 02:00 (+11:00), back to 01:30 (+10:30): the second 01:xx
    # hour starts at +11:00 and ends at +10:30.
    days.instant_and_day(dt.datetime(2026, 4, 5, 1, 45, tzinfo=lord_howe, fold=1))
    days.instant_and_day(dt.datetime(2026, 4, 5, 3, 45, tzinfo=lord_howe))  # a plain hour
    assert len(days.hours) == 1
    kolkata = FacilityDays(zoneinfo.ZoneInfo("Asia/Kolkata"))
    kolkata.instant_and_day(dt.datetime(2026, 1, 10, 18, 10, tzinfo=dt.UTC))
    assert kolkata.hours == {}  # the facility's midnight falls at 18:30 UTC


def test_exact_instant_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        exact_instant(dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_the_collector_is_paused_while_reading_and_left_as_it_was() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _slow_events(
    ledger: Ledger, as_of: pendulum.DateTime, zone: str
) -> dict[tuple[str, Location], list[tuple[dt.date, ItemKey, object, int]]]:
    """The read before the fast path: every movement converted, its deltas() filed, sorted."""
    found: dict[tuple[str, Location], list[tuple[float, int, dt.date, ItemKey, object, int]]]
    found = defaultdict(list)
    for recorded in ledger.store.movements(MovementQuery()):
        m = recorded.movement
        stamp = m.occurred_at.timestamp()
        if stamp > as_of.timestamp():
            continue
        day = dt.datetime.fromtimestamp(stamp, zoneinfo.ZoneInfo(zone)).date()
        for location, status, delta in m.deltas():
            found[(m.item.device_text, location)].append(
                (stamp, recorded.position, day, m.item, status, delta)
            )
    return {
        key: [e[2:] for e in sorted(events, key=lambda e: (e[0], e[1]))]
        for key, events in found.items()
    }


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 70 * 24), st.sampled_from(ZONES))
def test_the_read_equals_the_slow_read(seed: int, hours: int, zone: str) -> None:
    ledger = random_ledger(MemoryStore(), seed)
    as_of = pendulum.datetime(2026, 2, 1, tz="UTC").add(hours=hours)
    history = StockHistory.read(ledger, as_of=as_of, timezone=zone)
    slow = _slow_events(ledger, as_of, zone)
    assert history.places() == sorted(slow, key=lambda k: (k[0], k[1].path))
    for key, events in slow.items():
        assert [(d, i, s, q) for d, i, s, q in history.events(key)] == events
        assert all(type(d) is pendulum.Date for d, _, _, _ in history.events(key))


def test_one_hour_of_movements_in_another_zone_is_filed_on_the_facility_day() -> None:
    store = MemoryStore()
    ledger = Ledger(store, clock=lambda: pendulum.datetime(2030, 1, 1, tz="UTC"))
    item, ward = ItemKey("04006381333931", lot="A"), Location.parse("H/Ward")
    # 18:10 and 18:50 UTC: one UTC hour, two days in Kolkata (midnight at 18:30 UTC).
    for n, minute in enumerate((10, 50, 55)):
        at = dt.datetime(2026, 1, 10, 18, minute, tzinfo=dt.UTC)
        ledger.post([Movement.receipt(f"R{n}", item=item, quantity=5, to=ward, occurred_at=at,
                                      actor="t", expiry="2027-01-01")])  # fmt: skip
    history = StockHistory.read(ledger, as_of="2026-01-12T00:00:00+00:00", timezone="Asia/Kolkata")
    assert [d.isoformat() for d, _, _, _ in history.events((item.device_text, ward))] == [
        "2026-01-10",
        "2026-01-11",
        "2026-01-11",
    ]


def _slow_consumed(history: StockHistory, key: tuple[str, Location]) -> tuple[int, ...]:
    """demand()'s consumption before the fast path: the net figures by day, from the start."""
    events = list(history.events(key))
    first = min(day for day, _, _, _ in events).toordinal()  # the first movement's day
    consumed = [0] * max(0, history.today.toordinal() - first + 1)
    for day, quantity in history.consumed(key).items():
        if 0 <= day.toordinal() - first < len(consumed):
            consumed[day.toordinal() - first] += quantity
    return tuple(consumed)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(ZONES))
def test_demand_consumption_equals_the_net_figures_by_day(seed: int, zone: str) -> None:
    ledger = random_ledger(MemoryStore(), seed)
    history = StockHistory.read(ledger, as_of="2026-04-15T00:00:00+00:00", timezone=zone)
    for key in history.places():
        assert demand(history, *key).consumed == _slow_consumed(history, key)


def test_an_issue_dated_before_the_first_receipt_starts_the_series_on_its_day() -> None:
    ledger = Ledger(MemoryStore(), clock=lambda: pendulum.datetime(2030, 1, 1, tz="UTC"))
    item, ward = ItemKey("04006381333931", lot="A"), Location.parse("H/Ward")
    at = pendulum.datetime(2026, 3, 10, 9, tz="UTC")
    ledger.post([Movement.receipt("R1", item=item, quantity=10, to=ward, occurred_at=at,
                                  actor="t", expiry="2027-01-01")])  # fmt: skip
    # A late entry: stored after the receipt, dated three days before it, then reversed
    # on one day and not on another.
    for n, days in enumerate((3, 5)):
        ledger.post([Movement.issue(f"I{n}", item=item, quantity=2 + n, source=ward,
                                    occurred_at=at.subtract(days=days), actor="t")])  # fmt: skip
    issue = ledger.store.movements_by_id(["I1"])["I1"].movement
    ledger.post([Movement.reversal("I1-R", of=issue, occurred_at=at, actor="t")])
    history = StockHistory.read(ledger, as_of=at.add(days=20), timezone="UTC")
    key = (item.device_text, ward)
    series = demand(history, *key)
    assert series.consumed == _slow_consumed(history, key)
    # The stock was there when it was issued: the series starts on the earlier issue's
    # day, counts each issue on its own day (I1 taken back by its reversal), and folds
    # the balance through the receipt (10 - 2 - 3 + 3 = 8 from the receipt's day on).
    assert series.start == at.subtract(days=5).date()
    assert series.consumed[:6] == (0, 0, 2, 0, 0, 0)
    assert len(series.closing) == 26  # 5 days before the receipt, its day, 20 after
    assert series.closing[5:] == (8,) * 21
    assert not any(series.stock_out[5:])
    # The daily projection, folded as the movements came, gives the same series.
    projection = DemandProjection.build(ledger, timezone="UTC")
    assert projection.demand(*key, as_of=at.add(days=20)) == series
    assert projection.verify(ledger, as_of=at.add(days=20)) == []
