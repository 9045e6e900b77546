"""Summing a subject's movement rows into where it is, where it went and its mass balance.

One pass, in position order, over the rows as the store keeps them (text): the
sums are keyed by the stored texts and decoded into items, locations, parties and
date-times once, when the answer is built; what is kept grows with the number of
places, parties and items the subject touched, never with its number of movements.
Keeping the texts (not decoding each row) is what brings the trace near the hand
written SQL of ``benchmarks/bench_trace.py`` (docs/benchmarks/trace.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar

import pendulum

from medinv.catalogue import PartyRef
from medinv.chain import MovementDecoder, format_instant
from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.ports import MovementRow
from medinv.status import StockStatus
from medinv.trace._model import Flow, FlowKind, Holding, MassBalance, PartyFlow

__all__ = [
    "Account",
    "Balances",
    "Decoding",
    "Shapes",
    "balances_and_late",
    "holdings_of",
    "occurred",
    "unreadable",
]

_K = MovementKind
_CATEGORY: Final = {
    _K.RECEIPT.value: "received",
    _K.RETURN.value: "returned",
    _K.ADJUSTMENT.value: "adjusted",
    _K.ISSUE.value: "distributed",
    _K.CONSUMPTION.value: "consumed",
    _K.SCRAP.value: "scrapped",
}
_FROM_PARTY: Final = frozenset({_K.RECEIPT.value, _K.RETURN.value})
_TO_PARTY: Final = frozenset(
    {_K.ISSUE.value, _K.CONSUMPTION.value, _K.SCRAP.value, _K.TRANSFER.value}
)
_ADJUSTMENT: Final = _K.ADJUSTMENT.value
_CONSUMPTION: Final = _K.CONSUMPTION.value

HoldingKey = tuple[str, str | None, str | None, str, str]
"""A balance's key as stored text: device, lot, serial, location path, status."""
Balances = dict[HoldingKey, int]
_Key = TypeVar("_Key")
_fromisoformat = dt.datetime.fromisoformat


def unreadable(position: object, error: Exception) -> StorageError:
    """The error for a stored movement row whose texts no movement has, naming its position."""
    return StorageError(
        f"the stored movement at position {position!r} cannot be read back: {error}"
    )


class Decoding:
    """Stored texts into values, for the few distinct ones an answer holds.

    Raises:
        StorageError: a stored text no movement has.
    """

    def __init__(self) -> None:
        self._decoder = MovementDecoder()

    def _read(self, what: str, text: object, error: Exception) -> StorageError:
        return StorageError(
            f"a stored {what} of the trace cannot be read back ({text!r:.60}): {error}"
        )

    def item(self, device: str, lot: str | None, serial: str | None) -> ItemKey:
        try:
            return self._decoder.item(device, lot, serial)
        except (InvalidValueError, ValueError) as e:
            raise self._read("item", (device, lot, serial), e) from e

    def location(self, path: str) -> Location:
        try:
            return self._decoder.location(path)
        except (InvalidValueError, ValueError) as e:
            raise self._read("location", path, e) from e

    def status(self, text: str) -> StockStatus:
        try:
            return StockStatus(text)
        except ValueError as e:
            raise self._read("status", text, e) from e

    def party(self, text: str) -> PartyRef:
        try:
            return _party(text)
        except (InvalidValueError, ValueError) as e:
            raise self._read("counterparty", text, e) from e

    def instant(self, at: dt.datetime | Moment) -> pendulum.DateTime:
        """A date-time (or a moment's stored text) as every store decodes its text."""
        return self._decoder.instant(format_instant(at) if isinstance(at, dt.datetime) else at[2])


@functools.lru_cache(maxsize=4096)
def _party(text: str) -> PartyRef:
    """A stored counterparty (a patient's pseudonym checked once, not once per trace)."""
    return PartyRef.parse(text)


def holdings_of(balances: Balances, decoding: Decoding) -> tuple[Holding, ...]:
    """The non-zero balances as holdings, sorted by item, location and status."""
    found = [
        Holding(
            item=decoding.item(device, lot, serial),
            location=decoding.location(path),
            status=decoding.status(status),
            quantity=quantity,
        )
        for (device, lot, serial, path, status), quantity in balances.items()
        if quantity
    ]
    found.sort(key=lambda h: (h.item.sort_key(), h.location.path, h.status.value))
    return tuple(found)


def balances_and_late(
    rows: Iterable[MovementRow], before: dt.datetime | None, known_at: int
) -> tuple[Balances, list[MovementRow]]:
    """The balances the rows up to position ``known_at`` leave, and the rows after it.

    ``before``: only the rows that occurred before it count, on either side. One
    pass over the subject's rows up to the head (one series of windows, not one up
    to ``known_at`` and another after it), one loop, each row unpacked at once: the
    point-in-time question (benchmarks/bench_trace.py, docs/benchmarks/trace.md).

    Raises:
        StorageError: a row's occurred-at is not a date-time, naming its position.
    """
    limit = None if before is None else _fromisoformat(before.isoformat())  # a plain date-time
    balances: Balances = defaultdict(int)
    late: list[MovementRow] = []
    position = None
    try:
        for row in rows:
            (
                position, _, _, device, lot, serial, quantity, occurred_at, _,
                source, source_status, target, target_status, _, _,
            ) = row  # fmt: skip
            if limit is not None and _fromisoformat(occurred_at) >= limit:
                continue
            if position > known_at:
                late.append(row)
                continue
            if source is not None and source_status is not None:
                balances[device, lot, serial, source, source_status] -= quantity
            if target is not None and target_status is not None:
                balances[device, lot, serial, target, target_status] += quantity
    except (ValueError, TypeError) as e:
        raise unreadable(position, e) from e
    return balances, late


def occurred(row: MovementRow) -> dt.datetime:
    """When a row's movement occurred (an aware date-time, compared across offsets).

    Raises:
        StorageError: the stored text is not a date-time.
    """
    try:
        return _fromisoformat(row.occurred_at)
    except (ValueError, TypeError) as e:
        raise unreadable(row.position, e) from e


Moment = tuple[dt.datetime, int, str]
"""When a movement occurred, its position and the stored text of the instant: the earlier
position wins a tie of instants (two texts of one instant at different offsets), as a scan
in position order keeps it."""


class _Tally:
    """A flow being summed: entered (or sent), left (or received), consumed, dates."""

    __slots__ = ("consumed", "first_at", "into", "last_at", "out")

    def __init__(self, first_at: Moment, last_at: Moment) -> None:
        self.first_at = first_at
        self.last_at = last_at
        self.into = 0
        self.out = 0
        self.consumed = 0

    def seen(self, first: Moment, last: Moment) -> None:
        self.first_at = min(self.first_at, first)
        self.last_at = latest(self.last_at, last)


def latest(one: Moment, other: Moment) -> Moment:
    """The later instant of two moments; of one instant, the earlier position."""
    if other[0] > one[0] or (other[0] == one[0] and other[1] < one[1]):
        return other
    return one


def _tally(tallies: dict[_Key, _Tally], key: _Key, first: Moment, last: Moment) -> _Tally:
    found = tallies.get(key)
    if found is None:
        found = tallies[key] = _Tally(first_at=first, last_at=last)
    else:
        found.seen(first, last)
    return found


def _cross(  # noqa: PLR0917  (the tallies, both sides, the quantity and its dates)
    tallies: dict[_Key, _Tally],
    source: _Key | None,
    target: _Key | None,
    quantity: int,
    first: Moment,
    last: Moment,
) -> None:
    """Count ``quantity`` out of ``source`` and into ``target`` (either may be outside)."""
    if target is not None:
        _tally(tallies, target, first, last).into += quantity
    if source is not None:
        _tally(tallies, source, first, last).out += quantity


def _site(path: str | None) -> str | None:
    return None if path is None else path.partition("/")[0]


Shape = tuple[
    str, bool, str, str | None, str | None, str | None, str | None, str | None, str | None,
    str | None,
]  # fmt: skip
"""What rows of the same effect share: effective kind, whether a reversal, device, lot,
serial, source and its status, destination and its status, counterparty."""


def shape_of(row: MovementRow, kind: str) -> Shape:
    """The shape of a row of effective kind ``kind``."""
    return (
        kind, row.reverses is not None, row.device, row.lot, row.serial, row.from_location,
        row.from_status, row.to_location, row.to_status, row.counterparty,
    )  # fmt: skip


class Account:
    """A subject's rows summed: balances, flows per location, site and party, categories.

    Rows of one shape (``Shape``) add up: every sum is linear in the quantity and
    every date a first or last one, so a shape counted once with its summed
    quantity and its first and last moments gives what its rows counted one by one
    give. [`Shapes`][medinv.trace._account.Shapes] groups a subject's rows so.
    """

    def __init__(self) -> None:
        self.balances: Balances = defaultdict(int)
        self.totals: dict[str, int] = dict.fromkeys(_CATEGORY.values(), 0)
        self.count = 0
        self.first_at: Moment | None = None
        self.last_at: Moment | None = None
        self._locations: dict[str, _Tally] = {}
        self._sites: dict[str, _Tally] = {}
        self._parties: dict[str, _Tally] = {}
        self.decoding = Decoding()

    def add(self, row: MovementRow, kind: str) -> None:
        """Count one row, of effective kind ``kind`` (rows come in position order)."""
        at = (occurred(row), row.position, row.occurred_at)
        self.count_shape(shape_of(row, kind), row.quantity, 1, at, at)

    def count_shape(
        self, shape: Shape, quantity: int, count: int, first: Moment, last: Moment
    ) -> None:
        """Count ``count`` rows of one shape, ``quantity`` units in all."""
        kind, undoes, device, lot, serial, source, source_status, target, target_status, party = (
            shape
        )
        self.count += count
        self.first_at = first if self.first_at is None else min(self.first_at, first)
        self.last_at = last if self.last_at is None else latest(self.last_at, last)
        balances = self.balances
        if source is not None and source_status is not None:
            balances[device, lot, serial, source, source_status] -= quantity
        if target is not None and target_status is not None:
            balances[device, lot, serial, target, target_status] += quantity
        if undoes:  # a reversal counts against the movement it undoes, in its direction
            quantity = -quantity
            source, target = target, source
        category = _CATEGORY.get(kind)
        if category is not None:
            # An adjustment counts found units positive and missing ones negative.
            missing = kind == _ADJUSTMENT and target is None
            self.totals[category] += -quantity if missing else quantity
        if source != target:
            _cross(self._locations, source, target, quantity, first, last)
            source_site, target_site = _site(source), _site(target)
            if source_site != target_site:
                _cross(self._sites, source_site, target_site, quantity, first, last)
        if party is not None:
            self.count_party(party, kind, quantity, first, last)

    def count_party(
        self, party: str, kind: str, quantity: int, first: Moment, last: Moment
    ) -> None:
        """Count ``quantity`` units (negative: reversed) of kind ``kind`` with ``party``."""
        if kind in _FROM_PARTY:
            _tally(self._parties, party, first, last).out += quantity
        elif kind in _TO_PARTY:
            tally = _tally(self._parties, party, first, last)
            tally.into += quantity
            if kind == _CONSUMPTION:
                tally.consumed += quantity

    def balance(self) -> MassBalance:
        """The totals so far."""
        totals = self.totals
        return MassBalance(
            received=totals["received"],
            returned=totals["returned"],
            adjusted=totals["adjusted"],
            on_hand=sum(self.balances.values()),
            consumed=totals["consumed"],
            distributed=totals["distributed"],
            scrapped=totals["scrapped"],
        )

    def holdings(self) -> tuple[Holding, ...]:
        """Where the subject is, by item, location and status (sorted)."""
        return holdings_of(self.balances, self.decoding)

    def first(self) -> pendulum.DateTime | None:
        """When the first row occurred."""
        return None if self.first_at is None else self.decoding.instant(self.first_at)

    def last(self) -> pendulum.DateTime | None:
        """When the last row occurred."""
        return None if self.last_at is None else self.decoding.instant(self.last_at)

    def locations(self) -> tuple[Flow, ...]:
        """The location flows, sorted by path."""
        flows = [
            self._flow(FlowKind.LOCATION, self.decoding.location(path), tally)
            for path, tally in self._locations.items()
        ]
        return tuple(sorted(flows, key=lambda flow: flow.place.path))

    def sites(self) -> tuple[Flow, ...]:
        """The site flows, sorted by site."""
        return tuple(
            self._flow(FlowKind.SITE, self.decoding.location(site), tally)
            for site, tally in sorted(self._sites.items())
        )

    def parties(self) -> tuple[PartyFlow, ...]:
        """The party flows, sorted by kind and id."""
        instant = self.decoding.instant
        # Sorted by the stored "KIND:id" text, as the decoded references sort (by the
        # kind's value, then the id): a kind's value is capital letters, all after ":",
        # so "KIND:" orders as the kind alone. Without a key function (1,042 patients in
        # benchmarks/bench_trace.py).
        ordered = sorted(self._parties.items())
        flows = []
        for party, tally in ordered:
            first = instant(tally.first_at)
            flows.append(
                PartyFlow(
                    party=self.decoding.party(party),
                    sent=tally.into,
                    received=tally.out,
                    consumed=tally.consumed,
                    first_at=first,
                    last_at=first if tally.last_at is tally.first_at else instant(tally.last_at),
                )
            )
        return tuple(flows)

    def _flow(self, kind: FlowKind, place: Location, tally: _Tally) -> Flow:
        instant = self.decoding.instant
        return Flow(
            kind=kind,
            place=place,
            entered=tally.into,
            left=tally.out,
            first_at=instant(tally.first_at),
            last_at=instant(tally.last_at),
        )


class Shapes:
    """A subject's rows summed by what they do, then counted into an `Account` once per sum.

    The forward trace's pass: per row, a sum by place (effective kind, reversal or
    not, item, source and destination with their statuses) and, for a row with a
    counterparty, a sum by party (the party, the effective kind, reversal or not).
    The figures of ``Account`` are linear in the quantities or first and last dates,
    so counting each sum once gives what counting its rows one by one gives, and a
    lot consumed on a thousand patients counts its places once, not once per
    patient. What it keeps grows with the places and parties, not with the rows.
    Measured by ``benchmarks/bench_trace.py`` (docs/benchmarks/trace.md).
    """

    def __init__(self) -> None:
        self._places: dict[tuple[Any, ...], list[Any]] = {}
        self._parties: dict[tuple[str, str, bool], list[Any]] = {}

    def add(self, rows: Iterable[MovementRow], originals: Mapping[str, str]) -> None:
        """Sum ``rows`` (in position order); ``originals``: the kind each reversed id had."""
        # One loop, each row unpacked at once (one call per sum): this is run for
        # every row of a lot (benchmarks/bench_trace.py, docs/benchmarks/trace.md).
        places, parties = self._places, self._parties
        position = None
        try:
            for (
                position, _, own_kind, device, lot, serial, quantity, occurred_at, _,
                source, source_status, target, target_status, reverses, party,
            ) in rows:  # fmt: skip
                undoes = reverses is not None
                kind = own_kind if reverses is None else originals[reverses]
                at = _fromisoformat(occurred_at)
                key = (
                    kind, undoes, device, lot, serial, source, source_status, target,
                    target_status,
                )  # fmt: skip
                _sum(places, key, position, quantity, at, occurred_at)
                if party is not None:
                    _sum(parties, (party, kind, undoes), position, quantity, at, occurred_at)
        except (ValueError, TypeError) as e:
            raise unreadable(position, e) from e

    def account(self) -> Account:
        """Every sum counted into a new account."""
        account = Account()
        for key, (quantity, count, first, last) in self._places.items():
            account.count_shape((*key, None), quantity, count, first, last)
        for (party, kind, undoes), (quantity, _, first, last) in self._parties.items():
            account.count_party(party, kind, -quantity if undoes else quantity, first, last)
        return account


def _sum(  # noqa: PLR0917  (a row's fields, unpacked by the caller)
    sums: dict[Any, list[Any]],
    key: Any,
    position: int,
    quantity: int,
    at: dt.datetime,
    text: str,
) -> None:
    """Add a row to its sum: quantity, count, first and last moment (rows in position order)."""
    found = sums.get(key)
    if found is None:
        moment = (at, position, text)
        sums[key] = [quantity, 1, moment, moment]
        return
    found[0] += quantity
    found[1] += 1
    if at < found[2][0]:
        found[2] = (at, position, text)
    elif at > found[3][0]:
        found[3] = (at, position, text)
