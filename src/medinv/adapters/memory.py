"""`MemoryStore`: the in-memory reference implementation of the ledger store port.

Everything lives in indexed dictionaries for the lifetime of the object: fast,
not durable, for tests, demos and as the reference the stateful comparison
([`medinv.testing.stateful`][medinv.testing.stateful]) holds other stores to.

```pycon
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.ledger import Ledger
>>> with MemoryStore() as store:
...     Ledger(store).head().position
0

```
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING

import pendulum
from sortedcontainers import SortedList

from medinv.adapters._base import Closing
from medinv.adapters._codec import check_chained, query_links
from medinv.adapters._tags import FACETS, driving_facet, movement_tags
from medinv.adapters.memory_catalogue import MemoryCatalogue
from medinv.adapters.memory_checkpoints import MemoryCheckpoints
from medinv.adapters.memory_projections import MemoryProjections
from medinv.adapters.memory_recalls import MemoryRecalls
from medinv.adapters.memory_reservations import MemoryReservations
from medinv.adapters.memory_stocktake import MemoryStocktakes
from medinv.adapters.memory_sync import MemorySync
from medinv.chain import link_keys
from medinv.devices import DeviceIdentifier
from medinv.errors import ConcurrencyError, StorageError
from medinv.identifiers import ItemKey, Lot, Serial, device_of
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import (
    BalanceKey,
    Commit,
    ItemRecord,
    LedgerHead,
    LotKey,
    MovementQuery,
    MovementRow,
    PositionQuery,
    RecordedMovement,
    check_query,
)
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.adapters.memory_coldchain import MemoryColdChain

__all__ = ["MemoryStore"]


class MemoryStore(Closing):
    """An in-memory [`LedgerStore`][medinv.ports.LedgerStore] with an index per query.

    Thread-compatible, not thread-safe: share one between threads only behind a lock.
    """

    def __init__(self) -> None:
        self._closed = False
        self._head = LedgerHead.empty()
        self._movements: list[RecordedMovement] = []
        self._by_id: dict[str, RecordedMovement] = {}
        self._reversals: dict[str, str] = {}
        self._moves_by_item: defaultdict[ItemKey, list[RecordedMovement]] = defaultdict(list)
        self._items_by_device: defaultdict[DeviceIdentifier, set[ItemKey]] = defaultdict(set)
        self._items_by_lot: defaultdict[Lot, set[ItemKey]] = defaultdict(set)
        self._items_by_serial: defaultdict[Serial, set[ItemKey]] = defaultdict(set)
        self._balances: dict[BalanceKey, int] = {}
        self._balance_keys_by_item: defaultdict[ItemKey, set[BalanceKey]] = defaultdict(set)
        self._balance_keys_by_place: defaultdict[tuple[str, ...], set[BalanceKey]] = defaultdict(
            set
        )
        self._lots: dict[LotKey, pendulum.Date | None] = {}
        self._items: dict[ItemKey, ItemRecord] = {}
        self._stocktakes = MemoryStocktakes(self._open, self.close)
        self._catalogue = MemoryCatalogue(self)
        self._moves_by_link: defaultdict[str, list[RecordedMovement]] = defaultdict(list)
        self._reservations = MemoryReservations(self)
        self._checkpoints = MemoryCheckpoints(self)
        self._projections = MemoryProjections(self)
        # Movements by tag (see medinv.adapters._tags), in position order, and the
        # distinct tags of the facets read by range, sorted.
        self._by_tag: defaultdict[str, list[RecordedMovement]] = defaultdict(list)
        self._sorted_tags: dict[str, SortedList[str]] = {
            f.name: SortedList() for f in FACETS if f.ordered
        }
        self._sync = MemorySync(self)

    @property
    def stocktakes(self) -> MemoryStocktakes:
        """The [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] of this store.

        Like the SQL stores, one store serves every port: its stocktakes live (and
        are lost) with it, and closing the store closes them.
        """
        return self._stocktakes

    @property
    def catalogue(self) -> MemoryCatalogue:
        """The [`CatalogueStore`][medinv.ports.CatalogueStore] of this store (closes with it)."""
        return self._catalogue

    @property
    def reservations(self) -> MemoryReservations:
        """The [`ReservationStore`][medinv.ports.ReservationStore] of this store."""
        return self._reservations

    @property
    def checkpoints(self) -> MemoryCheckpoints:
        """The change feed's consumer checkpoints, kept in process memory with the ledger.

        A [`CheckpointStore`][medinv.feed.CheckpointStore], closed with the store.
        """
        return self._checkpoints

    @functools.cached_property
    def coldchain(self) -> MemoryColdChain:
        """The [`ColdChainStore`][medinv.coldchain.ColdChainStore] of this store."""
        from medinv.adapters.memory_coldchain import MemoryColdChain  # noqa: PLC0415  (loaded on first use)

        return MemoryColdChain(self)

    def _open(self) -> None:
        if self._closed:
            raise StorageError("the memory store is closed")

    # ----------------------------------------------------------------- write

    def head(self) -> LedgerHead:
        """The position and hash of the last stored movement."""
        self._open()
        return self._head

    def append(self, commit: Commit) -> None:
        """Store the commit atomically; see [`LedgerStore.append`][medinv.ports.LedgerStore.append].

        Raises:
            ConcurrencyError: the head moved, or an id / reversed id is already stored.
            StorageError: the store is closed or the commit is not chained from the head.
        """
        self._open()
        if not commit.movements:
            return
        head = self._head
        if commit.expected_position != head.position:
            raise ConcurrencyError(
                f"the ledger moved: expected position {commit.expected_position}, "
                f"found {head.position}",
                expected=commit.expected_position,
                actual=head.position,
            )
        self._check_commit(commit, head)
        for recorded in commit.movements:
            m = recorded.movement
            self._movements.append(recorded)
            self._by_id[m.id] = recorded
            if m.reverses is not None:
                self._reversals[m.reverses] = m.id
            self._moves_by_item[m.item].append(recorded)
            self._index_item(m.item)
            for link in link_keys(m):
                self._moves_by_link[link].append(recorded)
            self._index_tags(recorded)
        for change in commit.balance_changes:
            self._apply_change(change.item, change.location, change.status, change.delta)
        for lot in commit.lots:
            self._lots.setdefault((lot.gtin, lot.lot), lot.expiry)
        for record in commit.items:
            self._items.setdefault(record.item, record)
        last = commit.movements[-1]
        self._head = LedgerHead(last.position, last.hash)

    def _apply_change(
        self, item: ItemKey, location: Location, status: StockStatus, delta: int
    ) -> None:
        key = (item, location, status)
        quantity = self._balances.get(key, 0) + delta
        path = location.path
        places = [self._balance_keys_by_place[path[:depth]] for depth in range(1, len(path) + 1)]
        if quantity:
            self._balances[key] = quantity
            self._balance_keys_by_item[item].add(key)
            for place in places:
                place.add(key)
        else:
            self._balances.pop(key, None)
            self._balance_keys_by_item[item].discard(key)
            for place in places:
                place.discard(key)

    def _check_commit(self, commit: Commit, head: LedgerHead) -> None:
        """Refuse, before changing anything, a commit that cannot be applied whole."""
        check_chained(commit, head.position, head.hash)
        ids: set[str] = set()
        reversed_ids: set[str] = set()
        for recorded in commit.movements:
            mid = recorded.movement.id
            if mid in self._by_id or mid in ids:
                raise ConcurrencyError(
                    f"movement id {mid!r} is already stored",
                    expected=commit.expected_position,
                    actual=head.position,
                )
            ids.add(mid)
            target = recorded.movement.reverses
            if target is not None:
                if target in self._reversals or target in reversed_ids:
                    raise ConcurrencyError(
                        f"movement {target!r} is already reversed",
                        expected=commit.expected_position,
                        actual=head.position,
                    )
                reversed_ids.add(target)

    def _index_item(self, item: ItemKey) -> None:
        self._items_by_device[item.device].add(item)
        if item.lot is not None:
            self._items_by_lot[item.lot].add(item)
        if item.serial is not None:
            self._items_by_serial[item.serial].add(item)

    def _index_tags(self, recorded: RecordedMovement) -> None:
        by_tag = self._by_tag
        for tag in movement_tags(recorded.movement):
            if tag not in by_tag:
                ordered = self._sorted_tags.get(tag[0])
                if ordered is not None:
                    ordered.add(tag)
            by_tag[tag].append(recorded)

    def _tagged(self, spans: list[tuple[str, str | None]]) -> list[RecordedMovement]:
        """The movements holding a tag in ``spans``, each once, in position order."""
        tags: list[str] = []
        for low, high in spans:
            if high is None:
                tags.append(low)
                continue
            tags += self._sorted_tags[low[0]].irange(low, high, inclusive=(True, False))
        found = {r.position: r for tag in tags for r in self._by_tag.get(tag, ())}
        return [found[p] for p in sorted(found)]

    # ----------------------------------------------------------------- reads for posting

    def movements_by_id(self, ids: Collection[str]) -> Mapping[str, RecordedMovement]:
        """The stored movements with these ids."""
        self._open()
        by_id = self._by_id
        return {i: by_id[i] for i in ids if i in by_id}

    def reversals_of(self, ids: Collection[str]) -> Mapping[str, str]:
        """Original id -> reversal id, for the given ids that are reversed."""
        self._open()
        return {i: self._reversals[i] for i in ids if i in self._reversals}

    def lot_expiries(self, keys: Collection[LotKey]) -> Mapping[LotKey, pendulum.Date | None]:
        """Expiry master data of the known lots among ``keys``."""
        self._open()
        return {k: self._lots[k] for k in keys if k in self._lots}

    def item_records(self, items: Collection[ItemKey]) -> Mapping[ItemKey, ItemRecord]:
        """Master data of the known items among ``items``."""
        self._open()
        return {i: self._items[i] for i in items if i in self._items}

    def balances_of(self, items: Collection[ItemKey]) -> Mapping[BalanceKey, int]:
        """Every non-zero balance of the given items."""
        self._open()
        balances = self._balances
        return {
            key: balances[key]
            for item in items
            if item in self._balance_keys_by_item
            for key in self._balance_keys_by_item[item]
        }

    # ----------------------------------------------------------------- queries

    def _candidate_items(self, query: PositionQuery | MovementQuery) -> set[ItemKey] | None:
        """Items that may match the item filters, from the narrowest index; None: no filter."""
        item, lot, serial = query.item, query.lot, query.serial
        if item is not None:
            return {item}
        devices = (query.device, None if query.gtin is None else device_of(query.gtin))
        pools = [self._items_by_device.get(d, set()) for d in devices if d is not None]
        if lot is not None:
            pools.append(self._items_by_lot.get(lot, set()))
        if serial is not None:
            pools.append(self._items_by_serial.get(serial, set()))
        if not pools:
            return None
        smallest: set[ItemKey] = min(pools, key=len)  # the narrowest index; filtered later
        return set(smallest)

    def positions(self, query: PositionQuery) -> list[StockPosition]:
        """Non-zero balances matching ``query`` with expiry and first-received time."""
        check_query(query, PositionQuery)
        self._open()
        candidates = self._candidate_items(query)
        keys: Iterator[BalanceKey] | set[BalanceKey]
        if candidates is not None:
            keys = (k for i in candidates for k in self._balance_keys_by_item.get(i, ()))
        elif query.location is not None:
            keys = self._balance_keys_by_place.get(query.location.path, set())
        else:
            keys = set(self._balances)
        out = []
        for key in keys:
            item, location, status = key
            record = self._items.get(item)
            expiry = record.expiry if record is not None else None
            if item.lot is not None:
                expiry = self._lots.get((item.device_text, item.lot.value), expiry)
            if not query.matches(item, location, status, expiry):
                continue
            out.append(
                StockPosition(
                    item=item,
                    location=Location(location.path),
                    status=status,
                    quantity=self._balances[key],
                    expiry=expiry,
                    received_at=record.first_received_at if record is not None else None,
                )
            )
        return out

    def movements(self, query: MovementQuery) -> Iterator[RecordedMovement]:
        """Stored movements matching ``query``, in position order."""
        check_query(query, MovementQuery)
        self._open()
        links = query_links(query)
        if links:  # the narrowest list of movements with that party or document
            rows = min((self._moves_by_link.get(link, []) for link in links), key=len)
            return (r for r in list(rows) if query.matches(r))
        driver = driving_facet(query)
        if driver is not None:
            return (r for r in self._tagged(driver[1]) if query.matches(r))
        candidates = self._candidate_items(query)
        if candidates is None:
            start = max(query.after_position, 0)
            stop = query.up_to_position
            rows = self._movements[start:stop]
            if query == MovementQuery(after_position=query.after_position, up_to_position=stop):
                return iter(rows)  # a range of positions only: nothing more to match
            return (r for r in rows if query.matches(r))
        found = [
            r for item in candidates for r in self._moves_by_item.get(item, ()) if query.matches(r)
        ]
        found.sort(key=lambda r: r.position)
        return iter(found)

    def balances_snapshot(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        """The whole stored balance projection."""
        self._open()
        return ((i, loc, s, q) for (i, loc, s), q in list(self._balances.items()))

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Drop nothing, but refuse further use."""
        self._closed = True

    @functools.cached_property
    def recalls(self) -> MemoryRecalls:
        """The [`RecallStore`][medinv.recall.RecallStore] of this store (recall campaigns)."""
        return MemoryRecalls(self)

    @property
    def sync(self) -> MemorySync:
        """The [`SyncStore`][medinv.sync.SyncStore] of this store: the device sync inbox."""
        return self._sync

    @property
    def projections(self) -> MemoryProjections:
        """The [`ProjectionStore`][medinv.ports.ProjectionStore] of this store (closes with it)."""
        return self._projections

    def movement_rows(self, query: MovementQuery) -> Iterator[MovementRow]:
        """Stored movements matching ``query`` as light rows, in position order."""
        return map(MovementRow.of, self.movements(query))
