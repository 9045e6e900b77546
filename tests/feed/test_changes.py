"""Ledger.changes, the consumer's chain check, the JSON envelope and the outbox rows."""

from __future__ import annotations

import json
import uuid

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv import ItemKey, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.chain import GENESIS_HASH
from medinv.errors import InvalidValueError, StorageError
from medinv.feed import (
    ENVELOPE_KEYS,
    OUTBOX_COLUMNS,
    AlteredChangeError,
    BrokenLinkError,
    ChangeFeedError,
    MissingChangeError,
    change_from_json,
    change_to_json,
    check_changes,
    outbox_row,
)
from medinv.journal import LedgerHead, RecordedMovement
from medinv.ledger import Ledger
from medinv.testing.strategies import item_keys, locations, movement_business_references

GTIN = "04006381333931"
AT = pendulum.datetime(2026, 12, 1, 8, tz="UTC")


def _receipt(n: int) -> Movement:
    return Movement.receipt(
        f"R-{n}",
        item=ItemKey(GTIN, lot=f"L{n % 3}"),
        quantity=1 + n % 5,
        to=Location.parse("Site/Store"),
        occurred_at=AT,
        actor="jm",
    )


def _ledger(count: int) -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: AT)
    for start in range(0, count, 7):
        ledger.post([_receipt(n) for n in range(start, min(start + 7, count))])
    return ledger


# ------------------------------------------------------------------ Ledger.changes


def test_changes_are_the_next_positions_up_to_the_limit() -> None:
    ledger = _ledger(20)
    page = ledger.changes(after=5, limit=4)
    assert [c.position for c in page] == [6, 7, 8, 9]
    assert page[0].prev_hash == ledger.changes(after=4, limit=1)[0].hash
    assert [c.position for c in ledger.changes(after=18)] == [19, 20]
    assert ledger.changes(after=20) == []
    assert ledger.changes(after=99) == []
    assert [c.movement.id for c in ledger.changes(limit=2)] == ["R-0", "R-1"]


def test_pages_of_changes_chain_into_the_whole_ledger() -> None:
    ledger = _ledger(30)
    head, seen = LedgerHead.empty(), []
    while page := ledger.changes(after=head.position, limit=7):
        head = check_changes(page, after=head)
        seen += page
    assert head == ledger.head()
    assert seen == ledger.history()


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"after": -1}, "after"),
        ({"after": 1.5}, "after"),
        ({"after": True}, "after"),
        ({"limit": 0}, "limit"),
        ({"limit": 100_001}, "limit"),
        ({"limit": "10"}, "limit"),
    ],
)
def test_bad_arguments_are_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        _ledger(1).changes(**kw)  # type: ignore[arg-type]


def test_changes_near_the_last_position_do_not_overflow() -> None:
    assert _ledger(2).changes(after=2**63 - 2, limit=100) == []


class _GappyStore(MemoryStore):
    """A broken store that loses position 3 from its answers."""

    def movements(self, query):
        return (m for m in super().movements(query) if m.position != 3)


def test_a_store_that_answers_with_a_gap_is_a_storage_error() -> None:
    ledger = Ledger(_GappyStore(), clock=lambda: AT)
    ledger.post([_receipt(n) for n in range(5)])
    assert [c.position for c in ledger.changes(limit=2)] == [1, 2]
    with pytest.raises(StorageError, match="position 4 where 3 was due"):
        ledger.changes(after=0, limit=5)


# ------------------------------------------------------------------ the consumer's check


def test_check_returns_the_head_of_the_last_change() -> None:
    ledger = _ledger(5)
    assert check_changes(ledger.changes()) == ledger.head()
    assert check_changes([]) == LedgerHead(0, GENESIS_HASH)
    assert check_changes([], after=ledger.head()) == ledger.head()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), count=st.integers(min_value=2, max_value=12))
def test_a_removed_change_is_caught(data: st.DataObject, count: int) -> None:
    changes = _ledger(count).changes()
    lost = data.draw(st.integers(min_value=0, max_value=count - 1))
    kept = changes[:lost] + changes[lost + 1 :]
    if lost == count - 1:  # the last one lost: caught by the next page, not this one
        assert check_changes(kept) == LedgerHead(kept[-1].position, kept[-1].hash)
        with pytest.raises(MissingChangeError) as caught:
            check_changes([*changes[lost + 1 :], changes[-1]], after=check_changes(kept[:-1]))
        return
    if lost == 0:  # only a checkpoint knows what came first
        with pytest.raises(MissingChangeError) as caught:
            check_changes(kept, after=LedgerHead.empty())
    else:
        with pytest.raises(MissingChangeError) as caught:
            check_changes(kept)
    assert caught.value.position == lost + 1
    assert isinstance(caught.value, ChangeFeedError)
    assert isinstance(caught.value, InvalidValueError)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), count=st.integers(min_value=1, max_value=10))
def test_an_altered_change_is_caught(data: st.DataObject, count: int) -> None:
    changes = _ledger(count).changes()
    at = data.draw(st.integers(min_value=0, max_value=count - 1))
    original = changes[at]
    how = data.draw(st.sampled_from(["quantity", "actor", "recorded_at", "hash", "prev_hash"]))
    if how == "quantity":
        altered = attrs.evolve(
            original,
            movement=attrs.evolve(original.movement, quantity=original.movement.quantity + 1),
        )
    elif how == "actor":
        altered = attrs.evolve(original, movement=attrs.evolve(original.movement, actor="mallory"))
    elif how == "recorded_at":
        altered = attrs.evolve(original, recorded_at=original.recorded_at.add(seconds=1))
    elif how == "hash":
        altered = attrs.evolve(original, hash="f" * 64)
    else:
        altered = attrs.evolve(original, prev_hash="e" * 64)
    tampered = [*changes[:at], altered, *changes[at + 1 :]]
    with pytest.raises(ChangeFeedError) as caught:
        check_changes(tampered, after=LedgerHead.empty())
    assert caught.value.position in {original.position, original.position + 1}
    if how in {"quantity", "actor", "recorded_at"}:
        assert isinstance(caught.value, AlteredChangeError)
        # Without the hash check only the links are checked: the content change passes.
        assert check_changes(tampered, after=LedgerHead.empty(), hashes=False).position
    elif how == "prev_hash":
        assert isinstance(caught.value, BrokenLinkError | AlteredChangeError)


def test_a_swapped_pair_and_a_wrong_checkpoint_are_caught() -> None:
    changes = _ledger(4).changes()
    with pytest.raises(MissingChangeError, match=r"out of order|missing"):
        check_changes([changes[0], changes[2], changes[1]])
    with pytest.raises(BrokenLinkError, match="position 2"):
        check_changes(changes[2:], after=LedgerHead(2, "a" * 64))
    other = _ledger(4)  # the same movements, another ledger: recorded the same, so
    assert check_changes(other.changes(after=2), after=check_changes(changes[:2])).position


def test_check_refuses_what_is_not_a_change() -> None:
    with pytest.raises(InvalidValueError, match="LedgerHead"):
        check_changes([], after=(0, GENESIS_HASH))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="RecordedMovement"):
        check_changes([{"sequence": 1}])  # type: ignore[list-item]


# ------------------------------------------------------------------ the envelope


@st.composite
def _movements(draw: st.DrawFn, n: int) -> Movement:
    offset = draw(st.sampled_from(["+00:00", "+01:00", "-05:30", "+14:00"]))
    suffix = draw(st.text(alphabet='abc/é ;"', max_size=4))
    item = draw(item_keys(serial=n == 0))  # one serialised unit at most: no conflict
    return Movement.receipt(
        f"M-{n}-{suffix}",
        item=item,
        quantity=1 if item.serial else draw(st.integers(min_value=1, max_value=2**40)),
        to=draw(locations()),
        occurred_at=f"2026-11-2{n % 10}T09:00:00.{n:06d}{offset}",
        actor=draw(st.sampled_from(["jm", "Zoë", "nurse 3"])),
        reference=draw(st.none() | st.text(alphabet="xyzß\n'", max_size=6)),
        expiry="2030-01-31",  # one expiry for every lot: no master data conflict
        counterparty=draw(st.none() | st.just("SUPPLIER:acme")),
        business_references=draw(movement_business_references(max_size=2)),
    )


@settings(max_examples=40, deadline=None)
@given(data=st.data(), count=st.integers(min_value=1, max_value=5))
def test_an_envelope_round_trips_through_json_and_still_checks(
    data: st.DataObject, count: int
) -> None:
    ledger = Ledger(MemoryStore(), clock=lambda: pendulum.now("Europe/Paris"))
    ledger.post([data.draw(_movements(n)) for n in range(count)])
    changes = ledger.changes()
    envelopes = [json.loads(json.dumps(change_to_json(c))) for c in changes]
    assert all(tuple(e) == ENVELOPE_KEYS for e in envelopes)
    back = [change_from_json(e) for e in envelopes]
    assert back == changes
    assert check_changes(back, after=LedgerHead.empty()) == ledger.head()


def test_an_envelope_names_the_movement_its_place_and_its_hashes() -> None:
    change = _ledger(2).changes()[1]
    envelope = change_to_json(change)
    assert envelope["id"] == "R-1"
    assert envelope["sequence"] == 2
    assert envelope["type"] == "medinv.movement.receipt"
    assert envelope["time"] == "2026-12-01T08:00:00+00:00"
    assert envelope["recordedAt"] == "2026-12-01T08:00:00+00:00"
    assert envelope["hash"] == change.hash
    assert envelope["prevHash"] == change.prev_hash
    assert envelope["data"]["lot"] == "L1"
    assert envelope["data"]["serial"] is None
    assert "counterparty" not in envelope["data"]


def _valid() -> dict[str, object]:
    return change_to_json(_ledger(1).changes()[0])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda e: e.pop("sequence"), "'sequence'"),
        (lambda e: e.update(sequence=0), "'sequence'"),
        (lambda e: e.update(sequence=True), "'sequence'"),
        (lambda e: e.update(hash="X" * 64), "'hash'"),
        (lambda e: e.update(prevHash=None), "'prevHash'"),
        (lambda e: e.pop("recordedAt"), "'recordedAt'"),
        (lambda e: e.update(recordedAt="yesterday"), "position 1"),
        (lambda e: e.update(data=[]), "'data'"),
        (lambda e: e["data"].pop("kind"), "lacks kind"),
        (lambda e: e["data"].update(quantity=5), "text or null"),
        (lambda e: e["data"].update(quantity="-5"), "position 1"),
        (lambda e: e["data"].update(kind="THEFT"), "position 1"),
        (lambda e: e["data"].update(to_location=""), "position 1"),
    ],
)
def test_a_bad_envelope_is_refused_with_the_key_named(change, match: str) -> None:
    envelope = _valid()
    change(envelope)
    with pytest.raises(InvalidValueError, match=match):
        change_from_json(envelope)


def test_an_envelope_must_be_an_object() -> None:
    with pytest.raises(InvalidValueError, match="JSON object"):
        change_from_json([1, 2])  # type: ignore[arg-type]


# ------------------------------------------------------------------ outbox rows


def test_an_outbox_row_has_the_columns_cdc_tools_expect() -> None:
    changes = _ledger(3).changes()
    row = outbox_row(changes[2])
    assert OUTBOX_COLUMNS[:5] == ("id", "aggregatetype", "aggregateid", "type", "payload")
    assert uuid.UUID(row.id).version == 5
    assert row.id == outbox_row(changes[2]).id != outbox_row(changes[1]).id
    assert (row.aggregatetype, row.aggregateid, row.type) == (
        "medinv.movement",
        "ledger",
        "medinv.movement.receipt",
    )
    assert change_from_json(json.loads(row.payload)) == changes[2]
    assert (row.sequence, row.hash, row.prev_hash) == (3, changes[2].hash, changes[1].hash)
    assert row.recorded_at == "2026-12-01T08:00:00+00:00"
    assert row.values() == tuple(getattr(row, c) for c in OUTBOX_COLUMNS)
    keyed = outbox_row(
        changes[0], aggregate_type="stock", aggregate_id=lambda c: c.movement.item.device_text
    )
    assert (keyed.aggregatetype, keyed.aggregateid) == ("stock", GTIN)


@pytest.mark.parametrize(
    "kw",
    [{"aggregate_type": " "}, {"aggregate_type": 3}, {"aggregate_id": lambda _: ""}],
)
def test_a_bad_outbox_key_is_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError, match="aggregate"):
        outbox_row(_ledger(1).changes()[0], **kw)  # type: ignore[arg-type]


def test_a_recorded_movement_is_the_envelope() -> None:
    change = _ledger(1).changes()[0]
    assert isinstance(change, RecordedMovement)
    assert (change.position, change.movement.id, change.prev_hash) == (1, "R-0", GENESIS_HASH)
