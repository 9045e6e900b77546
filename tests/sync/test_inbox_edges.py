"""The inbox's less travelled paths: refusals, leftovers of a failed batch, the audit's findings."""

from __future__ import annotations

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.sync import (
    ConflictKind,
    DeviceCursor,
    EventKind,
    EventRecord,
    Outcome,
    ResolutionAction,
    SyncInbox,
    SyncWrite,
)
from medinv.sync._events import to_movement
from medinv.testing.sync_contract import LOT, NOW, WARD, device_event

OTHER = Location.parse("H/Other")


def _ledger(quantity: int = 10, item: ItemKey = LOT, to: Location = WARD) -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    ledger.post(
        [
            Movement.receipt(
                f"in-{item}-{to}",
                item=item,
                quantity=quantity,
                to=to,
                occurred_at=NOW.subtract(days=1),
                actor="dock",
                expiry="2027-06-30",
            )
        ]
    )
    return ledger


def _hold(ledger: Ledger, mid: str, at: Location, item: ItemKey = LOT, quantity: int = 1) -> None:
    ledger.post(
        [
            Movement.status_change(
                mid,
                item=item,
                quantity=quantity,
                at=at,
                from_status=StockStatus.AVAILABLE,
                to_status=StockStatus.HOLD,
                occurred_at=NOW,
                actor="quality",
                reason="suspect",
            )
        ]
    )


def test_a_hold_elsewhere_or_by_the_device_itself_is_plain_short_stock() -> None:
    ledger = _ledger(1)
    ledger.post([Movement.receipt("in-other", item=LOT, quantity=1, to=OTHER, occurred_at=NOW,
                                  actor="dock", expiry="2027-06-30")])  # fmt: skip
    _hold(ledger, "hold-other", OTHER)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    own = device_event("d1", 1, EventKind.STATUS_CHANGE, status=StockStatus.AVAILABLE,
                       to_status=StockStatus.HOLD, reason="damaged box")  # fmt: skip
    used = device_event("d1", 2)
    report = inbox.ingest([own, used])
    assert report.outcomes == (("d1-1", Outcome.APPLIED), ("d1-2", Outcome.CONFLICT))
    assert report.conflicts[0].kind is ConflictKind.INSUFFICIENT_STOCK
    assert inbox.audit().ok


def test_a_hold_of_another_serial_does_not_block_this_one() -> None:
    one, two = ItemKey(LOT.device, serial="S1"), ItemKey(LOT.device, serial="S2")
    ledger = _ledger(1, one)
    ledger.post([Movement.receipt("in-2", item=two, quantity=1, to=WARD, occurred_at=NOW,
                                  actor="dock")])  # fmt: skip
    _hold(ledger, "hold-2", WARD, two)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    report = inbox.ingest([device_event("d1", 1, item=one), device_event("d1", 2, item=one)])
    assert [c.kind for c in report.conflicts] == [ConflictKind.SERIAL_ELSEWHERE]
    blocked = inbox.ingest([device_event("d2", 1, item=two)])
    assert blocked.conflicts[0].kind is ConflictKind.STATUS_BLOCKED


def test_an_expired_lot_that_was_also_recalled_is_a_recall() -> None:
    ledger = _ledger(2)
    _hold(ledger, "hold-1", WARD)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    late = device_event("d1", 1, captured_at=pendulum.datetime(2027, 7, 2, tz="UTC"))
    assert inbox.ingest([late]).conflicts[0].kind is ConflictKind.STATUS_BLOCKED


def test_a_movement_left_by_a_failed_batch_is_taken_as_the_events() -> None:
    ledger = _ledger(10)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    event = device_event("d1", 1, quantity=3)
    ledger.post([to_movement(event, 2)])  # a partial apply whose records were lost
    count = device_event("d1", 2, EventKind.COUNT, quantity=5, known_position=2)
    ledger.post([Movement.adjustment(count.movement_id, item=LOT, change=-3, at=WARD,
                                     occurred_at=NOW, actor="x", reason="count")])  # fmt: skip
    report = inbox.ingest([event, count])
    assert report.outcomes == (("d1-1", Outcome.APPLIED), ("d1-2", Outcome.APPLIED))
    first, second = inbox.record("d1-1"), inbox.record("d1-2")
    assert first is not None
    assert second is not None
    assert (first.applied_quantity, second.applied_quantity) == (2, -3)
    assert inbox.audit().ok


def test_a_count_ignores_movements_at_other_locations() -> None:
    ledger = _ledger(4)
    known = ledger.head().position
    ledger.post([Movement.receipt("in-other", item=LOT, quantity=1, to=OTHER, occurred_at=NOW,
                                  actor="dock", expiry="2027-06-30")])  # fmt: skip
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    count = device_event("d1", 1, EventKind.COUNT, quantity=6, known_position=known)
    assert inbox.ingest([count]).outcomes == (("d1-1", Outcome.APPLIED),)
    assert ledger.balance(LOT, location=WARD) == 6


def test_resolve_refuses_what_it_cannot_do() -> None:
    ledger = _ledger(0 + 1)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    (conflict,) = inbox.ingest([device_event("d1", 1, quantity=2)]).conflicts
    with pytest.raises(InvalidValueError, match="ResolutionAction"):
        inbox.resolve(conflict.id, action="force", by="a", note="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="note"):
        inbox.resolve(conflict.id, action=ResolutionAction.ACCEPT, by="a", note=" ")
    with pytest.raises(InvalidValueError, match="no conflict"):
        inbox.resolve("nope", action=ResolutionAction.ACCEPT, by="a", note="x")
    assert inbox.resolutions() == []
    with pytest.raises(InvalidValueError, match="sync store"):
        SyncInbox(ledger, store=object())  # type: ignore[arg-type]


def test_the_audit_names_each_kind_of_inconsistency() -> None:
    ledger = _ledger(5)
    inbox = SyncInbox(ledger, clock=lambda: NOW)
    inbox.ingest([device_event("d1", 1)])

    def record(seq: int, outcome: Outcome, **fields: object) -> EventRecord:
        return EventRecord(event=device_event("d9", seq), outcome=outcome, received_at=NOW,
                           **fields)  # type: ignore[arg-type]  # fmt: skip

    ledger.post([to_movement(device_event("d9", 3))])  # booked, yet recorded as rejected
    ledger.post([to_movement(device_event("d9", 4))])  # booked, yet stopped by a conflict
    forged = [
        record(1, Outcome.APPLIED),  # applied without a movement
        record(2, Outcome.HELD),  # held behind the cursor
        record(3, Outcome.REJECTED),
        record(4, Outcome.CONFLICT),  # and no conflict record
        record(5, Outcome.APPLIED, movement_id="sync:d1-1", applied_quantity=1),
    ]
    with inbox.store.transaction():
        inbox.store.write(
            SyncWrite(
                events={r.event_id: r for r in forged},
                cursors={"d9": DeviceCursor(device_id="d9", next_seq=3)},
            )
        )
    audit = inbox.audit()
    problems = " | ".join(p for d in audit.devices for p in d.problems)
    for says in ("applied without a movement", "held at sequence 2", "is rejected but",
                 "without a conflict record", "stopped by a conflict", "not in the ledger",
                 "5 event records"):  # fmt: skip
        assert says in problems, says
    assert not audit.ok
    assert [d.balanced for d in audit.devices] == [True, False]
