"""What the analytics read from the ledger: one pass over the movements up to ``as_of``.

[`StockHistory.read`][medinv.analytics.StockHistory.read] reads the stored
movements once (through ``LedgerStore.movements``), keeps those that occurred at
or before ``as_of`` and files them per product (the item's GTIN, the device
identifier the ledger counts in) and location, each dated by its facility day.
Every figure of [`medinv.analytics`][medinv.analytics] is computed from it, so
they all describe the same ledger at the same moment, and none reads the clock.
"""

from __future__ import annotations

import datetime as dt
import operator
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from typing import Final

import attrs
import pendulum

from medinv.dates import facility_timezone, is_expired, to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery
from medinv.status import StockStatus

__all__ = ["ProductKey", "StockHistory"]

ProductKey = tuple[str, Location]
"""Where demand is counted: (the item's GTIN-14 digits, the exact location)."""

_Issue = tuple[ProductKey, ItemKey, pendulum.Date, int]
_ISSUING: Final = frozenset({MovementKind.ISSUE, MovementKind.CONSUMPTION})


_Event = tuple[float, int, pendulum.Date, ItemKey, StockStatus, int]
"""One effect of a movement on one balance: (occurred at as a POSIX timestamp, position,
facility day, item, status, delta). Plain tuples: a ledger has millions of them."""
_IN_TIME_ORDER: Final = operator.itemgetter(0, 1)


@attrs.define
class _Place:
    """Everything read about one product at one location."""

    events: list[_Event] = attrs.field(factory=list)
    issued: dict[tuple[ItemKey, pendulum.Date], int] = attrs.field(factory=lambda: defaultdict(int))


class StockHistory:
    """The ledger's movements up to ``as_of``, filed per product and location by facility day.

    Build it with [`read`][medinv.analytics.StockHistory.read]; every analytics
    function takes one. A product is the item's GTIN (as its 14 digits); a
    location is matched exactly (not its subtree). Quantities are in the units
    the ledger counts the GTIN in.
    """

    def __init__(
        self,
        *,
        as_of: pendulum.DateTime,
        timezone: str,
        places: dict[ProductKey, _Place],
        expiries: dict[ItemKey, pendulum.Date | None],
        arrivals: dict[tuple[ItemKey, Location], pendulum.Date],
    ) -> None:
        self._as_of = as_of
        self._timezone = timezone
        self._places = places
        self._expiries = expiries
        self._arrivals = arrivals
        self._today = as_of.in_timezone(timezone).date()

    @classmethod
    def read(  # noqa: C901  (one inlined pass over every movement: the hot loop)
        cls,
        source: Ledger | LedgerStore,
        *,
        as_of: object,
        timezone: str | None = None,
        gtin: str | None = None,
        up_to_position: int | None = None,
    ) -> StockHistory:
        """Read the movements that occurred at or before ``as_of``.

        Args:
            source: a [`Ledger`][medinv.ledger.Ledger] or any
                [`LedgerStore`][medinv.ports.LedgerStore].
            as_of: the moment the figures describe (an aware date-time or ISO text
                with an offset); movements that occurred later are left out.
            timezone: the facility's IANA time zone, which decides the day a
                movement belongs to; default the ledger's own. Required with a
                store, or a ledger without one.
            gtin: read only this product's movements: its device identifier of any
                agency (GTIN digits, ``HIBCC:...``, ``MA:...``).
            up_to_position: read only movements stored up to this ledger position
                (default: the head), to reproduce figures from an earlier read.

        Raises:
            InvalidValueError: ``as_of`` is not an aware moment, the time zone is
                missing or unknown, ``source`` is neither a ledger nor a store, or a
                filter is malformed.
        """
        moment = to_datetime(as_of)
        store, zone = _store_and_zone(source, timezone)
        std_zone = zoneinfo.ZoneInfo(zone.name)
        query = MovementQuery(device=gtin, up_to_position=up_to_position)
        places: dict[ProductKey, _Place] = defaultdict(_Place)
        arrivals: dict[tuple[ItemKey, Location], pendulum.Date] = {}
        issued: dict[str, _Issue] = {}
        reversed_issues: list[_Issue] = []
        items: set[ItemKey] = set()
        days: dict[int, pendulum.Date] = {}
        last = moment.timestamp()
        for recorded in store.movements(query):
            m = recorded.movement
            # The standard library's conversion from the instant, far cheaper than
            # pendulum's (``astimezone`` of a pendulum date-time into pendulum's zone is
            # an hour off around a daylight-saving change).
            at = m.occurred_at.timestamp()
            if at > last:
                continue
            local = dt.datetime.fromtimestamp(at, std_zone).date()
            day = days.get(local.toordinal())
            if day is None:
                day = days[local.toordinal()] = pendulum.Date(local.year, local.month, local.day)
            item = m.item
            items.add(item)
            product = item.device_text
            for location, status, delta in m.deltas():
                place = places[(product, location)]
                place.events.append((at, recorded.position, day, item, status, delta))
                if delta > 0:
                    first = arrivals.get((item, location))
                    if first is None or day < first:
                        arrivals[(item, location)] = day
                elif m.kind in _ISSUING:
                    place.issued[(item, day)] += m.quantity
                    issued[m.id] = ((product, location), item, day, m.quantity)
            if m.kind is MovementKind.REVERSAL and m.reverses in issued:
                reversed_issues.append(issued.pop(m.reverses))
        for key, item, day, quantity in reversed_issues:
            places[key].issued[(item, day)] -= quantity
        for place in places.values():
            place.events.sort(key=_IN_TIME_ORDER)
        return cls(
            as_of=moment,
            timezone=zone.name,
            places=dict(places),
            expiries=_expiries(store, items),
            arrivals=arrivals,
        )

    # ------------------------------------------------------------------ what was read

    @property
    def as_of(self) -> pendulum.DateTime:
        """The moment the figures describe."""
        return self._as_of

    @property
    def timezone(self) -> str:
        """The facility's time zone (IANA name)."""
        return self._timezone

    @property
    def today(self) -> pendulum.Date:
        """The facility date of ``as_of``: the last day of every series."""
        return self._today

    def places(self) -> list[ProductKey]:
        """Every (GTIN, location) that has had stock, sorted by GTIN then location path."""
        return sorted(self._places, key=lambda k: (k[0], k[1].path))

    def expiry(self, item: ItemKey) -> pendulum.Date | None:
        """The item's expiry (its lot's, else its own), ``None`` when it has none."""
        return self._expiries.get(item)

    def usable(self, item: ItemKey, status: StockStatus, day: pendulum.Date) -> bool:
        """Whether stock of ``item`` in ``status`` may be issued on ``day``."""
        return status is StockStatus.AVAILABLE and not is_expired(self._expiries.get(item), day)

    def first_arrival(self, item: ItemKey, location: Location) -> pendulum.Date | None:
        """The first day ``item`` came into ``location`` (receipt, transfer in, return ...)."""
        return self._arrivals.get((item, location))

    def first_received(self, item: ItemKey) -> pendulum.Date | None:
        """The first day ``item`` came into any location: its age survives transfers."""
        days = [day for (it, _), day in self._arrivals.items() if it == item]
        return min(days) if days else None

    def balances(self, key: ProductKey) -> dict[tuple[ItemKey, StockStatus], int]:
        """The non-zero balances of a product at a location at ``as_of``, per item and status."""
        totals: dict[tuple[ItemKey, StockStatus], int] = defaultdict(int)
        for _, _, _, item, status, delta in self._place(key).events:
            totals[(item, status)] += delta
        return {k: q for k, q in totals.items() if q}

    def consumed(self, key: ProductKey) -> dict[pendulum.Date, int]:
        """Net quantity issued or consumed per day at the location (non-zero days only)."""
        totals: dict[pendulum.Date, int] = defaultdict(int)
        for (_, day), quantity in self._place(key).issued.items():
            totals[day] += quantity
        return {d: q for d, q in sorted(totals.items()) if q}

    def last_issue(self, key: ProductKey) -> dict[ItemKey, pendulum.Date]:
        """The last day each item was issued or consumed at the location (reversed ones not)."""
        last: dict[ItemKey, pendulum.Date] = {}
        for (item, day), quantity in self._place(key).issued.items():
            if quantity > 0 and (item not in last or last[item] < day):
                last[item] = day
        return last

    def events(self, key: ProductKey) -> Iterator[tuple[pendulum.Date, ItemKey, StockStatus, int]]:
        """Each balance change at the location in time order: (day, item, status, delta)."""
        for _, _, day, item, status, delta in self._place(key).events:
            yield day, item, status, delta

    def _place(self, key: ProductKey) -> _Place:
        place = self._places.get(key)
        if place is None:
            return _Place()
        return place


def _store_and_zone(source: object, timezone: str | None) -> tuple[LedgerStore, pendulum.Timezone]:
    if isinstance(source, Ledger):
        store, zone_name = source.store, timezone or source.timezone
    elif isinstance(source, LedgerStore):
        store, zone_name = source, timezone
    else:
        msg = f"expected a Ledger or a LedgerStore, not {type(source).__name__}"
        raise InvalidValueError(msg)
    if zone_name is None:
        msg = (
            "give the facility time zone (an IANA name such as 'Europe/Paris'): it decides "
            "which day a movement counts on"
        )
        raise InvalidValueError(msg)
    return store, facility_timezone(zone_name)


def _expiries(store: LedgerStore, items: set[ItemKey]) -> dict[ItemKey, pendulum.Date | None]:
    if not items:
        return {}
    records = store.item_records(items)
    lot_keys = {(i.device_text, i.lot.value) for i in items if i.lot is not None}
    lots = store.lot_expiries(lot_keys) if lot_keys else {}
    out: dict[ItemKey, pendulum.Date | None] = {}
    for item in items:
        record = records.get(item)
        expiry = record.expiry if record is not None else None
        if item.lot is not None:
            expiry = lots.get((item.device_text, item.lot.value), expiry)
        out[item] = expiry
    return out
