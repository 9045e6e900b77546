"""The posting rules: what a batch of movements may do to the stock, checked in order.

Pure functions over a [`Batch`][medinv.posting.Batch], the batch's view of the
balances, serial totals and master data that the ledger read for it; nothing here
reads a store or a clock. [`Ledger.post`][medinv.ledger.Ledger.post] reads the
state, splits and chains the batch ([`Chained`][medinv.posting.Chained]), applies
the rules ([`apply_rules`][medinv.posting.apply_rules]) and writes the commit. See
[the rules](../explanation/rules.md#ledger) for what they guarantee.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, NoReturn

import attrs
import pendulum

from medinv._slots import new_instance, slot_setters
from medinv.chain import (
    content_differences,
    entry_hashes,
    format_instant,
    movement_content,
)
from medinv.dates import is_expired
from medinv.errors import (
    BalanceLimitError,
    IdempotencyConflictError,
    InsufficientStockError,
    LotMasterDataConflictError,
    ReversalError,
    SerialConflictError,
    StockNotIssuableError,
)
from medinv.identifiers import ItemKey
from medinv.journal import (
    BalanceChange,
    BalanceKey,
    ItemRecord,
    LedgerHead,
    LotKey,
    LotRecord,
    RecordedMovement,
)
from medinv.movements import Movement, MovementKind
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus

__all__ = ["ISSUING", "Batch", "Chained", "apply_rules", "check_issuable"]

_AVAILABLE: Final = StockStatus.AVAILABLE
_REVERSAL: Final = MovementKind.REVERSAL
ISSUING: Final = frozenset({MovementKind.ISSUE, MovementKind.CONSUMPTION})
"""The kinds that take stock out for use: only available, unexpired stock."""
# The same two kinds for identity tests on the posting path: ``kind in ISSUING``
# hashes the enum member through a Python call (benchmarks/bench_ledger.py).
_ISSUE: Final = MovementKind.ISSUE
_CONSUMPTION: Final = MovementKind.CONSUMPTION
_MISSING: Final = object()
_date_of = dt.datetime.date  # the C method: pendulum's date() costs three times as much
_MAX_BALANCE: Final = MAX_QUANTITY  # every store holds a balance up to it exactly


@attrs.define(eq=False)
class Batch:
    """One post's view of the ledger's cache, which its movements update in place.

    Every item of the batch is complete in the cache (its balances all known).
    The first change to a balance or serial total records the value before the
    batch, so that a refusal can undo the batch and a commit can tell its net
    changes.
    """

    balances: dict[BalanceKey, int]
    """The cache's balances, as the batch's movements so far leave them."""
    items: dict[ItemKey, ItemRecord]
    lots: dict[LotKey, pendulum.Date | None]
    stored: dict[str, RecordedMovement]
    reversed_by: dict[str, str]
    serial_totals: dict[ItemKey, int]
    undo: dict[BalanceKey, int] = attrs.Factory(dict)
    """The balances the batch touched, as they were before it."""
    serial_undo: dict[ItemKey, int] = attrs.Factory(dict)
    """The serial totals the batch touched, as they were before it."""
    new_by_id: dict[str, Movement] = attrs.Factory(dict)
    new_items: list[ItemRecord] = attrs.Factory(list)
    new_lots: list[LotRecord] = attrs.Factory(list)

    def changes(self) -> tuple[BalanceChange, ...]:
        """The net balance changes of the batch (none that are zero); drops zero balances."""
        balances = self.balances
        out: list[BalanceChange] = []
        append = out.append
        new, set_item, set_location, set_status, set_delta = _new, *_CHANGE_SLOTS
        for key, old in self.undo.items():
            now = balances[key]
            if not now:
                del balances[key]
            delta = now - old
            if delta:
                change = new(BalanceChange)
                set_item(change, key[0])
                set_location(change, key[1])
                set_status(change, key[2])
                set_delta(change, delta)
                append(change)
        return tuple(out)


# The ledger builds a RecordedMovement per posted movement and a BalanceChange per
# touched balance from values it has just checked. attrs' generated ``__init__``
# (keyword-only, a per-instance ``object.__setattr__``) costs about twice as much as
# setting the slots directly; the objects are the same (a test compares them).
_new = new_instance
_CHANGE_SLOTS: Final = slot_setters(BalanceChange, "item", "location", "status", "delta")
_RECORDED_SLOTS: Final = slot_setters(
    RecordedMovement, "movement", "position", "recorded_at", "prev_hash", "hash"
)


def apply_rules(  # noqa: C901  (one loop, kept flat for speed)
    movements: list[Movement], state: Batch, zone: pendulum.Timezone | None
) -> None:
    """Check the batch's new movements in order against ``state``, applying each to it.

    Raises the [`StockError`][medinv.errors.StockError] of the first movement a rule
    refuses; ``state`` then holds what the movements before it changed (its undo
    records say how to put it back).
    """
    balances, new_by_id = state.balances, state.new_by_id
    keep = state.undo.setdefault
    master_data = _master_data
    for m in movements:
        item = m.item
        kind = m.kind
        source, to = m.from_location, m.to_location
        if kind is _REVERSAL:
            _check_reversal(m, state)
        # Master data matters to movements entering the ledger (first receipt of
        # a lot or item?), those stating an expiry (conflict?) and issuing ones
        # (expired?): not to transfers and status changes.
        issuing = kind is _ISSUE or kind is _CONSUMPTION
        if source is None or m.expiry is not None or issuing:
            expiry = master_data(m, state)
            if issuing:
                check_issuable(m, expiry, zone)
        quantity = m.quantity
        if source is not None and m.from_status is not None:
            key = (item, source, m.from_status)
            have = balances.get(key, 0)
            if have < quantity:
                raise InsufficientStockError(
                    item=item,
                    location=source,
                    status=m.from_status.value,
                    requested=quantity,
                    available=have,
                    movement_id=m.id,
                )
            keep(key, have)
            balances[key] = have - quantity
            if item.serial is not None and to is None:
                _count_serial(item, -quantity, state)
        if to is not None and m.to_status is not None:
            if item.serial is not None and source is None:
                if state.serial_totals.get(item, 0) > 0:
                    _serial_conflict(m, state)
                _count_serial(item, quantity, state)
            key = (item, to, m.to_status)
            have = balances.get(key, 0)
            if have > _MAX_BALANCE - quantity:
                raise BalanceLimitError(
                    item=item,
                    location=to,
                    status=m.to_status.value,
                    balance=have,
                    adding=quantity,
                    movement_id=m.id,
                )
            keep(key, have)
            balances[key] = have + quantity
        new_by_id[m.id] = m


def _count_serial(item: ItemKey, delta: int, state: Batch) -> None:
    totals = state.serial_totals
    total = totals.get(item, 0)
    state.serial_undo.setdefault(item, total)
    totals[item] = total + delta


def _master_data(m: Movement, state: Batch) -> pendulum.Date | None:
    """Check the movement's stated expiry against master data; record new lots and items.

    Returns the item's expiry. A lot's expiry, or a lot-less item's, is fixed by
    its first inbound movement.
    """
    item = m.item
    stated = m.expiry
    # Entering the ledger (receipt, return, adjustment in, reversal of an outbound
    # movement): the only movements that can be an item's or a lot's first.
    enters = m.from_location is None
    lot = item.lot
    # A lot item's expiry is its lot's: its own record matters only to create it.
    record = state.items.get(item) if enters or lot is None else None
    if lot is not None:
        key = (item.device_text, lot.value)
        known = state.lots.get(key, _MISSING)
        if known is _MISSING:
            expiry = stated
            if enters:
                state.lots[key] = stated
                state.new_lots.append(LotRecord(key[0], key[1], stated))
        else:
            expiry = known  # type: ignore[assignment]
            if stated is not None and stated != known:
                raise LotMasterDataConflictError(
                    item=item, movement_id=m.id, known=known, given=stated
                )
    elif record is not None:
        expiry = record.expiry
        if stated is not None and stated != expiry:
            raise LotMasterDataConflictError(
                item=item, movement_id=m.id, known=expiry, given=stated
            )
    else:
        expiry = stated
    if record is None and enters:
        record = ItemRecord(item=item, first_received_at=m.occurred_at, expiry=expiry)
        state.items[item] = record
        state.new_items.append(record)

    return expiry


def _serial_conflict(m: Movement, state: Batch) -> NoReturn:
    """A serialised unit entering the ledger is in stock already: say where."""
    item = m.item
    where = [
        f"{location} [{status.value}]"
        for (other, location, status), qty in state.balances.items()
        if qty > 0 and other == item
    ]
    raise SerialConflictError(
        item=item, movement_id=m.id, reason=f"already in stock at {', '.join(where)}"
    )


def _check_reversal(m: Movement, state: Batch) -> None:
    target = m.reverses
    assert target is not None  # noqa: S101  (Movement guarantees it for REVERSAL)
    original_record = state.stored.get(target)
    original = (
        original_record.movement if original_record is not None else state.new_by_id.get(target)
    )
    if original is None:
        raise ReversalError(m.id, target, "no such movement in the ledger")
    if original.kind is _REVERSAL:
        raise ReversalError(m.id, target, "a reversal cannot be reversed; post the movement again")
    by = state.reversed_by.get(target)
    if by is not None:
        raise ReversalError(m.id, target, f"already reversed by {by!r}")
    if not m.mirrors(original):
        raise ReversalError(m.id, target, "not the exact inverse of the movement")
    state.reversed_by[target] = m.id


def check_issuable(
    m: Movement, expiry: pendulum.Date | None, zone: pendulum.Timezone | None
) -> None:
    """An issue or consumption takes AVAILABLE stock not expired on the movement's date.

    The date is the one of ``occurred_at`` in the facility's ``zone`` (``None``: in the
    offset ``occurred_at`` carries).
    """
    if m.from_status is not _AVAILABLE:
        status = m.from_status.value if m.from_status else None
        raise StockNotIssuableError(
            item=m.item, movement_id=m.id, reason=f"stock in status {status} is not issuable"
        )
    if expiry is None:
        return
    occurred_at = m.occurred_at
    day = _date_of(occurred_at if zone is None else occurred_at.astimezone(zone))
    if is_expired(expiry, day):
        reason = f"expired on {expiry.isoformat()} (movement date {day.isoformat()}"
        reason += ")" if zone is None else f" in {zone.name})"
        raise StockNotIssuableError(item=m.item, movement_id=m.id, reason=reason)


@attrs.define(eq=False)
class Chained:
    """A batch split into replays and new movements, the new ones encoded and chained.

    The chain is computed before the rules are checked: a refused batch wastes
    it, an accepted one (the common case) is encoded in one pass.
    """

    slots: list[RecordedMovement | int]
    """Per given movement: the stored original, or the index of the new movement it repeats."""
    replayed: list[str]
    """Ids of the given movements that replay a stored or earlier one."""
    fresh: list[Movement]
    """The new movements, in order."""
    contents: list[str]
    """Their canonical contents."""
    recorded: list[RecordedMovement]
    """Their records: positions after the head, chained from its hash."""

    @classmethod
    def of(
        cls,
        batch: list[Movement],
        stored: dict[str, RecordedMovement],
        head: LedgerHead,
        recorded_at: pendulum.DateTime,
        *,
        all_new: bool,
    ) -> Chained:
        """Split, encode and chain ``batch``; ``all_new``: no id is stored or repeated in it."""
        contents = _contents(batch)
        if all_new:
            chained = cls([], [], batch, contents, [])
        else:
            chained = cls._classify(batch, stored, contents)
        chained.chain(head, recorded_at)
        return chained

    @classmethod
    def _classify(
        cls, batch: list[Movement], stored: dict[str, RecordedMovement], contents: list[str]
    ) -> Chained:
        slots: list[RecordedMovement | int] = []
        replayed: list[str] = []
        fresh: list[Movement] = []
        fresh_contents: list[str] = []
        seen: dict[str, int] = {}
        for m, content in zip(batch, contents, strict=True):
            mid = m.id
            original = stored.get(mid)
            if original is not None:
                _check_replay(m, content, original.movement)
                slots.append(original)
                replayed.append(mid)
                continue
            index = seen.get(mid)
            if index is not None:
                _check_replay(m, content, fresh[index])
                slots.append(index)
                replayed.append(mid)
                continue
            seen[mid] = index = len(fresh)
            slots.append(index)
            fresh.append(m)
            fresh_contents.append(content)
        return cls(slots, replayed, fresh, fresh_contents, [])

    def chain(self, head: LedgerHead, recorded_at: pendulum.DateTime) -> None:
        """The records of the new movements: positions after ``head``, chained from its hash."""
        recorded = self.recorded
        append = recorded.append
        prev, position = head.hash, head.position
        hashes = entry_hashes(prev, position + 1, format_instant(recorded_at), self.contents)
        make, set_movement, set_position, set_recorded_at, set_prev, set_hash = (
            _new,
            *_RECORDED_SLOTS,
        )
        for m, digest in zip(self.fresh, hashes, strict=True):
            position += 1
            entry = make(RecordedMovement)
            set_movement(entry, m)
            set_position(entry, position)
            set_recorded_at(entry, recorded_at)
            set_prev(entry, prev)
            set_hash(entry, digest)
            append(entry)
            prev = digest


def _contents(batch: list[Movement]) -> list[str]:
    """The canonical content of each movement."""
    out: list[str] = []
    append = out.append
    # Movements of a batch often share one occurred_at object; format it once.
    # Keyed by id(): every object stays referenced by the batch meanwhile.
    instants: dict[int, str] = {}
    for m in batch:
        occurred_at = m.occurred_at
        text = instants.get(id(occurred_at))
        if text is None:
            text = instants[id(occurred_at)] = format_instant(occurred_at)
        append(movement_content(m, occurred_at_text=text))
    return out


def _check_replay(m: Movement, content: str, original: Movement) -> None:
    if content != movement_content(original):
        raise IdempotencyConflictError(m.id, content_differences(m, original))
