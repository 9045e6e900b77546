"""The ledger's posting cache: what a ledger read from its store, valid at one head.

Private to [`Ledger`][medinv.ledger.Ledger]: posting reads through it what the
rules need (balances of the batch's items, lot and item master data), a refused
batch is undone in it and a committed one moves it to the new head.
"""

from __future__ import annotations

from typing import Final, TypeVar

import attrs
import pendulum

from medinv.identifiers import ItemKey
from medinv.movements import Movement, MovementKind
from medinv.ports import BalanceKey, ItemRecord, LedgerHead, LedgerStore, LotKey, RecordedMovement
from medinv.posting import Batch

__all__ = ["CACHE_LIMIT", "PostingCache", "put_back", "read_state"]

CACHE_LIMIT: Final = 200_000
"""Balances, items or lots cached before the cache starts again."""

K = TypeVar("K")
_ISSUE: Final = MovementKind.ISSUE
_CONSUMPTION: Final = MovementKind.CONSUMPTION


@attrs.define(eq=False)
class PostingCache:
    """What a ledger knows of its store as of one head: the cache of posting's reads.

    Valid at ``head`` only: a post that finds the store at another head (another
    writer committed) starts again from nothing. A batch works on the cache
    directly and keeps the values it overwrites (`Batch`): a refused batch puts
    them back, a committed one moves the cache to the new head, and any other
    failure empties it.
    """

    head: LedgerHead | None = None
    """The head the cache describes, or ``None`` when empty."""
    balances: dict[BalanceKey, int] = attrs.Factory(dict)
    """Every non-zero balance of the items in ``complete``."""
    complete: set[ItemKey] = attrs.Factory(set)
    """Items whose balances (all of them, at every location and status) are known."""
    serial_totals: dict[ItemKey, int] = attrs.Factory(dict)
    """Quantity in stock of each serialised item in ``complete`` (absent: 0)."""
    items: dict[ItemKey, ItemRecord] = attrs.Factory(dict)
    """Item master data read or written."""
    lots: dict[LotKey, pendulum.Date | None] = attrs.Factory(dict)
    """Lot master data read or written."""
    recorded_at: pendulum.DateTime | None = None
    """``recorded_at`` of the movement at ``head`` (``None``: not read yet)."""

    def at(self, head: LedgerHead) -> None:
        """Keep the cache if it describes ``head`` (and is not too large); else empty it."""
        largest = max(len(self.balances), len(self.complete), len(self.items), len(self.lots))
        if head != self.head or largest > CACHE_LIMIT:
            self.forget()
            self.head = head

    def forget(self) -> None:
        """Empty the cache."""
        self.head = None
        self.balances = {}
        self.complete = set()
        self.serial_totals = {}
        self.items = {}
        self.lots = {}
        self.recorded_at = None

    def read_balances(self, store: LedgerStore, items: set[ItemKey]) -> None:
        """Read every balance of ``items`` (none of them complete yet) into the cache."""
        read = store.balances_of(items)
        self.balances.update(read)
        self.complete.update(items)
        totals = self.serial_totals
        for (item, _, _), quantity in read.items():
            if item.serial is not None:
                totals[item] = totals.get(item, 0) + quantity

    def undo(self, state: Batch) -> None:
        """Put back what a refused batch changed."""
        put_back(self.balances, state.undo)
        put_back(self.serial_totals, state.serial_undo)
        for record in state.new_items:
            self.items.pop(record.item, None)
        for lot in state.new_lots:
            self.lots.pop((lot.gtin, lot.lot), None)


def put_back(quantities: dict[K, int], before: dict[K, int]) -> None:
    """Set each quantity of ``before`` again in ``quantities`` (a 0 is no entry)."""
    for key, quantity in before.items():
        if quantity:
            quantities[key] = quantity
        else:
            quantities.pop(key, None)


def read_state(  # noqa: C901  (one pass over the batch, kept flat for speed)
    store: LedgerStore,
    new_movements: list[Movement],
    stored: dict[str, RecordedMovement],
    known: PostingCache,
) -> Batch:
    """Make the cache hold what the rules need for the batch, asking the store for the rest.

    That is every balance of every item of the batch, and master data for the
    movements entering the ledger (first receipt?), issuing ones (expiry) and
    those stating an expiry (conflict?); a transfer needs none. The store is
    asked once per kind, for what the cache lacks.
    """
    complete, known_items, known_lots = known.complete, known.items, known.lots
    unread: set[ItemKey] = set()
    need_items: set[ItemKey] = set()
    need_lots: set[LotKey] = set()
    new_reversed: set[str] = set()
    # One pass, kinds compared by identity (``kind in ISSUING`` hashes the member
    # through a Python call): measured by benchmarks/bench_ledger.py.
    issue, consumption = _ISSUE, _CONSUMPTION
    for m in new_movements:
        item = m.item
        if item not in complete:
            unread.add(item)
        reverses = m.reverses
        if reverses is not None:
            new_reversed.add(reverses)
        source = m.from_location
        kind = m.kind
        if source is None or m.expiry is not None or kind is issue or kind is consumption:
            lot = item.lot
            if (lot is None or source is None) and item not in known_items:
                need_items.add(item)
            if lot is not None:
                key = (item.device_text, lot.value)
                if key not in known_lots:
                    need_lots.add(key)
    if unread:
        known.read_balances(store, unread)
    if need_items:
        known_items.update(store.item_records(need_items))
    if need_lots:
        known_lots.update(store.lot_expiries(need_lots))
    return Batch(
        balances=known.balances,
        serial_totals=known.serial_totals,
        items=known_items,
        lots=known_lots,
        stored=stored,
        reversed_by=dict(store.reversals_of(new_reversed)) if new_reversed else {},
    )
