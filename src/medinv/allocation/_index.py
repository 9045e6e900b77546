"""The incremental FEFO index: plans in O(log lots + picks), updated from ledger movements.

Per product (GTIN) the index keeps the AVAILABLE positions that still have
unreserved units in a `sortedcontainers.SortedList` of their
[FEFO keys][medinv.allocation.fefo_key]. A request finds its first eligible
position by bisection on ``use_date + min_shelf_life_days`` (everything before
it is expired or too short-dated, everything after it is not), then walks
forward taking what it needs. Nothing is re-sorted per request; a balance
change costs O(log lots).
"""

from __future__ import annotations

import datetime as dt
import gc
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

import pendulum
from sortedcontainers import SortedList

from medinv._slots import new_instance
from medinv.allocation._order import (
    _EPOCH_ORDINAL,
    _NO_RECEIPT,
    NO_EXPIRY,
    OrderKey,
    _fixed_offset,
    make_key,
    received_micros,
)
from medinv.allocation._plan import (
    PICK_SETTERS,
    PLAN_SETTERS,
    Pick,
    Plan,
    Reservation,
    Skipped,
    SkipReason,
    make_pick,
)
from medinv.allocation._request import AllocationRequest, Policy
from medinv.dates import to_datetime
from medinv.errors import InsufficientStockError, InvalidValueError, StalePlanError
from medinv.identifiers import Gtin, ItemKey
from medinv.journal import StoredMovement
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus

__all__ = ["FefoIndex"]

_AVAILABLE: Final = StockStatus.AVAILABLE


_Slot = tuple[int, int, int, str, str, tuple[str, ...], "_Entry"]
"""An element of the free list: the FEFO key, then the entry it belongs to."""

if TYPE_CHECKING:

    class _FreeList(SortedList[_Slot]):
        """A `SortedList` with the parts of sortedcontainers 2.x the hot path uses.

        sortedcontainers keeps the values in sublists ``_lists`` (each sorted, of at
        most twice the load factor ``_load`` values, all but the last of more than
        half of it), ``_maxes[i]`` the last value of ``_lists[i]``, ``_len`` their
        total length and ``_index`` a positional index tree built on demand (empty
        until a positional access). pyproject pins sortedcontainers to 2.x.
        """

        _lists: list[list[_Slot]]
        _maxes: list[_Slot]
        _index: list[int]
        _len: int
        _load: int

        def _check(self) -> None: ...

else:
    _FreeList = SortedList


_new = new_instance
(_set_pick_item, _set_pick_location, _set_pick_quantity, _set_pick_expiry) = PICK_SETTERS
(
    _set_plan_request,
    _set_plan_picks,
    _set_plan_shortfall,
    _set_plan_skipped,
    _set_plan_explained,
    _set_plan_position,
) = PLAN_SETTERS
"""Set a `Pick`'s or `Plan`'s slots directly (see `make_pick`), inlined in the hot loop."""

_NOWHERE: Final = -1
"""A threshold no request has (thresholds are date ordinals, at least 1)."""

_NO_BISECTION: Final = (_NOWHERE, 0, 0)
"""A product's remembered bisection when there is none to reuse."""

_SWEEP_SLACK: Final = 64
"""Entries a product may forget beyond its live ones before its maps are swept."""

_FIRST: Final = -(2**63)
"""Below every receipt time (microseconds since 1970; times before it are not representable)."""


def _lowest(expiry_ordinal: int) -> _Slot:
    """A slot below every slot with this expiry ordinal (for bisection; never compared further)."""
    return cast("_Slot", (expiry_ordinal, _FIRST, -1, "", "", ()))


def _fifo(key: _Slot) -> tuple[int, _Slot]:
    return (key[1], key)


_Hold = tuple["_Product", "_Entry", int]
"""A reservation's hold on one entry: (product, entry, quantity)."""


class _Entry:
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


class _Entries:
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
        self.by_item: dict[_ItemText, _Entry | dict[tuple[str, ...], _Entry]] = {}
        self.count = 0

    def get(self, key: tuple[ItemKey, Location]) -> _Entry | None:
        found = self.by_item.get(_item_text(key[0]))
        if found is None:
            return None
        if type(found) is _Entry:
            return found if found.location.path == key[1].path else None
        return found.get(key[1].path)  # type: ignore[union-attr]

    def __contains__(self, key: tuple[ItemKey, Location]) -> bool:
        return self.get(key) is not None

    def of_item(self, item: ItemKey) -> _Entry | None:
        """Any entry of ``item``, or ``None``."""
        found = self.by_item.get(_item_text(item))
        if found is None or type(found) is _Entry:
            return found
        return next(iter(found.values()))  # type: ignore[union-attr]

    def add(self, entry: _Entry) -> bool:
        """File ``entry``; ``False`` (and nothing changed) if its place is taken."""
        by_item = self.by_item
        item = _item_text(entry.item)
        path = entry.location.path
        found = by_item.get(item)
        if found is None:
            by_item[item] = entry
        elif type(found) is _Entry:
            if found.location.path == path:
                return False
            by_item[item] = {found.location.path: found, path: entry}
        else:
            places: dict[tuple[str, ...], _Entry] = found  # type: ignore[assignment]
            if path in places:
                return False
            places[path] = entry
        self.count += 1
        return True

    def remove(self, entry: _Entry) -> None:
        by_item = self.by_item
        item = _item_text(entry.item)
        found = by_item[item]
        if type(found) is _Entry:
            del by_item[item]
        else:
            places: dict[tuple[str, ...], _Entry] = found  # type: ignore[assignment]
            del places[entry.location.path]
            if len(places) == 1:
                (by_item[item],) = places.values()
        self.count -= 1

    def values(self) -> Iterator[_Entry]:
        for found in self.by_item.values():
            if type(found) is _Entry:
                yield found
            else:
                yield from found.values()  # type: ignore[union-attr]

    def items(self) -> Iterator[tuple[tuple[ItemKey, Location], _Entry]]:
        for entry in self.values():
            yield (entry.item, entry.location), entry

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


_ItemText = str | tuple[str, str]
"""An item within its product: its lot text, with its serial text if it has one."""


def _item_text(item: ItemKey) -> _ItemText:
    lot = "" if item.lot is None else item.lot.value
    return lot if item.serial is None else (lot, item.serial.value)


class _Product:
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
        self.free = cast("_FreeList", SortedList())
        """AVAILABLE entries with unreserved units, in FEFO order: ``(*key, entry)``.

        Keys are unique, so the entry at the end is never compared; carrying it saves
        a dictionary lookup (and the hashing of a key) per pick on the hot path.
        """
        self.lists = self.free._lists  # noqa: SLF001  (sortedcontainers is pinned to 2.x)
        """``free``'s sublists (sortedcontainers keeps this list object for good)."""
        self.entries = _Entries()
        """AVAILABLE entries (with stock or with reservations) by (item, location)."""
        self.others: dict[tuple[ItemKey, Location, StockStatus], _Entry] = {}
        """Entries in any other status (only for explanations)."""
        self.by_lot: dict[str, set[_Entry]] | None = None
        """AVAILABLE entries by lot (the lot part of the key: ``""`` for no lot).

        Built on the first manual request (see `lots`), then maintained.
        """
        self.by_serial: dict[str, set[_Entry]] = {}
        """AVAILABLE serialised entries by serial (the serial part of the key)."""
        self.fifo: SortedList[tuple[int, _Slot, _Entry]] | None = None
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
        self.at: tuple[int, int, int] = _NO_BISECTION
        """The last bisection of ``free``: ``(threshold, pos, idx)``.

        Every slot before sublist ``pos``, index ``idx`` has an expiry ordinal below
        ``threshold``, every slot from there on has not. Requests of one day share
        their threshold, so most requests skip the bisection. Adding or removing a
        slot anywhere but at that place (the hot path's removal of the slots it
        emptied, which keeps the sublist) forgets it (`_NO_BISECTION`). One tuple,
        replaced whole: threads that only plan (no writer) read a consistent answer.
        """

    def add_free(self, entry: _Entry) -> None:
        self.at = _NO_BISECTION
        self.free.add(entry.slot)
        if self.fifo is not None:
            key = entry.key
            self.fifo.add((key[1], key, entry))

    def remove_free(self, entry: _Entry) -> None:
        self.at = _NO_BISECTION
        self.free.remove(entry.slot)
        if self.fifo is not None:
            key = entry.key
            self.fifo.remove((key[1], key, entry))

    def file(self, entry: _Entry) -> None:
        """File a new AVAILABLE entry in the maps (not in the free list: it has no units yet)."""
        self.entries.add(entry)
        key = entry.key
        if self.by_lot is not None:
            self.by_lot.setdefault(key[3], set()).add(entry)
        if key[4]:  # a serialised item
            self.by_serial.setdefault(key[4], set()).add(entry)

    def forget(self, entry: _Entry) -> None:
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

    def forget_other(self, entry: _Entry) -> None:
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

    def lots(self) -> dict[str, set[_Entry]]:
        """The entries by lot (built on first use: only manual requests need it)."""
        if self.by_lot is None:
            by_lot: dict[str, set[_Entry]] = {}
            for entry in self.entries.values():
                by_lot.setdefault(entry.key[3], set()).add(entry)
            self.by_lot = by_lot
        return self.by_lot

    def first(self, threshold: int) -> tuple[int, int]:
        """Where the first slot with an expiry ordinal of at least ``threshold`` is.

        Returns ``(pos, idx)`` in sortedcontainers' sublists (``free._lists``): the
        same slot ``free.irange`` would start at, without its iterator set-up. The
        answer is remembered for the next request with the same threshold.
        """
        at = self.at
        if at[0] == threshold:
            return at[1], at[2]
        low = (threshold,)  # below every slot with this ordinal, above every lower one
        maxes = self.free._maxes  # noqa: SLF001  (sortedcontainers is pinned to 2.x)
        pos = bisect_left(maxes, low) if len(maxes) > 1 else 0
        lists = self.lists
        idx = bisect_left(lists[pos], low) if pos < len(lists) else 0
        self.at = (threshold, pos, idx)
        return pos, idx

    def drop_run(self, pos: int, idx: int, gone: list[_Entry]) -> None:
        """Remove the slots of ``gone``, which are consecutive in ``free`` from ``(pos, idx)``.

        Within one sublist that keeps more than half the load (or is the only one) the
        run is cut out in place, as ``SortedList._delete`` does one slot at a time;
        otherwise each slot goes through ``SortedList.remove``.
        """
        free = self.free
        lists = self.lists
        sub = lists[pos]
        count = len(gone)
        end = idx + count
        size = len(sub)
        if end <= size and (len(lists) == 1 or size - count > free._load >> 1):  # noqa: SLF001
            del sub[idx:end]
            free._len -= count  # noqa: SLF001  (sortedcontainers is pinned to 2.x)
            if free._index:  # noqa: SLF001  (positional index: rebuilt when next needed)
                del free._index[:]  # noqa: SLF001
            if end == size:  # the sublist's last slot went
                if sub:
                    free._maxes[pos] = sub[-1]  # noqa: SLF001
                else:  # the only sublist is empty
                    del lists[pos]
                    del free._maxes[pos]  # noqa: SLF001
        else:
            self.at = _NO_BISECTION
            for entry in gone:
                free.remove(entry.slot)
        if self.fifo is not None:
            for entry in gone:
                key = entry.key
                self.fifo.remove((key[1], key, entry))


class FefoIndex:
    """An in-memory allocation index over stock positions, kept current from the ledger.

    Build it from the ledger's positions with
    [`from_positions`][medinv.allocation.FefoIndex.from_positions], keep it current
    with [`apply`][medinv.allocation.FefoIndex.apply] (recorded movements) or
    [`apply_delta`][medinv.allocation.FefoIndex.apply_delta] (balance changes), and
    ask it for plans with [`allocate`][medinv.allocation.FefoIndex.allocate].

    ```pycon
    >>> import pendulum
    >>> from medinv import ItemKey, Location, StockPosition, StockStatus
    >>> from medinv.allocation import AllocationRequest, FefoIndex
    >>> store = Location.parse("H/Store")
    >>> def pos(lot, expiry, qty):
    ...     return StockPosition(item=ItemKey("04006381333931", lot=lot), location=store,
    ...                          status=StockStatus.AVAILABLE, quantity=qty, expiry=expiry)
    >>> index = FefoIndex.from_positions([
    ...     pos("B", pendulum.date(2027, 3, 1), 10), pos("A", pendulum.date(2026, 12, 1), 4)])
    >>> plan = index.allocate(AllocationRequest.of("04006381333931", 6, use_date="2026-11-23"))
    >>> [(str(p.item.lot), p.quantity) for p in plan.picks], plan.shortfall
    ([('A', 4), ('B', 2)], 0)

    ```
    """

    def __init__(self, *, position: int = 0) -> None:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            msg = f"invalid ledger position {position!r}: expected a whole number, at least 0"
            raise InvalidValueError(msg)
        self._products: dict[str, _Product] = {}
        """Products by GTIN-14 text (a str key hashes in C; a `Gtin` calls attrs' hash)."""
        self._position = position
        self._pick_sequence: dict[tuple[str, ...], int] = {}
        """Pick sequence of each location (by path) seen first or registered."""
        self._reservations: dict[str, tuple[Reservation, tuple[_Hold, ...]]]
        self._reservations = {}
        self._expiring: SortedList[tuple[int, str]] = SortedList()
        self._threshold = _NOWHERE
        """The threshold of the last plain FEFO request (see `_plain`)."""
        self._ordinals: dict[int, int] = {}
        """One int object per expiry ordinal, shared by every key with that expiry.

        The bisection of a request compares the threshold with the first element of
        the keys it probes; with shared ints those stay in the CPU cache instead of one
        int object per lot scattered through memory (about 1 us per request at 500 lots).
        """

    # ------------------------------------------------------------------ building

    @classmethod
    def from_positions(cls, positions: Iterable[StockPosition], *, position: int = 0) -> FefoIndex:
        """An index over ``positions`` (e.g. ``Ledger.positions()``) at ledger ``position``.

        Each position's expiry and received-at are taken as given (even ``None``).
        Cost: one pass over the positions, then one sort per product (in C). The
        cyclic garbage collector is paused while the index is built (and resumed,
        if it was running, before this returns): every object the build makes is
        kept, so a collection could free none of them, and at a million positions
        the collections alone would take longer than the rest of the build.

        Raises:
            InvalidValueError: something other than a `StockPosition` is given, or the
                same (item, location, status) appears twice.
        """
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            return cls._build(positions, position)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _build(  # noqa: C901, PLR0912, PLR0915  (one loop over every position, inlined)
        cls, positions: Iterable[StockPosition], position: int
    ) -> FefoIndex:
        """`from_positions`, with the garbage collector as the caller set it."""
        index = cls(position=position)
        products = index._products
        ordinals = index._ordinals
        pick_sequences = index._pick_sequence
        pending: dict[str, list[_Slot]] = {}
        gtin = ""
        product = _Product()
        slots: list[_Slot] = []
        by_item = product.entries.by_item
        lot_expiry = product.lot_expiry
        new_entry = _Entry
        fixed_offset = _fixed_offset
        epoch = _EPOCH_ORDINAL
        last_tz: dt.tzinfo | None = None
        last_offset: int | None = None
        try:
            iterator = iter(positions)
        except TypeError:
            msg = f"expected stock positions, not {type(positions).__name__}"
            raise InvalidValueError(msg) from None
        # `_add` (with `_new_entry`) for every position, inlined: building is a
        # one-pass job over up to millions of positions.
        for stock in iterator:
            if type(stock) is not StockPosition:
                _not_a_position(stock)
            item = stock.item
            if item.gtin.value != gtin:  # positions usually come grouped by product
                gtin = item.gtin.value
                found = products.get(gtin)
                if found is None:
                    product = products[gtin] = _Product()
                    slots = pending[gtin] = []
                else:
                    product = found
                    slots = pending[gtin]
                by_item = product.entries.by_item
                lot_expiry = product.lot_expiry
            location = stock.location
            status = stock.status
            expiry = stock.expiry
            if expiry is not None and type(expiry) is not pendulum.Date:
                expiry = pendulum.date(expiry.year, expiry.month, expiry.day)
            received_at = stock.received_at
            if received_at is not None and type(received_at) is not pendulum.DateTime:
                received_at = to_datetime(received_at)
            lot, serial = item.lot, item.serial
            lot_text = "" if lot is None else lot.value
            if expiry is None:
                ordinal = NO_EXPIRY
            else:
                ordinal = expiry.toordinal()
                ordinal = ordinals.setdefault(ordinal, ordinal)
                if lot_text not in lot_expiry:
                    lot_expiry[lot_text] = expiry
            if received_at is None:
                micros = _NO_RECEIPT
            else:
                tz = received_at.tzinfo
                if tz is not last_tz:  # positions mostly share one time zone object
                    last_tz = tz
                    last_offset = None if tz is None else fixed_offset(tz)
                offset = last_offset
                if offset is None:
                    micros = received_micros(received_at)
                else:  # what received_micros does, inlined
                    micros = (
                        (
                            (received_at.toordinal() - epoch) * 86_400
                            + received_at.hour * 3_600
                            + received_at.minute * 60
                            + received_at.second
                        )
                        * 1_000_000
                        + received_at.microsecond
                        - offset
                    )
            path = location.path
            pick = pick_sequences.get(path)
            if pick is None:
                pick = pick_sequences[path] = location.pick_sequence
            serial_text = "" if serial is None else serial.value
            quantity = stock.quantity
            entry = new_entry(
                item,
                location,
                status,
                expiry,
                received_at,
                quantity,
                ordinal,
                micros,
                pick,
                lot_text,
                serial_text,
                path,
            )
            if status is _AVAILABLE:
                filed = lot_text if serial is None else (lot_text, serial_text)
                if filed in by_item or not quantity:  # the general case, the slow way
                    if not product.entries.add(entry):
                        _given_twice(stock)
                else:
                    by_item[filed] = entry
                    product.entries.count += 1
                if serial is not None:
                    product.by_serial.setdefault(serial_text, set()).add(entry)
                if quantity:
                    slots.append(entry.slot)
                else:  # an empty position: its master data is learned, nothing is held
                    product.forget(entry)
                continue
            if received_at is not None and item not in product.received:
                product.received[item] = received_at  # see `_new_entry`
            if quantity:
                others = product.others
                count = len(others)
                others[item, location, status] = entry
                if len(others) == count:
                    _given_twice(stock)
        for gtin_text, gtin_slots in pending.items():
            # One sort per product (in C) instead of a SortedList.add per position.
            product = products[gtin_text]
            if gtin_slots:
                product.free.update(gtin_slots)
            index._tidy(product, gtin_text)
        return index

    def _add(self, stock: StockPosition) -> None:
        """Add a position as given: its expiry and received-at are authoritative (even None).

        One step of `from_positions`, the slow way (a test builds both ways).
        """
        gtin = stock.item.gtin.value
        product = self._product(gtin)
        if (
            (stock.item, stock.location) in product.entries
            if stock.status is _AVAILABLE
            else (stock.item, stock.location, stock.status) in product.others
        ):
            _given_twice(stock)
        entry = self._new_entry(
            product,
            stock.item,
            stock.location,
            stock.status,
            stock.expiry,
            stock.received_at,
            given=True,
        )
        if stock.status is _AVAILABLE:
            self._set_quantity(product, entry, stock.quantity)
        elif stock.quantity:
            entry.quantity = stock.quantity
        else:
            product.forget_other(entry)
        self._tidy(product, gtin)

    def _product(self, gtin: str) -> _Product:
        """The product of ``gtin``, created empty if the index holds none of it."""
        product = self._products.get(gtin)
        if product is None:
            product = self._products[gtin] = _Product()
        return product

    def _tidy(self, product: _Product, gtin: str) -> None:
        """After entries were forgotten: forget an empty product, sweep a sparse one."""
        if product.is_empty:
            if self._products.get(gtin) is product:
                del self._products[gtin]
        elif product.dropped > _SWEEP_SLACK + len(product.entries) + len(product.others):
            product.sweep()

    @property
    def position(self) -> int:
        """The ledger position the index reflects (the last movement applied)."""
        return self._position

    def register_location(self, location: Location) -> None:
        """Make ``location.pick_sequence`` the pick sequence of that location from now on.

        The index takes a location's pick sequence from the first position or movement
        it sees there; register locations first when movements carry bare paths.
        Existing positions keep the order they were indexed with.

        Raises:
            InvalidValueError: ``location`` is not a `Location`.
        """
        given: object = location  # checked at run time, whatever the annotations say
        if not isinstance(given, Location):
            _wrong("location", given, "a Location")
        self._pick_sequence[location.path] = location.pick_sequence

    def apply(
        self, movements: Iterable[Movement | StoredMovement], *, position: int | None = None
    ) -> None:
        """Apply movements the ledger has accepted, in ledger order.

        Recorded movements (with a ``position``) at or below the index's position are
        ignored, so catching up twice is harmless; a gap is refused. Plain
        [`Movement`][medinv.movements.Movement]s are always applied; pass ``position``
        to say which ledger position the index is at afterwards.

        Raises:
            InvalidValueError: a recorded movement skips a position (the index missed some).
            InsufficientStockError: a movement takes more than the index holds (the index
                is out of step with the ledger: rebuild it from positions).
        """
        if position is not None and (
            isinstance(position, bool) or not isinstance(position, int) or position < 0
        ):
            _wrong("position", position, "a ledger position (a whole number from 0)")
        for record in _iterate("movements", movements):
            if isinstance(record, Movement):
                self._apply_movement(record)
                continue
            if (
                not isinstance(getattr(record, "movement", None), Movement)
                or type(getattr(record, "position", None)) is not int
            ):
                _wrong("movement", record, "a Movement or a recorded movement")
            if record.position <= self._position:
                continue
            if record.position != self._position + 1:
                msg = (
                    f"the index is at ledger position {self._position} and cannot apply "
                    f"position {record.position}: catch up from position {self._position + 1}"
                )
                raise InvalidValueError(msg)
            self._apply_movement(record.movement)
            self._position = record.position
        if position is not None:
            self._position = position

    def _apply_movement(self, movement: Movement) -> None:
        item = movement.item
        if movement.expiry is not None or movement.from_location is None:
            product = self._product(item.gtin.value)
            if movement.expiry is not None:
                lot = "" if item.lot is None else item.lot.value
                product.lot_expiry.setdefault(lot, movement.expiry)
            if movement.from_location is None and product.entries.of_item(item) is None:
                product.received.setdefault(item, movement.occurred_at)
        for location, status, delta in movement.deltas():
            self.apply_delta(item, location, status, delta)

    def apply_delta(  # noqa: C901, PLR0912  (the checks of the arguments, then one update)
        self,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        delta: int,
        *,
        expiry: dt.date | None = None,
        received_at: dt.datetime | None = None,
    ) -> None:
        """Add ``delta`` to the balance of ``item`` at (``location``, ``status``).

        ``expiry`` and ``received_at`` are used when the index first sees the item
        (otherwise what it learned from earlier positions and movements).

        Raises:
            InsufficientStockError: the balance would become negative.
            InvalidValueError: an argument has the wrong type.
        """
        if type(item) is not ItemKey:
            _wrong("item", item, "an ItemKey")
        if not isinstance(location, Location):
            _wrong("location", location, "a Location")
        if type(status) is not StockStatus:
            _wrong("status", status, "a StockStatus")
        if type(delta) is not int or not -MAX_QUANTITY <= delta <= MAX_QUANTITY:
            _wrong("delta", delta, "a whole number of units")
        gtin = item.gtin.value
        product = self._product(gtin)
        if status is _AVAILABLE:
            entry = product.entries.get((item, location))
        else:
            entry = product.others.get((item, location, status))
        if entry is None:
            if delta <= 0:
                self._tidy(product, gtin)  # nothing was filed: do not keep an empty product
                if not delta:
                    return
                raise InsufficientStockError(
                    item=item, location=location, status=status, requested=-delta, available=0
                )
            entry = self._new_entry(
                product, item, location, status, expiry, received_at, given=False
            )
        new_quantity = entry.quantity + delta
        if new_quantity < 0:
            raise InsufficientStockError(
                item=item,
                location=location,
                status=status,
                requested=-delta,
                available=entry.quantity,
            )
        if status is _AVAILABLE:
            self._set_quantity(product, entry, new_quantity)
        else:
            entry.quantity = new_quantity
            if new_quantity == 0:
                product.forget_other(entry)
                self._tidy(product, gtin)

    def _new_entry(  # noqa: PLR0917  (private helper called from one place)
        self,
        product: _Product,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        expiry: dt.date | None,
        received_at: dt.datetime | None,
        *,
        given: bool,
    ) -> _Entry:
        """A new entry; unless ``given``, a missing expiry or receipt time is looked up."""
        lot_key = "" if item.lot is None else item.lot.value
        known_expiry: pendulum.Date | None = None
        if expiry is not None:
            known_expiry = (
                expiry
                if type(expiry) is pendulum.Date
                else pendulum.date(expiry.year, expiry.month, expiry.day)
            )
            product.lot_expiry.setdefault(lot_key, known_expiry)
        elif not given:
            known_expiry = product.lot_expiry.get(lot_key)
        known_received: pendulum.DateTime | None = None
        if received_at is not None:
            known_received = to_datetime(received_at)
            if not given or status is not _AVAILABLE:
                # An AVAILABLE entry keeps its item's receipt time; others are kept
                # here, for the AVAILABLE entry a release will make.
                product.received.setdefault(item, known_received)
        elif not given:
            same = product.entries.of_item(item)
            known_received = same.received_at if same is not None else product.received.get(item)
        pick_sequence = self._pick_sequence.setdefault(location.path, location.pick_sequence)
        key = make_key(known_expiry, known_received, pick_sequence, item, location.path)
        if known_expiry is not None:  # "no expiry" is one shared int already
            ordinal = self._ordinals.setdefault(key[0], key[0])
            key = (ordinal, *key[1:])
        entry = _Entry(item, location, status, known_expiry, known_received, 0, *key)
        if status is _AVAILABLE:
            product.file(entry)
        else:
            product.others[item, location, status] = entry
        return entry

    def _set_quantity(self, product: _Product, entry: _Entry, quantity: int) -> None:
        """Change an AVAILABLE entry's quantity, keeping the free list and maps in step."""
        was_free = entry.quantity > entry.reserved
        entry.quantity = quantity
        self._settle(product, entry, was_free=was_free)

    def _settle(self, product: _Product, entry: _Entry, *, was_free: bool) -> None:
        is_free = entry.quantity > entry.reserved
        if was_free and not is_free:
            product.remove_free(entry)
        elif is_free and not was_free:
            product.add_free(entry)
        if entry.quantity == 0 and entry.reserved == 0:
            product.forget(entry)
            self._tidy(product, entry.item.gtin.value)

    # ------------------------------------------------------------------ queries

    def positions(self, gtin: Gtin | str | None = None) -> list[StockPosition]:
        """The stock the index holds (every status), in FEFO order, as positions."""
        wanted = None if gtin is None else (gtin if isinstance(gtin, Gtin) else Gtin(gtin))
        rows: list[tuple[OrderKey, str, StockPosition]] = []
        for product_gtin, product in self._products.items():
            if wanted is not None and product_gtin != wanted.value:
                continue
            for entry in (*product.entries.values(), *product.others.values()):
                if entry.quantity:
                    stock = StockPosition(
                        item=entry.item,
                        location=entry.location,
                        status=entry.status,
                        quantity=entry.quantity,
                        expiry=entry.expiry,
                        received_at=entry.received_at,
                    )
                    rows.append((entry.key[:6], entry.status.value, stock))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in rows]

    def available(self, gtin: Gtin | str) -> int:
        """Units of ``gtin`` that are AVAILABLE and not reserved (expired ones included)."""
        product = self._products.get((gtin if isinstance(gtin, Gtin) else Gtin(gtin)).value)
        if product is None:
            return 0
        return sum(slot[6].free for slot in product.free)

    # ------------------------------------------------------------------ allocation

    def allocate(self, request: AllocationRequest, *, explain: bool = False) -> Plan:
        """Plan picks for ``request``; the stock is not changed.

        Cost: O(log lots) to find the first eligible position, plus one step per
        position picked or stepped over. ``explain=True`` also lists every position
        of the product that is not eligible, with its reason (linear in the
        product's positions: for pick lists and audits, not for the hot path).
        """
        if type(request) is not AllocationRequest:
            _not_a_request(request)
        if request.is_plain_fefo and request.location is None and not explain:
            product = self._products.get(request.gtin.value)
            if product is not None:
                return self._plain(product, request, False)  # noqa: FBT003
        return self._plan(request, explain=explain)[2]

    def take(self, request: AllocationRequest) -> Plan:
        """Plan picks for ``request`` and take them out of the index at once.

        The same as [`allocate`][medinv.allocation.FefoIndex.allocate] followed by
        [`commit`][medinv.allocation.FefoIndex.commit], in one pass: for an index
        that is the stock of record (simulation, a single-process store room).
        """
        if type(request) is not AllocationRequest:
            _not_a_request(request)
        if request.is_plain_fefo and request.location is None:
            product = self._products.get(request.gtin.value)
            if product is not None:
                return self._plain(product, request, True)  # noqa: FBT003
        product, chosen, plan = self._plan(request, explain=False)
        for entry, quantity in chosen:
            entry.quantity -= quantity
            if entry.quantity <= entry.reserved:  # every chosen entry had free units before
                self._settle(product, entry, was_free=True)
        return plan

    def _plain(  # noqa: C901, PLR0912, PLR0915  (the hot loop, in one function for speed)
        self,
        product: _Product,
        request: AllocationRequest,
        taking: bool,  # noqa: FBT001  (private, positional for speed)
    ) -> Plan:
        """Plan (and with ``taking``, take) a plain FEFO request without a location.

        The hot path, in one loop: what ``_plan`` does for such a request (nothing can
        be skipped once the bisection has passed the expired and short-dated keys),
        with the picks built as they are found, then the same updates as ``take``.
        It walks sortedcontainers' sublists itself (``irange`` without its iterator
        set-up), from where `_Product.first` says the eligible slots begin.
        """
        remaining = request.quantity
        threshold = request.use_date.toordinal() + request.min_shelf_life_days
        if threshold == self._threshold:
            # One int object for the day's threshold, kept by every product's cache:
            # comparing with it then reads no cold memory.
            threshold = self._threshold
        else:
            self._threshold = threshold
        at = product.at
        if at[0] == threshold:  # the common case: inline `first`
            pos = at[1]
            idx = at[2]
        else:
            pos, idx = product.first(threshold)
        lists = product.lists
        last = len(lists)
        if pos < last and idx == len(lists[pos]):  # sublists are never empty
            pos += 1
            idx = 0
        start_pos = pos
        start_idx = idx
        picks: tuple[Pick, ...] = ()  # usually one or two: cheaper than a list and tuple()
        gone: list[_Entry] = []  # entries left without free units, consecutive from start
        while pos < last:
            sub = lists[pos]
            end = len(sub)
            while idx < end:
                entry = sub[idx][6]
                take = entry.quantity - entry.reserved
                if take > remaining:  # noqa: PLR1730  (a branch is cheaper than min() here)
                    take = remaining
                pick = _new(Pick)
                _set_pick_item(pick, entry.item)
                _set_pick_location(pick, entry.location)
                _set_pick_quantity(pick, take)
                _set_pick_expiry(pick, entry.expiry)
                picks += (pick,)
                remaining -= take
                if taking:
                    left = entry.quantity - take
                    entry.quantity = left
                    if left == entry.reserved:  # no free units left
                        gone.append(entry)
                if not remaining:
                    break
                idx += 1
            else:  # this sublist is used up: go on with the next one
                pos += 1
                idx = 0
                continue
            break  # the request is covered
        # The free list is not changed while it is being walked: settle afterwards.
        if gone:
            product.drop_run(start_pos, start_idx, gone)
            for entry in gone:
                if not entry.reserved:
                    product.forget(entry)
            if not product.entries or product.dropped > _SWEEP_SLACK + len(product.entries):
                self._tidy(product, request.gtin.value)
        plan = _new(Plan)
        _set_plan_request(plan, request)
        _set_plan_picks(plan, picks)
        _set_plan_shortfall(plan, remaining)
        _set_plan_skipped(plan, ())
        _set_plan_explained(plan, False)  # noqa: FBT003  (a field value)
        _set_plan_position(plan, self._position)
        return plan

    def _plan(
        self, request: AllocationRequest, *, explain: bool
    ) -> tuple[_Product, list[tuple[_Entry, int]], Plan]:
        product = self._products.get(request.gtin.value)
        chosen: list[tuple[_Entry, int]] = []
        if product is None:
            empty = Plan(
                request=request,
                picks=(),
                shortfall=request.quantity,
                explained=explain,
                position=self._position,
            )
            return _Product(), chosen, empty
        skipped: list[Skipped] = []
        if request.is_plain_fefo:
            remaining = self._pick_fefo(product, request, chosen, skipped)
        elif request.serials is not None:
            remaining = self._pick_named(
                request,
                [product.by_serial.get(s.value, ()) for s in request.serials],
                chosen,
                skipped,
                one_each=True,
            )
        elif request.policy is Policy.MANUAL:
            remaining = self._pick_named(
                request,
                [product.lots().get(lot.value, ()) for lot in request.lots],
                chosen,
                skipped,
                one_each=False,
            )
        elif request.policy is Policy.FIFO:
            remaining = self._pick_fifo(product, request, chosen, skipped)
        else:
            remaining = self._pick_opened_first(product, request, chosen, skipped)
        if explain:
            skipped = self._explain(product, request, chosen)
        picks = [
            make_pick(entry.item, entry.location, take, entry.expiry) for entry, take in chosen
        ]
        plan = Plan(
            request=request,
            picks=tuple(picks),
            shortfall=remaining,
            skipped=tuple(skipped) if skipped else (),
            explained=explain,
            position=self._position,
        )
        return product, chosen, plan

    def _pick_fefo(
        self,
        product: _Product,
        request: AllocationRequest,
        chosen: list[tuple[_Entry, int]],
        skipped: list[Skipped],
    ) -> int:
        remaining = request.quantity
        free = product.free
        threshold = request.use_date.toordinal() + request.min_shelf_life_days
        subtree = None if request.location is None else request.location.path
        depth = 0 if subtree is None else len(subtree)
        for slot in free.irange(_lowest(threshold)):
            entry = slot[6]
            if subtree is not None and slot[5][:depth] != subtree:
                skipped.append(entry.skipped(SkipReason.OUTSIDE_LOCATION))
                continue
            take = min(entry.quantity - entry.reserved, remaining)
            chosen.append((entry, take))
            remaining -= take
            if not remaining:
                break
        return remaining

    def _pick_opened_first(
        self,
        product: _Product,
        request: AllocationRequest,
        chosen: list[tuple[_Entry, int]],
        skipped: list[Skipped],
    ) -> int:
        """FEFO, but within one expiry date opened boxes (a partial box) go first."""
        box = request.box_size or 1
        remaining = request.quantity
        free = product.free
        threshold = request.use_date.toordinal() + request.min_shelf_life_days
        subtree = None if request.location is None else request.location.path
        depth = 0 if subtree is None else len(subtree)
        group: list[_Entry] = []
        for slot in free.irange(_lowest(threshold)):
            entry = slot[6]
            if subtree is not None and slot[5][:depth] != subtree:
                skipped.append(entry.skipped(SkipReason.OUTSIDE_LOCATION))
                continue
            if group and group[0].key[0] != slot[0]:
                remaining = self._take_group(group, box, remaining, chosen)
                group = []
                if not remaining:
                    return 0
            group.append(entry)
        return self._take_group(group, box, remaining, chosen)

    @staticmethod
    def _take_group(
        group: list[_Entry], box: int, remaining: int, chosen: list[tuple[_Entry, int]]
    ) -> int:
        opened = [entry for entry in group if entry.quantity % box]
        whole = [entry for entry in group if not entry.quantity % box]
        for entry in (*opened, *whole):
            if not remaining:
                break
            take = min(entry.free, remaining)
            chosen.append((entry, take))
            remaining -= take
        return remaining

    def _pick_fifo(
        self,
        product: _Product,
        request: AllocationRequest,
        chosen: list[tuple[_Entry, int]],
        skipped: list[Skipped],
    ) -> int:
        if product.fifo is None:
            product.fifo = SortedList((slot[1], slot, slot[6]) for slot in product.free)
        remaining = request.quantity
        for _, _, entry in product.fifo:
            reason = self._ineligible(request, entry)
            if reason is not None:
                skipped.append(entry.skipped(reason))
                continue
            take = min(entry.free, remaining)
            chosen.append((entry, take))
            remaining -= take
            if not remaining:
                break
        return remaining

    def _pick_named(
        self,
        request: AllocationRequest,
        groups: list[Iterable[_Entry]],
        chosen: list[tuple[_Entry, int]],
        skipped: list[Skipped],
        *,
        one_each: bool,
    ) -> int:
        remaining = request.quantity
        for group in groups:
            for entry in sorted(group, key=_key_of):
                reason = self._ineligible(request, entry)
                if reason is None and entry.free == 0:
                    reason = SkipReason.RESERVED
                if reason is not None:
                    skipped.append(entry.skipped(reason))
                    continue
                take = min(entry.free, remaining)
                chosen.append((entry, take))
                remaining -= take
                if one_each or not remaining:
                    break
            if not remaining:
                break
        return remaining

    @staticmethod
    def _ineligible(request: AllocationRequest, entry: _Entry) -> SkipReason | None:
        """The first date or location reason that excludes ``entry`` (status is AVAILABLE)."""
        expiry = entry.key[0]
        use = request.use_date.toordinal()
        if expiry < use:
            return SkipReason.EXPIRED
        if expiry < use + request.min_shelf_life_days:
            return SkipReason.SHORT_SHELF_LIFE
        if request.location is not None and not entry.location.is_within(request.location):
            return SkipReason.OUTSIDE_LOCATION
        return None

    def _explain(
        self, product: _Product, request: AllocationRequest, chosen: list[tuple[_Entry, int]]
    ) -> list[Skipped]:
        picked = {id(entry) for entry, _ in chosen}
        named_lots = set(request.lots) if request.policy is Policy.MANUAL else None
        named_serials = None if request.serials is None else set(request.serials)
        rows: list[tuple[OrderKey, str, Skipped]] = [
            (entry.key[:6], entry.status.value, entry.skipped(SkipReason.NOT_AVAILABLE_STATUS))
            for entry in product.others.values()
        ]
        for entry in product.entries.values():
            if id(entry) in picked or entry.quantity == 0:
                continue
            reason = self._ineligible(request, entry)
            if reason is None and (
                (named_lots is not None and entry.item.lot not in named_lots)
                or (named_serials is not None and entry.item.serial not in named_serials)
            ):
                reason = SkipReason.NOT_NAMED
            if reason is None and entry.free == 0:
                reason = SkipReason.RESERVED
            if reason is not None:
                rows.append((entry.key[:6], entry.status.value, entry.skipped(reason)))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in rows]

    # ------------------------------------------------------------------ reservations

    def reserve(
        self,
        plan: Plan,
        *,
        reservation_id: str,
        expires_at: dt.datetime | None = None,
    ) -> Reservation:
        """Hold ``plan``'s picks so that later plans do not see those units.

        Raises:
            InvalidValueError: ``reservation_id`` is already in use.
            StalePlanError: a pick is no longer free (the stock moved or another
                reservation took it): plan again.
        """
        if not isinstance(reservation_id, str) or not reservation_id.strip():
            msg = f"invalid reservation id {reservation_id!r:.60}: expected non-blank text"
            raise InvalidValueError(msg)
        if type(plan) is not Plan:
            _wrong("plan", plan, "a Plan")
        if reservation_id in self._reservations:
            msg = f"reservation id {reservation_id!r} is already in use"
            raise InvalidValueError(msg)
        deadline = None if expires_at is None else to_datetime(expires_at)
        holds = self._resolve(plan)
        for _, entry, quantity in holds:
            if entry.free < quantity:
                raise self._stale(plan, entry, quantity, entry.free)
        for product, entry, quantity in holds:
            was_free = entry.quantity > entry.reserved
            entry.reserved += quantity
            self._settle(product, entry, was_free=was_free)
        reservation = Reservation(id=reservation_id, plan=plan, expires_at=deadline)
        self._reservations[reservation_id] = (
            reservation,
            tuple(holds),
        )
        if deadline is not None:
            self._expiring.add((received_micros(deadline), reservation_id))
        return reservation

    def _resolve(self, plan: Plan) -> list[_Hold]:
        """Find each pick's entry (picks of one entry summed); refuse picks of vanished stock."""
        found: dict[int, _Hold] = {}
        for pick in plan.picks:
            product = self._products.get(pick.item.gtin.value)
            entry = None if product is None else product.entries.get((pick.item, pick.location))
            if product is None or entry is None:
                raise StalePlanError(
                    planned_at=plan.position,
                    current=self._position,
                    reason=f"no AVAILABLE {pick.item} is left at {pick.location}",
                )
            before = found.get(id(entry), (product, entry, 0))[2]
            found[id(entry)] = (product, entry, before + pick.quantity)
        return list(found.values())

    def _stale(self, plan: Plan, entry: _Entry, wanted: int, have: int) -> StalePlanError:
        return StalePlanError(
            planned_at=plan.position,
            current=self._position,
            reason=(
                f"{entry.item} at {entry.location}: the plan takes {wanted}, "
                f"only {have} unreserved left"
            ),
        )

    def release(self, reservation_id: str) -> Reservation | None:
        """Release a reservation; ``None`` if there is none by that id (already released)."""
        if not isinstance(reservation_id, str):
            _wrong("reservation id", reservation_id, "text")
        held = self._reservations.pop(reservation_id, None)
        if held is None:
            return None
        reservation, holds = held
        if reservation.expires_at is not None:
            self._expiring.discard((received_micros(reservation.expires_at), reservation_id))
        for product, entry, quantity in holds:
            was_free = entry.quantity > entry.reserved
            entry.reserved -= quantity
            self._settle(product, entry, was_free=was_free)
        return reservation

    def expire_reservations(
        self, as_of: dt.datetime | None = None, *, before_position: int | None = None
    ) -> tuple[Reservation, ...]:
        """Release the reservations that have lapsed; return them in order of release.

        Args:
            as_of: release every reservation whose ``expires_at`` is at or before this
                instant (O(log reservations + released)).
            before_position: also release every reservation of a plan made at a ledger
                position before this one, however long it was meant to last (e.g. to
                drop reservations older than a day's first movement; linear in the
                reservations held).
        """
        if before_position is not None and (
            isinstance(before_position, bool) or not isinstance(before_position, int)
        ):
            _wrong("before_position", before_position, "a ledger position")
        due: list[str] = []
        if as_of is not None:
            limit = received_micros(to_datetime(as_of))
            due.extend(rid for _, rid in self._expiring.irange(maximum=(limit, "\U0010ffff")))
        if before_position is not None:
            due.extend(
                rid
                for rid, (reservation, _) in sorted(self._reservations.items())
                if reservation.plan.position < before_position and rid not in due
            )
        released = (self.release(rid) for rid in due)
        return tuple(r for r in released if r is not None)

    def reservations(self) -> tuple[Reservation, ...]:
        """The reservations held, by id."""
        return tuple(self._reservations[rid][0] for rid in sorted(self._reservations))

    def commit(self, plan: Plan, *, reservation_id: str | None = None) -> None:
        """Take ``plan``'s picks out of the index, as posting the plan does.

        Use it when the index is the stock of record (simulation, tests,
        benchmarks); with a ledger, [`post_plan`][medinv.services.post_plan] posts
        the movements and the index follows them with ``apply``. The plan's
        reservation (``reservation_id``) is released first.

        Raises:
            StalePlanError: a pick no longer fits; nothing was changed.
        """
        if type(plan) is not Plan:
            _wrong("plan", plan, "a Plan")
        if reservation_id is not None and not isinstance(reservation_id, str):
            _wrong("reservation id", reservation_id, "text or None")
        held = None if reservation_id is None else self._reservations.get(reservation_id)
        if reservation_id is not None and held is None:
            msg = f"no reservation {reservation_id!r} is held"
            raise InvalidValueError(msg)
        own: dict[int, int] = {}
        if held is not None:
            if held[0].plan != plan:
                msg = f"reservation {reservation_id!r} holds another plan"
                raise InvalidValueError(msg)
            own = {id(entry): quantity for _, entry, quantity in held[1]}
        holds = self._resolve(plan)
        for _, entry, quantity in holds:  # check everything before changing anything
            have = entry.quantity - entry.reserved + own.get(id(entry), 0)
            if have < quantity:
                raise self._stale(plan, entry, quantity, max(have, 0))
        if held is not None:
            self.release(held[0].id)
        for product, entry, quantity in holds:
            self._set_quantity(product, entry, entry.quantity - quantity)

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Check every internal invariant; raise `AssertionError` naming the first broken one.

        Used by the tests after every update (cost O(n log n)).
        """
        reserved: dict[int, int] = {}
        for _, holds in self._reservations.values():
            for product, entry, quantity in holds:
                _ensure(quantity > 0, "reservation holds are positive")
                _ensure(
                    product.entries.get((entry.item, entry.location)) is entry,
                    "reservations hold entries that are in the index",
                )
                reserved[id(entry)] = reserved.get(id(entry), 0) + quantity
        expiring = [
            (received_micros(r.expires_at), rid)
            for rid, (r, _) in self._reservations.items()
            if r.expires_at is not None
        ]
        _ensure(list(self._expiring) == sorted(expiring), "expiring reservations are listed")
        for gtin, product in self._products.items():
            _ensure(not product.is_empty, "products without entries are forgotten")
            self._check_product(gtin, product, reserved)

    @staticmethod
    def _check_product(gtin: str, product: _Product, reserved: dict[int, int]) -> None:
        free: list[_Entry] = []
        by_lot: dict[str, set[_Entry]] = {}
        by_serial: dict[str, set[_Entry]] = {}
        filed = sum(
            len(found) if isinstance(found, dict) else 1
            for found in product.entries.by_item.values()
        )
        _ensure(filed == len(product.entries), "the entry count is right")
        for found in product.entries.by_item.values():
            _ensure(
                not isinstance(found, dict) or len(found) > 1,
                "an item in one location maps to its entry",
            )
        for (item, location), entry in product.entries.items():
            key = entry.key
            rebuilt = make_key(entry.expiry, entry.received_at, key[2], item, location.path)
            _ensure(item.gtin.value == gtin, "entries are filed under their GTIN")
            _ensure((entry.item, entry.location) == (item, location), "entries filed by key")
            _ensure(entry.status is _AVAILABLE, "entries are AVAILABLE")
            _ensure(key[:6] == rebuilt, "entry keys match their fields")
            _ensure(key is entry.slot and key[6] is entry, "an entry's key is its slot")
            _ensure(entry.quantity >= 0, "quantities are not negative")
            _ensure(entry.reserved == reserved.get(id(entry), 0), "reserved = sum of holds")
            _ensure(entry.quantity > 0 or entry.reserved > 0, "empty entries are dropped")
            if entry.quantity > entry.reserved:
                free.append(entry)
            by_lot.setdefault(key[3], set()).add(entry)
            if item.serial is not None:
                by_serial.setdefault(key[4], set()).add(entry)
        free.sort(key=_key_of)
        slots = [entry.slot for entry in free]
        _ensure(list(product.free) == slots, "free list = entries with unreserved units")
        try:
            product.free._check()  # noqa: SLF001  (the hot path edits its sublists)
        except AssertionError:
            _ensure(False, "the free list's sublists are consistent")  # noqa: FBT003
        threshold, pos, idx = product.at
        if threshold != _NOWHERE:
            lists = product.lists
            _ensure(
                (pos < len(lists) and idx <= len(lists[pos])) or (pos, idx) == (len(lists), 0),
                "the remembered bisection is a place in the free list",
            )
            before = sum(len(sub) for sub in lists[:pos]) + idx
            _ensure(
                list(product.free.irange(cast("_Slot", (threshold,)))) == slots[before:],
                "the remembered bisection is where the threshold's slots begin",
            )
        _ensure(product.by_lot is None or product.by_lot == by_lot, "lot map matches the entries")
        _ensure(product.lists is product.free._lists, "the sublists are the free list's")  # noqa: SLF001
        _ensure(product.by_serial == by_serial, "serial map matches the entries")
        if product.fifo is not None:
            fifo = [(e.key[1], e.key, e) for e in sorted(free, key=lambda e: _fifo(e.key))]
            _ensure(list(product.fifo) == fifo, "FIFO list = free list in FIFO order")
        for (item, location, status), entry in product.others.items():
            _ensure(
                (entry.item, entry.location, entry.status) == (item, location, status),
                "other-status entries are filed under their key",
            )
            _ensure(status is not _AVAILABLE, "other-status entries are not AVAILABLE")
            _ensure(entry.quantity > 0 and entry.reserved == 0, "other-status quantities")
        live = len(product.entries) + len(product.others)
        _ensure(
            len(product.lot_expiry) <= live + product.dropped
            and len(product.received) <= live + product.dropped
            and product.dropped <= live + _SWEEP_SLACK,
            "lots and items no entry holds are swept out",
        )


def _key_of(entry: _Entry) -> _Slot:
    return entry.key


def _ensure(condition: bool, what: str) -> None:  # noqa: FBT001  (a predicate, positional)
    if not condition:
        msg = f"FefoIndex invariant broken: {what}"
        raise AssertionError(msg)


def _not_a_position(value: object) -> NoReturn:
    msg = f"expected a StockPosition, not {type(value).__name__} {value!r:.60}"
    raise InvalidValueError(msg)


def _given_twice(stock: StockPosition) -> NoReturn:
    msg = f"position {stock.item} at {stock.location} [{stock.status.value}] is given twice"
    raise InvalidValueError(msg)


def _wrong(name: str, value: object, expected: str) -> NoReturn:
    msg = f"invalid {name} {value!r:.60}: expected {expected}, not {type(value).__name__}"
    raise InvalidValueError(msg)


def _not_a_request(value: object) -> NoReturn:
    _wrong("request", value, "an AllocationRequest")


def _iterate(name: str, value: object) -> Iterable[Any]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        _wrong(name, value, "an iterable")
    return value
