from __future__ import annotations

import pytest

from medinv.errors import InvalidLocationError, InvalidValueError
from medinv.locations import Location
from medinv.status import StockStatus


def test_location_tree_navigation():
    bin_ = Location.parse("Site/WH1/A/03", pick_sequence=7)
    assert bin_.path == ("Site", "WH1", "A", "03")
    assert bin_.name == "03" and bin_.depth == 4
    assert bin_.parent == Location.parse("Site/WH1/A")
    assert Location.parse("Site").parent is None
    assert bin_.is_within(Location.parse("Site/WH1"))
    assert bin_.is_within(bin_)
    assert not Location.parse("Site/WH10").is_within(Location.parse("Site/WH1"))
    assert Location.parse("Site/WH1").child("B", pick_sequence=2).pick_sequence == 2


def test_location_identity_ignores_pick_sequence():
    assert Location.parse("A/B", pick_sequence=1) == Location.parse("A/B", pick_sequence=9)
    assert hash(Location.parse("A/B", pick_sequence=1)) == hash(Location.parse("A/B"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "segment 1 is empty"),
        ("A//B", "segment 2 is empty"),
        ("A/ B", "leading or trailing blanks"),
        ("A/B\x00", "control character"),
        ("A/" + "x" * 65, "longer than 64"),
        ("/".join("x" * 17), "at most 16 levels"),
    ],
)
def test_location_refusals(text, fragment):
    with pytest.raises(InvalidLocationError, match=fragment):
        Location.parse(text)


def test_location_refuses_bad_types():
    with pytest.raises(InvalidLocationError, match="expected text"):
        Location.parse(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidLocationError, match="at least one segment"):
        Location(())
    with pytest.raises(InvalidLocationError, match="not text"):
        Location(("A", 3))  # type: ignore[arg-type]
    with pytest.raises(InvalidLocationError, match="contains '/'"):
        Location(("A/B",))
    with pytest.raises(InvalidLocationError, match="pick_sequence"):
        Location.parse("A", pick_sequence=-1)


def test_status_issuable_and_parse():
    assert [s for s in StockStatus if s.is_issuable] == [StockStatus.AVAILABLE]
    assert StockStatus.parse(" hold ") is StockStatus.HOLD
    with pytest.raises(InvalidValueError, match="expected one of AVAILABLE"):
        StockStatus.parse("EXPIRED")
    with pytest.raises(InvalidValueError, match="unknown stock status"):
        StockStatus.parse(None)  # type: ignore[arg-type]
