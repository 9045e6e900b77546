"""Building a FefoIndex from positions in bulk gives the index the incremental path builds."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.allocation import AllocationRequest, FefoIndex
from medinv.allocation._entries import Product
from medinv.allocation._order import received_micros
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

GTINS = ("04006381333931", "00614141000418")
USE = pendulum.date(2026, 11, 23)
T0 = pendulum.datetime(2026, 1, 1, tz="UTC")
BINS = tuple(Location.parse(f"H/Store/{n}", pick_sequence=n % 3) for n in range(4))
STATUSES = (StockStatus.AVAILABLE,) * 5 + (StockStatus.QUARANTINE, StockStatus.HOLD)


def one_by_one(positions: list[StockPosition]) -> FefoIndex:
    """The reference: each position added on its own (one insertion per position)."""
    index = FefoIndex()
    for stock in positions:
        index._add(stock)
    return index


def snapshot(index: FefoIndex) -> dict[str, Any]:
    """Everything the index holds, with entries shown by their fields (not their identity)."""

    def fields(entry: Any) -> tuple[Any, ...]:
        return (
            entry.item,
            entry.location,
            entry.status,
            entry.expiry,
            entry.received_at,
            entry.key[:6],
            entry.quantity,
            entry.reserved,
        )

    products = {}
    for gtin, product in index._products.items():
        products[gtin] = (
            [(*slot[:6], fields(slot[6])) for slot in product.free],
            {key: fields(entry) for key, entry in product.entries.items()},
            {key: fields(entry) for key, entry in product.others.items()},
            {
                key: sorted(map(fields, entries), key=lambda f: f[5])
                for key, entries in product.by_serial.items()
            },
            product.by_lot,
            product.fifo,
            product.at,
            product.lot_expiry,
            product.received,
            product.dropped,
        )
    return {
        "products": products,
        "pick_sequence": index._pick_sequence,
        "ordinals": index._ordinals,
        "position": index.position,
    }


@st.composite
def stocks(draw: st.DrawFn) -> list[StockPosition]:
    """Distinct positions: repeated expiries and receipt times, some without either."""
    out: dict[tuple[ItemKey, Location, StockStatus], StockPosition] = {}
    for _ in range(draw(st.integers(0, 40))):
        lot = draw(st.sampled_from(["A", "B", "C", "D", None]))
        serial = draw(st.sampled_from([None, None, "S1", "S2"]))
        item = ItemKey(draw(st.sampled_from(GTINS)), lot=lot, serial=serial)
        where = draw(st.sampled_from(BINS))
        status = draw(st.sampled_from(STATUSES))
        expiry = draw(st.none() | st.integers(-3, 9).map(lambda n: USE.add(days=n)))
        received = draw(st.none() | st.integers(0, 5).map(lambda n: T0.add(hours=n)))
        out[item, where, status] = StockPosition(
            item=item,
            location=where,
            status=status,
            quantity=draw(st.integers(1, 9)),
            expiry=expiry,
            received_at=received,
        )
    return list(out.values())


@settings(max_examples=60, deadline=None)
@given(stocks(), st.sampled_from([4, 1000]))
def test_the_bulk_build_equals_adding_positions_one_by_one(positions, load):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Product, "load", load)
        bulk = FefoIndex.from_positions(positions)
        reference = one_by_one(positions)
    bulk._check()
    reference._check()
    assert snapshot(bulk) == snapshot(reference)
    for gtin in GTINS:
        request = AllocationRequest.of(gtin, 12, use_date=USE)
        assert bulk.allocate(request, explain=True) == reference.allocate(request, explain=True)
        assert bulk.take(request) == reference.take(request)
    bulk._check()


def test_the_bulk_build_still_refuses_a_position_given_twice():
    stock = StockPosition(
        item=ItemKey(GTINS[0], lot="A"),
        location=BINS[0],
        status=StockStatus.AVAILABLE,
        quantity=3,
        expiry=USE,
    )
    with pytest.raises(InvalidValueError, match="given twice"):
        FefoIndex.from_positions([stock, stock])


def test_the_bulk_build_takes_plain_dates_and_aware_datetimes():
    stock = StockPosition(
        item=ItemKey(GTINS[0], lot="A"),
        location=BINS[0],
        status=StockStatus.AVAILABLE,
        quantity=3,
        expiry=dt.date(2027, 1, 31),  # type: ignore[arg-type]  # a plain date is accepted
        received_at=dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC),  # type: ignore[arg-type]
    )
    (position,) = FefoIndex.from_positions([stock]).positions()
    assert type(position.expiry) is pendulum.Date
    assert position.expiry == pendulum.date(2027, 1, 31)
    assert type(position.received_at) is pendulum.DateTime
    assert position.received_at == pendulum.datetime(2026, 1, 1, 8, tz="UTC")


def timegm_micros(value: dt.datetime) -> int:
    """The conversion ``received_micros`` replaced."""
    return calendar.timegm(value.utctimetuple()) * 1_000_000 + value.microsecond


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 2),  # noqa: DTZ001  (st.datetimes takes naive bounds)
        max_value=dt.datetime(2200, 12, 30),  # noqa: DTZ001
        timezones=st.none()
        | st.sampled_from(
            [
                dt.UTC,
                dt.timezone(dt.timedelta(hours=5, minutes=30)),
                dt.timezone(dt.timedelta(hours=-9, seconds=17)),
                pendulum.timezone("Europe/Berlin"),
                pendulum.timezone("America/New_York"),
                pendulum.timezone("Australia/Lord_Howe"),
            ]
        ),
    )
)
def test_received_micros_is_what_timegm_gives(value):
    assert received_micros(value) == timegm_micros(value)
    if value.tzinfo is not None:
        assert received_micros(value) == round(
            (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(microseconds=1)
        )


def test_empty_positions_in_other_statuses_count_as_forgotten():
    # Their lots' expiries are learned, and counted for the sweep like those of
    # empty AVAILABLE positions (the bulk build once learned them uncounted).
    def position(lot: str, status: StockStatus, quantity: int) -> StockPosition:
        return StockPosition(
            item=ItemKey(GTINS[0], lot=lot),
            location=BINS[0],
            status=status,
            quantity=quantity,
            expiry=USE.add(days=len(lot)),
        )

    stock = [
        position("A", StockStatus.AVAILABLE, 3),
        position("BB", StockStatus.QUARANTINE, 0),
        position("CCC", StockStatus.HOLD, 0),
    ]
    index = FefoIndex.from_positions(stock)
    index._check()
    assert index._products[GTINS[0]].dropped == 2
    assert index.positions() == stock[:1]
