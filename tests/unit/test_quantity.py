from __future__ import annotations

import pytest

from medinv.errors import (
    IncompatibleUnitsError,
    IndivisibleQuantityError,
    InvalidQuantityError,
    InvalidValueError,
)
from medinv.identifiers import Gtin
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity

CASE, BOX, EACH = "10614141000415", "00614141000418", "00614141000425"


@pytest.fixture
def gloves() -> PackagingHierarchy:
    return PackagingHierarchy.chain(
        PackagingLevel(unit="CS", gtin=CASE, contains=10),
        PackagingLevel(unit="BX", gtin=BOX, contains=20),
        PackagingLevel(unit="EA", gtin=EACH),
    )


def test_arithmetic_within_one_unit():
    a, b = Quantity.of(5, "BX"), Quantity.of(3, "BX")
    assert (a + b).amount == 8
    assert (a - b).amount == 2
    assert (a * 3).amount == 15 and (3 * a).amount == 15
    assert a > b and b < a and a >= a and b <= a
    assert not Quantity.of(0)
    assert str(Quantity.of(2, "BX", gtin=BOX)) == f"2 BX of {BOX}"


def test_arithmetic_across_units_or_products_is_refused():
    with pytest.raises(IncompatibleUnitsError, match="different units"):
        _ = Quantity.of(1, "BX") + Quantity.of(1, "EA")
    with pytest.raises(IncompatibleUnitsError, match="different products"):
        _ = Quantity.of(1, gtin=EACH) + Quantity.of(1, gtin="04006381333931")
    with pytest.raises(IncompatibleUnitsError, match="not a Quantity"):
        _ = Quantity.of(1) < 3  # type: ignore[operator]
    assert (Quantity.of(1, gtin=EACH) + Quantity.of(1)).gtin == Gtin(EACH)


def test_negative_results_and_bad_amounts_are_refused():
    with pytest.raises(InvalidQuantityError, match="negative"):
        _ = Quantity.of(1) - Quantity.of(2)
    with pytest.raises(InvalidQuantityError, match="must not be negative"):
        Quantity.of(-1)
    with pytest.raises(InvalidQuantityError, match="whole number"):
        Quantity.of(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuantityError, match="whole number"):
        Quantity.of(True)
    with pytest.raises(InvalidQuantityError, match="unit of measure"):
        Quantity.of(1, "each")
    assert Quantity.of(2).__mul__(1.5) is NotImplemented  # type: ignore[operator]


def test_conversion_through_the_hierarchy(gloves):
    assert gloves.to_base(Quantity.of(2, "CS")) == Quantity.of(400, "EA", gtin=EACH)
    assert gloves.convert(Quantity.of(2, "CS"), "BX") == Quantity.of(20, "BX", gtin=BOX)
    assert gloves.convert(Quantity.of(400, "EA"), Gtin(CASE)).amount == 2
    assert gloves.convert(Quantity.of(40, gtin=BOX, unit="BX"), CASE).amount == 4
    assert gloves.base_units_per("CS") == 200
    assert gloves.unit_of(BOX) == "BX"
    assert gloves.level(Gtin(BOX)).contains == 20
    assert [level.unit for level in gloves] == ["CS", "BX", "EA"]


def test_indivisible_conversions_are_refused(gloves):
    with pytest.raises(IndivisibleQuantityError, match="30 EA is not a whole number of BX") as e:
        gloves.convert(Quantity.of(30, "EA"), "BX")
    assert e.value.per == 20
    with pytest.raises(IndivisibleQuantityError, match="10 make one CS"):
        gloves.convert(Quantity.of(15, "BX"), "CS")


def test_unknown_levels_and_mislabelled_quantities(gloves):
    with pytest.raises(InvalidValueError, match="not part of this packaging hierarchy"):
        gloves.convert(Quantity.of(1, "PK"), "EA")
    with pytest.raises(InvalidValueError, match="04006381333931 is not part"):
        gloves.convert(Quantity.of(1), "4006381333931")
    with pytest.raises(IncompatibleUnitsError, match="is not the EA level"):
        gloves.convert(Quantity.of(1, "EA", gtin=BOX), "BX")


@pytest.mark.parametrize(
    ("levels", "fragment"),
    [
        ((), "at least one level"),
        ((PackagingLevel(unit="EA", contains=2),), "base level EA must not contain"),
        ((PackagingLevel(unit="BX"), PackagingLevel(unit="EA")), "must say how many"),
        (
            (PackagingLevel(unit="EA", contains=2), PackagingLevel(unit="EA")),
            "unit EA appears twice",
        ),
        (
            (
                PackagingLevel(unit="BX", gtin=BOX, contains=2),
                PackagingLevel(unit="EA", gtin=BOX),
            ),
            "appears twice",
        ),
    ],
)
def test_malformed_hierarchies(levels, fragment):
    with pytest.raises(InvalidQuantityError, match=fragment):
        PackagingHierarchy(levels)


def test_level_contains_must_be_at_least_two():
    with pytest.raises(InvalidQuantityError, match="at least 2"):
        PackagingLevel(unit="BX", contains=1)
