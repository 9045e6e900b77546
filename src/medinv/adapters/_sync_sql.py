"""The SQL of the sync inbox's store, shared by SQLite and PostgreSQL.

Six tables in the ledger's database: ``sync_events`` (one row per event: id,
device, sequence number, outcome, the record as JSON), ``sync_deliveries`` (the
append-only log of every delivery), ``sync_conflicts``, ``sync_resolutions`` and
``sync_gaps`` (append-only, in the order recorded) and ``sync_cursors`` (the next
sequence number per device). Held events are one range of a partial index. The
statements are written once with ``?`` marks and ``{p}`` before table names; each
store turns them into its own dialect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Final, TypeVar

from medinv.adapters._sql_tables import SqlTables
from medinv.errors import MedinvError, StorageError
from medinv.sync import (
    Conflict,
    DeliveryKind,
    DeviceCursor,
    EventRecord,
    Gap,
    Resolution,
    SyncWrite,
)

__all__ = ["SqlSync"]

T = TypeVar("T")

UPSERT_EVENT: Final = (
    "INSERT INTO {p}sync_events (event_id, device_id, seq, outcome, data) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome, data = excluded.data"
)
ADD_DELIVERY: Final = "INSERT INTO {p}sync_deliveries (device_id, event_id, kind) VALUES (?, ?, ?)"
ADD_CONFLICT: Final = "INSERT INTO {p}sync_conflicts (id, device_id, data) VALUES (?, ?, ?)"
ADD_RESOLUTION: Final = "INSERT INTO {p}sync_resolutions (conflict_id, data) VALUES (?, ?)"
ADD_GAP: Final = "INSERT INTO {p}sync_gaps (device_id, data) VALUES (?, ?)"
UPSERT_CURSOR: Final = (
    "INSERT INTO {p}sync_cursors (device_id, next_seq) VALUES (?, ?)"
    " ON CONFLICT (device_id) DO UPDATE SET next_seq = excluded.next_seq"
)
EVENT: Final = "SELECT data FROM {p}sync_events WHERE event_id = ?"
EVENTS_AT: Final = (
    "SELECT data FROM {p}sync_events WHERE device_id = ? AND seq = ? ORDER BY event_id"
)
HELD: Final = (
    "SELECT data FROM {p}sync_events WHERE outcome = 'held' {device}"
    " ORDER BY device_id, seq, event_id"
)
EVENTS: Final = "SELECT data FROM {p}sync_events {device} ORDER BY device_id, seq, event_id"
CURSOR: Final = "SELECT device_id, next_seq FROM {p}sync_cursors WHERE device_id = ?"
CURSORS: Final = "SELECT device_id, next_seq FROM {p}sync_cursors ORDER BY device_id"
DELIVERIES: Final = (
    "SELECT device_id, kind, count(*) FROM {p}sync_deliveries GROUP BY device_id, kind"
)
CONFLICTS: Final = "SELECT data FROM {p}sync_conflicts {device} ORDER BY no"
RESOLUTIONS: Final = "SELECT data FROM {p}sync_resolutions ORDER BY no"
RESOLUTION: Final = "SELECT data FROM {p}sync_resolutions WHERE conflict_id = ?"
GAPS: Final = "SELECT data FROM {p}sync_gaps {device} ORDER BY no"


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class SqlSync(SqlTables):
    """The [`SyncStore`][medinv.sync.SyncStore] in SQL; a store supplies the primitives."""

    __slots__ = ()

    def _decode(self, rows: list[tuple[Any, ...]], read: Callable[[dict[str, Any]], T]) -> list[T]:
        try:
            return [read(json.loads(row[0])) for row in rows]
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            raise StorageError(f"corrupt sync inbox record in {self.where}: {e}") from e

    def _filtered(
        self, statement: str, device_id: str | None, *, where: str
    ) -> list[tuple[Any, ...]]:
        if device_id is None:
            return self._rows(statement.replace("{device}", ""), ())
        return self._rows(statement.replace("{device}", f"{where} device_id = ?"), (device_id,))

    def write(self, changes: SyncWrite) -> None:
        """See [`SyncStore.write`][medinv.sync.SyncStore.write]."""
        if changes.events:
            self._run_many(
                UPSERT_EVENT,
                [
                    (r.event_id, r.device_id, r.seq, r.outcome.value, _text(r.to_json()))
                    for r in changes.events.values()
                ],
            )
        if changes.deliveries:
            self._run_many(
                ADD_DELIVERY, [(d.device_id, d.event_id, d.kind.value) for d in changes.deliveries]
            )
        if changes.conflicts:
            self._run_many(
                ADD_CONFLICT, [(c.id, c.device_id, _text(c.to_json())) for c in changes.conflicts]
            )
        if changes.resolutions:
            self._run_many(
                ADD_RESOLUTION, [(r.conflict_id, _text(r.to_json())) for r in changes.resolutions]
            )
        if changes.gaps:
            self._run_many(ADD_GAP, [(g.device_id, _text(g.to_json())) for g in changes.gaps])
        if changes.cursors:
            self._run_many(
                UPSERT_CURSOR, [(c.device_id, c.next_seq) for c in changes.cursors.values()]
            )

    def events_by_id(self, event_ids: Collection[str]) -> Mapping[str, EventRecord]:
        """See [`SyncStore.events_by_id`][medinv.sync.SyncStore.events_by_id]."""
        found: dict[str, EventRecord] = {}
        for event_id in event_ids:
            for record in self._decode(self._rows(EVENT, (event_id,)), EventRecord.from_json):
                found[record.event_id] = record
        return found

    def events_at(self, device_id: str, seq: int) -> list[EventRecord]:
        """See [`SyncStore.events_at`][medinv.sync.SyncStore.events_at]."""
        return self._decode(self._rows(EVENTS_AT, (device_id, seq)), EventRecord.from_json)

    def held(self, device_id: str | None = None) -> list[EventRecord]:
        """See [`SyncStore.held`][medinv.sync.SyncStore.held]."""
        return self._decode(self._filtered(HELD, device_id, where="AND"), EventRecord.from_json)

    def cursors(self, device_ids: Collection[str] | None = None) -> Mapping[str, DeviceCursor]:
        """See [`SyncStore.cursors`][medinv.sync.SyncStore.cursors]."""
        if device_ids is None:
            rows = self._rows(CURSORS, ())
        else:
            rows = [row for d in device_ids for row in self._rows(CURSOR, (d,))]
        return {d: DeviceCursor(device_id=d, next_seq=int(n)) for d, n in rows}

    def events(self, device_id: str | None = None) -> Iterator[EventRecord]:
        """See [`SyncStore.events`][medinv.sync.SyncStore.events]."""
        return iter(
            self._decode(self._filtered(EVENTS, device_id, where="WHERE"), EventRecord.from_json)
        )

    def deliveries(self) -> Mapping[str, Mapping[DeliveryKind, int]]:
        """See [`SyncStore.deliveries`][medinv.sync.SyncStore.deliveries]."""
        found: dict[str, dict[DeliveryKind, int]] = {}
        for device_id, kind, count in self._rows(DELIVERIES, ()):
            found.setdefault(device_id, {})[DeliveryKind(kind)] = int(count)
        return found

    def conflicts(self, *, device_id: str | None = None) -> list[Conflict]:
        """See [`SyncStore.conflicts`][medinv.sync.SyncStore.conflicts]."""
        return self._decode(self._filtered(CONFLICTS, device_id, where="WHERE"), Conflict.from_json)

    def resolutions(self, conflict_ids: Collection[str] | None = None) -> list[Resolution]:
        """See [`SyncStore.resolutions`][medinv.sync.SyncStore.resolutions]."""
        if conflict_ids is None:
            return self._decode(self._rows(RESOLUTIONS, ()), Resolution.from_json)
        rows = [row for cid in conflict_ids for row in self._rows(RESOLUTION, (cid,))]
        return self._decode(rows, Resolution.from_json)

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """See [`SyncStore.gaps`][medinv.sync.SyncStore.gaps]."""
        return self._decode(self._filtered(GAPS, device_id, where="WHERE"), Gap.from_json)
