from __future__ import annotations

from typing import Any

import pendulum
import pytest

from medinv.errors import InvalidIdentifierError, InvalidMovementError, InvalidQuantityError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.status import StockStatus

ITEM = ItemKey("04006381333931", lot="L1")
SERIAL = ItemKey("04006381333931", lot="L1", serial="S1")
A, B = Location.parse("Site/A"), Location.parse("Site/B")
AT = pendulum.datetime(2026, 11, 23, 10, tz="Europe/Paris")
AV, Q = StockStatus.AVAILABLE, StockStatus.QUARANTINE


def test_named_constructors_have_their_kind_and_deltas():
    common: dict[str, Any] = {"item": ITEM, "quantity": 5, "occurred_at": AT, "actor": "u1"}
    cases = [
        (Movement.receipt("m1", to=A, status=Q, expiry="2027-01-31", **common), [(A, Q, 5)]),
        (Movement.issue("m2", source=A, **common), [(A, AV, -5)]),
        (Movement.consumption("m3", source=A, reference="PAT-1", **common), [(A, AV, -5)]),
        (Movement.transfer("m4", source=A, to=B, **common), [(A, AV, -5), (B, AV, 5)]),
        (
            Movement.status_change("m5", at=A, from_status=Q, to_status=AV, **common),
            [(A, Q, -5), (A, AV, 5)],
        ),
        (Movement.return_("m6", to=B, **common), [(B, Q, 5)]),
        (Movement.scrap("m7", source=A, status=Q, **common), [(A, Q, -5)]),
    ]
    kinds = [m.kind for m, _ in cases]
    assert kinds == [
        MovementKind.RECEIPT,
        MovementKind.ISSUE,
        MovementKind.CONSUMPTION,
        MovementKind.TRANSFER,
        MovementKind.STATUS_CHANGE,
        MovementKind.RETURN,
        MovementKind.SCRAP,
    ]
    for movement, deltas in cases:
        assert list(movement.deltas()) == deltas
    assert cases[0][0].expiry == pendulum.date(2027, 1, 31)
    assert cases[1][0].is_issuing and cases[2][0].is_issuing and not cases[3][0].is_issuing


def test_adjustments_go_in_or_out():
    found = Movement.adjustment(
        "a1", item=ITEM, change=3, at=A, occurred_at=AT, actor="u", reason="COUNT"
    )
    lost = Movement.adjustment(
        "a2", item=ITEM, change=-2, at=A, occurred_at=AT, actor="u", reason="COUNT"
    )
    assert found.deltas() == ((A, AV, 3),)
    assert lost.deltas() == ((A, AV, -2),)
    with pytest.raises(InvalidMovementError, match="non-zero whole number"):
        Movement.adjustment("a3", item=ITEM, change=0, at=A, occurred_at=AT, actor="u", reason="x")
    with pytest.raises(InvalidMovementError, match="needs a reason"):
        Movement.adjustment("a4", item=ITEM, change=1, at=A, occurred_at=AT, actor="u", reason=" ")


def test_reversal_mirrors_its_original():
    original = Movement.transfer(
        "t1", item=ITEM, quantity=4, source=A, to=B, occurred_at=AT, actor="u"
    )
    reversal = Movement.reversal("t1-r", of=original, occurred_at=AT, actor="u", reason="typo")
    assert reversal.kind is MovementKind.REVERSAL and reversal.reverses == "t1"
    assert reversal.mirrors(original)
    assert not original.mirrors(original)
    assert reversal.deltas() == ((B, AV, -4), (A, AV, 4))


def test_occurred_on_is_the_local_date():
    late = pendulum.datetime(2026, 3, 31, 23, 30, tz="Europe/Paris")
    m = Movement.issue("i", item=ITEM, quantity=1, source=A, occurred_at=late, actor="u")
    assert m.occurred_on == pendulum.date(2026, 3, 31)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (
            {
                "kind": MovementKind.RECEIPT,
                "from_location": A,
                "from_status": AV,
                "to_location": B,
                "to_status": AV,
            },
            "destination only",
        ),
        ({"kind": MovementKind.ISSUE, "to_location": B, "to_status": AV}, "source only"),
        (
            {"kind": MovementKind.TRANSFER, "from_location": A, "from_status": AV},
            "needs a source and a destination",
        ),
        (
            {
                "kind": MovementKind.TRANSFER,
                "from_location": A,
                "from_status": AV,
                "to_location": A,
                "to_status": AV,
            },
            "must change location",
        ),
        (
            {
                "kind": MovementKind.TRANSFER,
                "from_location": A,
                "from_status": AV,
                "to_location": B,
                "to_status": Q,
            },
            "keeps the status",
        ),
        (
            {"kind": MovementKind.STATUS_CHANGE, "from_location": A, "from_status": AV},
            "location on both sides",
        ),
        (
            {
                "kind": MovementKind.STATUS_CHANGE,
                "from_location": A,
                "from_status": AV,
                "to_location": B,
                "to_status": Q,
            },
            "keeps the location",
        ),
        (
            {
                "kind": MovementKind.STATUS_CHANGE,
                "from_location": A,
                "from_status": AV,
                "to_location": A,
                "to_status": AV,
            },
            "must change the status",
        ),
        (
            {
                "kind": MovementKind.ADJUSTMENT,
                "reason": "r",
                "from_location": A,
                "from_status": AV,
                "to_location": B,
                "to_status": AV,
            },
            "in or out, not both",
        ),
        (
            {"kind": MovementKind.CONSUMPTION, "from_location": A, "from_status": AV},
            "patient or procedure",
        ),
        ({"kind": MovementKind.ISSUE, "from_location": A}, "go together"),
        ({"kind": MovementKind.RECEIPT, "to_status": AV}, "go together"),
        ({"kind": MovementKind.RECEIPT}, "source, a destination or both"),
        (
            {"kind": MovementKind.REVERSAL, "to_location": A, "to_status": AV},
            "'reverses' is required",
        ),
        (
            {"kind": MovementKind.RECEIPT, "to_location": A, "to_status": AV, "reverses": "x"},
            "'reverses' is required",
        ),
        (
            {
                "kind": MovementKind.RECEIPT,
                "to_location": A,
                "to_status": AV,
                "item": SERIAL,
                "quantity": 2,
            },
            "one unit at a time",
        ),
    ],
)
def test_shape_rules(fields, fragment):
    base: dict[str, Any] = {"id": "m", "item": ITEM, "quantity": 1, "occurred_at": AT, "actor": "u"}
    with pytest.raises(InvalidMovementError, match=fragment) as info:
        Movement(**(base | fields))
    assert info.value.movement_id == "m"


@pytest.mark.parametrize(
    ("field", "value", "error", "fragment"),
    [
        ("id", "", InvalidIdentifierError, "must not be blank"),
        ("id", None, InvalidIdentifierError, "is required"),
        ("id", "x" * 201, InvalidIdentifierError, "longer than 200"),
        ("actor", 7, InvalidIdentifierError, "expected text"),
        ("reason", "a\x00b", InvalidIdentifierError, "NUL"),
        ("quantity", 0, InvalidQuantityError, "at least 1"),
        ("quantity", 2.0, InvalidQuantityError, "whole number"),
    ],
)
def test_field_validation(field, value, error, fragment):
    base: dict[str, Any] = {
        "id": "m",
        "item": ITEM,
        "quantity": 1,
        "occurred_at": AT,
        "actor": "u",
        "to": A,
    }
    base[field] = value
    with pytest.raises(error, match=fragment):
        Movement.receipt(**base)


def test_hostile_text_is_kept_verbatim():
    text = '\'; DROP TABLE movements; -- "quoted" ünïcødé ✓ ' + "r" * 10_000
    m = Movement.receipt(
        "m'1;--",
        item=ITEM,
        quantity=1,
        to=A,
        occurred_at=AT,
        actor="ü",
        reason=text,
        reference=text,
    )
    assert m.reason == text and m.reference == text and m.id == "m'1;--"


def test_movements_are_values():
    one = Movement.issue("i", item=ITEM, quantity=1, source=A, occurred_at=AT, actor="u")
    two = Movement.issue(
        "i", item=ITEM, quantity=1, source=A, occurred_at=AT.in_timezone("UTC"), actor="u"
    )
    assert one == two and hash(one) == hash(two)
    assert one != Movement.issue("i", item=ITEM, quantity=2, source=A, occurred_at=AT, actor="u")


def test_stock_position_is_a_value():
    p = StockPosition(
        item=ITEM, location=A, status=AV, quantity=3, expiry=pendulum.date(2027, 1, 1)
    )
    assert p.received_at is None
    assert p == StockPosition(
        item=ITEM, location=A, status=AV, quantity=3, expiry=pendulum.date(2027, 1, 1)
    )


@pytest.mark.parametrize(
    ("actor", "reason"),
    [
        ("lea\u200b", "invisible"),
        ("p\u0430ul", "confusable scripts"),  # Cyrillic a inside a Latin name
        ("\u202eael", "bidi control"),
        ("ana\tben", "invisible"),
        ("   ", "blank"),
    ],
)
def test_a_movement_refuses_an_actor_that_is_not_a_readable_name(actor: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=rf"invalid actor .*{reason}"):
        Movement.receipt(
            "R-actor",
            item=ItemKey("04006381333931", lot="L1"),
            quantity=1,
            to=Location.parse("CHU/A1"),
            occurred_at="2026-11-23T09:00:00+01:00",
            actor=actor,
        )


def test_a_movement_keeps_the_actor_as_given() -> None:
    moved = Movement.receipt(
        "R-actor",
        item=ItemKey("04006381333931", lot="L1"),
        quantity=1,
        to=Location.parse("CHU/A1"),
        occurred_at="2026-11-23T09:00:00+01:00",
        actor="  Léa M.  ",
    )
    assert moved.actor == "  Léa M.  "
