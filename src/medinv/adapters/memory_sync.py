"""In-memory [`SyncStore`][medinv.sync.SyncStore]: the reference sync inbox store."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING

from medinv.adapters._base import Closing
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


class _State:
    __slots__ = ("conflicts", "cursors", "deliveries", "events", "gaps", "resolutions")

    def __init__(self) -> None:
        self.events: dict[str, EventRecord] = {}
        self.deliveries: dict[str, dict[DeliveryKind, int]] = {}
        self.conflicts: dict[str, Conflict] = {}
        self.resolutions: dict[str, Resolution] = {}
        self.gaps: list[Gap] = []
        self.cursors: dict[str, DeviceCursor] = {}


class MemorySync(Closing):
    """The sync inbox's records in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().sync`][medinv.adapters.memory.MemoryStore.sync]. A
    transaction holds the inbox's lock and undoes the inbox's writes when it raises;
    the memory ledger cannot undo an append, so a movement booked by a failed
    transaction stays, and the event's next delivery finds it by its id and records
    it as applied (never booked twice).
    """

    __slots__ = ("_lock", "_state", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._state = _State()

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """See [`SyncStore.transaction`][medinv.sync.SyncStore.transaction]."""
        self._store._open()  # noqa: SLF001  (the store's own check)
        with self._lock:
            saved = copy.copy(self._state)
            saved.events = dict(self._state.events)
            saved.deliveries = {k: dict(v) for k, v in self._state.deliveries.items()}
            saved.conflicts = dict(self._state.conflicts)
            saved.resolutions = dict(self._state.resolutions)
            saved.gaps = list(self._state.gaps)
            saved.cursors = dict(self._state.cursors)
            try:
                yield
            except BaseException:
                self._state = saved
                raise

    def write(self, changes: SyncWrite) -> None:
        """See [`SyncStore.write`][medinv.sync.SyncStore.write]."""
        state = self._state
        for conflict in changes.conflicts:
            if conflict.id in state.conflicts:
                msg = f"conflict {conflict.id!r} is already stored"
                raise StorageError(msg)
        for resolution in changes.resolutions:
            if resolution.conflict_id in state.resolutions:
                msg = f"conflict {resolution.conflict_id!r} is already resolved"
                raise StorageError(msg)
        state.events.update(changes.events)
        for delivery in changes.deliveries:
            kinds = state.deliveries.setdefault(delivery.device_id, {})
            kinds[delivery.kind] = kinds.get(delivery.kind, 0) + 1
        for conflict in changes.conflicts:
            state.conflicts[conflict.id] = conflict
        for resolution in changes.resolutions:
            state.resolutions[resolution.conflict_id] = resolution
        state.gaps.extend(changes.gaps)
        state.cursors.update(changes.cursors)

    def _read(self) -> _State:
        self._store._open()  # noqa: SLF001
        return self._state

    def events_by_id(self, event_ids: Collection[str]) -> Mapping[str, EventRecord]:
        """See [`SyncStore.events_by_id`][medinv.sync.SyncStore.events_by_id]."""
        events = self._read().events
        return {eid: events[eid] for eid in event_ids if eid in events}

    def events_at(self, device_id: str, seq: int) -> list[EventRecord]:
        """See [`SyncStore.events_at`][medinv.sync.SyncStore.events_at]."""
        found = self._read().events.values()
        return sorted(
            (r for r in found if r.device_id == device_id and r.seq == seq),
            key=lambda r: r.event_id,
        )

    def held(self, device_id: str | None = None) -> list[EventRecord]:
        """See [`SyncStore.held`][medinv.sync.SyncStore.held]."""
        return [r for r in self.events(device_id) if r.outcome is Outcome.HELD]

    def cursors(self, device_ids: Collection[str] | None = None) -> Mapping[str, DeviceCursor]:
        """See [`SyncStore.cursors`][medinv.sync.SyncStore.cursors]."""
        cursors = self._read().cursors
        if device_ids is None:
            return dict(cursors)
        return {d: cursors[d] for d in device_ids if d in cursors}

    def events(self, device_id: str | None = None) -> Iterator[EventRecord]:
        """See [`SyncStore.events`][medinv.sync.SyncStore.events]."""
        found = [
            r for r in self._read().events.values() if device_id is None or r.device_id == device_id
        ]
        return iter(sorted(found, key=lambda r: (r.device_id, r.seq, r.event_id)))

    def deliveries(self) -> Mapping[str, Mapping[DeliveryKind, int]]:
        """See [`SyncStore.deliveries`][medinv.sync.SyncStore.deliveries]."""
        return {d: dict(k) for d, k in self._read().deliveries.items()}

    def conflicts(self, *, device_id: str | None = None) -> list[Conflict]:
        """See [`SyncStore.conflicts`][medinv.sync.SyncStore.conflicts]."""
        found = self._read().conflicts.values()
        return [c for c in found if device_id is None or c.device_id == device_id]

    def resolutions(self, conflict_ids: Collection[str] | None = None) -> list[Resolution]:
        """See [`SyncStore.resolutions`][medinv.sync.SyncStore.resolutions]."""
        found = self._read().resolutions
        if conflict_ids is None:
            return list(found.values())
        wanted = set(conflict_ids)
        return [r for cid, r in found.items() if cid in wanted]

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """See [`SyncStore.gaps`][medinv.sync.SyncStore.gaps]."""
        return [g for g in self._read().gaps if device_id is None or g.device_id == device_id]
