"""Device events: values, their JSON form, and clear errors by line and field."""

from __future__ import annotations

import json
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.errors import InvalidValueError
from medinv.ledger import Ledger
from medinv.movements import MovementKind
from medinv.status import StockStatus
from medinv.sync import (
    DeviceEvent,
    EventKind,
    SyncEventError,
    SyncInbox,
    SyncPolicy,
    event_from_json,
    event_to_json,
    movement_id_of,
    parse_event_lines,
)
from medinv.sync._events import to_movement
from medinv.testing.sync_contract import device_event

BASE: dict[str, Any] = {
    "device_id": "scanner-1",
    "seq": 1,
    "event_id": "e-1",
    "captured_at": "2026-12-01T09:00:00+01:00",
    "known_position": 4,
    "kind": "consumption",
    "di": "04006381333931",
    "lot": "L1",
    "quantity": 2,
    "location": "H/Ward",
    "actor": "lea",
    "reference": "procedure-9",
}


def _line(**changes: Any) -> str:
    data = {**BASE, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not None})


def test_a_line_reads_into_an_event_and_back() -> None:
    (event,) = parse_event_lines([_line()])
    assert (event.device_id, event.seq, event.kind, event.quantity) == (
        "scanner-1",
        1,
        EventKind.CONSUMPTION,
        2,
    )
    assert event.captured_at == pendulum.datetime(2026, 12, 1, 8, tz="UTC")
    assert event_from_json(event_to_json(event)) == event
    assert event.movement_id == movement_id_of("e-1") == "sync:e-1"


def test_a_scan_gives_the_item_and_its_expiry() -> None:
    scan = "]d2010400638133393117270630" + "10L7\x1d21S9"
    (event,) = parse_event_lines(
        [_line(di=None, lot=None, scan=scan, kind="receipt", reference=None, quantity=1)]
    )
    assert (str(event.item.lot), str(event.item.serial)) == ("L7", "S9")
    assert event.expiry == pendulum.date(2027, 6, 30)
    movement = to_movement(event)
    assert (movement.kind, movement.expiry) == (MovementKind.RECEIPT, pendulum.date(2027, 6, 30))


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"seq": 0}, "seq", "at least 1"),
        ({"seq": "3"}, "seq", "whole number"),
        ({"event_id": None}, "event_id", "required"),
        ({"event_id": " e"}, "event_id", "white space"),
        ({"captured_at": "2026-12-01T09:00:00"}, "captured_at", "time zone"),
        ({"known_position": -1}, "known_position", "at least 0"),
        ({"kind": "theft"}, "kind", "unknown value"),
        ({"quantity": 0}, "quantity", "from 1"),
        ({"location": ""}, "location", "location"),
        ({"location": 7}, "location", "location path"),
        ({"di": "123"}, "di", "GTIN"),
        ({"di": None}, "di", "required"),
        ({"scan": "]d2garbage"}, "di", "not both"),
        ({"di": None, "scan": "]d2garbage"}, "scan", "Application Identifier"),
        ({"di": None, "scan": 5}, "scan", "scanned text"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"to_location": "H/Store"}, "to_location", "transfers only"),
        ({"kind": "transfer"}, "to_location", "required"),
        ({"kind": "status_change"}, "to_status", "required"),
        ({"to_status": "HOLD"}, "to_status", "status changes only"),
        ({"status": "HOLD"}, "status", "receipts and status changes"),
        ({"status": "LOST", "kind": "receipt"}, "status", "unknown value"),
        ({"expiry": "30/06/2027"}, "expiry", "ISO date"),
        ({"actor": "   "}, "actor", "blank"),
    ],
)
def test_a_bad_field_is_named_with_its_line(changes: dict[str, Any], field: str, says: str) -> None:
    lines = ["", _line(event_id="ok"), _line(**changes)]
    with pytest.raises(SyncEventError, match=says) as caught:
        list(parse_event_lines(lines))
    assert (caught.value.line, caught.value.field) == (3, field)
    assert f"line 3, field {field!r}" in str(caught.value)
    assert isinstance(caught.value, InvalidValueError)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "7"])
def test_a_line_that_is_no_json_object_is_named(text: str) -> None:
    with pytest.raises(SyncEventError, match="line 1") as caught:
        list(parse_event_lines([text]))
    assert caught.value.field is None


def test_every_kind_books_its_movement() -> None:
    kinds: dict[EventKind, tuple[dict[str, Any], MovementKind]] = {
        EventKind.RECEIPT: ({"status": StockStatus.QUARANTINE}, MovementKind.RECEIPT),
        EventKind.ISSUE: ({}, MovementKind.ISSUE),
        EventKind.CONSUMPTION: ({}, MovementKind.CONSUMPTION),
        EventKind.TRANSFER: (
            {"to_location": device_event("d", 1).location.child("Bin")},
            MovementKind.TRANSFER,
        ),
        EventKind.STATUS_CHANGE: ({"to_status": StockStatus.HOLD}, MovementKind.STATUS_CHANGE),
    }
    for kind, (fields, movement_kind) in kinds.items():
        event = device_event("d", 1, kind, quantity=3, **fields)
        movement = to_movement(event, 2)
        assert (movement.kind, movement.quantity, movement.id) == (movement_kind, 2, "sync:d-1")
        assert event_from_json(event_to_json(event)) == event
    with pytest.raises(InvalidValueError, match="count"):
        to_movement(device_event("d", 1, EventKind.COUNT))


@given(
    seq=st.integers(1, 2**40),
    known=st.integers(0, 2**40),
    quantity=st.integers(1, 2**63 - 1),
    event_id=st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=60
    ).filter(lambda s: s.strip() == s and s.strip()),
)
def test_the_json_form_round_trips(seq: int, known: int, quantity: int, event_id: str) -> None:
    event = device_event("d", seq, event_id=event_id, known_position=known, quantity=quantity)
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event


def test_the_inbox_refuses_what_is_not_an_event_or_a_policy() -> None:
    ledger = Ledger(MemoryStore())
    with pytest.raises(InvalidValueError, match="needs a Ledger"):
        SyncInbox(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="SyncPolicy"):
        SyncInbox(ledger, policy=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="clock"):
        SyncInbox(ledger, clock=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="negative"):
        SyncPolicy(hold_max=pendulum.duration(hours=-1))
    with pytest.raises(InvalidValueError, match="timedelta"):
        SyncPolicy(max_skew=5)
    with pytest.raises(InvalidValueError, match="DeviceEvents"):
        SyncInbox(ledger).ingest([BASE])  # type: ignore[list-item]


def test_a_device_event_refuses_a_bad_value_directly() -> None:
    with pytest.raises(SyncEventError, match="quantity"):
        DeviceEvent(**{**_fields(), "quantity": True})
    ok = DeviceEvent(**{**_fields(), "kind": EventKind.COUNT, "quantity": 0})
    assert ok.quantity == 0


def _fields() -> dict[str, Any]:
    event = device_event("d", 1)
    return {
        "device_id": event.device_id,
        "seq": 1,
        "event_id": "x",
        "captured_at": event.captured_at,
        "known_position": 0,
        "kind": EventKind.ISSUE,
        "item": event.item,
        "quantity": 1,
        "location": event.location,
        "actor": "lea",
    }
