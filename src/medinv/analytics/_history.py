"""What the analytics read from the ledger: one pass over the movements up to ``as_of``.

[`StockHistory.read`][medinv.analytics.StockHistory.read] reads the stored
movements once (through ``LedgerStore.movements``), keeps those that occurred at
or before ``as_of`` and files them per product (the item's GTIN, the device
identifier the ledger counts in) and location, each dated by its facility day.
Every figure of [`medinv.analytics`][medinv.analytics] is computed from it, so
they all describe the same ledger at the same moment, and none reads the clock.
"""

from __future__ import annotations

import operator
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from typing import Final

import pendulum

from medinv.analytics._instants import DayDates, FacilityDays, collector_paused, exact_instant
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

_Event = tuple[int, int, int, int, int, int]
"""One effect of a movement on one balance: (occurred at in microseconds since the epoch,
position, facility day ordinal, item number, status number, delta).

Plain tuples of whole numbers: a ledger has millions, and a tuple that holds only
numbers is left alone by Python's cyclic garbage collector after its first pass (one
that held the item and status objects would be walked by every full collection)."""
_Issue = tuple[int, int, int]
"""An issue or consumption at a place: (item number, facility day ordinal, quantity); a
reversal of one is the same with the quantity negated."""
_STATUSES: Final = tuple(StockStatus)
"""The statuses by number, as events hold them."""
_STATUS_NUMBERS: Final = {status: n for n, status in enumerate(_STATUSES)}
AVAILABLE_NUMBER: Final = _STATUS_NUMBERS[StockStatus.AVAILABLE]
"""The number of ``AVAILABLE`` in an event."""
_NEVER: Final = 10**9
"""A day ordinal after every date: the last usable day of stock without expiry."""
_IN_TIME_ORDER: Final = operator.itemgetter(0, 1)
_PathKey = tuple[str, tuple[str, ...]]
"""A place while reading: (GTIN digits, the location's path)."""


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
        events: dict[ProductKey, list[_Event]],
        issues: dict[ProductKey, list[_Issue]],
        items: list[ItemKey],
        expiries: dict[ItemKey, pendulum.Date | None],
    ) -> None:
        self._as_of = as_of
        self._timezone = timezone
        self._events = events
        self._issues = issues
        self._items = items
        """The items read, by the number events give them."""
        self._expiries = expiries
        self._last_days = [last_usable_day(expiries.get(item)) for item in items]
        self._arrivals: dict[tuple[ItemKey, Location], int] | None = None
        self._dates = DayDates()
        self._today = as_of.in_timezone(timezone).date()

    @classmethod
    def read(  # noqa: C901, PLR0912, PLR0915  (one inlined pass over every movement: the hot loop)
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
        query = MovementQuery(device=gtin, up_to_position=up_to_position)
        # The hot loop of a full recompute (benchmarks/bench_analytics.py): each
        # movement's instant and facility day come from cached UTC offsets
        # (medinv.analytics._instants) instead of two time-zone conversions, its
        # effects are filed inline (no deltas() tuple), and every day is an ordinal.
        days = FacilityDays(zoneinfo.ZoneInfo(zone.name))
        hours = days.hours
        events: dict[_PathKey, list[_Event]] = {}
        places: dict[_PathKey, ProductKey] = {}
        issued: dict[str, tuple[_PathKey, int, int, int]] = {}
        reversed_issues: list[tuple[_PathKey, int, int, int]] = []
        numbers: dict[ItemKey, int] = {}  # every item read: its number in `items`
        items: list[ItemKey] = []
        products: list[str] = []  # each item's device text, by number
        status_numbers = _STATUS_NUMBERS
        unsorted: dict[int, list[_Event]] = {}  # places with an event dated before their last
        last = exact_instant(moment)
        issue, consumption = MovementKind.ISSUE, MovementKind.CONSUMPTION
        reversal = MovementKind.REVERSAL
        with collector_paused():
            for recorded in store.movements(query):
                m = recorded.movement
                o = m.occurred_at
                found = hours.get((id(o.tzinfo), o.toordinal() * 24 + o.hour, o.fold))
                if found is None:
                    at, day = days.instant_and_day(o)
                else:
                    at = (found[0] + o.minute * 60 + o.second) * 1_000_000 + o.microsecond
                    day = found[1]
                if at > last:
                    continue
                item = m.item
                number = numbers.get(item)
                if number is None:
                    number = numbers[item] = len(items)
                    items.append(item)
                    products.append(item.device_text)
                product = products[number]
                position, quantity = recorded.position, m.quantity
                # The two sides written out (no tuple of sides per movement): the
                # source's effect first, as deltas() gives them.
                location, status = m.from_location, m.from_status
                if location is not None and status is not None:
                    key = (product, location.path)  # hashed in C; the first Location kept
                    filed = events.get(key)
                    if filed is None:
                        filed = events[key] = []
                        places[key] = (product, location)
                    elif at < filed[-1][0]:  # dated before the place's last: sort it
                        unsorted[id(filed)] = filed
                    filed.append((at, position, day, number, status_numbers[status], -quantity))
                    kind = m.kind
                    if kind is issue or kind is consumption:
                        issued[m.id] = (key, number, day, quantity)
                location, status = m.to_location, m.to_status
                if location is not None and status is not None:
                    key = (product, location.path)
                    filed = events.get(key)
                    if filed is None:
                        filed = events[key] = []
                        places[key] = (product, location)
                    elif at < filed[-1][0]:
                        unsorted[id(filed)] = filed
                    filed.append((at, position, day, number, status_numbers[status], quantity))
                if m.kind is reversal and m.reverses in issued:
                    reversed_issues.append(issued.pop(m.reverses))
            # Grouped by the path key (hashed in C), each group's key made a place once.
            by_path: dict[_PathKey, list[_Issue]] = defaultdict(list)
            for key, number, day, quantity in issued.values():
                by_path[key].append((number, day, quantity))
            for key, number, day, quantity in reversed_issues:
                by_path[key] += [(number, day, quantity), (number, day, -quantity)]
            issues = {places[key]: found for key, found in by_path.items()}
            # Positions grow through the read, so a place's events are in time order
            # unless one was dated before the place's last (a late entry).
            for filed in unsorted.values():
                filed.sort(key=_IN_TIME_ORDER)
        return cls(
            as_of=moment,
            timezone=zone.name,
            events={places[key]: filed for key, filed in events.items()},
            issues=issues,
            items=items,
            expiries=_expiries(store, set(items)),
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
        return sorted(self._events, key=lambda k: (k[0], k[1].path))

    def expiry(self, item: ItemKey) -> pendulum.Date | None:
        """The item's expiry (its lot's, else its own), ``None`` when it has none."""
        return self._expiries.get(item)

    def usable(self, item: ItemKey, status: StockStatus, day: pendulum.Date) -> bool:
        """Whether stock of ``item`` in ``status`` may be issued on ``day``."""
        return status is StockStatus.AVAILABLE and not is_expired(self._expiries.get(item), day)

    def first_arrival(self, item: ItemKey, location: Location) -> pendulum.Date | None:
        """The first day ``item`` came into ``location`` (receipt, transfer in, return ...)."""
        ordinal = self._first_arrivals().get((item, location))
        return None if ordinal is None else self._date(ordinal)

    def first_received(self, item: ItemKey) -> pendulum.Date | None:
        """The first day ``item`` came into any location: its age survives transfers."""
        days = [day for (it, _), day in self._first_arrivals().items() if it == item]
        return self._date(min(days)) if days else None

    def balances(self, key: ProductKey) -> dict[tuple[ItemKey, StockStatus], int]:
        """The non-zero balances of a product at a location at ``as_of``, per item and status."""
        totals: dict[tuple[int, int], int] = defaultdict(int)
        for _, _, _, item, status, delta in self._events.get(key, ()):
            totals[(item, status)] += delta
        items = self._items
        return {(items[i], _STATUSES[s]): q for (i, s), q in totals.items() if q}

    def consumed(self, key: ProductKey) -> dict[pendulum.Date, int]:
        """Net quantity issued or consumed per day at the location (non-zero days only)."""
        totals: dict[int, int] = defaultdict(int)
        for _, day, quantity in self._issues.get(key, ()):
            totals[day] += quantity
        return {self._date(d): q for d, q in sorted(totals.items()) if q}

    def last_issue(self, key: ProductKey) -> dict[ItemKey, pendulum.Date]:
        """The last day each item was issued or consumed at the location (reversed ones not)."""
        net: dict[tuple[int, int], int] = defaultdict(int)
        for item, day, quantity in self._issues.get(key, ()):
            net[(item, day)] += quantity
        last: dict[int, int] = {}
        for (item, day), quantity in net.items():
            if quantity > 0 and (item not in last or last[item] < day):
                last[item] = day
        return {self._items[item]: self._date(day) for item, day in last.items()}

    def events(self, key: ProductKey) -> Iterator[tuple[pendulum.Date, ItemKey, StockStatus, int]]:
        """Each balance change at the location in time order: (day, item, status, delta)."""
        items = self._items
        for _, _, day, item, status, delta in self._events.get(key, ()):
            yield self._date(day), items[item], _STATUSES[status], delta

    # ------------------------------------------------------------------ for this package

    def _day_events(self, key: ProductKey) -> list[_Event]:
        """The events at a place as read, in time order (days as ordinals): do not change."""
        return self._events.get(key, [])

    def _day_issues(self, key: ProductKey) -> list[_Issue]:
        """The issues at a place as read (days as ordinals, reversals negated): do not change."""
        return self._issues.get(key, [])

    def _last_day(self, item: int) -> int:
        """The last day item number ``item`` is usable (its expiry's ordinal, or never)."""
        return self._last_days[item]

    def _date(self, ordinal: int) -> pendulum.Date:
        """The date of a day ordinal (one date object per day)."""
        return self._dates[ordinal]

    def _first_arrivals(self) -> dict[tuple[ItemKey, Location], int]:
        """The first day each item came into each location (worked out once, when asked)."""
        if self._arrivals is None:
            arrivals: dict[tuple[ItemKey, Location], int] = {}
            items = self._items
            for (_, location), found in self._events.items():
                for _, _, day, item, _, delta in found:
                    if delta > 0:
                        key = (items[item], location)
                        first = arrivals.get(key)
                        if first is None or day < first:
                            arrivals[key] = day
            self._arrivals = arrivals
        return self._arrivals


def last_usable_day(expiry: pendulum.Date | None) -> int:
    """The ordinal of the last day stock with this expiry is usable (never: ``_NEVER``)."""
    return _NEVER if expiry is None else expiry.toordinal()


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
