"""`SyncStore`: where the inbox keeps events, outcomes, conflicts, resolutions, gaps and cursors.

Every store offers one as ``store.sync`` (memory, SQLite, PostgreSQL). Its
``transaction()`` spans the ledger store's own appends: the movements a batch of
device events books and the inbox rows recording them commit together, or not
at all. [`medinv.testing.sync_contract`][medinv.testing.sync_contract] is the
contract suite an integrator's store runs.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Collection, Iterator, Mapping
from typing import Protocol, runtime_checkable

import attrs

from medinv.sync._records import Conflict, DeviceCursor, EventRecord, Gap, Resolution

__all__ = ["Delivery", "DeliveryKind", "SyncStore", "SyncWrite"]


class DeliveryKind(enum.Enum):
    """What one delivery of an event was, when it arrived."""

    FIRST = "first"
    """The event's first delivery: its outcome is the event record's."""
    DUPLICATE = "duplicate"
    """The event was stored already, with the same content."""
    REJECTED = "rejected"
    """The event id was stored already with other content: nothing was kept of it."""


@attrs.frozen
class Delivery:
    """One delivery of an event, as the append-only delivery log keeps it."""

    device_id: str
    event_id: str
    kind: DeliveryKind


@attrs.define(kw_only=True)
class SyncWrite:
    """What one ingestion (or resolution) writes, all inside ``SyncStore.transaction()``."""

    events: dict[str, EventRecord] = attrs.field(factory=dict)
    """Event records by event id: inserted, or replacing the stored one (its outcome moved on)."""
    deliveries: list[Delivery] = attrs.field(factory=list)
    """Deliveries to append to the log, in order."""
    conflicts: list[Conflict] = attrs.field(factory=list)
    """Conflicts to append (ids not stored yet)."""
    resolutions: list[Resolution] = attrs.field(factory=list)
    """Resolutions to append (at most one per conflict)."""
    gaps: list[Gap] = attrs.field(factory=list)
    """Gaps released over, to append."""
    cursors: dict[str, DeviceCursor] = attrs.field(factory=dict)
    """Device cursors to insert or replace, by device id."""

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.deliveries
            or self.conflicts
            or self.resolutions
            or self.gaps
            or self.cursors
        )


@runtime_checkable
class SyncStore(Protocol):
    """Persistence of the sync inbox; the rules live in [`SyncInbox`][medinv.sync.SyncInbox].

    Reads see committed data and, inside ``transaction()``, the transaction's own
    writes. Every method may raise [`StorageError`][medinv.errors.StorageError].
    """

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """One write transaction of the ledger's store, serialised with every other writer.

        Ledger appends made inside it (through a `Ledger` over the same store) and
        ``write`` commit when it ends normally, and are all undone when it raises.
        """
        ...

    def write(self, changes: SyncWrite) -> None:
        """Store ``changes`` inside the current ``transaction()``.

        Raises:
            StorageError: a conflict id, or a second resolution of a conflict, is
                already stored; nothing of ``changes`` is kept once the transaction
                rolls back.
        """
        ...

    def events_by_id(self, event_ids: Collection[str]) -> Mapping[str, EventRecord]:
        """The stored event records with these ids (absent ids are left out)."""
        ...

    def events_at(self, device_id: str, seq: int) -> list[EventRecord]:
        """The stored events of a device with this sequence number (more than one after a reuse)."""
        ...

    def held(self, device_id: str | None = None) -> list[EventRecord]:
        """The events still held, of one device or all, by device id, seq and event id."""
        ...

    def cursors(self, device_ids: Collection[str] | None = None) -> Mapping[str, DeviceCursor]:
        """The stored cursors of these devices (``None``: of every device)."""
        ...

    def events(self, device_id: str | None = None) -> Iterator[EventRecord]:
        """Every stored event record, of one device or all, by device id, seq and event id."""
        ...

    def deliveries(self) -> Mapping[str, Mapping[DeliveryKind, int]]:
        """Deliveries counted per device and kind."""
        ...

    def conflicts(self, *, device_id: str | None = None) -> list[Conflict]:
        """The stored conflicts (of one device or all), in the order recorded."""
        ...

    def resolutions(self, conflict_ids: Collection[str] | None = None) -> list[Resolution]:
        """The stored resolutions (of these conflicts, or all), in the order recorded."""
        ...

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """The gaps released over (of one device or all), in the order recorded."""
        ...

    def close(self) -> None:
        """Close the store this belongs to."""
        ...
