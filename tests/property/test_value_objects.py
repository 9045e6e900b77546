"""Property tests of the value objects' invariants (issue: foundation acceptance)."""

from __future__ import annotations

import string

import pendulum
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from medinv.dates import DatePrecision, Expiry, is_expired, last_day_of_month, remaining_shelf_life
from medinv.errors import (
    IndivisibleQuantityError,
    InvalidGtinError,
    InvalidIdentifierError,
    InvalidLocationError,
)
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.locations import Location
from medinv.quantity import PackagingHierarchy, Quantity
from medinv.testing import strategies as mst


@given(mst.gtin_texts())
def test_gtin_round_trips(text):
    gtin = Gtin(text)
    assert len(gtin.value) == 14
    assert gtin.value.lstrip("0") == text.lstrip("0")
    assert Gtin(gtin.value) == gtin
    if gtin.as_gtin13() is not None:
        assert Gtin(gtin.as_gtin13()) == gtin


@given(mst.gtin_texts(), st.data())
def test_every_single_digit_corruption_is_rejected(text, data):
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    digit = data.draw(st.sampled_from([d for d in string.digits if d != text[position]]))
    corrupted = text[:position] + digit + text[position + 1 :]
    with pytest.raises(InvalidGtinError):
        Gtin(corrupted)


def test_every_single_digit_corruption_of_one_gtin_exhaustively():
    valid = "10614141000415"
    for position in range(len(valid)):
        for digit in string.digits:
            corrupted = valid[:position] + digit + valid[position + 1 :]
            if corrupted == valid:
                continue
            with pytest.raises(InvalidGtinError):
                Gtin(corrupted)


@given(mst.invalid_gtin_texts())
def test_invalid_gtin_texts_are_rejected(text):
    with pytest.raises(InvalidGtinError):
        Gtin(text)


@given(st.text(max_size=30))
def test_arbitrary_text_is_a_gtin_or_an_invalid_gtin_error(text):
    try:
        gtin = Gtin(text)
    except InvalidGtinError:
        return
    assert gtin.value.endswith(text)


@given(mst.lots(), mst.serials())
def test_lot_and_serial_keep_their_text(lot, serial):
    assert Lot(lot.value) == lot and Lot(lot.value).value == lot.value
    assert Serial(serial.value).value == serial.value


@given(mst.invalid_identifier_texts())
def test_invalid_lot_and_serial_texts_are_rejected(text):
    with pytest.raises(InvalidIdentifierError):
        Lot(text)
    with pytest.raises(InvalidIdentifierError):
        Serial(text)


@given(mst.item_keys())
def test_item_key_sort_key_is_consistent_with_equality(item):
    same = ItemKey(item.device_text, lot=item.lot, serial=item.serial)
    assert same == item and same.sort_key() == item.sort_key()


@given(mst.dates(), st.integers(-400, 400))
def test_expiry_predicate_agrees_with_shelf_life(expiry, offset):
    as_of = expiry.add(days=offset)
    assert is_expired(expiry, as_of) == (offset > 0)
    assert remaining_shelf_life(expiry, as_of) == -offset


@given(st.integers(2000, 2099), st.integers(1, 12))
def test_day00_expiry_across_month_and_year_boundaries(year, month):
    e = Expiry.month_end(year, month)
    last = last_day_of_month(year, month)
    following = last.add(days=1)
    assert e.date == last and e.precision is DatePrecision.MONTH
    assert not e.is_expired(last)
    assert e.is_expired(following)
    assert following.day == 1
    assert (following.month, following.year) == (
        (1, year + 1) if month == 12 else (month + 1, year)
    )


@given(mst.expiries(), mst.dates())
def test_expiry_value_uses_the_one_predicate(expiry, as_of):
    assert expiry.is_expired(as_of) == is_expired(expiry.date, as_of)
    assert expiry.remaining_shelf_life(as_of) == remaining_shelf_life(expiry.date, as_of)


@given(mst.packaging_hierarchies(), st.data())
def test_conversion_is_exact_and_reversible_where_it_divides(hierarchy, data):
    source = data.draw(st.sampled_from(hierarchy.levels))
    target = data.draw(st.sampled_from(hierarchy.levels))
    amount = data.draw(st.integers(0, 10_000))
    quantity = Quantity.of(amount, source.unit)
    base_amount = amount * hierarchy.base_units_per(source.unit)
    per_target = hierarchy.base_units_per(target.unit)
    if base_amount % per_target == 0:
        converted = hierarchy.convert(quantity, target.unit)
        assert converted.amount * per_target == base_amount
        back = hierarchy.convert(converted, source.unit)
        assert back.amount == amount and back.unit == source.unit
    else:
        with pytest.raises(IndivisibleQuantityError):
            hierarchy.convert(quantity, target.unit)


@given(mst.packaging_hierarchies(max_levels=3), st.integers(1, 10_000))
def test_base_conversion_of_a_top_level_quantity_is_the_product(hierarchy, amount):
    top = hierarchy.levels[0]
    per = 1
    for level in hierarchy.levels[:-1]:
        assert level.contains is not None
        per *= level.contains
    assert hierarchy.to_base(Quantity.of(amount, top.unit)).amount == amount * per
    assert isinstance(hierarchy, PackagingHierarchy)


@given(mst.locations())
def test_location_parse_round_trips(location):
    assert Location.parse(str(location)) == location
    if location.parent is not None:
        assert location.is_within(location.parent)


@given(mst.invalid_location_texts())
def test_invalid_location_texts_are_rejected(text):
    assume(text is not None)
    with pytest.raises(InvalidLocationError):
        Location.parse(text)


def test_month_end_for_every_month_of_a_leap_cycle():
    for year in (2027, 2028, 2100):
        for month in range(1, 13):
            e = Expiry.month_end(year, month)
            assert e.date.add(days=1).day == 1
            assert e.date.month == month and isinstance(e.date, pendulum.Date)
