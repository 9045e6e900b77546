"""The allocation package uses only sortedcontainers' public API (no ``<3`` pin needed).

The FEFO index once walked and edited `SortedList`'s private sublists (``_lists``,
``_maxes``, ``_len``, ``_index``), which tied medinv to sortedcontainers 2.x. Here
every `SortedList` the package uses is replaced by a stand-in with the public API
only (a plain list kept sorted with `bisect`): the index must work the same.
"""

from __future__ import annotations

import contextlib
import sys
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from typing import Any

import pendulum
import pytest

from medinv.allocation import AllocationRequest, FefoIndex, Policy
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

GTIN = "04006381333931"
USE = pendulum.date(2026, 11, 23)
T0 = pendulum.datetime(2026, 1, 1, tz="UTC")
STORE = Location.parse("H/Store")


class PublicSortedList:
    """`SortedList`'s public methods, and nothing else (no private attributes)."""

    __slots__ = ("values",)

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        self.values = sorted(iterable)

    def add(self, value: Any) -> None:
        insort(self.values, value)

    def update(self, iterable: Iterable[Any]) -> None:
        self.values = sorted([*self.values, *iterable])

    def remove(self, value: Any) -> None:
        at = bisect_left(self.values, value)
        if at == len(self.values) or self.values[at] != value:
            raise ValueError(value)
        del self.values[at]

    def discard(self, value: Any) -> None:
        with contextlib.suppress(ValueError):
            self.remove(value)

    def irange(self, minimum: Any = None, maximum: Any = None) -> Iterator[Any]:
        start = 0 if minimum is None else bisect_left(self.values, minimum)
        end = len(self.values) if maximum is None else bisect_right(self.values, maximum)
        return iter(self.values[start:end])

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.values))

    def __len__(self) -> int:
        return len(self.values)


@pytest.fixture
def public_sorted_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith("medinv.allocation") and hasattr(module, "SortedList"):
            monkeypatch.setattr(module, "SortedList", PublicSortedList)


def position(n: int, quantity: int) -> StockPosition:
    return StockPosition(
        item=ItemKey(GTIN, lot=f"L{n:02d}"),
        location=STORE,
        status=StockStatus.AVAILABLE,
        quantity=quantity,
        expiry=USE.add(days=n % 5 - 1),
        received_at=T0.add(hours=(7 * n) % 11),
    )


@pytest.mark.usefixtures("public_sorted_lists")
def test_the_index_needs_only_the_public_api_of_sortedlist():
    stock = [position(n, 1 + n % 4) for n in range(30)]
    index = FefoIndex.from_positions(stock)
    fifo = AllocationRequest.of(GTIN, 3, use_date=USE, policy=Policy.FIFO)
    assert index.allocate(fifo).picks  # the FIFO list is a SortedList
    index.reserve(
        index.allocate(AllocationRequest.of(GTIN, 2, use_date=USE)),
        reservation_id="R1",
        expires_at=T0.add(days=1),  # timed reservations are kept in a SortedList
    )
    taken = [index.take(AllocationRequest.of(GTIN, q, use_date=USE)) for q in (1, 4, 2, 9)]
    assert all(plan.picks for plan in taken)
    assert [r.id for r in index.expire_reservations(T0.add(days=2))] == ["R1"]
    index.apply_delta(stock[3].item, STORE, StockStatus.AVAILABLE, 5)
    index._check()
    assert index.available(GTIN) == sum(p.quantity for p in stock) + 5 - sum(
        plan.quantity for plan in taken
    )
