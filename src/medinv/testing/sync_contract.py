"""The contract every [`SyncStore`][medinv.sync.SyncStore] honours, with the inbox over it.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.sync_contract import SyncStoreContract

class TestMySync(SyncStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability, one database
        return lambda: MyStore(tmp_path / "medinv.db")
```

``store`` gives a fresh, empty ledger store with ``.sync``. ``open_database``,
when overridden, opens the whole store over the same database each time it is
called; the durability test runs with it and is skipped without it. Set
``rolls_back_ledger = False`` for a store whose ledger appends cannot be undone
by a failed sync transaction (the in-memory one): the suite then checks that a
retried batch books nothing twice instead.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102, PLR2004, PT018
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import pendulum
import pytest

from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.sync import (
    ConflictKind,
    DeviceEvent,
    EventKind,
    EventRecord,
    Outcome,
    ResolutionAction,
    ShortStock,
    SyncInbox,
    SyncPolicy,
    SyncStore,
    SyncWrite,
)

__all__ = ["SyncStoreContract", "device_event"]

GTIN = "04006381333931"
WARD, STORE = Location.parse("H/Ward"), Location.parse("H/Store")
LOT = ItemKey(GTIN, lot="L1")
NOW = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
_ids = itertools.count(1)


def device_event(
    device: str,
    seq: int,
    kind: EventKind = EventKind.CONSUMPTION,
    *,
    event_id: str | None = None,
    item: ItemKey = LOT,
    quantity: int = 1,
    location: Location = WARD,
    known_position: int = 0,
    captured_at: pendulum.DateTime = NOW,
    **fields: Any,
) -> DeviceEvent:
    """A device event for tests: a consumption of one unit of ``LOT`` on the ward by default."""
    if kind is EventKind.CONSUMPTION:
        fields.setdefault("reference", "procedure-1")
    return DeviceEvent(
        device_id=device,
        seq=seq,
        event_id=event_id or f"{device}-{seq}",
        captured_at=captured_at,
        known_position=known_position,
        kind=kind,
        item=item,
        quantity=quantity,
        location=location,
        actor=f"nurse-{device}",
        **fields,
    )


class _Clock:
    def __init__(self) -> None:
        self.now = NOW.add(hours=1)

    def __call__(self) -> pendulum.DateTime:
        return self.now


class SyncStoreContract:
    """Tests every sync store (with the inbox over it) must pass."""

    rolls_back_ledger: ClassVar[bool] = True
    """Whether a failed sync transaction also undoes the ledger appends made in it."""

    @pytest.fixture
    def store(self) -> Any:
        raise NotImplementedError  # pragma: no cover

    @pytest.fixture
    def open_database(self) -> Callable[[], Any]:
        pytest.skip("this store offers no second connection to one database")

    @pytest.fixture
    def clock(self) -> _Clock:
        return _Clock()

    @pytest.fixture
    def ledger(self, store: Any) -> Ledger:
        return Ledger(store, clock=lambda: NOW)

    @pytest.fixture
    def inbox(self, ledger: Ledger, clock: _Clock) -> SyncInbox:
        return SyncInbox(
            ledger, policy=SyncPolicy(hold_max=pendulum.duration(hours=2)), clock=clock
        )

    @staticmethod
    def receive(ledger: Ledger, quantity: int, item: ItemKey = LOT, mid: str = "goods-in") -> None:
        ledger.post(
            [
                Movement.receipt(
                    mid,
                    item=item,
                    quantity=quantity,
                    to=WARD,
                    occurred_at=NOW.subtract(days=1),
                    actor="goods-in",
                    expiry="2027-06-30",
                )
            ]
        )

    # ------------------------------------------------------------------ the port

    def test_the_store_offers_a_sync_store(self, store: Any) -> None:
        assert isinstance(store.sync, SyncStore)

    def test_writes_commit_with_the_transaction_and_read_back(self, store: Any) -> None:
        sync = store.sync
        record = EventRecord(event=device_event("d1", 2), outcome=Outcome.HELD, received_at=NOW)
        with sync.transaction():
            sync.write(SyncWrite(events={record.event_id: record}))
        assert sync.events_by_id(["d1-2", "nope"]) == {"d1-2": record}
        assert sync.events_at("d1", 2) == [record]
        assert sync.held() == [record] == sync.held("d1")
        assert sync.held("d2") == []
        assert list(sync.events("d1")) == [record]

    def test_a_failed_transaction_writes_nothing(self, store: Any) -> None:
        sync = store.sync
        record = EventRecord(event=device_event("d1", 1), outcome=Outcome.HELD, received_at=NOW)

        def fail() -> None:
            with sync.transaction():
                sync.write(SyncWrite(events={record.event_id: record}))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            fail()
        assert sync.events_by_id(["d1-1"]) == {}

    # ------------------------------------------------------------------ ingestion

    def test_in_order_events_apply_and_triple_replay_adds_nothing(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        events = [device_event("d1", seq) for seq in range(1, 4)]
        first = inbox.ingest(events)
        assert [o for _, o in first.outcomes] == [Outcome.APPLIED] * 3
        head = ledger.head()
        for _ in range(3):
            again = inbox.ingest(events)
            assert [o for _, o in again.outcomes] == [Outcome.DUPLICATE] * 3
        assert ledger.head() == head
        assert ledger.balance(LOT, location=WARD) == 7
        audit = inbox.audit()
        assert audit.ok
        (device,) = audit.devices
        assert (device.received, device.applied, device.duplicate) == (12, 3, 9)

    def test_an_event_after_a_gap_is_held_until_the_gap_fills(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        report = inbox.ingest([device_event("d1", 1), device_event("d1", 3)])
        assert report.outcomes == (("d1-1", Outcome.APPLIED), ("d1-3", Outcome.HELD))
        assert [r.event_id for r in inbox.held()] == ["d1-3"]
        assert inbox.audit().ok
        filled = inbox.ingest([device_event("d1", 2)])
        assert filled.outcomes == (("d1-2", Outcome.APPLIED),)
        assert filled.released == (("d1-3", Outcome.APPLIED),)
        assert inbox.held() == []
        assert ledger.balance(LOT, location=WARD) == 7
        assert inbox.audit().ok

    def test_held_events_are_released_after_the_hold_time_with_the_gap_recorded(
        self, inbox: SyncInbox, ledger: Ledger, clock: _Clock
    ) -> None:
        self.receive(ledger, 10)
        inbox.ingest([device_event("d1", 3), device_event("d1", 4)])
        clock.now = clock.now.add(hours=1)
        assert inbox.ingest([]).released == ()
        clock.now = clock.now.add(hours=1, minutes=1)
        report = inbox.ingest([])
        assert report.released == (("d1-3", Outcome.APPLIED), ("d1-4", Outcome.APPLIED))
        (gap,) = inbox.gaps("d1")
        assert (gap.first_seq, gap.last_seq) == (1, 2)
        late = inbox.ingest([device_event("d1", 1)])
        assert late.outcomes == (("d1-1", Outcome.APPLIED),)
        record = inbox.record("d1-1")
        assert record is not None and record.late
        assert ledger.balance(LOT, location=WARD) == 7
        assert inbox.audit().ok

    def test_release_by_hand(self, inbox: SyncInbox, ledger: Ledger) -> None:
        self.receive(ledger, 10)
        inbox.ingest([device_event("d1", 5), device_event("d2", 2)])
        report = inbox.release("d1")
        assert report.released == (("d1-5", Outcome.APPLIED),)
        assert [r.event_id for r in inbox.held()] == ["d2-2"]
        assert inbox.gaps()[0].reason == "released by hand"

    def test_two_devices_take_the_last_unit(self, inbox: SyncInbox, ledger: Ledger) -> None:
        self.receive(ledger, 1)
        report = inbox.ingest([device_event("d1", 1), device_event("d2", 1)])
        assert report.outcomes == (("d1-1", Outcome.APPLIED), ("d2-1", Outcome.CONFLICT))
        (conflict,) = inbox.conflicts(open_only=True)
        assert conflict.kind is ConflictKind.INSUFFICIENT_STOCK
        assert (conflict.device_id, conflict.requested, conflict.applied) == ("d2", 1, 0)
        assert ledger.balance(LOT, location=WARD) == 0
        assert inbox.audit().ok

    def test_the_same_serial_consumed_on_two_devices(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        serial = ItemKey(GTIN, serial="SN-1")
        self.receive(ledger, 1, item=serial)
        report = inbox.ingest(
            [device_event("d1", 1, item=serial), device_event("d2", 1, item=serial)]
        )
        assert [o for _, o in report.outcomes] == [Outcome.APPLIED, Outcome.CONFLICT]
        assert report.conflicts[0].kind is ConflictKind.SERIAL_ELSEWHERE
        assert inbox.audit().ok

    def test_a_recall_posted_before_the_device_syncs(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 5)
        known = ledger.head().position
        ledger.post(
            [
                Movement.status_change(
                    "recall-1",
                    item=LOT,
                    quantity=5,
                    at=WARD,
                    from_status=StockStatus.AVAILABLE,
                    to_status=StockStatus.RECALLED,
                    occurred_at=NOW,
                    actor="quality",
                    reason="field safety notice",
                )
            ]
        )
        report = inbox.ingest([device_event("d1", 1, known_position=known)])
        assert report.outcomes == (("d1-1", Outcome.CONFLICT),)
        (conflict,) = report.conflicts
        assert conflict.kind is ConflictKind.STATUS_BLOCKED
        assert "RECALLED" in conflict.detail
        assert ledger.balance(LOT, location=WARD, status=StockStatus.RECALLED) == 5
        assert inbox.audit().ok

    def test_a_device_reset_reusing_sequence_numbers(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        inbox.ingest([device_event("d1", 1), device_event("d1", 2)])
        reset = inbox.ingest([device_event("d1", 1, event_id="after-reset-1")])
        assert reset.outcomes == (("after-reset-1", Outcome.CONFLICT),)
        (conflict,) = reset.conflicts
        assert conflict.kind is ConflictKind.SEQUENCE_REUSE
        assert ledger.balance(LOT, location=WARD) == 8
        with pytest.raises(InvalidValueError, match="second person"):
            inbox.resolve(conflict.id, action=ResolutionAction.FORCE, by="lea", note="real use")
        with pytest.raises(InvalidValueError, match="second person"):
            inbox.resolve(
                conflict.id, action=ResolutionAction.FORCE, by="lea", approved_by="LEA ", note="x"
            )
        resolution = inbox.resolve(
            conflict.id, action=ResolutionAction.FORCE, by="lea", approved_by="tom", note="real use"
        )
        assert resolution.movement_id == "sync:after-reset-1"
        assert ledger.balance(LOT, location=WARD) == 7
        assert inbox.conflicts(open_only=True) == []
        with pytest.raises(InvalidValueError, match="resolved already"):
            inbox.resolve(conflict.id, action=ResolutionAction.ACCEPT, by="lea", note="again")
        assert inbox.audit().ok

    def test_short_stock_policy_partial_applies_what_is_there(
        self, ledger: Ledger, clock: _Clock
    ) -> None:
        inbox = SyncInbox(ledger, policy=SyncPolicy(short_stock=ShortStock.PARTIAL), clock=clock)
        self.receive(ledger, 3)
        report = inbox.ingest([device_event("d1", 1, quantity=5)])
        assert report.outcomes == (("d1-1", Outcome.CONFLICT),)
        (conflict,) = report.conflicts
        assert (conflict.requested, conflict.applied) == (5, 3)
        assert ledger.balance(LOT, location=WARD) == 0
        assert inbox.audit().ok
        self.receive(ledger, 2, mid="more")
        resolution = inbox.resolve(
            conflict.id, action=ResolutionAction.FORCE, by="lea", approved_by="tom", note="found 2"
        )
        assert resolution.movement_id == "sync:d1-1#force"
        assert ledger.balance(LOT, location=WARD) == 0
        assert inbox.audit().ok

    def test_expired_at_the_moment_of_use(self, inbox: SyncInbox, ledger: Ledger) -> None:
        self.receive(ledger, 2)
        used = pendulum.datetime(2027, 7, 1, 9, tz="UTC")
        report = inbox.ingest([device_event("d1", 1, captured_at=used)])
        assert report.conflicts[0].kind is ConflictKind.EXPIRED_AT_USE
        assert inbox.audit().ok

    def test_lot_master_data_contradicting_the_known_lot(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 2)
        receipt = device_event("d1", 1, EventKind.RECEIPT, expiry="2027-12-31", quantity=4)
        report = inbox.ingest([receipt])
        assert report.outcomes == (("d1-1", Outcome.CONFLICT),)
        assert report.conflicts[0].kind is ConflictKind.LOT_MASTER_MISMATCH
        assert ledger.balance(LOT, location=WARD) == 2
        accepted = inbox.resolve(
            report.conflicts[0].id, action=ResolutionAction.ACCEPT, by="lea", note="label misread"
        )
        assert accepted.movement_id is None
        assert inbox.audit().ok

    def test_clock_skew_beyond_the_bound_is_applied_and_flagged(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 2)
        ahead = NOW.add(days=2)
        report = inbox.ingest([device_event("d1", 1, captured_at=ahead)])
        assert report.outcomes == (("d1-1", Outcome.APPLIED),)
        (flag,) = report.conflicts
        assert flag.kind is ConflictKind.CLOCK_SKEW
        assert not flag.blocking
        assert inbox.conflicts(open_only=True) == []
        with pytest.raises(InvalidValueError, match="nothing to force"):
            inbox.resolve(
                flag.id, action=ResolutionAction.FORCE, by="lea", approved_by="tom", note="x"
            )
        assert inbox.audit().ok

    def test_a_count_line_books_the_difference_unless_the_stock_moved(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        known = ledger.head().position
        count = device_event("d1", 1, EventKind.COUNT, quantity=8, known_position=known)
        assert inbox.ingest([count]).outcomes == (("d1-1", Outcome.APPLIED),)
        assert ledger.balance(LOT, location=WARD) == 8
        same = device_event("d1", 2, EventKind.COUNT, quantity=8, known_position=known)
        assert inbox.ingest([same]).outcomes == (("d1-2", Outcome.APPLIED),)
        record = inbox.record("d1-2")
        assert record is not None and record.movement_id is None
        self.receive(ledger, 1, mid="late-delivery")
        stale = device_event("d1", 3, EventKind.COUNT, quantity=3, known_position=known)
        report = inbox.ingest([stale])
        assert report.conflicts[0].kind is ConflictKind.COUNT_STALE
        assert ledger.balance(LOT, location=WARD) == 9
        inbox.resolve(
            report.conflicts[0].id,
            action=ResolutionAction.FORCE,
            by="lea",
            approved_by="tom",
            note="recounted",
        )
        assert ledger.balance(LOT, location=WARD) == 3
        assert inbox.audit().ok

    def test_an_event_id_reused_with_other_content_is_rejected(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        inbox.ingest([device_event("d1", 1)])
        other = device_event("d1", 2, event_id="d1-1", quantity=2)
        assert inbox.ingest([other]).outcomes == (("d1-1", Outcome.REJECTED),)
        audit = inbox.audit()
        assert audit.ok
        assert (audit.devices[0].received, audit.devices[0].rejected) == (2, 1)

    def test_an_event_that_is_no_valid_movement_is_rejected(
        self, inbox: SyncInbox, ledger: Ledger
    ) -> None:
        self.receive(ledger, 10)
        bad = device_event("d1", 1, reference=None)  # a consumption names its procedure
        report = inbox.ingest([bad, device_event("d1", 2)])
        assert [o for _, o in report.outcomes] == [Outcome.REJECTED, Outcome.APPLIED]
        record = inbox.record("d1-1")
        assert record is not None and "consumption" in record.detail.lower()
        assert inbox.audit().ok

    def test_a_failed_batch_books_nothing_twice(
        self, inbox: SyncInbox, ledger: Ledger, store: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.receive(ledger, 10)
        head = ledger.head()
        events = [device_event("d1", 1), device_event("d1", 2)]

        def fail(_changes: SyncWrite) -> None:
            raise StorageError("disk full")

        with monkeypatch.context() as patch:
            patch.setattr(type(store.sync), "write", lambda _self, changes: fail(changes))
            with pytest.raises(StorageError):
                inbox.ingest(events)
        assert store.sync.events_by_id(["d1-1", "d1-2"]) == {}
        if self.rolls_back_ledger:
            assert ledger.head() == head
        report = inbox.ingest(events)
        assert [o for _, o in report.outcomes] == [Outcome.APPLIED] * 2
        assert ledger.balance(LOT, location=WARD) == 8
        assert inbox.audit().ok

    def test_the_audit_finds_a_record_the_ledger_does_not_back(
        self, inbox: SyncInbox, store: Any
    ) -> None:
        forged = EventRecord(
            event=device_event("d1", 1),
            outcome=Outcome.APPLIED,
            received_at=NOW,
            movement_id="sync:d1-1",
            applied_quantity=1,
        )
        with store.sync.transaction():
            store.sync.write(SyncWrite(events={forged.event_id: forged}))
        audit = inbox.audit()
        assert not audit.ok
        assert any("not in the ledger" in p for p in audit.devices[0].problems)
        assert any("first deliveries" in p for p in audit.devices[0].problems)

    def test_a_conflict_is_stored_once(self, inbox: SyncInbox, ledger: Ledger, store: Any) -> None:
        self.receive(ledger, 1)
        report = inbox.ingest([device_event("d1", 1, quantity=2)])
        with pytest.raises(StorageError), store.sync.transaction():
            store.sync.write(SyncWrite(conflicts=list(report.conflicts)))
        assert len(inbox.conflicts()) == 1

    def test_records_survive_reopening(self, open_database: Callable[[], Any]) -> None:
        with open_database() as store:
            ledger = Ledger(store, clock=lambda: NOW)
            self.receive(ledger, 5)
            inbox = SyncInbox(ledger, clock=lambda: NOW)
            inbox.ingest(
                [device_event("d1", 1), device_event("d1", 3), device_event("d2", 1, quantity=9)]
            )
        with open_database() as store:
            ledger = Ledger(store, clock=lambda: NOW)
            inbox = SyncInbox(ledger, clock=lambda: NOW)
            assert [r.event_id for r in inbox.held()] == ["d1-3"]
            assert len(inbox.conflicts()) == 1
            report = inbox.ingest([device_event("d1", 1), device_event("d1", 2)])
            assert report.outcomes == (("d1-1", Outcome.DUPLICATE), ("d1-2", Outcome.APPLIED))
            assert report.released == (("d1-3", Outcome.APPLIED),)
            assert ledger.balance(LOT, location=WARD) == 2
            assert inbox.audit().ok
