"""In-memory [`SyncStore`][medinv.sync.SyncStore]: the reference sync inbox store."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from medinv.adapters._memory_tables import MemoryTables
from medinv.errors import StorageError
from medinv.sync import (
    Conflict,
    DeliveryKind,
    DeviceCursor,
    EventRecord,
    Gap,
    Outcome,
    Resolution,
    SyncWrite,
)

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemorySync"]


class MemorySync(MemoryTables):
    """The sync inbox's records in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().sync`][medinv.adapters.memory.MemoryStore.sync]. A
    transaction holds the inbox's lock and undoes the inbox's writes when it raises;
    the memory ledger cannot undo an append, so a movement booked by a failed
    transaction stays, and the event's next delivery finds it by its id and records
    it as applied (never booked twice). Events are indexed by device and sequence
    number and the held ones kept apart, so a batch costs what it holds, not what
    the inbox holds.
    """

    __slots__ = (
        "_at",
        "_conflicts",
        "_cursors",
        "_deliveries",
        "_events",
        "_gaps",
        "_held",
        "_resolutions",
    )

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._events: dict[str, EventRecord] = {}
        self._at: dict[tuple[str, int], list[str]] = {}
        """The ids of the events of each (device, sequence number)."""
        self._held: dict[str, EventRecord] = {}
        """The events whose outcome is HELD, by id."""
        self._deliveries: dict[str, dict[DeliveryKind, int]] = {}
        self._conflicts: dict[str, Conflict] = {}
        self._resolutions: dict[str, Resolution] = {}
        self._gaps: list[Gap] = []
        self._cursors: dict[str, DeviceCursor] = {}

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """See [`SyncStore.transaction`][medinv.sync.SyncStore.transaction]."""
        return self._transaction()

    def write(self, changes: SyncWrite) -> None:
        """See [`SyncStore.write`][medinv.sync.SyncStore.write]."""
        with self._transaction():
            for conflict in changes.conflicts:
                if conflict.id in self._conflicts:
                    msg = f"conflict {conflict.id!r} is already stored"
                    raise StorageError(msg)
            for resolution in changes.resolutions:
                if resolution.conflict_id in self._resolutions:
                    msg = f"conflict {resolution.conflict_id!r} is already resolved"
                    raise StorageError(msg)
            self._file_events(changes.events)
            for delivery in changes.deliveries:
                kinds = self._deliveries.get(delivery.device_id)
                if kinds is None:
                    kinds = {}
                    self._set(self._deliveries, delivery.device_id, kinds)
                self._set(kinds, delivery.kind, kinds.get(delivery.kind, 0) + 1)
            for conflict in changes.conflicts:
                self._set(self._conflicts, conflict.id, conflict)
            for resolution in changes.resolutions:
                self._set(self._resolutions, resolution.conflict_id, resolution)
            self._extend(self._gaps, changes.gaps)
            for device_id, cursor in changes.cursors.items():
                self._set(self._cursors, device_id, cursor)

    def _file_events(self, events: Mapping[str, EventRecord]) -> None:
        for event_id, record in events.items():
            if event_id not in self._events:
                self._append_to(self._at, (record.device_id, record.seq), event_id)
            self._set(self._events, event_id, record)
            if record.outcome is Outcome.HELD:
                self._set(self._held, event_id, record)
            elif event_id in self._held:
                self._remove(self._held, event_id)

    def _read(self) -> None:
        self._store._open()  # noqa: SLF001

    def events_by_id(self, event_ids: Collection[str]) -> Mapping[str, EventRecord]:
        """See [`SyncStore.events_by_id`][medinv.sync.SyncStore.events_by_id]."""
        self._read()
        events = self._events
        return {eid: events[eid] for eid in event_ids if eid in events}

    def events_at(self, device_id: str, seq: int) -> list[EventRecord]:
        """See [`SyncStore.events_at`][medinv.sync.SyncStore.events_at]."""
        self._read()
        ids = self._at.get((device_id, seq), ())
        return [self._events[eid] for eid in sorted(ids)]

    def held(self, device_id: str | None = None) -> list[EventRecord]:
        """See [`SyncStore.held`][medinv.sync.SyncStore.held]."""
        self._read()
        return _in_order(self._held.values(), device_id)

    def cursors(self, device_ids: Collection[str] | None = None) -> Mapping[str, DeviceCursor]:
        """See [`SyncStore.cursors`][medinv.sync.SyncStore.cursors]."""
        self._read()
        cursors = self._cursors
        if device_ids is None:
            return dict(cursors)
        return {d: cursors[d] for d in device_ids if d in cursors}

    def events(self, device_id: str | None = None) -> Iterator[EventRecord]:
        """See [`SyncStore.events`][medinv.sync.SyncStore.events]."""
        self._read()
        return iter(_in_order(self._events.values(), device_id))

    def deliveries(self) -> Mapping[str, Mapping[DeliveryKind, int]]:
        """See [`SyncStore.deliveries`][medinv.sync.SyncStore.deliveries]."""
        self._read()
        return {d: dict(k) for d, k in self._deliveries.items()}

    def conflicts(self, *, device_id: str | None = None) -> list[Conflict]:
        """See [`SyncStore.conflicts`][medinv.sync.SyncStore.conflicts]."""
        self._read()
        found = self._conflicts.values()
        return [c for c in found if device_id is None or c.device_id == device_id]

    def resolutions(self, conflict_ids: Collection[str] | None = None) -> list[Resolution]:
        """See [`SyncStore.resolutions`][medinv.sync.SyncStore.resolutions]."""
        self._read()
        found = self._resolutions
        if conflict_ids is None:
            return list(found.values())
        wanted = set(conflict_ids)
        return [r for cid, r in found.items() if cid in wanted]

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """See [`SyncStore.gaps`][medinv.sync.SyncStore.gaps]."""
        self._read()
        return [g for g in self._gaps if device_id is None or g.device_id == device_id]


def _in_order(records: Iterable[EventRecord], device_id: str | None) -> list[EventRecord]:
    """``records`` (of one device, when given) by device, sequence number and id."""
    found = [r for r in records if device_id is None or r.device_id == device_id]
    return sorted(found, key=lambda r: (r.device_id, r.seq, r.event_id))
