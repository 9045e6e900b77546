"""Stock positions summed per product, lot, location and status: the stock controller's totals.

[`position_totals`][medinv.services.stock_totals.position_totals] asks the store
for the positions that match a [`PositionQuery`][medinv.ports.PositionQuery]
(through its indexes: item, location subtree, status, expiry window) and sums them
per the keys given in ``by``; [`sum_positions`][medinv.services.stock_totals.sum_positions]
sums positions you already hold (those of
[`Ledger.positions(as_of_position=...)`][medinv.ledger.Ledger.positions], say).

```pycon
>>> from medinv import ItemKey, Location, Movement
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.ledger import Ledger
>>> store = MemoryStore()
>>> at, who = "2026-11-23T09:00:00+01:00", "jm"
>>> _ = Ledger(store).post([
...     Movement.receipt("R-1", item=ItemKey("04006381333931", lot="L1"), quantity=5,
...                      to=Location.parse("CHU/Store/A1"), occurred_at=at, actor=who,
...                      expiry="2027-01-31"),
...     Movement.receipt("R-2", item=ItemKey("04006381333931", lot="L2"), quantity=3,
...                      to=Location.parse("CHU/Store/A2"), occurred_at=at, actor=who,
...                      expiry="2026-12-31"),
... ])
>>> [(t.product.value, t.quantity, t.positions, str(t.earliest_expiry))
...  for t in position_totals(store, by=("product",))]
[('04006381333931', 8, 2, '2026-12-31')]
>>> [(str(t.location), t.quantity) for t in position_totals(store, location="CHU/Store")]
[('CHU/Store/A1', 5), ('CHU/Store/A2', 3)]

```
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import pendulum

from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError
from medinv.identifiers import Lot, device_text
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import LedgerStore, PositionQuery
from medinv.status import StockStatus

__all__ = ["TOTAL_KEYS", "PositionTotal", "position_totals", "sum_positions"]

TOTAL_KEYS: Final = ("product", "lot", "location", "status")
"""What positions may be summed per (``lot`` implies ``product``)."""


@attrs.frozen(kw_only=True)
class PositionTotal:
    """The positions of one group summed: the group's keys, then the totals.

    A key the totals are not grouped by is ``None``; grouped per lot, ``lot`` is
    also ``None`` for the group of the product's items without a lot.
    """

    product: DeviceIdentifier | None
    """The product (its device identifier, of any agency), when grouped per product or lot."""
    lot: Lot | None
    """The lot, when grouped per lot (``None`` for items without one)."""
    location: Location | None
    """The location, when grouped per location."""
    status: StockStatus | None
    """The status, when grouped per status."""
    quantity: int
    """The summed quantity, in base units."""
    positions: int
    """How many positions (item, location, status) were summed."""
    earliest_expiry: pendulum.Date | None
    """The earliest expiry among them (``None``: none has one)."""

    def sort_key(self) -> tuple[Any, ...]:
        """Product, lot, location path, status; absent keys first."""
        return (
            "" if self.product is None else device_text(self.product),
            "" if self.lot is None else self.lot.value,
            () if self.location is None else self.location.path,
            "" if self.status is None else self.status.value,
        )


def _check_by(by: Iterable[str]) -> tuple[str, ...]:
    keys = tuple(by) if not isinstance(by, str) else (by,)
    unknown = [k for k in keys if k not in TOTAL_KEYS]
    if unknown or not keys or len(set(keys)) != len(keys):
        msg = (
            f"invalid totals keys {keys!r:.80}: expected one or more distinct keys of "
            f"{', '.join(TOTAL_KEYS)}"
        )
        raise InvalidValueError(msg)
    return keys


def sum_positions(
    positions: Iterable[StockPosition], *, by: Iterable[str] = ("product", "location")
) -> list[PositionTotal]:
    """Sum ``positions`` per the keys of ``by`` (see `TOTAL_KEYS`), sorted by the keys.

    Raises:
        InvalidValueError: ``by`` is empty, repeats a key or names an unknown one.
    """
    keys = _check_by(by)
    per_product = "product" in keys or "lot" in keys
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for p in positions:
        group = (
            p.item.device if per_product else None,
            p.item.lot if "lot" in keys else None,
            Location(p.location.path) if "location" in keys else None,
            p.status if "status" in keys else None,
        )
        totals = groups.get(group)
        if totals is None:
            totals = groups[group] = [0, 0, None]
        totals[0] += p.quantity
        totals[1] += 1
        if p.expiry is not None and (totals[2] is None or p.expiry < totals[2]):
            totals[2] = p.expiry
    found = [
        PositionTotal(
            product=product,
            lot=lot,
            location=location,
            status=status,
            quantity=quantity,
            positions=count,
            earliest_expiry=earliest,
        )
        for (product, lot, location, status), (quantity, count, earliest) in groups.items()
    ]
    found.sort(key=PositionTotal.sort_key)
    return found


def position_totals(
    store: LedgerStore,
    query: PositionQuery | None = None,
    *,
    by: Sequence[str] = ("product", "location"),
    **filters: Any,
) -> list[PositionTotal]:
    """The positions matching ``query`` (or ``PositionQuery(**filters)``) summed per ``by``.

    The store answers the query through its indexes; the cost of the sum grows with
    the positions it returns.

    Raises:
        InvalidValueError: both ``query`` and ``filters`` given, a filter refused by
            [`PositionQuery`][medinv.ports.PositionQuery], or invalid ``by`` keys.
    """
    if query is not None and filters:
        msg = "give a PositionQuery or filters, not both"
        raise InvalidValueError(msg)
    keys = _check_by(by)
    return sum_positions(store.positions(query or PositionQuery(**filters)), by=keys)
