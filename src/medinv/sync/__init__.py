"""Offline scanner sync: device events into the ledger, none lost, none applied twice.

Scanners and tablets work offline and send their events later, in batches, in any
order, sometimes twice. A [`SyncInbox`][medinv.sync.SyncInbox] books them into a
[`Ledger`][medinv.ledger.Ledger]:

- idempotent: an event delivered again books nothing (each event's movement id is
  derived from its event id, so the ledger's own idempotency stands behind it);
- in each device's sequence order: events after a gap are held until it fills or
  the policy's hold time passes (then released, the gap recorded);
- every delivery ends in exactly one recorded [`Outcome`][medinv.sync.Outcome]:
  applied, duplicate, held, conflict or rejected, and
  [`SyncInbox.audit`][medinv.sync.SyncInbox.audit] proves the books balance;
- what cannot be applied as captured is a [`Conflict`][medinv.sync.Conflict] on
  record (short stock, a serial elsewhere, a recall the device did not know of,
  expired at use, a contradicting lot expiry, a reused sequence number, a stale
  count; a skewed clock is applied and flagged), resolved by appended
  [`Resolution`][medinv.sync.Resolution]s, forcing one needs a second person;
- one ``ingest`` call is one transaction of the ledger's store (``store.sync``):
  the movements and the inbox's records commit together, or neither.

```pycon
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.ledger import Ledger
>>> from medinv.sync import SyncInbox, parse_event_lines
>>> ledger = Ledger(MemoryStore())
>>> inbox = SyncInbox(ledger)
>>> lines = [
...     '{"device_id": "scanner-1", "seq": 1, "event_id": "e1", "kind": "receipt",'
...     ' "captured_at": "2026-12-01T09:00:00+00:00", "known_position": 0,'
...     ' "di": "09501101530003", "lot": "L1", "expiry": "2027-06-30",'
...     ' "quantity": 10, "location": "ward/a", "actor": "lea"}',
... ]
>>> report = inbox.ingest(parse_event_lines(lines))
>>> [(eid, outcome.value) for eid, outcome in report.outcomes]
[('e1', 'applied')]
>>> inbox.ingest(parse_event_lines(lines)).outcomes[0][1].value
'duplicate'
>>> inbox.audit().ok
True

```
"""

from __future__ import annotations

from medinv.sync._events import (
    MOVEMENT_ID_PREFIX,
    DeviceEvent,
    EventKind,
    SyncEventError,
    event_from_json,
    event_to_json,
    movement_id_of,
    parse_event_lines,
)
from medinv.sync._inbox import IngestReport, SyncInbox
from medinv.sync._port import Delivery, DeliveryKind, SyncStore, SyncWrite
from medinv.sync._records import (
    AuditReport,
    Conflict,
    ConflictKind,
    DeviceAudit,
    DeviceCursor,
    EventRecord,
    Gap,
    Outcome,
    Resolution,
    ResolutionAction,
    ShortStock,
    SyncPolicy,
)

__all__ = [
    "MOVEMENT_ID_PREFIX",
    "AuditReport",
    "Conflict",
    "ConflictKind",
    "Delivery",
    "DeliveryKind",
    "DeviceAudit",
    "DeviceCursor",
    "DeviceEvent",
    "EventKind",
    "EventRecord",
    "Gap",
    "IngestReport",
    "Outcome",
    "Resolution",
    "ResolutionAction",
    "ShortStock",
    "SyncEventError",
    "SyncInbox",
    "SyncPolicy",
    "SyncStore",
    "SyncWrite",
    "event_from_json",
    "event_to_json",
    "movement_id_of",
    "parse_event_lines",
]
