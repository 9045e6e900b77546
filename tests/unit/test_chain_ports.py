from __future__ import annotations

from typing import Any

import pendulum
import pytest

from medinv.chain import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    chain_hash,
    content_differences,
    entry_hash,
    format_instant,
    movement_content,
)
from medinv.errors import InvalidLocationError, InvalidMovementError, InvalidValueError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerHead, MovementQuery, PositionQuery, RecordedMovement
from medinv.status import StockStatus

ITEM = ItemKey("04006381333931", lot="L1")
AT = "2026-11-23T09:00:00+01:00"
RECORDED = pendulum.datetime(2026, 11, 23, 8, 30, 0, 123, tz="UTC")


def receipt(**overrides) -> Movement:
    fields: dict[str, Any] = {
        "item": ITEM,
        "quantity": 5,
        "to": Location.parse("Main/A1"),
        "occurred_at": AT,
        "actor": "jm",
    }
    fields.update(overrides)
    return Movement.receipt("R-1", **fields)


def test_content_encodes_every_field_and_distinguishes_absent_from_empty():
    content = movement_content(receipt(reason="", expiry="2027-01-31"))
    parts = content.split("\x00")
    assert len(parts) == len(CONTENT_FIELDS)
    assert dict(zip(CONTENT_FIELDS, parts, strict=True)) == {
        "id": "R-1",
        "kind": "RECEIPT",
        "gtin": "04006381333931",
        "lot": "+L1",
        "serial": "-",
        "quantity": "5",
        "occurred_at": "2026-11-23T09:00:00+01:00",
        "actor": "jm",
        "from_location": "-",
        "from_status": "-",
        "to_location": "+Main/A1",
        "to_status": "+AVAILABLE",
        "reason": "+",
        "reference": "-",
        "expiry": "+2027-01-31",
        "reverses": "-",
    }
    assert movement_content(receipt()).split("\x00")[12] == "-"


def test_hash_depends_on_every_input():
    m = receipt()
    base = chain_hash(GENESIS_HASH, m, position=1, recorded_at=RECORDED)
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == chain_hash(GENESIS_HASH, m, position=1, recorded_at=RECORDED)
    variants = {
        chain_hash("1" * 64, m, position=1, recorded_at=RECORDED),
        chain_hash(GENESIS_HASH, m, position=2, recorded_at=RECORDED),
        chain_hash(GENESIS_HASH, m, position=1, recorded_at=RECORDED.add(microseconds=1)),
        chain_hash(GENESIS_HASH, receipt(quantity=6), position=1, recorded_at=RECORDED),
        chain_hash(GENESIS_HASH, receipt(reason="x"), position=1, recorded_at=RECORDED),
    }
    assert base not in variants and len(variants) == 5
    assert base == entry_hash(GENESIS_HASH, 1, format_instant(RECORDED), movement_content(m))


def test_the_utc_offset_is_content():
    same_instant = receipt(occurred_at="2026-11-23T08:00:00+00:00")
    assert same_instant.occurred_at == receipt().occurred_at
    assert content_differences(receipt(), same_instant) == ("occurred_at",)
    assert content_differences(receipt(), receipt()) == ()


def test_lone_surrogate_is_refused_with_the_movement_id():
    # Movement refuses it at construction; the chain still refuses one smuggled past that.
    m = receipt()
    object.__setattr__(m, "reason", "a\ud800")
    with pytest.raises(InvalidMovementError, match="R-1"):
        chain_hash(GENESIS_HASH, m, position=1, recorded_at=RECORDED)


def test_head_and_records():
    assert LedgerHead.empty() == LedgerHead(0, GENESIS_HASH)
    m = receipt()
    rec = RecordedMovement(movement=m, position=1, recorded_at=RECORDED, prev_hash="p", hash="h")
    assert MovementQuery().matches(rec)
    assert not MovementQuery(after_position=1).matches(rec)
    assert not MovementQuery(up_to_position=0).matches(rec)
    assert MovementQuery(gtin="4006381333931", lot="L1").matches(rec)
    assert not MovementQuery(serial="S").matches(rec)
    assert not MovementQuery(item=ItemKey("04006381333931")).matches(rec)


def test_position_query_converts_text_and_matches_subtrees():
    q = PositionQuery(gtin="4006381333931", lot="L1", location="Main", status="available")
    assert q.gtin == Gtin("04006381333931") and q.lot == Lot("L1")
    assert q.location == Location.parse("Main") and q.status is StockStatus.AVAILABLE
    assert q.matches(ITEM, Location.parse("Main/A1"), StockStatus.AVAILABLE)
    assert not q.matches(ITEM, Location.parse("Mainx/A1"), StockStatus.AVAILABLE)
    assert not q.matches(ITEM, Location.parse("Main/A1"), StockStatus.HOLD)
    assert PositionQuery(serial="S1").serial == Serial("S1")
    assert not PositionQuery(serial="S1").matches_item(ITEM)
    assert PositionQuery(item=ITEM).matches_item(ITEM)
    with pytest.raises(InvalidLocationError):
        PositionQuery(location="a//b")
    with pytest.raises(InvalidValueError):
        PositionQuery(status="lost")
