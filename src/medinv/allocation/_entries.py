"""The FEFO index's state: entries (one per balance), filed per product, with a free list.

Per product (GTIN) the index keeps the AVAILABLE positions that still have
unreserved units in a [`SortedRuns`][medinv.allocation._runs.SortedRuns] of their
FEFO keys (the free list), the AVAILABLE entries by (item, location), and entries
in other statuses for explanations. Everything here is private to the index: the
pickers (`_pick`), the reservations (`_reserve`) and the facade
([`FefoIndex`][medinv.allocation.FefoIndex]) read and change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Final, NoReturn

import pendulum
from sortedcontainers import SortedList

from medinv.allocation._order import make_key
from medinv.allocation._plan import Skipped, SkipReason
from medinv.allocation._runs import DEFAULT_LOAD, SortedRuns
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

__all__ = [
    "AVAILABLE",
    "NOWHERE",
    "NO_BISECTION",
    "SWEEP_SLACK",
    "Entries",
    "Entry",
    "Hold",
    "Product",
    "Slot",
    "check_product",
    "ensure",
    "given_twice",
    "iterate",
    "key_of",
    "not_a_position",
    "not_a_request",
    "wrong",
]

AVAILABLE: Final = StockStatus.AVAILABLE

Slot = tuple[int, int, int, str, str, tuple[str, ...], "Entry"]
"""An element of the free list: the FEFO key, then the entry it belongs to."""

Hold = tuple["Product", "Entry", int]
"""A reservation's hold on one entry: (product, entry, quantity)."""

FifoSlot = tuple[int, Slot, "Entry"]
"""An element of the FIFO list: the receipt time, the FEFO key, the entry."""

NOWHERE: Final = -1
"""A threshold no request has (thresholds are date ordinals, at least 1)."""

NO_BISECTION: Final = (NOWHERE, 0, 0)
"""A product's remembered bisection when there is none to reuse."""

SWEEP_SLACK: Final = 64
"""Entries a product may forget beyond its live ones before its maps are swept."""


class Entry:
    """One (item, location, status) balance inside the index (mutable, private)."""

    __slots__ = (
        "expiry",
        "item",
        "key",
        "location",
        "quantity",
        "received_at",
        "reserved",
        "slot",
        "status",
    )

    def __init__(  # noqa: PLR0917  (private record, positional for speed)
        self,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        expiry: pendulum.Date | None,
        received_at: pendulum.DateTime | None,
        quantity: int,
        expiry_ordinal: int,
        received: int,
        pick_sequence: int,
        lot: str,
        serial: str,
        path: tuple[str, ...],
    ) -> None:
        self.item = item
        self.location = location
        self.status = status
        self.expiry = expiry
        self.received_at = received_at
        self.key = self.slot = (expiry_ordinal, received, pick_sequence, lot, serial, path, self)
        """The entry's element of the free list, built once (not per update).

        It is also the entry's key: its first six values are the
        [FEFO key][medinv.allocation.fefo_key] (one tuple, not two). Keys of
        AVAILABLE entries of one product are unique, so comparing them never reaches
        the entry at the end; where an AVAILABLE entry and one in another status are
        compared, compare ``key[:6]``.
        """
        self.quantity = quantity
        self.reserved = 0

    @property
    def free(self) -> int:
        return max(0, self.quantity - self.reserved)

    def skipped(self, reason: SkipReason) -> Skipped:
        return Skipped(
            item=self.item,
            location=self.location,
            status=self.status,
            quantity=self.quantity,
            expiry=self.expiry,
            reason=reason,
        )


class Entries:
    """A product's AVAILABLE entries by (item, location), filed by item.

    Items are filed by the lot and serial parts of their key (the GTIN is the
    product's): the lot text alone for an item without serial (``""`` without a
    lot either), ``(lot, serial)`` for a serialised one. That text is the item's
    own, its hash cached in it: filing hashes no `ItemKey` or `Location`. Most
    items lie in one location: the item maps to its one entry (no key tuple per
    entry, and the entry of an item is at hand when the index needs its receipt
    time); an item in several locations maps to a dict of its entries by location
    path. Reads and writes take the ``(item, location)`` pair as a dict keyed by
    it would.
    """

    __slots__ = ("by_item", "count")

    def __init__(self) -> None:
        self.by_item: dict[ItemText, Entry | dict[tuple[str, ...], Entry]] = {}
        self.count = 0

    def get(self, key: tuple[ItemKey, Location]) -> Entry | None:
        found = self.by_item.get(item_text(key[0]))
        if found is None:
            return None
        if type(found) is Entry:
            return found if found.location.path == key[1].path else None
        return found.get(key[1].path)  # type: ignore[union-attr]

    def __contains__(self, key: tuple[ItemKey, Location]) -> bool:
        return self.get(key) is not None

    def of_item(self, item: ItemKey) -> Entry | None:
        """Any entry of ``item``, or ``None``."""
        found = self.by_item.get(item_text(item))
        if found is None or type(found) is Entry:
            return found
        return next(iter(found.values()))  # type: ignore[union-attr]

    def add(self, entry: Entry) -> bool:
        """File ``entry``; ``False`` (and nothing changed) if its place is taken."""
        by_item = self.by_item
        item = item_text(entry.item)
        path = entry.location.path
        found = by_item.get(item)
        if found is None:
            by_item[item] = entry
        elif type(found) is Entry:
            if found.location.path == path:
                return False
            by_item[item] = {found.location.path: found, path: entry}
        else:
            places: dict[tuple[str, ...], Entry] = found  # type: ignore[assignment]
            if path in places:
                return False
            places[path] = entry
        self.count += 1
        return True

    def remove(self, entry: Entry) -> None:
        by_item = self.by_item
        item = item_text(entry.item)
        found = by_item[item]
        if type(found) is Entry:
            del by_item[item]
        else:
            places: dict[tuple[str, ...], Entry] = found  # type: ignore[assignment]
            del places[entry.location.path]
            if len(places) == 1:
                (by_item[item],) = places.values()
        self.count -= 1

    def values(self) -> Iterator[Entry]:
        for found in self.by_item.values():
            if type(found) is Entry:
                yield found
            else:
                yield from found.values()  # type: ignore[union-attr]

    def items(self) -> Iterator[tuple[tuple[ItemKey, Location], Entry]]:
        for entry in self.values():
            yield (entry.item, entry.location), entry

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


ItemText = str | tuple[str, str]
"""An item within its product: its lot text, with its serial text if it has one."""


def item_text(item: ItemKey) -> ItemText:
    lot = "" if item.lot is None else item.lot.value
    return lot if item.serial is None else (lot, item.serial.value)


class Product:
    """Everything the index holds for one GTIN."""

    __slots__ = (
        "at",
        "by_lot",
        "by_serial",
        "dropped",
        "entries",
        "fifo",
        "free",
        "lists",
        "lot_expiry",
        "others",
        "received",
    )

    def __init__(self) -> None:
        self.free: SortedRuns[Slot] = SortedRuns(load=Product.load)
        """AVAILABLE entries with unreserved units, in FEFO order: ``(*key, entry)``.

        Keys are unique, so the entry at the end is never compared; carrying it saves
        a dictionary lookup (and the hashing of a key) per pick on the hot path.
        """
        self.lists = self.free.runs
        """``free``'s runs (the same list object for the life of ``free``)."""
        self.entries = Entries()
        """AVAILABLE entries (with stock or with reservations) by (item, location)."""
        self.others: dict[tuple[ItemKey, Location, StockStatus], Entry] = {}
        """Entries in any other status (only for explanations)."""
        self.by_lot: dict[str, set[Entry]] | None = None
        """AVAILABLE entries by lot (the lot part of the key: ``""`` for no lot).

        Built on the first manual request (see `lots`), then maintained.
        """
        self.by_serial: dict[str, set[Entry]] = {}
        """AVAILABLE serialised entries by serial (the serial part of the key)."""
        self.fifo: SortedList[FifoSlot] | None = None
        """The free keys in FIFO order, built on the first FIFO request, then maintained."""
        self.lot_expiry: dict[str, pendulum.Date | None] = {}
        """Expiry of each lot (by the lot part of the key, ``""`` for no lot) seen.

        Learned from positions and movements that give it; a new entry of a lot takes
        its expiry from here. Lots the index no longer holds are swept out (`sweep`).
        """
        self.received: dict[ItemKey, pendulum.DateTime] = {}
        """First receipt time of items, as learned from movements (swept like ``lot_expiry``).

        An item the index holds takes its receipt time from its entries first.
        """
        self.dropped = 0
        """Entries forgotten since the last sweep of ``lot_expiry`` and ``received``."""
        self.at: tuple[int, int, int] = NO_BISECTION
        """The last bisection of ``free``: ``(threshold, pos, idx)``.

        Every slot before run ``pos``, index ``idx`` has an expiry ordinal below
        ``threshold``, every slot from there on has not. Requests of one day share
        their threshold, so most requests skip the bisection. Adding or removing a
        slot anywhere but at that place (the hot path's removal of the slots it
        emptied, which keeps the run) forgets it (`NO_BISECTION`). One tuple,
        replaced whole: threads that only plan (no writer) read a consistent answer.
        """

    load: ClassVar[int] = DEFAULT_LOAD
    """The load of new free lists (values per run; the tests make it small)."""

    def add_free(self, entry: Entry) -> None:
        self.at = NO_BISECTION
        self.free.add(entry.slot)
        if self.fifo is not None:
            key = entry.key
            self.fifo.add((key[1], key, entry))

    def remove_free(self, entry: Entry) -> None:
        self.at = NO_BISECTION
        self.free.remove(entry.slot)
        if self.fifo is not None:
            key = entry.key
            self.fifo.remove((key[1], key, entry))

    def fifo_order(self) -> SortedList[FifoSlot]:
        """The free list in FIFO order (built on first use, then maintained)."""
        if self.fifo is None:
            self.fifo = SortedList((slot[1], slot, slot[6]) for slot in self.free)
        return self.fifo

    def file(self, entry: Entry) -> None:
        """File a new AVAILABLE entry in the maps (not in the free list: it has no units yet)."""
        self.entries.add(entry)
        key = entry.key
        if self.by_lot is not None:
            self.by_lot.setdefault(key[3], set()).add(entry)
        if key[4]:  # a serialised item
            self.by_serial.setdefault(key[4], set()).add(entry)

    def forget(self, entry: Entry) -> None:
        """Drop an AVAILABLE entry left with no units and no reservations from the maps."""
        self.entries.remove(entry)
        self.dropped += 1
        key = entry.key
        if self.by_lot is not None:
            lots = self.by_lot[key[3]]
            lots.discard(entry)
            if not lots:
                del self.by_lot[key[3]]
        if key[4]:  # a serialised item
            serials = self.by_serial[key[4]]
            serials.discard(entry)
            if not serials:
                del self.by_serial[key[4]]

    def forget_other(self, entry: Entry) -> None:
        """Drop an entry in another status than AVAILABLE left with no units."""
        del self.others[entry.item, entry.location, entry.status]
        self.dropped += 1

    @property
    def is_empty(self) -> bool:
        """Whether the product holds no entry at all (the index then forgets it)."""
        return not self.entries and not self.others

    def sweep(self) -> None:
        """Forget the lot expiries and receipt times of lots and items no entry holds.

        Called once more entries were forgotten since the last sweep than are left:
        the maps then stay within a constant factor of the stock, at an amortised
        constant cost per forgotten entry.
        """
        old_expiry, old_received = self.lot_expiry, self.received
        lot_expiry: dict[str, pendulum.Date | None] = {}
        received: dict[ItemKey, pendulum.DateTime] = {}
        for entries in (self.entries.values(), self.others.values()):
            for entry in entries:
                lot = entry.key[3]
                if lot not in lot_expiry and lot in old_expiry:
                    lot_expiry[lot] = old_expiry[lot]
                item = entry.item
                if item not in received and item in old_received:
                    received[item] = old_received[item]
        self.lot_expiry, self.received = lot_expiry, received
        self.dropped = 0

    def lots(self) -> dict[str, set[Entry]]:
        """The entries by lot (built on first use: only manual requests need it)."""
        if self.by_lot is None:
            by_lot: dict[str, set[Entry]] = {}
            for entry in self.entries.values():
                by_lot.setdefault(entry.key[3], set()).add(entry)
            self.by_lot = by_lot
        return self.by_lot

    def first(self, threshold: int) -> tuple[int, int]:
        """Where the first slot with an expiry ordinal of at least ``threshold`` is.

        Returns ``(pos, idx)`` in the free list's runs: where ``free.irange`` would
        start. The answer is remembered for the next request with the same threshold.
        """
        at = self.at
        if at[0] == threshold:
            return at[1], at[2]
        # (threshold,) is below every slot with this ordinal, above every lower one
        pos, idx = self.free.first((threshold,))
        self.at = (threshold, pos, idx)
        return pos, idx

    def drop_run(self, pos: int, idx: int, gone: list[Entry]) -> None:
        """Remove the slots of ``gone``, which are consecutive in ``free`` from ``(pos, idx)``."""
        if not self.free.drop_run(pos, idx, [entry.slot for entry in gone]):
            self.at = NO_BISECTION
        if self.fifo is not None:
            for entry in gone:
                key = entry.key
                self.fifo.remove((key[1], key, entry))

    def settle(self, entry: Entry, *, was_free: bool) -> None:
        """After ``entry``'s quantity or reservations changed: file it where it now belongs.

        Its slot goes into or out of the free list; an entry left with no units and
        no reservations is forgotten (and the maps swept if the product is sparse).
        """
        is_free = entry.quantity > entry.reserved
        if was_free and not is_free:
            self.remove_free(entry)
        elif is_free and not was_free:
            self.add_free(entry)
        if entry.quantity == 0 and entry.reserved == 0:
            self.forget(entry)
            self.sweep_if_sparse()

    def sweep_if_sparse(self) -> None:
        """Sweep the maps once more entries were forgotten than are left (plus a slack)."""
        if self.dropped > SWEEP_SLACK + len(self.entries) + len(self.others):
            self.sweep()


def check_product(gtin: str, product: Product, reserved: dict[int, int]) -> None:
    """Check ``product``'s invariants (``reserved``: units held per entry id)."""
    free: list[Entry] = []
    by_lot: dict[str, set[Entry]] = {}
    by_serial: dict[str, set[Entry]] = {}
    filed = sum(
        len(found) if isinstance(found, dict) else 1 for found in product.entries.by_item.values()
    )
    ensure(filed == len(product.entries), "the entry count is right")
    for found in product.entries.by_item.values():
        ensure(
            not isinstance(found, dict) or len(found) > 1,
            "an item in one location maps to its entry",
        )
    for (item, location), entry in product.entries.items():
        key = entry.key
        rebuilt = make_key(entry.expiry, entry.received_at, key[2], item, location.path)
        ensure(item.device.value == gtin, "entries are filed under their GTIN")
        ensure((entry.item, entry.location) == (item, location), "entries filed by key")
        ensure(entry.status is AVAILABLE, "entries are AVAILABLE")
        ensure(key[:6] == rebuilt, "entry keys match their fields")
        ensure(key is entry.slot and key[6] is entry, "an entry's key is its slot")
        ensure(entry.quantity >= 0, "quantities are not negative")
        ensure(entry.reserved == reserved.get(id(entry), 0), "reserved = sum of holds")
        ensure(entry.quantity > 0 or entry.reserved > 0, "empty entries are dropped")
        if entry.quantity > entry.reserved:
            free.append(entry)
        by_lot.setdefault(key[3], set()).add(entry)
        if item.serial is not None:
            by_serial.setdefault(key[4], set()).add(entry)
    free.sort(key=key_of)
    slots = [entry.slot for entry in free]
    ensure(list(product.free) == slots, "free list = entries with unreserved units")
    try:
        product.free.check()
    except AssertionError:
        ensure(False, "the free list's runs are consistent")  # noqa: FBT003
    threshold, pos, idx = product.at
    if threshold != NOWHERE:
        lists = product.lists
        ensure(
            (pos < len(lists) and idx <= len(lists[pos])) or (pos, idx) == (len(lists), 0),
            "the remembered bisection is a place in the free list",
        )
        before = sum(len(sub) for sub in lists[:pos]) + idx
        ensure(
            list(product.free.irange((threshold,))) == slots[before:],
            "the remembered bisection is where the threshold's slots begin",
        )
    ensure(product.by_lot is None or product.by_lot == by_lot, "lot map matches the entries")
    ensure(product.lists is product.free.runs, "the runs are the free list's")
    ensure(product.by_serial == by_serial, "serial map matches the entries")
    if product.fifo is not None:
        fifo = [(e.key[1], e.key, e) for e in sorted(free, key=lambda e: (e.key[1], e.key))]
        ensure(list(product.fifo) == fifo, "FIFO list = free list in FIFO order")
    for (item, location, status), entry in product.others.items():
        ensure(
            (entry.item, entry.location, entry.status) == (item, location, status),
            "other-status entries are filed under their key",
        )
        ensure(status is not AVAILABLE, "other-status entries are not AVAILABLE")
        ensure(entry.quantity > 0 and entry.reserved == 0, "other-status quantities")
    live = len(product.entries) + len(product.others)
    ensure(
        len(product.lot_expiry) <= live + product.dropped
        and len(product.received) <= live + product.dropped
        and product.dropped <= live + SWEEP_SLACK,
        "lots and items no entry holds are swept out",
    )


def key_of(entry: Entry) -> Slot:
    return entry.key


def ensure(condition: bool, what: str) -> None:  # noqa: FBT001  (a predicate, positional)
    if not condition:
        msg = f"FefoIndex invariant broken: {what}"
        raise AssertionError(msg)


def not_a_position(value: object) -> NoReturn:
    msg = f"expected a StockPosition, not {type(value).__name__} {value!r:.60}"
    raise InvalidValueError(msg)


def given_twice(stock: StockPosition) -> NoReturn:
    msg = f"position {stock.item} at {stock.location} [{stock.status.value}] is given twice"
    raise InvalidValueError(msg)


def wrong(name: str, value: object, expected: str) -> NoReturn:
    msg = f"invalid {name} {value!r:.60}: expected {expected}, not {type(value).__name__}"
    raise InvalidValueError(msg)


def not_a_request(value: object) -> NoReturn:
    wrong("request", value, "an AllocationRequest")


def iterate(name: str, value: object) -> Iterable[Any]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        wrong(name, value, "an iterable")
    return value
