"""The variance report: every counted or booked key, classified, as data."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
import pendulum

from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.journal import StoredMovement
from medinv.locations import Location
from medinv.status import StockStatus
from medinv.stocktake._diff import diff_counts
from medinv.stocktake._model import (
    CountLine,
    StockKey,
    Stocktake,
    effective_lines,
    line_rounds,
)
from medinv.stocktake._timing import CountTiming, expected_quantities

__all__ = ["Variance", "VarianceKind", "VarianceReport", "bin_count_times", "variance_report"]


class VarianceKind(enum.Enum):
    """The class of a report entry."""

    MATCH = "MATCH"
    """Counted what the book expected."""
    SHORTAGE = "SHORTAGE"
    """Counted less than expected (a booked key nobody counted, in a bin that was counted,
    is counted 0 at the bin's count time)."""
    SURPLUS = "SURPLUS"
    """Counted more than expected of an item the book knows."""
    UNKNOWN_ITEM = "UNKNOWN_ITEM"
    """Counted an item the book has never held and master data does not list."""
    FOUND_IN_OTHER_LOCATION = "FOUND_IN_OTHER_LOCATION"
    """Counted where the book has none, while the book holds the item elsewhere."""
    LOT_EXPIRY_MISMATCH = "LOT_EXPIRY_MISMATCH"
    """The expiry read on the label differs from the lot's master data."""
    SERIAL_DUPLICATE = "SERIAL_DUPLICATE"
    """One serial counted more than once: scanned twice in one place, or found in two
    places that the posted movements do not explain."""
    NOT_COUNTED = "NOT_COUNTED"
    """Booked in a bin nobody counted: no count, so nothing to compare and nothing to adjust."""


QUANTITY_KINDS: Final = frozenset(
    {
        VarianceKind.MATCH,
        VarianceKind.SHORTAGE,
        VarianceKind.SURPLUS,
        VarianceKind.UNKNOWN_ITEM,
        VarianceKind.FOUND_IN_OTHER_LOCATION,
    }
)
"""Kinds that state a key's quantities; every key has exactly one entry of these."""

_ORDER: Final = {kind: index for index, kind in enumerate(VarianceKind)}
_NO_VARIANCE: Final = frozenset({VarianceKind.MATCH, VarianceKind.NOT_COUNTED})
_KEY_KINDS: Final = QUANTITY_KINDS | {VarianceKind.NOT_COUNTED}


@attrs.frozen(kw_only=True)
class Variance:
    """One entry of a variance report."""

    kind: VarianceKind
    """The class of the entry."""
    item: ItemKey
    """The stock item."""
    location: Location
    """Where."""
    status: StockStatus
    """In which status."""
    expected: int
    """The book at the count time; never shown to counters before counting closes."""
    counted: int
    """What the effective lines add up to (a serial counts at most once per place)."""
    counted_at: pendulum.DateTime
    """The count time: the latest effective line's; for a key nobody counted in a counted
    bin, the bin's count time; for a bin nobody counted, when counting closed."""
    line_ids: tuple[str, ...] = ()
    """The effective lines for the key (superseded lines are not listed)."""
    counters: tuple[str, ...] = ()
    """Who counted the effective lines."""
    recount_round: int = 0
    """0 for a first count, 1 after one recount, ...; -1 when nobody counted the key."""
    within_tolerance: bool = True
    """Whether the difference is within the product's tolerance."""
    requires_recount: bool = False
    """Whether a different counter must recount the key before approval."""
    value: Decimal | None = None
    """``difference`` times the unit cost, when a unit cost is known."""
    detail: str | None = None
    """A human-readable note (where the item is booked, which expiries differ ...)."""
    found_expiry: pendulum.Date | None = None
    """The counted expiry of a lot the master data does not know (stated when posting)."""

    @property
    def key(self) -> StockKey:
        """``(item, location, status)``."""
        return (self.item, self.location, self.status)

    @property
    def difference(self) -> int:
        """``counted - expected``: positive found, negative missing; 0 for non-quantity kinds."""
        if self.kind not in QUANTITY_KINDS:
            return 0
        return self.counted - self.expected


@attrs.frozen(kw_only=True)
class VarianceReport:
    """Every key of a stocktake, classified; the data approval and posting work from."""

    stocktake_id: str
    """The stocktake reported on."""
    entries: tuple[Variance, ...]
    """One quantity entry per key (MATCH included), plus LOT_EXPIRY_MISMATCH and
    SERIAL_DUPLICATE entries; sorted by item, location, status, kind."""
    counters: frozenset[str]
    """Everyone who counted an effective line (none of them may approve)."""
    closed_at: pendulum.DateTime
    """The count time used for keys nobody counted."""
    as_of_position: int | None = None
    """The ledger head the report was evaluated at, when known."""

    @property
    def variances(self) -> tuple[Variance, ...]:
        """Every entry that is neither a MATCH nor NOT_COUNTED."""
        return tuple(v for v in self.entries if v.kind not in _NO_VARIANCE)

    @property
    def not_counted(self) -> tuple[Variance, ...]:
        """Booked keys in bins nobody counted (neither missing nor adjusted)."""
        return self.by_kind(VarianceKind.NOT_COUNTED)

    @property
    def adjustable(self) -> tuple[Variance, ...]:
        """The quantity entries with a difference: what approval turns into adjustments."""
        return tuple(v for v in self.entries if v.kind in QUANTITY_KINDS and v.difference != 0)

    @property
    def pending_recounts(self) -> tuple[Variance, ...]:
        """Entries that need a recount by a different counter before approval."""
        return tuple(v for v in self.entries if v.requires_recount)

    @property
    def total_value(self) -> Decimal:
        """The sum of the known values of the differences."""
        return sum((v.value for v in self.entries if v.value is not None), Decimal(0))

    def by_kind(self, kind: VarianceKind) -> tuple[Variance, ...]:
        """The entries of one kind."""
        return tuple(v for v in self.entries if v.kind is kind)

    def entry(
        self, item: ItemKey, location: Location, status: StockStatus = StockStatus.AVAILABLE
    ) -> Variance:
        """The quantity entry of one key (or its NOT_COUNTED entry).

        Raises:
            InvalidValueError: the report has no such key.
        """
        for v in self.entries:
            if v.kind in _KEY_KINDS and v.key == (item, location, status):
                return v
        raise InvalidValueError(
            f"the report has no entry for {item} at {location} [{status.value}]"
        )


def variance_report(
    stocktake: Stocktake,
    lines: Iterable[CountLine],
    *,
    start: Mapping[StockKey, int],
    movements: Iterable[StoredMovement] = (),
    closed_at: dt.datetime | None = None,
    lot_expiries: Mapping[tuple[str, str], dt.date | None] | None = None,
    unit_costs: Mapping[str, Decimal] | None = None,
    known_items: Collection[ItemKey] = frozenset(),
    timing: CountTiming = CountTiming.OCCURRED_AT,
    as_of_position: int | None = None,
) -> VarianceReport:
    """Classify every key of a stocktake: counted lines against time-aware expectations.

    Args:
        stocktake: the stocktake (its scope and tolerances apply).
        lines: all its count lines; recounts supersede earlier lines of their key.
        start: the book at the start point, ``(item, location, status) → quantity``.
        movements: the movements after the start point (ledger order).
        closed_at: the evaluation time of booked keys in bins nobody counted (reported
            NOT_COUNTED); defaults to the stocktake's ``closed_at``.
        lot_expiries: lot master data, ``(gtin14, lot) → expiry``.
        unit_costs: device → unit cost, to value the differences, keyed by the device's
            stored text (the GTIN-14; ``AGENCY:DI`` for HIBC and MA devices).
        known_items: items master data knows although the book holds none.
        timing: which movement time stamp decides "before the count".
        as_of_position: the ledger head ``movements`` go up to, recorded in the report.

    Raises:
        InvalidValueError: no ``closed_at`` and the stocktake has not closed counting.
    """
    when = closed_at if closed_at is not None else stocktake.closed_at
    if when is None:
        msg = f"stocktake {stocktake.id!r} has not closed counting: pass closed_at"
        raise InvalidValueError(msg)
    closed = to_datetime(when)
    lines = list(lines)
    effective = effective_lines(lines)
    count_times = {
        key: max(line.counted_at for line in held) for key, (_r, held) in effective.items()
    }
    bins = bin_count_times(lines)
    expected = expected_quantities(
        start,
        movements,
        count_times,
        closed_at=closed,
        scope=stocktake.scope,
        timing=timing,
        bin_times=bins,
    )
    build = _Builder(effective, expected, count_times, closed, bins)
    masters = lot_expiries or {}
    counted, entries = _counted_and_checks(build, masters)
    entries.extend(
        _quantity_entries(build, stocktake, counted, known_items, unit_costs or {}, masters)
    )
    entries.sort(key=lambda v: (v.item.sort_key(), v.location.path, v.status.value, _ORDER[v.kind]))
    counters = frozenset(line.counter for _r, held in effective.values() for line in held)
    return VarianceReport(
        stocktake_id=stocktake.id,
        entries=tuple(entries),
        counters=counters,
        closed_at=closed,
        as_of_position=as_of_position,
    )


def bin_count_times(lines: Iterable[CountLine]) -> dict[Location, pendulum.DateTime]:
    """Location → when its count was finished: the latest first-count line there.

    Recount lines do not move a bin's count time (they recount single keys). Keys
    nobody counted at such a location are expected as of this time.
    """
    lines = list(lines)
    rounds = line_rounds(lines)
    bins: dict[Location, pendulum.DateTime] = {}
    recounted: dict[Location, pendulum.DateTime] = {}
    for line in lines:
        target = bins if rounds[line.id] == 0 else recounted
        held = target.get(line.location)
        if held is None or line.counted_at > held:
            target[line.location] = line.counted_at
    for location, at in recounted.items():
        bins.setdefault(location, at)  # recounts of lines not given: their own time
    return bins


@attrs.frozen
class _Builder:
    effective: Mapping[StockKey, tuple[int, list[CountLine]]]
    expected: Mapping[StockKey, int]
    count_times: Mapping[StockKey, pendulum.DateTime]
    closed: pendulum.DateTime
    bins: Mapping[Location, pendulum.DateTime]

    def counted_at(self, key: StockKey) -> pendulum.DateTime:
        at = self.count_times.get(key)
        if at is None:
            at = self.bins.get(key[1], self.closed)
        return at

    def counted_bin(self, key: StockKey) -> bool:
        return key in self.effective or key[1] in self.bins

    def entry(self, kind: VarianceKind, key: StockKey, counted: int, **extra: Any) -> Variance:
        round_, held = self.effective.get(key, (-1, []))
        return Variance(
            kind=kind,
            item=key[0],
            location=key[1],
            status=key[2],
            expected=self.expected.get(key, 0),
            counted=counted,
            counted_at=self.counted_at(key),
            line_ids=tuple(line.id for line in held),
            counters=tuple(sorted({line.counter for line in held})),
            recount_round=round_,
            **extra,
        )


def _counted_and_checks(
    build: _Builder, masters: Mapping[tuple[str, str], dt.date | None]
) -> tuple[dict[StockKey, int], list[Variance]]:
    """Counted quantity per key (a serial once per place); SERIAL_DUPLICATE and expiry checks."""
    counted: dict[StockKey, int] = {}
    entries: list[Variance] = []
    serial_places: dict[ItemKey, list[StockKey]] = {}
    for key, (_round, held) in build.effective.items():
        total = sum(line.quantity for line in held)
        if key[0].is_serialised:
            scans = sum(1 for line in held if line.quantity)
            if scans > 1:
                note = f"scanned {scans} times here; counted once"
                entries.append(build.entry(VarianceKind.SERIAL_DUPLICATE, key, 1, detail=note))
            total = min(total, 1)
            if total:
                serial_places.setdefault(key[0], []).append(key)
        counted[key] = total
        mismatch = _expiry_mismatch(held, masters)
        if mismatch is not None:
            entries.append(
                build.entry(VarianceKind.LOT_EXPIRY_MISMATCH, key, total, detail=mismatch)
            )
    for places in serial_places.values():
        if len(places) > 1 and not all(build.expected.get(key, 0) >= 1 for key in places):
            # Unless the ledger had the serial in each place at that place's count time
            # (a transfer during the count), the serial was counted twice.
            where = ", ".join(f"{loc} [{status.value}]" for _i, loc, status in places)
            note = f"serial counted in {len(places)} places: {where}"
            entries.extend(
                build.entry(
                    VarianceKind.SERIAL_DUPLICATE, key, 1, detail=note, requires_recount=True
                )
                for key in places
            )
    return counted, entries


def _quantity_entries(  # noqa: PLR0917  (private helper of variance_report)
    build: _Builder,
    stocktake: Stocktake,
    counted: Mapping[StockKey, int],
    known_items: Collection[ItemKey],
    costs: Mapping[str, Decimal],
    masters: Mapping[tuple[str, str], dt.date | None],
) -> list[Variance]:
    """One entry per key, classified by the diff engine, with tolerance, recount and value."""
    expected = build.expected
    diff = diff_counts(
        [(key[0], key[1:], qty) for key, qty in expected.items()],
        [(key[0], key[1:], qty) for key, qty in counted.items()],
        known_items=known_items,
    )
    classes: dict[StockKey, VarianceKind] = {}
    for kind, rows in (
        (VarianceKind.SHORTAGE, diff.shortages),
        (VarianceKind.SURPLUS, diff.surpluses),
        (VarianceKind.FOUND_IN_OTHER_LOCATION, diff.found_elsewhere),
        (VarianceKind.UNKNOWN_ITEM, diff.unknown),
    ):
        for item, place, _e, _c in rows:
            classes[(item, *place)] = kind
    bin_lines = _latest_first_count_lines(build)
    booked_at: dict[ItemKey, list[str]] = {}
    for (item, location, status), qty in expected.items():
        if qty > 0:
            booked_at.setdefault(item, []).append(f"{location} [{status.value}]")
    entries: list[Variance] = []
    for key in expected.keys() | counted.keys():
        if not build.counted_bin(key):
            if expected[key]:
                where = f"nobody counted at {key[1]}"
                entries.append(build.entry(VarianceKind.NOT_COUNTED, key, 0, detail=where))
            continue
        kind = classes.get(key, VarianceKind.MATCH)
        exp, cnt = expected.get(key, 0), counted.get(key, 0)
        item = key[0]
        round_ = build.effective[key][0] if key in build.effective else -1
        within = stocktake.tolerances.for_item(item).allows(difference=cnt - exp, expected=exp)
        cost = costs.get(item.device_text)
        detail = None
        if kind is VarianceKind.FOUND_IN_OTHER_LOCATION:
            detail = "booked at " + ", ".join(sorted(booked_at.get(item, [])))
        elif kind is VarianceKind.SHORTAGE and round_ < 0 and key[1] in bin_lines:
            detail = (
                f"not counted in {key[1]}, counted until {build.bins[key[1]]}; "
                f"to recount it, name line {bin_lines[key[1]]!r} in recount_of"
            )
        entries.append(
            build.entry(
                kind,
                key,
                cnt,
                within_tolerance=within,
                requires_recount=not within and round_ < 1,
                value=None if cost is None else cost * (cnt - exp),
                detail=detail,
                found_expiry=_found_expiry(key, build.effective, masters) if cnt > exp else None,
            )
        )
    return entries


def _latest_first_count_lines(build: _Builder) -> dict[Location, str]:
    """Location → the id of a first-count line at the bin's count time (a recount target)."""
    found: dict[Location, str] = {}
    for round_, held in build.effective.values():
        for line in held:
            if round_ == 0 and line.counted_at == build.bins.get(line.location):
                found[line.location] = min(found.get(line.location, line.id), line.id)
    return found


def _expiry_mismatch(
    held: list[CountLine], masters: Mapping[tuple[str, str], dt.date | None]
) -> str | None:
    for line in held:
        lot = line.item.lot
        if line.expiry is None or lot is None:
            continue
        master = masters.get((line.item.device_text, lot.value))
        if master is not None and master != line.expiry:
            return f"label says {line.expiry}, master data says {master} (line {line.id!r})"
    return None


def _found_expiry(
    key: StockKey,
    effective: Mapping[StockKey, tuple[int, list[CountLine]]],
    masters: Mapping[tuple[str, str], dt.date | None],
) -> pendulum.Date | None:
    lot = key[0].lot
    if lot is None or masters.get((key[0].device_text, lot.value)) is not None:
        return None
    for line in effective.get(key, (0, []))[1]:
        if line.expiry is not None:
            return line.expiry
    return None
