"""Tampering with a MemoryStore's rows behind the ledger's back is caught by verify()."""

from __future__ import annotations

import attrs
import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.chain import chain_hash
from medinv.identifiers import ItemKey
from medinv.ledger import (
    ChainBreak,
    DuplicateMovementId,
    HashMismatch,
    HeadMismatch,
    Ledger,
    PositionGap,
    PositionOrder,
    ProjectionMismatch,
)
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

ITEM = ItemKey("04006381333931", lot="L1")
A, B = Location.parse("H/A"), Location.parse("H/B")
AT = "2026-11-23T09:00:00+01:00"


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    ledger = Ledger(store, clock=lambda: pendulum.datetime(2026, 11, 23, tz="UTC"))
    ledger.post(
        [
            Movement.receipt("R1", item=ITEM, quantity=10, to=A, occurred_at=AT, actor="a"),
            Movement.transfer(
                "T1", item=ITEM, quantity=4, source=A, to=B, occurred_at=AT, actor="a"
            ),
            Movement.issue("I1", item=ITEM, quantity=1, source=B, occurred_at=AT, actor="a"),
            Movement.issue("I2", item=ITEM, quantity=2, source=A, occurred_at=AT, actor="a"),
        ]
    )
    assert ledger.verify().ok
    return store


def kinds(store: MemoryStore) -> list[type]:
    return [type(d) for d in Ledger(store).verify().findings]


def test_edited_movement(store: MemoryStore):
    row = store._movements[1]
    edited = attrs.evolve(row.movement, quantity=5)
    store._movements[1] = attrs.evolve(row, movement=edited)
    report = Ledger(store).verify()
    assert not report.ok
    mismatch = report.findings[0]
    assert isinstance(mismatch, HashMismatch) and mismatch.position == 2
    assert mismatch.movement_id == "T1" and "position 2" in mismatch.description
    projection = [d for d in report.findings if isinstance(d, ProjectionMismatch)]
    assert {(str(d.location), d.stored, d.rebuilt) for d in projection} == {
        ("H/A", 4, 3),
        ("H/B", 3, 4),
    }
    assert "in the projection" in projection[0].description


def test_edited_text_field_with_recomputed_hash_breaks_the_next_link(store: MemoryStore):
    row = store._movements[0]
    edited = attrs.evolve(row.movement, actor="someone else")
    new_hash = chain_hash(row.prev_hash, edited, position=1, recorded_at=row.recorded_at)
    store._movements[0] = attrs.evolve(row, movement=edited, hash=new_hash)
    report = Ledger(store).verify()
    (brk,) = report.findings
    assert isinstance(brk, ChainBreak) and brk.position == 2 and brk.found == row.hash
    assert "position 2" in brk.description


def test_deleted_movement(store: MemoryStore):
    del store._movements[1]
    found = kinds(store)
    assert PositionGap in found and ChainBreak in found and ProjectionMismatch in found
    gap = next(d for d in Ledger(store).verify().findings if isinstance(d, PositionGap))
    assert (gap.expected, gap.found) == (2, 3) and "2..2" in gap.description


def test_deleted_last_movement(store: MemoryStore):
    store._movements.pop()
    found = kinds(store)
    assert found[0] is HeadMismatch and ProjectionMismatch in found


def test_reordered_movements(store: MemoryStore):
    rows = store._movements
    rows[1], rows[2] = rows[2], rows[1]
    report = Ledger(store).verify()
    found = [type(d) for d in report.findings]
    assert PositionGap in found and PositionOrder in found and ChainBreak in found
    order = next(d for d in report.findings if isinstance(d, PositionOrder))
    assert (order.position, order.after) == (2, 3) and "after position 3" in order.description


def test_duplicated_movement(store: MemoryStore):
    store._movements.insert(2, store._movements[1])
    report = Ledger(store).verify()
    dup = next(d for d in report.findings if isinstance(d, DuplicateMovementId))
    assert dup.movement_id == "T1" and dup.positions == (2, 2) and "T1" in dup.description


def test_edited_projection(store: MemoryStore):
    store._balances[(ITEM, A, StockStatus.AVAILABLE)] += 1
    store._balances[(ITEM, A, StockStatus.HOLD)] = 3
    report = Ledger(store).verify()
    assert [(d.status, d.stored, d.rebuilt) for d in report.findings] == [  # type: ignore[attr-defined]
        (StockStatus.AVAILABLE, 5, 4),
        (StockStatus.HOLD, 3, 0),
    ]


def test_moved_head(store: MemoryStore):
    store._head = attrs.evolve(store._head, position=9)
    (head,) = Ledger(store).verify().findings
    assert isinstance(head, HeadMismatch) and head.stored.position == 9
    assert "position 9" in head.description
