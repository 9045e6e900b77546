"""The hot paths' constructor bypass sets every field, or refuses at import time."""

from __future__ import annotations

import pytest

from medinv._slots import new_instance, slot_setters
from medinv.identifiers import ItemKey
from medinv.journal import BalanceChange
from medinv.locations import Location
from medinv.status import StockStatus


def test_an_object_built_through_its_slots_equals_the_constructor_s() -> None:
    item, where = ItemKey("04006381333931", lot="L1"), Location.parse("CHU/A1")
    setters = slot_setters(BalanceChange, "item", "location", "status", "delta")
    built = new_instance(BalanceChange)
    for setter, value in zip(setters, (item, where, StockStatus.AVAILABLE, 3), strict=True):
        setter(built, value)
    assert built == BalanceChange(item, where, StockStatus.AVAILABLE, 3)


@pytest.mark.parametrize(
    "names",
    [
        ("item", "location", "status"),
        ("item", "location", "status", "delta", "delta"),
        ("item", "location", "status", "quantity"),
    ],
)
def test_names_that_are_not_exactly_the_fields_are_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(TypeError, match="must name its fields"):
        slot_setters(BalanceChange, *names)
