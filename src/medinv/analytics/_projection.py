"""A daily demand projection kept up to date from a checkpoint: the cost of a day is the day's.

[`DemandProjection`][medinv.analytics.DemandProjection] holds, per product and
location, what [`demand`][medinv.analytics.demand] would compute from the whole
ledger: the quantity consumed each day, the stock-out days and the usable closing
stock, together with the running balances it needs to go on. It remembers the
last ledger position it folded in; [`catch_up`][medinv.analytics.DemandProjection.catch_up]
reads only the movements stored after it. A movement stored late but dated before
what a place has already folded (a late entry) makes the projection fold that
product's movements again from the start; nothing else is read twice.

[`verify`][medinv.analytics.DemandProjection.verify] recomputes every series from
the whole ledger and lists the places where the projection disagrees, so a stale or
tampered projection is found. [`to_rows`][medinv.analytics.DemandProjection.to_rows]
and [`from_rows`][medinv.analytics.DemandProjection.from_rows] turn it into
JSON texts per place, what the stores keep in their ``projections`` part;
[`save`][medinv.analytics.DemandProjection.save] adds a day's changes as one
journal row, compacted into the places' rows every sixteenth save.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import pendulum

from medinv.analytics._demand import (
    AmcMethod,
    AverageConsumption,
    DemandSeries,
    _average,
    _check_average,
    _day_runs,
    count_runs,
    demand,
    expand_runs,
    location_of,
)
from medinv.analytics._history import (
    ProductKey,
    StockHistory,
    _expiries,
    _store_and_zone,
    last_usable_day,
)
from medinv.analytics._instants import DayDates, FacilityDays, collector_paused, exact_instant
from medinv.dates import facility_timezone, to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery, ProjectionStore
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.journal import RecordedMovement

__all__ = ["DEFAULT_NAME", "DemandProjection", "ProjectionMismatch"]

DEFAULT_NAME: Final = "daily-demand"
"""The name a demand projection is saved under unless told otherwise."""

_ISSUING: Final = frozenset({MovementKind.ISSUE, MovementKind.CONSUMPTION})
_FORMAT: Final = 1
"""Version of the JSON texts of a place (``to_rows``)."""
_CHUNK: Final = 64
"""Days per stored row of a place's series: a compaction rewrites one or two per place."""
_JOURNAL: Final = "\tjournal\t"
"""Key prefix of the journal rows (no place's key starts with a tab), numbered from 0."""
_COMPACT_AFTER: Final = 16
"""Saves that append a journal row before one rewrites the places' own rows instead."""

_NO_DAY: Final = 1 << 62
"""A day ordinal after every real one: no lot stops being usable."""

_Event = tuple[int, int, int, ItemKey, StockStatus, int, int]
"""(occurred at in microseconds since the epoch, position, day ordinal, item, status, delta,
quantity issued: an issue's or a consumption's at its source, else 0)."""
_BY_TIME: Final = operator.itemgetter(0, 1)
"""An event's (occurred at, position): the order a place folds its events in."""


@attrs.define
class _Place:
    """The folded state of one product at one location."""

    start: int
    """Ordinal of the first day (the first event's day)."""
    stock_out: list[bool] = attrs.field(factory=list)
    closing: list[int] = attrs.field(factory=list)
    consumed: list[int] = attrs.field(factory=list)
    """Net quantity issued or consumed each day (one entry per day, as ``closing``)."""
    balances: dict[ItemKey, int] = attrs.field(factory=lambda: defaultdict(int))
    """``AVAILABLE`` balance per item."""
    last_day: dict[ItemKey, int] = attrs.field(factory=dict)
    """Every item seen here: the last day it is usable (its expiry's ordinal)."""
    usable: int = 0
    last: tuple[int, int] = (0, 0)
    """(occurred at, position) of the last event folded."""
    sums: tuple[list[int], list[int], list[int]] = attrs.field(
        factory=lambda: ([0], [0], [0]), init=False, eq=False, repr=False
    )
    """Running totals from day ``sums_from`` (counted from the first day): consumed,
    stock-out days, days that closed with stock; entry ``k`` sums ``k`` days. A
    window's figures are then three subtractions, and a day's report adds up only
    the days folded since the last one."""
    sums_from: int = attrs.field(default=0, init=False, eq=False, repr=False)
    summed: int = attrs.field(default=0, init=False, eq=False, repr=False)
    """The days from ``sums_from`` up to here are summed."""
    unusable_from: tuple[int, int] = attrs.field(
        default=(_NO_DAY, _NO_DAY), init=False, eq=False, repr=False
    )
    """``next_unusable()`` and the last day it was found for."""

    def _changed_from(self, index: int) -> None:
        """The day at ``index`` (from the first day) and those after it changed."""
        if index < self.summed:
            self.summed = max(index, self.sums_from)

    def window_sums(self, first: int, stop: int) -> tuple[int, int, int]:
        """Consumed, stock-out days and days closed with stock, of days ``first`` to ``stop``.

        Days count from the first one. The totals start at the first window asked
        about (a load does not add up every day of the history) and start again at
        an earlier one when a wider window is asked about.
        """
        if first < self.sums_from or self.summed == self.sums_from:
            # Nothing summed yet, or a window that starts earlier: start from this one.
            self.sums = ([0], [0], [0])
            self.sums_from = self.summed = first
        base, summed, days = self.sums_from, self.summed, len(self.closing)
        consumed_sums, out_sums, closed_sums = self.sums
        if summed < days:
            keep = summed - base + 1
            del consumed_sums[keep:], out_sums[keep:], closed_sums[keep:]
            for sums, values in (
                (consumed_sums, self.consumed[summed:]),
                (out_sums, self.stock_out[summed:]),
                (closed_sums, map(bool, self.closing[summed:])),  # usable is never below 0
            ):
                running = itertools.accumulate(values, initial=sums[-1])
                next(running)
                sums.extend(running)
            self.summed = days
        first, stop = first - base, stop - base
        return (
            consumed_sums[stop] - consumed_sums[first],
            out_sums[stop] - out_sums[first],
            closed_sums[stop] - closed_sums[first],
        )

    @property
    def end(self) -> int:
        """Ordinal of the last day in the lists."""
        return self.start + len(self.closing) - 1

    def recount(self, ordinal: int) -> int:
        return sum(
            q for item, q in self.balances.items() if q > 0 and self.last_day[item] >= ordinal
        )

    def open_days(self, upto: int) -> None:
        """Append the days after the last one up to ``upto``, with no event on them."""
        if not self.closing:
            self._open(self.start)
        if upto <= self.end:
            return
        last_days = self.last_day.values()  # a lot is usable up to its day, recounted after
        usable = self.usable
        stock_out, closing, consumed = self.stock_out, self.closing, self.consumed
        for ordinal in range(self.end + 1, upto + 1):
            if ordinal - 1 in last_days:
                usable = self.recount(ordinal)
            stock_out.append(usable <= 0)
            closing.append(usable)
            consumed.append(0)
        self.usable = usable

    def _open(self, ordinal: int) -> None:
        self.usable = self.recount(ordinal)
        self.stock_out.append(self.usable <= 0)
        self.closing.append(self.usable)
        self.consumed.append(0)

    def add_consumed(self, ordinal: int, quantity: int) -> None:
        """Count ``quantity`` on a day already folded (an issue's, or its reversal's)."""
        self.consumed[ordinal - self.start] += quantity
        self._changed_from(ordinal - self.start)

    def fold(self, events: list[_Event], expiries: Mapping[ItemKey, int]) -> None:
        """Fold events that come after every event folded so far, in time order.

        An event's quantity issued (an issue's or a consumption's) counts on its day.
        """
        last_day, balances, available = self.last_day, self.balances, StockStatus.AVAILABLE
        stock_out, closing, consumed = self.stock_out, self.closing, self.consumed
        stop = self.start + len(closing)  # the day after the last one opened
        if len(closing) <= self.summed:  # the last day's figures may change
            self._changed_from(len(closing) - 1)
        usable = self.usable
        for _, _, ordinal, item, status, delta, issued in events:
            if item not in last_day:
                last_day[item] = expiries[item]
                self.unusable_from = (_NO_DAY, _NO_DAY)
            if ordinal >= stop:
                self.usable = usable
                self.open_days(ordinal)
                usable = self.usable
                stop = ordinal + 1
            if status is available:
                before = balances[item]
                after = balances[item] = before + delta
                if last_day[item] >= ordinal:
                    usable += (after if after > 0 else 0) - (before if before > 0 else 0)  # noqa: FURB136
                    if usable > 0:
                        stock_out[-1] = False
                closing[-1] = usable
            if issued:
                consumed[-1] += issued
        self.usable = usable
        self.last = events[-1][:2]  # (occurred at, position)

    def series(self, gtin: str, location: Location, today: int) -> DemandSeries:
        length = max(0, today - self.start + 1)
        stock_out = self.stock_out[:length]
        closing = self.closing[:length]
        outs, closes = self._carried(today)
        stock_out += outs
        closing += closes
        consumed = self.consumed[:length]
        consumed += [0] * (length - len(consumed))
        start = dt.date.fromordinal(self.start)
        return DemandSeries(
            gtin=gtin,
            location=location,
            start=pendulum.Date(start.year, start.month, start.day),
            consumed=tuple(consumed),
            stock_out=tuple(stock_out),
            closing=tuple(closing),
        )

    def _carried(self, today: int) -> tuple[list[bool], list[int]]:
        """The days after the last one up to ``today``: carried forward, recounted on expiry."""
        return expand_runs(_day_runs([], self.balances, self.last_day, self.end + 1, today))

    def average(
        self, today: int, window_days: int, method: AmcMethod, dates: DayDates
    ) -> AverageConsumption:
        """``average_monthly_consumption`` of ``series(today)``, from the window's days alone.

        The days folded are summed from the lists; the days carried after the last
        one (nothing happened on them) are counted in runs between expiries. A
        report asks this of every place (100,000 at the analytics benchmark's issue
        size), most of them untouched since the last report: their window is three
        subtractions of running totals already summed, and their days carried are
        counted at once unless a lot stops being usable among them.
        """
        start = self.start
        length = today - start + 1
        if length <= 0:
            return _average(method, None, count=0, total=0, outs=0, closed=0)
        # Conditional expressions, not min and max: this runs for every place of a report.
        count = window_days if window_days < length else length  # noqa: FURB136
        first = length - count
        folded = len(self.closing)
        stop = length if length < folded else folded  # noqa: FURB136
        if first >= folded:
            total = outs = closed = 0
        else:
            total, outs, closed = self.window_sums(first, stop)
        if length > folded:
            begin = start + (first if first > folded else folded)  # noqa: FURB136
            if self.next_unusable() < today:
                # A lot stops being usable after the last day folded: recount there.
                more_outs, more_closed = count_runs(
                    _day_runs([], self.balances, self.last_day, begin, today)
                )
                outs += more_outs
                closed += more_closed
            elif self.usable > 0:  # every day carried closes as the last one folded
                closed += today - begin + 1
            else:
                outs += today - begin + 1
        return _average(method, dates[start + first], count, total, outs, closed)

    def next_unusable(self) -> int:
        """The first last-usable day of a lot on or after the last day folded (or never).

        Kept until a lot is added or the days change (``fold``, ``open_days``,
        ``extend``, ``truncate``, ``restore``): a lot whose last usable day it is
        makes the days carried after it be recounted.
        """
        end = self.start + len(self.closing) - 1
        known = self.unusable_from
        if known[0] != end:
            later = [day for day in self.last_day.values() if day >= end]
            known = self.unusable_from = (end, min(later) if later else _NO_DAY)
        return known[1]

    def state_json(self) -> dict[str, Any]:
        """What goes on from the last day: the lots, the running total, the last event."""
        return {
            "format": _FORMAT,
            "start": self.start,
            "end": self.end,
            "items": [
                [*_item_fields(item), self.last_day[item], self.balances.get(item, 0)]
                for item in sorted(self.last_day, key=str)
            ],
            "usable": self.usable,
            "last": list(self.last),
        }

    def chunk_json(self, chunk: int) -> dict[str, Any]:
        """The days of ``chunk`` (ordinals ``chunk * 64`` to ``chunk * 64 + 63``) it has."""
        return self.days_json(
            max(chunk * _CHUNK, self.start), min((chunk + 1) * _CHUNK, self.end + 1)
        )

    def days_json(self, first: int, stop: int) -> dict[str, Any]:
        """The days from ordinal ``first`` to ``stop`` (excluded), as a row of days holds them."""
        days = slice(first - self.start, stop - self.start)
        return {
            "from": first,
            "stock_out": "".join("1" if s else "0" for s in self.stock_out[days]),
            "closing": self.closing[days],
            "consumed": [
                [d, q] for d, q in zip(range(first, stop), self.consumed[days], strict=True) if q
            ],
        }

    def journal_entry(self, product: str, path: str, ordinal: int) -> list[Any]:
        """The place's key, ``state_json`` and ``days_json`` from ``ordinal`` on, flat.

        What a save journals for each place the day touched (about 1,600 a day at
        ``benchmarks/bench_analytics.py``'s default size): one flat list, no
        dictionaries, no sort.
        """
        start = self.start
        first = ordinal if ordinal > start else start  # noqa: FURB136  (for each place)
        index = first - start
        consumed, balances = self.consumed, self.balances
        at, position = self.last
        return [
            product,
            path,
            start,
            start + len(self.closing) - 1,
            self.usable,
            at,
            position,
            [[*_item_fields(i), d, balances.get(i, 0)] for i, d in self.last_day.items()],
            first,
            "".join(["1" if s else "0" for s in self.stock_out[index:]]),
            self.closing[index:],
            [[start + k, consumed[k]] for k in range(index, len(consumed)) if consumed[k]],
        ]

    @classmethod
    def from_json(cls, state: Mapping[str, Any], chunks: list[Mapping[str, Any]]) -> _Place:
        place = cls.empty(state)
        for chunk in sorted(chunks, key=lambda c: int(c["from"])):
            place.extend(chunk)
        place.restore(state)
        return place

    @classmethod
    def empty(cls, state: Mapping[str, Any]) -> _Place:
        """A place with no days yet, starting where ``state`` says."""
        if state.get("format") != _FORMAT:
            msg = f"unknown format {state.get('format')!r}"
            raise ValueError(msg)
        return cls(start=int(state["start"]))

    def extend(self, chunk: Mapping[str, Any]) -> None:
        """Append the days of a row (``days_json``), which must follow the last day."""
        if int(chunk["from"]) != self.start + len(self.closing):
            msg = f"the days from {chunk['from']} do not follow the days before them"
            raise ValueError(msg)
        first = len(self.closing)
        self._changed_from(first)
        self.stock_out += [c == "1" for c in chunk["stock_out"]]
        self.closing += [int(q) for q in chunk["closing"]]
        if len(self.stock_out) != len(self.closing):
            msg = "stock-out and closing series differ in length"
            raise ValueError(msg)
        self.consumed += [0] * (len(self.closing) - first)
        for d, q in chunk["consumed"]:
            index = int(d) - self.start
            if not first <= index < len(self.closing):
                msg = f"a quantity consumed on day {d} is outside its row's days"
                raise ValueError(msg)
            self.consumed[index] = int(q)

    def truncate(self, ordinal: int) -> None:
        """Drop the days from ``ordinal`` on (a journal entry holds them again)."""
        index = ordinal - self.start
        if not 0 <= index <= len(self.closing):
            msg = f"the days from {ordinal} do not follow the days before them"
            raise ValueError(msg)
        del self.stock_out[index:], self.closing[index:], self.consumed[index:]
        self._changed_from(index)

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take the running state (``state_json``) of the last day the lists hold."""
        if self.end != int(state["end"]):
            msg = f"the days end on {self.end}, not on {state['end']}"
            raise ValueError(msg)
        self.usable = int(state["usable"])
        self.last = (int(state["last"][0]), int(state["last"][1]))
        self.last_day = {}
        self.unusable_from = (_NO_DAY, _NO_DAY)
        self.balances = defaultdict(int)
        for device, lot, serial, last_day, balance in state["items"]:
            item = ItemKey(str(device), lot=lot, serial=serial)
            self.last_day[item] = int(last_day)
            if balance:
                self.balances[item] = int(balance)


@functools.lru_cache(maxsize=1 << 16)
def _item_fields(item: ItemKey) -> tuple[str, str | None, str | None]:
    """An item's texts as the projection's rows keep them, each made once.

    A day's save writes every lot of every place it touched.
    """
    lot, serial = item.lot, item.serial
    return (
        item.device_text,
        None if lot is None else lot.value,
        None if serial is None else serial.value,
    )


@functools.lru_cache(maxsize=1 << 17)
def _path_text(location: Location) -> str:
    """A location's path as a text, made once (a day's save writes thousands)."""
    return str(location)


@attrs.frozen
class ProjectionMismatch:
    """A place where the projection and a full recompute of the ledger disagree."""

    gtin: str
    """The product."""
    location: Location
    """The location."""
    projected: DemandSeries
    """What the projection says."""
    recomputed: DemandSeries
    """What [`demand`][medinv.analytics.demand] computes from the whole ledger."""


class DemandProjection:
    """Daily demand per product and location, folded from the ledger up to ``position``.

    Build one with [`build`][medinv.analytics.DemandProjection.build] (or an empty
    one and [`catch_up`][medinv.analytics.DemandProjection.catch_up]); after more
    movements are posted, ``catch_up`` folds in only those stored after
    ``position``. [`demand`][medinv.analytics.DemandProjection.demand] then gives
    the same [`DemandSeries`][medinv.analytics.DemandSeries] as
    [`medinv.analytics.demand`][medinv.analytics.demand] over a full
    [`StockHistory`][medinv.analytics.StockHistory], for any ``as_of`` at or after
    the latest movement folded in.
    """

    def __init__(self, timezone: str) -> None:
        zone = facility_timezone(timezone)
        self._timezone = zone.name
        self._zone = zoneinfo.ZoneInfo(zone.name)
        # Instants and days from cached hourly offsets, as StockHistory.read does
        # (benchmarks/bench_analytics.py times the catch-up of one day).
        self._days = FacilityDays(self._zone)
        self._as_of: tuple[object, int, int] | None = None
        """The last ``as_of`` asked about, the latest instant then folded and its day."""
        self._places: dict[ProductKey, _Place] = {}
        self._dates_made = DayDates()
        self._order: list[tuple[ProductKey, _Place]] | None = None
        """``places()``, kept until a place is added or dropped."""
        self._position = 0
        self._latest = 0
        self._changed: dict[ProductKey, int] = {}
        """Each place changed since the last save, and its first day that changed."""
        self._gone: dict[ProductKey, tuple[int, int]] = {}
        """Places dropped since the last save (refolded): the days their rows held."""
        self._saved: int | None = None
        # What the stored journal rows hold (see ``save``): how many there are, and the
        # places they changed or dropped since the places' own rows were last written.
        self._journal = 0
        self._journaled: dict[ProductKey, int] = {}
        self._journal_gone: dict[ProductKey, tuple[int, int]] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, source: Ledger | LedgerStore, *, timezone: str | None = None
    ) -> DemandProjection:
        """Fold the whole ledger (the same as an empty projection caught up).

        Raises:
            InvalidValueError: the time zone is missing or unknown, or ``source`` is
                neither a ledger nor a store.
        """
        _, zone = _store_and_zone(source, timezone)
        projection = cls(zone.name)
        projection.catch_up(source)
        return projection

    def catch_up(self, source: Ledger | LedgerStore) -> int:
        """Fold in the movements stored after ``position``; returns how many were read.

        Raises:
            InvalidValueError: ``source`` is neither a ledger nor a store.
        """
        store, _ = _store_and_zone(source, self._timezone)
        head = store.head().position
        if head <= self._position:
            return 0
        query = MovementQuery(after_position=self._position, up_to_position=head)
        with collector_paused():  # as StockHistory.read: many small values, no cycle
            count = self._fold(store, store.movements(query), head, rebuild=False)
        self._position = head
        return count

    def _fold(
        self, store: LedgerStore, stored: Iterable[RecordedMovement], head: int, *, rebuild: bool
    ) -> int:
        count, events, issues, reversed_ids, items = self._read(stored)
        expiries = _expiry_ordinals(store, items)
        # A product is folded again from the start when an event comes before what a
        # place has folded already (a late entry). Expiries never change: the ledger
        # refuses a lot stated again with another one.
        stale: set[str] = set()
        for key, found in events.items():
            found.sort(key=_BY_TIME)
            place = self._places.get(key)
            if place is not None and (found[0][0], found[0][1]) < place.last:
                stale.add(key[0])
        if rebuild:
            stale = set()
        for product in stale:
            self._rebuild(store, product, head)
        for key, found in events.items():
            if key[0] not in stale:
                place = self._place(key, found[0][2])
                self._touch(key, place.end if place.closing else place.start)
                place.fold(found, expiries)
        self._net_reversals(store, issues, reversed_ids, stale)
        return count

    def _read(
        self, stored: Iterable[RecordedMovement]
    ) -> tuple[
        int,
        dict[ProductKey, list[_Event]],
        dict[str, tuple[ProductKey, int, int]],
        list[str],
        set[ItemKey],
    ]:
        """File the movements' effects per place; note the issues and what is reversed."""
        events: dict[ProductKey, list[_Event]] = defaultdict(list)
        issues: dict[str, tuple[ProductKey, int, int]] = {}
        reversed_ids: list[str] = []
        products: dict[ItemKey, str] = {}  # every item read: its device text
        count, latest, lookup = 0, self._latest, self._days.lookup
        issue, consumption = MovementKind.ISSUE, MovementKind.CONSUMPTION
        reversal = MovementKind.REVERSAL
        for recorded in stored:
            count += 1
            m = recorded.movement
            at, ordinal = lookup(m.occurred_at)
            latest = max(latest, at)
            item = m.item
            product = products.get(item)
            if product is None:
                product = products[item] = item.device_text
            issuing = m.kind is issue or m.kind is consumption
            for location, status, delta in m.deltas():
                key = (product, location)
                if delta < 0 and issuing:  # an issuing movement has one side: its source
                    issues[m.id] = (key, ordinal, m.quantity)
                    issued = -delta
                else:
                    issued = 0
                events[key].append((at, recorded.position, ordinal, item, status, delta, issued))
            if m.kind is reversal and m.reverses is not None:
                reversed_ids.append(m.reverses)
        self._latest = latest
        items = set(products)
        return count, events, issues, reversed_ids, items

    def _place(self, key: ProductKey, ordinal: int) -> _Place:
        place = self._places.get(key)
        if place is None:
            place = self._places[key] = _Place(start=ordinal)
            self._order = None
        return place

    def _ordinal(self, moment: dt.datetime) -> int:
        # The standard library's conversion from the instant, as StockHistory does.
        return dt.datetime.fromtimestamp(moment.timestamp(), self._zone).toordinal()

    def _net_reversals(
        self,
        store: LedgerStore,
        issues: dict[str, tuple[ProductKey, int, int]],
        reversed_ids: list[str],
        stale: set[str],
    ) -> None:
        """A reversal of an issue or consumption takes it back on the day it was issued.

        ``issues`` are the issues and consumptions this catch-up read (``fold`` has
        counted them); one reversed here that was read earlier is looked up by id.
        """
        earlier = [i for i in reversed_ids if i not in issues]
        if earlier:
            for recorded in store.movements_by_id(earlier).values():
                m = recorded.movement
                if m.kind in _ISSUING:
                    for location, _, delta in m.deltas():
                        if delta < 0:
                            key = (m.item.device_text, location)
                            issues[m.id] = (key, self._ordinal(m.occurred_at), m.quantity)
        for reversed_id in reversed_ids:
            found = issues.pop(reversed_id, None)
            if found is not None and found[0][0] not in stale:
                key, ordinal, quantity = found
                self._places[key].add_consumed(ordinal, -quantity)
                self._touch(key, ordinal)

    def _rebuild(self, store: LedgerStore, product: str, head: int) -> None:
        """Fold every movement of ``product`` again, in time order, from an empty state."""
        fresh = DemandProjection(self._timezone)
        query = MovementQuery(device=product, up_to_position=head)
        fresh._fold(store, store.movements(query), head, rebuild=True)
        self._order = None
        for key in [k for k in self._places if k[0] == product]:
            old = self._places.pop(key)
            if key not in self._gone:
                self._gone[key] = (old.start, old.end)
            self._changed.pop(key, None)
            self._journaled.pop(key, None)
        for key, place in fresh._places.items():
            self._places[key] = place
            self._touch(key, place.start)
        self._latest = max(self._latest, fresh._latest)

    # ------------------------------------------------------------------ reading

    @property
    def position(self) -> int:
        """The last ledger position folded in (0: nothing yet)."""
        return self._position

    @property
    def timezone(self) -> str:
        """The facility's time zone (IANA name) that dates the movements."""
        return self._timezone

    def places(self) -> list[ProductKey]:
        """Every (product, location) folded in, sorted by product then location path."""
        return [key for key, _ in self._sorted_places()]

    def _sorted_places(self) -> list[tuple[ProductKey, _Place]]:
        """``places()``, sorted again only after places were added or dropped: do not change."""
        if self._order is None:
            self._order = sorted(self._places.items(), key=lambda kv: (kv[0][0], kv[0][1].path))
        return self._order

    def demand(self, gtin: str, location: Location | str, *, as_of: object) -> DemandSeries:
        """The daily demand series of ``gtin`` at ``location`` up to ``as_of``'s facility date.

        Equal to [`medinv.analytics.demand`][medinv.analytics.demand] over a
        [`StockHistory`][medinv.analytics.StockHistory] read as of ``as_of`` up to
        ``position``.

        Raises:
            InvalidValueError: ``as_of`` is not an aware moment, is before a movement
                already folded in (read a `StockHistory` for figures of the past), or
                ``location`` is not a location.
        """
        today = self._today(as_of)
        place = location_of(location)
        found = self._places.get((gtin, place))
        if found is None:
            return DemandSeries(
                gtin=gtin, location=place, start=None, consumed=(), stock_out=(), closing=()
            )
        return found.series(gtin, place, today)

    def _today(self, as_of: object) -> int:
        # A report asks about one as_of for every place: convert it once.
        last = self._as_of
        if last is not None and last[0] is as_of and last[1] == self._latest:
            return last[2]
        moment = to_datetime(as_of)
        if exact_instant(moment) < self._latest:
            latest = dt.datetime.fromtimestamp(self._latest / 1_000_000, dt.UTC).isoformat()
            msg = (
                f"as_of {moment.isoformat()} is before the latest movement folded in "
                f"({latest}): the projection only describes the present; read a "
                "StockHistory for an earlier moment"
            )
            raise InvalidValueError(msg)
        today = self._ordinal(moment)
        if isinstance(as_of, (str, dt.datetime)):  # immutable: the same object, the same day
            self._as_of = (as_of, self._latest, today)
        return today

    def verify(self, source: Ledger | LedgerStore, *, as_of: object) -> list[ProjectionMismatch]:
        """Recompute every series from the ledger up to ``position``; list the disagreements.

        An empty list means the projection equals a full recompute. Costs what a
        full recompute costs.

        Raises:
            InvalidValueError: as for [`demand`][medinv.analytics.DemandProjection.demand].
        """
        self._today(as_of)
        history = StockHistory.read(
            source, as_of=as_of, timezone=self._timezone, up_to_position=self._position
        )
        keys = set(history.places()) | set(self._places)
        out = []
        for g, location in sorted(keys, key=lambda k: (k[0], k[1].path)):
            projected = self.demand(g, location, as_of=as_of)
            recomputed = demand(history, g, location)
            if projected != recomputed:
                out.append(ProjectionMismatch(g, location, projected, recomputed))
        return out

    # ------------------------------------------------------------------ persistence

    def _touch(self, key: ProductKey, ordinal: int) -> None:
        known = self._changed.get(key)
        if known is None or ordinal < known:
            self._changed[key] = ordinal

    def to_rows(self, *, changed_only: bool = False) -> dict[str, str]:
        """The JSON texts of the places: a state row and one row per 64 days of each.

        A place's state is keyed ``"<product> <location path>"``, its days
        ``"<product> <location path>"``, a tab and ``n`` (the days ``64 n`` to ``64 n + 63`` as
        ordinals). With ``changed_only``, only what changed since the projection was
        loaded or last saved (an empty text for a row to delete): after a day's
        catch-up, the state and the last rows of each place it touched.
        """
        if changed_only:
            return self._place_rows(self._changed, self._gone)
        return self._place_rows({key: place.start for key, place in self._places.items()}, {})

    def _place_rows(
        self, changed: Mapping[ProductKey, int], gone: Mapping[ProductKey, tuple[int, int]]
    ) -> dict[str, str]:
        """The rows of ``changed`` places from their day given, and empty ones for ``gone``."""
        rows: dict[str, str] = {}
        for key, (start, end) in gone.items():
            text = f"{key[0]} {key[1]}"
            rows[text] = ""
            for chunk in range(start // _CHUNK, end // _CHUNK + 1):
                rows[f"{text}\t{chunk}"] = ""
        for key, ordinal in changed.items():
            text = f"{key[0]} {key[1]}"
            place = self._places[key]
            rows[text] = _dumps(place.state_json())
            for chunk in range(max(ordinal, place.start) // _CHUNK, place.end // _CHUNK + 1):
                rows[f"{text}\t{chunk}"] = _dumps(place.chunk_json(chunk))
        return rows

    @classmethod
    def from_rows(
        cls, rows: Mapping[str, str], *, position: int, timezone: str
    ) -> DemandProjection:
        """The projection that ``to_rows`` and ``save`` wrote (rows with empty text are skipped).

        The journal rows a save appends are applied in turn over the places' own rows.

        Raises:
            InvalidValueError: a row is not what ``to_rows`` writes, or ``position``
                is not a whole number of at least 0.
        """
        given: object = position
        if isinstance(given, bool) or not isinstance(given, int) or given < 0:
            msg = f"position must be a whole number of at least 0, not {position!r:.40}"
            raise InvalidValueError(msg)
        projection = cls(timezone)
        projection._position = position
        states: dict[str, Any] = {}
        chunks: dict[str, list[Any]] = defaultdict(list)
        journal: dict[int, tuple[str, Any]] = {}
        for text, payload in rows.items():
            if payload:
                place_text, tab, _ = text.partition("\t")
                try:
                    data = json.loads(payload)
                    if text.startswith(_JOURNAL):
                        journal[int(text.removeprefix(_JOURNAL))] = (text, data)
                        continue
                except ValueError as exc:
                    msg = f"projection row {text!r:.80} is not a stored demand projection: {exc}"
                    raise InvalidValueError(msg) from exc
                if tab:
                    chunks[place_text].append(data)
                else:
                    states[text] = data
        for text, state in states.items():
            try:
                product, _, path = text.partition(" ")
                place = _Place.from_json(state, chunks.pop(text, []))
                key = (product, Location.parse(path))
            except (ValueError, KeyError, TypeError, IndexError, InvalidValueError) as exc:
                msg = f"projection row {text!r:.80} is not a stored demand projection: {exc}"
                raise InvalidValueError(msg) from exc
            projection._places[key] = place
            projection._latest = max(projection._latest, place.last[0])
        if chunks:
            msg = f"projection rows of {min(chunks)!r:.80} hold days of no stored place"
            raise InvalidValueError(msg)
        projection._replay_journal(journal)
        return projection

    @classmethod
    def load(
        cls, projections: ProjectionStore, *, name: str = DEFAULT_NAME
    ) -> DemandProjection | None:
        """The projection saved under ``name`` in ``projections``, or ``None``.

        Raises:
            InvalidValueError: what is stored is not a demand projection.
        """
        stored = projections.load(name)
        if stored is None:
            return None
        projection = cls.from_rows(stored.rows, position=stored.position, timezone=stored.timezone)
        projection._saved = stored.position  # noqa: SLF001  (its own class)
        return projection

    def save(self, projections: ProjectionStore, *, name: str = DEFAULT_NAME) -> int:
        """Write what changed since it was loaded or last saved; return how many places.

        The first save writes every place's rows (``to_rows``). Later ones append one
        journal row with what changed (each changed place's state and its days from
        the first changed one); every sixteenth rewrites the rows of the places the
        journal changed and deletes the journal (a compaction). ``load`` applies
        the journal, so a loaded projection equals the one saved.

        Raises:
            ProjectionConflictError: another writer saved the projection since; nothing
                was written (load it again and catch up).
        """
        places = len(self._changed) + len(self._gone)
        if self._saved is None:
            rows, journal = self.to_rows(), 0
        elif self._journal + 1 < _COMPACT_AFTER:
            # A day's save appends one row of what the day changed (benchmarks/bench_analytics.py:
            # rewriting each touched place's state and last 64 days was most of a day's report).
            rows, journal = {}, self._journal
            if places:
                rows[f"{_JOURNAL}{journal}"] = self._journal_text()
                journal += 1
        else:
            # Compaction: the places' own rows catch up with the journal, which is deleted.
            rows = self._place_rows(
                _earliest(self._journaled, self._changed),
                _widest(self._journal_gone, self._gone),
            )
            rows |= {f"{_JOURNAL}{n}": "" for n in range(self._journal)}
            journal = 0
        projections.save(
            name, position=self._position, timezone=self._timezone, rows=rows, expected=self._saved
        )
        self._saved = self._position
        if journal:
            _earliest_into(self._journaled, self._changed)
            self._journal_gone = _widest(self._journal_gone, self._gone)
        else:
            self._journaled, self._journal_gone = {}, {}
        self._journal = journal
        self._changed = {}
        self._gone = {}
        return places

    @classmethod
    def refresh(
        cls,
        source: Ledger | LedgerStore,
        projections: ProjectionStore,
        *,
        name: str = DEFAULT_NAME,
        timezone: str | None = None,
    ) -> DemandProjection:
        """Load the saved projection (or start one), catch it up and save what changed.

        What a report calls: after a day's postings it reads that day's movements
        and rewrites the places they touched.

        Raises:
            InvalidValueError: the saved projection dates days in another time zone
                than ``timezone`` (or the ledger's), or what is stored is not one.
            ProjectionConflictError: another writer saved it meanwhile; call again.
        """
        _, zone = _store_and_zone(source, timezone)
        projection = cls.load(projections, name=name)
        if projection is None:
            projection = cls(zone.name)
        elif projection.timezone != zone.name:
            msg = (
                f"the projection {name!r} dates days in {projection.timezone}, not "
                f"{zone.name}: drop it or give its time zone"
            )
            raise InvalidValueError(msg)
        projection.catch_up(source)
        projection.save(projections, name=name)
        return projection

    def average_monthly_consumption(
        self,
        gtin: str,
        location: Location | str,
        *,
        as_of: object,
        window_days: int = 365,
        method: AmcMethod = AmcMethod.MSH,
    ) -> AverageConsumption:
        """The average monthly consumption of ``gtin`` at ``location`` up to ``as_of``.

        Equal to [`average_monthly_consumption`][medinv.analytics.average_monthly_consumption]
        of [`demand`][medinv.analytics.DemandProjection.demand]'s series, but reads
        only the window's days instead of copying the place's whole history.

        Raises:
            InvalidValueError: as for [`demand`][medinv.analytics.DemandProjection.demand],
                or ``window_days`` is not a whole number of at least 1, or ``method``
                is not an ``AmcMethod``.
        """
        _check_average(window_days, method)
        today = self._today(as_of)
        found = self._places.get((gtin, location_of(location)))
        if found is None:
            return _average(method, None, count=0, total=0, outs=0, closed=0)
        return found.average(today, window_days, method, self._dates_made)

    def averages(
        self, *, as_of: object, window_days: int = 365, method: AmcMethod = AmcMethod.MSH
    ) -> dict[ProductKey, AverageConsumption]:
        """The average monthly consumption of every place, in the order of ``places()``.

        Each is what
        [`average_monthly_consumption`][medinv.analytics.DemandProjection.average_monthly_consumption]
        gives for the place (what a report shows for every product and location).

        Raises:
            InvalidValueError: as for ``average_monthly_consumption``.
        """
        _check_average(window_days, method)
        today = self._today(as_of)
        dates = self._dates_made
        with collector_paused():  # one value per place (100,000 at the benchmark's issue size)
            return {
                key: place.average(today, window_days, method, dates)
                for key, place in self._sorted_places()
            }

    def _journal_text(self) -> str:
        """One journal row: each changed place's state and its days from the first changed."""
        with collector_paused():
            places = [
                self._places[key].journal_entry(key[0], _path_text(key[1]), ordinal)
                for key, ordinal in self._changed.items()
            ]
        gone = [[key[0], str(key[1]), start, end] for key, (start, end) in self._gone.items()]
        return _dumps({"format": _FORMAT, "places": places, "gone": gone})

    def _replay_journal(self, journal: Mapping[int, tuple[str, Any]]) -> None:
        """Apply the journal rows (number: key, data) in turn over the places loaded."""
        if sorted(journal) != list(range(len(journal))):
            msg = f"the journal rows are numbered {sorted(journal)!r:.80}, not from 0 on"
            raise InvalidValueError(msg)
        locations: dict[str, Location] = {}  # each path parsed once, not once per row
        for n in range(len(journal)):
            text, data = journal[n]
            try:
                self._replay(data, locations)
            except (ValueError, KeyError, TypeError, IndexError, InvalidValueError) as exc:
                msg = f"projection row {text!r:.80} is not a stored demand projection: {exc}"
                raise InvalidValueError(msg) from exc
        self._journal = len(journal)

    def _replay(self, data: Mapping[str, Any], locations: dict[str, Location]) -> None:
        """Apply a journal row (``_journal_text``) over the places loaded so far."""
        if data.get("format") != _FORMAT:
            msg = f"unknown format {data.get('format')!r}"
            raise ValueError(msg)
        self._order = None
        for product, path, start, end in data["gone"]:
            key = (str(product), _parsed(locations, path))
            self._places.pop(key, None)
            self._journaled.pop(key, None)
            _widen(self._journal_gone, key, (int(start), int(end)))
        for entry in data["places"]:
            product, path, state, days = _journal_place(entry)
            key = (str(product), _parsed(locations, path))
            first = int(days["from"])
            place = self._places.get(key)
            if place is None or first == int(state["start"]):
                place = _Place.empty(state)
            elif place.start != int(state["start"]):
                msg = f"the place starts on {place.start}, not on {state['start']}"
                raise ValueError(msg)
            place.truncate(first)
            place.extend(days)
            place.restore(state)
            self._places[key] = place
            self._latest = max(self._latest, place.last[0])
            self._journaled[key] = min(self._journaled.get(key, first), first)


def _journal_place(entry: list[Any]) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """A journal entry (``_Place.journal_entry``) as a product, a path, a state and days."""
    product, path, start, end, usable, at, position, items, first, outs, closing, consumed = entry
    state = {"format": _FORMAT, "start": start, "end": end, "items": items, "usable": usable}
    state["last"] = [at, position]
    return product, path, state, {"from": first, "stock_out": outs, "closing": closing,
                                  "consumed": consumed}  # fmt: skip


def _parsed(locations: dict[str, Location], path: str) -> Location:
    found = locations.get(path)
    if found is None:
        found = locations[path] = Location.parse(path)
    return found


def _earliest(*changes: Mapping[ProductKey, int]) -> dict[ProductKey, int]:
    """Each place's earliest changed day over ``changes``."""
    out: dict[ProductKey, int] = {}
    for changed in changes:
        _earliest_into(out, changed)
    return out


def _earliest_into(out: dict[ProductKey, int], changed: Mapping[ProductKey, int]) -> None:
    """Merge ``changed`` into ``out`` in place, keeping each place's earliest day."""
    for key, ordinal in changed.items():
        known = out.get(key)
        if known is None or ordinal < known:
            out[key] = ordinal


def _widest(*dropped: Mapping[ProductKey, tuple[int, int]]) -> dict[ProductKey, tuple[int, int]]:
    """Each dropped place's days over ``dropped``: from the first start to the last end."""
    out: dict[ProductKey, tuple[int, int]] = {}
    for gone in dropped:
        for key, days in gone.items():
            _widen(out, key, days)
    return out


def _widen(out: dict[ProductKey, tuple[int, int]], key: ProductKey, days: tuple[int, int]) -> None:
    """Widen ``out[key]`` to cover ``days`` (from the first start to the last end)."""
    known = out.get(key)
    out[key] = days if known is None else (min(known[0], days[0]), max(known[1], days[1]))


def _expiry_ordinals(store: LedgerStore, items: set[ItemKey]) -> dict[ItemKey, int]:
    return {item: last_usable_day(expiry) for item, expiry in _expiries(store, items).items()}


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))
"""One encoder for every row (``json.dumps`` with options builds one per call)."""


def _dumps(data: Mapping[str, Any]) -> str:
    return _ENCODER.encode(data)
