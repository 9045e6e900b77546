"""`SyncInbox`: device events into the ledger, each ending in exactly one recorded outcome.

One ``ingest`` call is one transaction of the ledger's store: the movements the
batch books and the inbox's records of it commit together, or neither does (a
process killed half-way leaves the store as it was before the call). Each event
is booked under a movement id derived from its event id, so even a store that
cannot roll a ledger append back (the in-memory one) never books an event twice:
the ledger finds the id and the inbox takes the stored movement as the event's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import attrs
import pendulum

from medinv.actors import same_actor
from medinv.dates import to_datetime
from medinv.errors import (
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidValueError,
    LotMasterDataConflictError,
    SerialConflictError,
    StockError,
    StockNotIssuableError,
)
from medinv.journal import RecordedMovement
from medinv.ledger import Ledger
from medinv.movements import Movement, MovementKind
from medinv.ports import MovementQuery
from medinv.status import StockStatus
from medinv.sync._events import (
    MOVEMENT_ID_PREFIX,
    DeviceEvent,
    EventKind,
    movement_id_of,
    to_movement,
)
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

__all__ = ["IngestReport", "SyncInbox"]

_RETRIES: Final = 3
_AVAILABLE: Final = StockStatus.AVAILABLE


def _utc_now() -> pendulum.DateTime:
    return pendulum.now("UTC")


@attrs.frozen(kw_only=True)
class IngestReport:
    """What one ingestion did: one outcome per delivery, in the order given."""

    outcomes: tuple[tuple[str, Outcome], ...]
    """(event id, outcome) per delivered event, in order. An event held at first and
    decided later in the same call shows its final outcome."""
    released: tuple[tuple[str, Outcome], ...] = ()
    """Events held by an earlier call that this call decided, with their outcome."""
    conflicts: tuple[Conflict, ...] = ()
    """The conflicts recorded by this call."""
    gaps: tuple[Gap, ...] = ()
    """The gaps released over by this call."""

    def count(self, outcome: Outcome) -> int:
        """How many delivered events ended in ``outcome``."""
        return sum(1 for _, o in self.outcomes if o is outcome)


class _Batch:
    """One ingestion's working state: reads through to the store, writes collected."""

    def __init__(self, inbox: SyncInbox, now: pendulum.DateTime) -> None:
        self.inbox = inbox
        self.store = inbox.store
        self.ledger = inbox.ledger
        self.policy = inbox.policy
        self.now = now
        self.changes = SyncWrite()
        self.held: dict[str, dict[int, EventRecord]] = {}
        self.cursors: dict[str, DeviceCursor] = {}
        self.released: list[str] = []
        self.pending: list[tuple[EventRecord, Movement]] = []
        """Movements booked but not posted yet (``flush`` posts them), with their records."""
        self.skew_limit = now + self.policy.max_skew
        """A capture time after this is flagged (compared, not subtracted: it is per event)."""

    # ---------------------------------------------------------------- reads

    def record(self, event_id: str) -> EventRecord | None:
        found = self.changes.events.get(event_id)
        if found is None:
            found = self.store.events_by_id([event_id]).get(event_id)
        return found

    def cursor(self, device_id: str) -> DeviceCursor:
        cursor = self.cursors.get(device_id)
        if cursor is None:
            stored = self.store.cursors([device_id]).get(device_id)
            cursor = stored or DeviceCursor(device_id=device_id, next_seq=1)
            self.cursors[device_id] = cursor
        return cursor

    def held_of(self, device_id: str) -> dict[int, EventRecord]:
        held = self.held.get(device_id)
        if held is None:
            held = {r.seq: r for r in self.store.held(device_id)}
            self.held[device_id] = held
        return held

    def others_at(self, event: DeviceEvent) -> list[EventRecord]:
        mine = {r.event_id: r for r in self.store.events_at(event.device_id, event.seq)}
        for record in self.changes.events.values():
            if record.device_id == event.device_id and record.seq == event.seq:
                mine[record.event_id] = record
        return [r for r in mine.values() if r.event_id != event.event_id]

    # ---------------------------------------------------------------- writes

    def keep(self, record: EventRecord) -> None:
        self.changes.events[record.event_id] = record

    def move_cursor(self, device_id: str, next_seq: int) -> None:
        cursor = DeviceCursor(device_id=device_id, next_seq=next_seq)
        self.cursors[device_id] = cursor
        self.changes.cursors[device_id] = cursor

    def conflict(
        self, event: DeviceEvent, kind: ConflictKind, detail: str, applied: int = 0
    ) -> Conflict:
        conflict = Conflict(
            id=f"{event.event_id}#{kind.value}",
            kind=kind,
            device_id=event.device_id,
            event_id=event.event_id,
            seq=event.seq,
            detail=detail,
            requested=event.quantity,
            applied=applied,
            recorded_at=self.now,
        )
        self.changes.conflicts.append(conflict)
        return conflict

    # ---------------------------------------------------------------- delivery

    def deliver(self, event: DeviceEvent) -> Outcome | None:
        """Take one delivery: its outcome if already final, ``None`` if its event record has it."""
        changes = self.changes
        stored = self.record(event.event_id)
        if stored is not None:
            same = stored.event == event
            kind = DeliveryKind.DUPLICATE if same else DeliveryKind.REJECTED
            changes.deliveries.append(Delivery(event.device_id, event.event_id, kind))
            return Outcome.DUPLICATE if same else Outcome.REJECTED
        changes.deliveries.append(Delivery(event.device_id, event.event_id, DeliveryKind.FIRST))
        device = event.device_id
        cursor = self.cursor(device)
        held = self.held_of(device)
        if event.seq < cursor.next_seq or event.seq in held:
            others = self.others_at(event)
            if others:
                self.keep(self.decide_reuse(event, others[0]))
            else:
                self.keep(self.apply(event, late=True))  # its gap was released over before
            return None
        if event.seq > cursor.next_seq:
            record = EventRecord(event=event, outcome=Outcome.HELD, received_at=self.now)
            held[event.seq] = record
            self.keep(record)
            return None
        self.keep(self.apply(event))
        self.move_cursor(device, event.seq + 1)
        self.drain(device)
        return None

    def decide_reuse(self, event: DeviceEvent, other: EventRecord) -> EventRecord:
        detail = (
            f"device {event.device_id!r} sent sequence number {event.seq} again for event "
            f"{event.event_id!r}; it was event {other.event_id!r} (captured "
            f"{other.event.captured_at.isoformat()}): the device was reset?"
        )
        self.conflict(event, ConflictKind.SEQUENCE_REUSE, detail)
        return EventRecord(
            event=event,
            outcome=Outcome.CONFLICT,
            received_at=self.now,
            decided_at=self.now,
            detail=detail,
        )

    def drain(self, device_id: str) -> None:
        """Decide the held events that now follow the cursor without a gap."""
        held = self.held_of(device_id)
        next_seq = self.cursor(device_id).next_seq
        while next_seq in held:
            waiting = held.pop(next_seq)
            record = self.apply(waiting.event, received_at=waiting.received_at)
            self.keep(record)
            self.released.append(record.event_id)
            next_seq += 1
        self.move_cursor(device_id, next_seq)

    def release(self, device_id: str, reason: str) -> None:
        """Release the device's held events past every gap before them, recording the gaps."""
        held = self.held_of(device_id)
        while held:
            first = min(held)
            next_seq = self.cursor(device_id).next_seq
            gap = Gap(
                device_id=device_id,
                first_seq=next_seq,
                last_seq=first - 1,
                released_at=self.now,
                reason=reason,
            )
            self.changes.gaps.append(gap)
            self.move_cursor(device_id, first)
            self.drain(device_id)

    def release_due(self) -> None:
        """Release every device whose oldest held event waited longer than ``hold_max``."""
        hold_max = self.policy.hold_max
        if hold_max is None:
            return
        waiting: dict[str, pendulum.DateTime] = {}
        for record in self.store.held():
            oldest = waiting.get(record.device_id)
            if oldest is None or record.received_at < oldest:
                waiting[record.device_id] = record.received_at
        for device_id, held in self.held.items():
            for record in held.values():
                oldest = waiting.get(device_id)
                if oldest is None or record.received_at < oldest:
                    waiting[device_id] = record.received_at
        for device_id in sorted(waiting):
            if not self.held_of(device_id):
                continue
            oldest = min(r.received_at for r in self.held_of(device_id).values())
            if self.now - oldest >= hold_max:
                self.release(device_id, f"held longer than {hold_max}")

    # ---------------------------------------------------------------- applying

    def apply(
        self,
        event: DeviceEvent,
        *,
        late: bool = False,
        received_at: pendulum.DateTime | None = None,
    ) -> EventRecord:
        """Book ``event``: its record, provisional (APPLIED) until ``flush`` posts it."""
        base = EventRecord(
            event=event,
            outcome=Outcome.APPLIED,
            received_at=received_at or self.now,
            decided_at=self.now,
            late=late,
        )
        if event.kind is EventKind.COUNT:
            self.flush()  # a count reads the balance every earlier event leaves
            return self.finish(base, self.book_count(event))
        try:
            movement = to_movement(event)
        except InvalidValueError as e:
            return self.finish(base, self.rejected(event, str(e)))
        self.pending.append((base, movement))
        return attrs.evolve(base, movement_id=movement.id, applied_quantity=movement.quantity)

    def flush(self) -> None:
        """Post the pending movements: in one post, or (one refused) one by one, in order.

        One post checks each movement against the stock the earlier ones leave, as
        posting them one by one would; only when it refuses are they posted one at
        a time, so that each refusal is recorded against its own event.
        """
        pending, self.pending = self.pending, []
        if not pending:
            return
        try:
            self.post([movement for _, movement in pending])
            booked = [self.applied(base.event, m.id, m.quantity) for base, m in pending]
        except StockError:
            booked = [self.book_movement(base.event, m) for base, m in pending]
        for (base, _), outcome in zip(pending, booked, strict=True):
            self.keep(self.finish(base, outcome))

    def finish(self, base: EventRecord, outcome: EventRecord) -> EventRecord:
        """The event's final record; a capture time too far ahead is flagged."""
        event = base.event
        if outcome.outcome is Outcome.APPLIED and event.captured_at > self.skew_limit:
            skew = event.captured_at - self.now
            self.conflict(
                event,
                ConflictKind.CLOCK_SKEW,
                f"captured at {event.captured_at.isoformat()}, {skew} ahead of the inbox's clock "
                f"(bound {self.policy.max_skew}); applied",
                applied=outcome.applied_quantity,
            )
        return attrs.evolve(
            base,
            outcome=outcome.outcome,
            movement_id=outcome.movement_id,
            applied_quantity=outcome.applied_quantity,
            detail=outcome.detail,
        )

    def book_movement(self, event: DeviceEvent, movement: Movement) -> EventRecord:  # noqa: PLR0911  (one refusal per rule)
        """Post the event's movement, or record why the ledger refused it."""
        try:
            self.post([movement])
        except InsufficientStockError as e:
            return self.short(event, e)
        except SerialConflictError as e:
            return self.conflicted(event, ConflictKind.SERIAL_ELSEWHERE, str(e))
        except StockNotIssuableError as e:
            blocking = self.blocking_change(event)
            if blocking is not None:
                return self.conflicted(event, ConflictKind.STATUS_BLOCKED, blocking)
            expired = "expired" in e.reason
            kind = ConflictKind.EXPIRED_AT_USE if expired else ConflictKind.STATUS_BLOCKED
            return self.conflicted(event, kind, str(e))
        except LotMasterDataConflictError as e:
            return self.conflicted(event, ConflictKind.LOT_MASTER_MISMATCH, str(e))
        except IdempotencyConflictError as e:
            return self.booked_before(event, e)
        except StockError as e:
            return self.rejected(event, str(e))
        return self.applied(event, movement.id, movement.quantity)

    def post(self, movements: list[Movement]) -> None:
        self.ledger.post(movements, retries=_RETRIES)

    def applied(self, event: DeviceEvent, movement_id: str | None, quantity: int) -> EventRecord:
        return EventRecord(
            event=event,
            outcome=Outcome.APPLIED,
            received_at=self.now,
            movement_id=movement_id,
            applied_quantity=quantity,
        )

    def rejected(self, event: DeviceEvent, detail: str) -> EventRecord:
        return EventRecord(
            event=event, outcome=Outcome.REJECTED, received_at=self.now, detail=detail
        )

    def conflicted(
        self,
        event: DeviceEvent,
        kind: ConflictKind,
        detail: str,
        *,
        movement_id: str | None = None,
        applied: int = 0,
    ) -> EventRecord:
        self.conflict(event, kind, detail, applied)
        return EventRecord(
            event=event,
            outcome=Outcome.CONFLICT,
            received_at=self.now,
            movement_id=movement_id,
            applied_quantity=applied,
            detail=f"{kind.value}: {detail}",
        )

    def booked_before(self, event: DeviceEvent, error: StockError) -> EventRecord:
        """The event's movement id is taken: booked by an earlier run that kept no record."""
        stored = self.ledger.movement(event.movement_id)
        if stored is None:  # pragma: no cover  (the ledger said it was there)
            return self.rejected(event, str(error))
        return self.applied(event, stored.movement.id, stored.movement.quantity)

    def short(self, event: DeviceEvent, error: InsufficientStockError) -> EventRecord:
        blocking = self.blocking_change(event)
        if blocking is not None:
            return self.conflicted(event, ConflictKind.STATUS_BLOCKED, blocking)
        if event.item.serial is not None:
            return self.conflicted(event, ConflictKind.SERIAL_ELSEWHERE, str(error))
        available = error.available
        if self.policy.short_stock is ShortStock.PARTIAL and 0 < available < event.quantity:
            movement = to_movement(event, available)
            try:
                self.post([movement])
            except StockError as e:  # pragma: no cover  (the same read just allowed it)
                return self.conflicted(event, ConflictKind.INSUFFICIENT_STOCK, str(e))
            detail = f"{error}; applied the {available} there"
            return self.conflicted(
                event,
                ConflictKind.INSUFFICIENT_STOCK,
                detail,
                movement_id=movement.id,
                applied=available,
            )
        return self.conflicted(event, ConflictKind.INSUFFICIENT_STOCK, str(error))

    def foreign(self, recorded: RecordedMovement, device_id: str) -> bool:
        """Whether a stored movement was booked by someone other than ``device_id``'s events."""
        mid = recorded.movement.id
        if not mid.startswith(MOVEMENT_ID_PREFIX):
            return True
        event_id = mid[len(MOVEMENT_ID_PREFIX) :].split("#", 1)[0]
        record = self.record(event_id)
        return record is None or record.device_id != device_id

    def blocking_change(self, event: DeviceEvent) -> str | None:
        """A hold, quarantine or recall of the event's stock after the device's known position."""
        item = event.item
        query = MovementQuery(
            device=item.device,
            lot=item.lot,
            kind=MovementKind.STATUS_CHANGE,
            after_position=event.known_position,
        )
        for recorded in self.ledger.store.movements(query):
            m = recorded.movement
            if m.to_status is _AVAILABLE or m.to_location != event.location:
                continue
            if item.serial is not None and m.item.serial not in {None, item.serial}:
                continue
            if not self.foreign(recorded, event.device_id):
                continue
            assert m.to_status is not None  # noqa: S101  (a status change has one)
            return (
                f"{m.item} at {event.location} went to {m.to_status.value} at position "
                f"{recorded.position} (movement {m.id!r}), after position "
                f"{event.known_position} the device knew"
            )
        return None

    def book_count(self, event: DeviceEvent, *, check_stale: bool = True) -> EventRecord:
        """A count line: book the adjustment to the count, unless the stock moved since."""
        item, location = event.item, event.location
        if check_stale:
            query = MovementQuery(item=item, after_position=event.known_position)
            for recorded in self.ledger.store.movements(query):
                m = recorded.movement
                if location not in {m.from_location, m.to_location} or m.id == event.movement_id:
                    continue  # elsewhere, or this count's own adjustment (left by a failed run)
                if self.foreign(recorded, event.device_id):
                    detail = (
                        f"{item} at {location} moved at position {recorded.position} "
                        f"(movement {m.id!r}) after position {event.known_position} the "
                        "device counted against"
                    )
                    return self.conflicted(event, ConflictKind.COUNT_STALE, detail)
        stored = self.ledger.movement(event.movement_id)
        if stored is not None:  # booked by an earlier run that kept no record
            return self.applied(event, stored.movement.id, _change(stored.movement))
        balance = self.ledger.store.balances_of([item]).get((item, location, _AVAILABLE), 0)
        change = event.quantity - balance
        if change == 0:
            return self.applied(event, None, 0)
        movement = Movement.adjustment(
            event.movement_id,
            item=item,
            change=change,
            at=location,
            occurred_at=event.captured_at,
            actor=event.actor,
            reason=event.reason or f"count by device {event.device_id}",
            reference=event.reference,
        )
        try:
            self.post([movement])
        except StockError as e:  # pragma: no cover  (an adjustment to a count is always valid)
            return self.rejected(event, str(e))
        return self.applied(event, movement.id, change)


def _change(movement: Movement) -> int:
    return movement.quantity if movement.to_location is not None else -movement.quantity


def _check_clock(clock: object) -> Callable[[], pendulum.DateTime]:
    if clock is None:
        return _utc_now
    if not callable(clock):
        msg = f"clock must be a function returning an aware date-time, not {clock!r:.60}"
        raise InvalidValueError(msg)
    return clock


class SyncInbox:
    """Device events into a ledger: idempotent, in device order, every event on record.

    Args:
        ledger: the ledger to book into; its store must offer ``store.sync`` unless
            ``store`` is given.
        store: where the inbox keeps its records (default ``ledger.store.sync``): it must
            be the same database as the ledger's, so that both commit together.
        policy: short stock, hold time and clock bound ([`SyncPolicy`][medinv.sync.SyncPolicy]).
        clock: the inbox's clock (default UTC now): receive times, hold times, skew.

    Raises:
        InvalidValueError: ``ledger`` is not a `Ledger`, the store offers no sync
            store, ``policy`` is not a `SyncPolicy` or ``clock`` not callable.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        store: SyncStore | None = None,
        policy: SyncPolicy | None = None,
        clock: Callable[[], pendulum.DateTime] | None = None,
    ) -> None:
        given: object = ledger
        if not isinstance(given, Ledger):
            msg = f"a SyncInbox needs a Ledger, not {type(given).__name__}"
            raise InvalidValueError(msg)
        found: object = store if store is not None else getattr(ledger.store, "sync", None)
        if not isinstance(found, SyncStore):
            msg = (
                f"the store {type(ledger.store).__name__} offers no sync store "
                "(store.sync); give one as store="
            )
            raise InvalidValueError(msg)
        given_policy: object = SyncPolicy() if policy is None else policy
        if not isinstance(given_policy, SyncPolicy):
            msg = f"policy must be a SyncPolicy, not {type(given_policy).__name__}"
            raise InvalidValueError(msg)
        self.ledger: Final = ledger
        """The ledger events are booked into."""
        self.store: Final[SyncStore] = found
        """Where the inbox keeps its records."""
        self.policy: Final[SyncPolicy] = given_policy
        """How it decides."""
        self._clock = _check_clock(clock)

    def _now(self) -> pendulum.DateTime:
        return to_datetime(self._clock())

    # ---------------------------------------------------------------- ingestion

    def ingest(self, events: Iterable[DeviceEvent]) -> IngestReport:
        """Take a batch of events (from one device or many), in one transaction.

        Each device's events are decided in sequence order: an event after a gap is
        held until the gap fills, or until it has waited ``policy.hold_max`` (then it
        and those after it are released and the gap recorded; an event of the gap
        arriving afterwards is applied then, marked late). An event delivered again
        is a duplicate and books nothing. Held events of any device that waited
        long enough are released by every call.

        Returns:
            The outcome of each delivered event, and what earlier held events became.

        Raises:
            InvalidValueError: something other than a `DeviceEvent` was given (nothing
                is stored).
            StorageError: the store failed; nothing of the batch is stored.
        """
        batch = list(events)
        for event in batch:
            given: object = event  # checked at run time, whatever the annotations say
            if not isinstance(given, DeviceEvent):
                msg = f"ingest takes DeviceEvents, not {type(event).__name__}"
                raise InvalidValueError(msg)
        with self.store.transaction():
            work = _Batch(self, self._now())
            decided = [(event.event_id, work.deliver(event)) for event in batch]
            work.release_due()
            work.flush()
            self.store.write(work.changes)
        return self._report(work, decided)

    def release(
        self, device_id: str | None = None, *, reason: str = "released by hand"
    ) -> IngestReport:
        """Release held events past their gaps now (of one device, or all), recording the gaps."""
        with self.store.transaction():
            work = _Batch(self, self._now())
            devices = sorted({r.device_id for r in self.store.held(device_id)})
            for device in devices:
                work.release(device, reason)
            work.flush()
            self.store.write(work.changes)
        return self._report(work, [])

    @staticmethod
    def _report(work: _Batch, decided: list[tuple[str, Outcome | None]]) -> IngestReport:
        final = work.changes.events
        outcomes = tuple((eid, final[eid].outcome if o is None else o) for eid, o in decided)
        delivered = {eid for eid, _ in decided}
        return IngestReport(
            outcomes=outcomes,
            released=tuple(
                (eid, final[eid].outcome) for eid in work.released if eid not in delivered
            ),
            conflicts=tuple(work.changes.conflicts),
            gaps=tuple(work.changes.gaps),
        )

    # ---------------------------------------------------------------- queries

    def record(self, event_id: str) -> EventRecord | None:
        """The inbox's record of an event, or ``None``."""
        return self.store.events_by_id([event_id]).get(event_id)

    def held(self, device_id: str | None = None) -> list[EventRecord]:
        """The events waiting behind a gap."""
        return self.store.held(device_id)

    def gaps(self, device_id: str | None = None) -> list[Gap]:
        """The gaps released over."""
        return self.store.gaps(device_id)

    def conflicts(self, *, open_only: bool = False, device_id: str | None = None) -> list[Conflict]:
        """The conflicts on record; ``open_only``: the blocking ones nobody resolved yet."""
        found = self.store.conflicts(device_id=device_id)
        if not open_only:
            return found
        resolved = {r.conflict_id for r in self.store.resolutions([c.id for c in found])}
        return [c for c in found if c.blocking and c.id not in resolved]

    def resolutions(self, conflict_id: str | None = None) -> list[Resolution]:
        """The resolutions on record (of one conflict, or all)."""
        return self.store.resolutions(None if conflict_id is None else [conflict_id])

    # ---------------------------------------------------------------- resolving

    def resolve(
        self,
        conflict_id: str,
        *,
        action: ResolutionAction,
        by: str,
        note: str,
        approved_by: str | None = None,
    ) -> Resolution:
        """Append a person's resolution of a conflict (the conflict itself is never edited).

        ``ACCEPT`` lets the outcome stand. ``FORCE`` books the event as captured after
        all (what a partial apply left out, under the id ``sync:<event id>#force``; a
        count line: the adjustment to its count now), through the ledger's rules, and
        needs ``approved_by``, a second person.

        Raises:
            InvalidValueError: no such conflict, already resolved, a clock-skew flag
                (nothing to force), or ``FORCE`` without a second person.
            StockError: the ledger refused the forced movement (nothing is stored).
        """
        given: object = action  # checked at run time, whatever the annotations say
        if not isinstance(given, ResolutionAction):
            msg = f"action must be a ResolutionAction, not {action!r:.40}"
            raise InvalidValueError(msg)
        if not isinstance(note, str) or not note.strip():
            msg = "a resolution needs a note saying why"
            raise InvalidValueError(msg)
        with self.store.transaction():
            conflict = next((c for c in self.store.conflicts() if c.id == conflict_id), None)
            if conflict is None:
                msg = f"no conflict {conflict_id!r} on record"
                raise InvalidValueError(msg)
            if self.store.resolutions([conflict_id]):
                msg = f"conflict {conflict_id!r} is resolved already; resolutions are never edited"
                raise InvalidValueError(msg)
            work = _Batch(self, self._now())
            movement_id = None
            if action is ResolutionAction.FORCE:
                movement_id = self._force(work, conflict, by, approved_by)
            resolution = Resolution(
                conflict_id=conflict_id,
                action=action,
                by=by,
                approved_by=approved_by,
                note=note,
                at=work.now,
                movement_id=movement_id,
            )
            work.changes.resolutions.append(resolution)
            self.store.write(work.changes)
        return resolution

    def _force(
        self, work: _Batch, conflict: Conflict, by: str, approved_by: str | None
    ) -> str | None:
        if not conflict.blocking:
            msg = f"conflict {conflict.id!r} is a flag on an applied event: nothing to force"
            raise InvalidValueError(msg)
        if approved_by is None or same_actor(by, approved_by):
            msg = (
                f"forcing conflict {conflict.id!r} needs a second person to approve, "
                f"other than {by!r}"
            )
            raise InvalidValueError(msg)
        record = self.record(conflict.event_id)
        assert record is not None  # noqa: S101  (a conflict's event is stored with it)
        event = record.event
        if event.kind is EventKind.COUNT:
            booked = work.book_count(event, check_stale=False)
            if booked.outcome is not Outcome.APPLIED:  # pragma: no cover
                raise InvalidValueError(booked.detail)
            return booked.movement_id
        remaining = event.quantity - conflict.applied
        movement = to_movement(event, remaining)
        if conflict.applied or self.ledger.movement(movement.id) is not None:
            movement = attrs.evolve(movement, id=f"{movement.id}#force")
        work.post([movement])
        return movement.id

    # ---------------------------------------------------------------- audit

    def audit(self) -> AuditReport:
        """Check the inbox's books against themselves and the ledger, device by device.

        For every device: deliveries received = applied + duplicate + held + conflict
        + rejected; every first delivery has exactly one event record; each applied
        event's movement is in the ledger with the quantity recorded; no held or
        rejected event booked anything; a conflict booked only what it recorded (or
        what its forced resolution booked); each conflict outcome has its conflict
        record; held events sit after their device's cursor.
        """
        deliveries = self.store.deliveries()
        cursors = self.store.cursors()
        conflicts: dict[str, list[Conflict]] = {}
        for conflict in self.store.conflicts():
            conflicts.setdefault(conflict.event_id, []).append(conflict)
        forced = {r.movement_id for r in self.store.resolutions() if r.movement_id is not None}
        counts: dict[str, dict[Outcome, int]] = {}
        problems: dict[str, list[str]] = {}
        for record in self.store.events():
            device = record.device_id
            counts.setdefault(device, dict.fromkeys(Outcome, 0))[record.outcome] += 1
            found = self._check_record(record, conflicts.get(record.event_id, []), forced, cursors)
            if found:
                problems.setdefault(device, []).extend(found)
        devices = []
        for device in sorted(set(deliveries) | set(counts)):
            by_kind = deliveries.get(device, {})
            outcome = counts.get(device, dict.fromkeys(Outcome, 0))
            first = by_kind.get(DeliveryKind.FIRST, 0)
            stored = sum(outcome.values())
            found = problems.get(device, [])
            if first != stored:
                found.append(f"{first} first deliveries but {stored} event records")
            devices.append(
                DeviceAudit(
                    device_id=device,
                    received=sum(by_kind.values()),
                    applied=outcome[Outcome.APPLIED],
                    duplicate=by_kind.get(DeliveryKind.DUPLICATE, 0),
                    held=outcome[Outcome.HELD],
                    conflict=outcome[Outcome.CONFLICT],
                    rejected=outcome[Outcome.REJECTED] + by_kind.get(DeliveryKind.REJECTED, 0),
                    problems=tuple(found),
                )
            )
        return AuditReport(devices=tuple(devices))

    def _check_record(  # noqa: C901, PLR0912  (one check per outcome, kept together)
        self,
        record: EventRecord,
        conflicts: list[Conflict],
        forced: set[str],
        cursors: object,
    ) -> list[str]:
        found: list[str] = []
        eid, outcome = record.event_id, record.outcome
        mid = movement_id_of(eid)
        stored = self.ledger.movement(mid)
        if outcome is Outcome.APPLIED:
            if record.movement_id is None:
                if record.event.kind is not EventKind.COUNT or record.applied_quantity != 0:
                    found.append(f"event {eid!r} applied without a movement")
                elif stored is not None:
                    found.append(f"event {eid!r} booked {mid!r} but recorded none")
            elif stored is None:
                found.append(f"event {eid!r} applied but movement {mid!r} is not in the ledger")
            else:
                booked = stored.movement
                quantity = (
                    _change(booked) if booked.kind is MovementKind.ADJUSTMENT else booked.quantity
                )
                if quantity != record.applied_quantity:
                    found.append(
                        f"event {eid!r} recorded {record.applied_quantity} applied, the ledger "
                        f"holds {quantity}"
                    )
        elif outcome is Outcome.CONFLICT:
            if not any(c.blocking for c in conflicts):
                found.append(f"event {eid!r} is a conflict without a conflict record")
            if stored is not None and record.applied_quantity == 0 and mid not in forced:
                found.append(
                    f"event {eid!r} was stopped by a conflict but {mid!r} is in the ledger"
                )
        elif stored is not None:
            found.append(f"event {eid!r} is {outcome.value} but {mid!r} is in the ledger")
        if outcome is Outcome.HELD:
            assert isinstance(cursors, dict)  # noqa: S101
            cursor = cursors.get(record.device_id)
            next_seq = 1 if cursor is None else cursor.next_seq
            if record.seq <= next_seq:
                found.append(
                    f"event {eid!r} is held at sequence {record.seq}, not after {next_seq}"
                )
        return found
