"""The ledger's entries: what a movement becomes once stored, and what a commit writes.

One name for each concept the ledger, its stores and the domain share: the head
of the ledger ([`LedgerHead`][medinv.journal.LedgerHead]), a stored movement
([`RecordedMovement`][medinv.journal.RecordedMovement]), the key of a balance
([`BalanceKey`][medinv.journal.BalanceKey]), a balance change, lot and item master
data, and the [`Commit`][medinv.journal.Commit] a posted batch writes. They are
plain values with no behaviour; the storage port
([`medinv.ports`][medinv.ports]) speaks in them and re-exports them.

The domain reads stored movements through one read-only protocol,
[`StoredMovement`][medinv.journal.StoredMovement]: the FEFO index
([`FefoIndex.apply`][medinv.allocation.FefoIndex.apply]) and the stocktake's
expected quantities ([`variance_report`][medinv.stocktake.variance_report],
[`expected_quantities`][medinv.stocktake.expected_quantities]) take any object
with a ``movement``, a ``position`` and a ``recorded_at``. A
[`RecordedMovement`][medinv.journal.RecordedMovement] is one;
[`TimedMovement`][medinv.stocktake.TimedMovement] is the plain one for callers
without a ledger.
"""

from __future__ import annotations

from typing import Protocol

import attrs
import pendulum

from medinv.chain import GENESIS_HASH
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

__all__ = [
    "BalanceChange",
    "BalanceKey",
    "Commit",
    "ItemRecord",
    "LedgerHead",
    "LotKey",
    "LotRecord",
    "RecordedMovement",
    "StoredMovement",
]

BalanceKey = tuple[ItemKey, Location, StockStatus]
"""What a balance is kept per: (item, location, status)."""

LotKey = tuple[str, str]
"""A lot in master data: (the device's stored text, lot text); see `ItemKey.device_text`."""


@attrs.frozen
class LedgerHead:
    """The ledger's version: position and hash of the last stored movement.

    An empty ledger has position 0 and hash [`GENESIS_HASH`][medinv.chain.GENESIS_HASH].
    """

    position: int
    """Position of the last stored movement (0 when empty); positions are 1, 2, 3 ... gap-free."""
    hash: str
    """Chain hash of the last stored movement (64 lower-case hex digits)."""

    @classmethod
    def empty(cls) -> LedgerHead:
        """The head of an empty ledger."""
        return cls(0, GENESIS_HASH)


class StoredMovement(Protocol):
    """A stored movement as the domain reads it: the movement, its place and its time.

    The one name for what the FEFO index and the stocktake read of a stored
    movement (read-only; they never need its hashes).
    [`RecordedMovement`][medinv.journal.RecordedMovement] satisfies it, and so does
    [`TimedMovement`][medinv.stocktake.TimedMovement], a plain record for callers
    without a ledger.
    """

    @property
    def movement(self) -> Movement:
        """The movement as posted."""
        ...  # pragma: no cover

    @property
    def position(self) -> int:
        """Its place in the ledger (1, 2, 3 ...; 0 for a record that is not from a ledger)."""
        ...  # pragma: no cover

    @property
    def recorded_at(self) -> pendulum.DateTime:
        """When the ledger stored it."""
        ...  # pragma: no cover


@attrs.frozen(kw_only=True)
class RecordedMovement:
    """A movement as stored: the caller's movement plus its place in the ledger.

    ``hash == chain_hash(prev_hash, movement, position=position, recorded_at=recorded_at)``
    (see [`medinv.chain`][medinv.chain]). It is a
    [`StoredMovement`][medinv.journal.StoredMovement], the protocol the domain reads.
    """

    movement: Movement
    """The movement as posted (content never changes once stored)."""
    position: int
    """Its place in the ledger's total order: 1 for the first movement, gap-free."""
    recorded_at: pendulum.DateTime
    """When the ledger stored it (the ledger's clock; the same for every movement of a batch)."""
    prev_hash: str
    """The hash of the movement at ``position - 1`` (GENESIS_HASH for position 1)."""
    hash: str
    """This entry's chain hash."""


@attrs.frozen
class BalanceChange:
    """The net change a commit makes to one balance (summed over the commit's movements).

    The store adds ``delta`` to its stored balance of ``(item, location, status)``
    (a missing balance counts as 0). A balance reaching 0 may be deleted or kept
    with 0; queries never return zero balances. ``delta`` is never 0.
    """

    item: ItemKey
    """The stock item."""
    location: Location
    """The location (by path)."""
    status: StockStatus
    """The status."""
    delta: int
    """Signed change."""


@attrs.frozen
class LotRecord:
    """Lot master data, written the first time a lot enters the ledger.

    A lot's expiry is fixed by the first inbound movement of the lot (one without a
    source: receipt, return, adjustment in); later movements that state another
    expiry, or any expiry when the lot came in without one, are refused with
    [`LotMasterDataConflictError`][medinv.errors.LotMasterDataConflictError].
    """

    gtin: str
    """The device's stored text: the GTIN-14, or ``AGENCY:DI`` for HIBC and MA devices."""
    lot: str
    """The lot text, verbatim."""
    expiry: pendulum.Date | None
    """The lot's expiry date, or ``None`` when the lot was received without one."""


@attrs.frozen(kw_only=True)
class ItemRecord:
    """Item master data, written when an item (gtin, lot, serial) first enters the ledger."""

    item: ItemKey
    """The stock item."""
    first_received_at: pendulum.DateTime
    """``occurred_at`` of the first movement that brought the item in (FIFO, tie-breaks)."""
    expiry: pendulum.Date | None = None
    """The expiry known when the item first entered (its own, or its lot's); ``None`` if none.

    For items without a lot this is the item's expiry master data (fixed like a lot's).
    Queries report a lot's expiry in preference to this value.
    """


@attrs.frozen(kw_only=True)
class Commit:
    """Everything one posted batch writes; a store applies all of it or none of it."""

    expected_position: int
    """The head position the batch was validated against; the store refuses any other."""
    movements: tuple[RecordedMovement, ...]
    """New movements, in position order: ``expected_position + 1`` onwards, chained."""
    balance_changes: tuple[BalanceChange, ...] = ()
    """Net balance changes, at most one per (item, location, status), none with delta 0."""
    lots: tuple[LotRecord, ...] = ()
    """Lots entering the ledger for the first time (at most one per lot key)."""
    items: tuple[ItemRecord, ...] = ()
    """Items entering the ledger for the first time (at most one per item)."""
    contents: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)
    """The canonical content of each of ``movements``, in the same order
    ([`movement_content`][medinv.chain.movement_content], the text their hashes cover),
    as the ledger computed it; empty when the caller did not compute it.

    A store that keeps movements as their content uses it instead of encoding them
    again; one that does not may ignore it.
    """
