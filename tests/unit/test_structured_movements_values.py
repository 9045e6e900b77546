"""PartyRef and the MovementQuery filters: what they accept and what they refuse."""

from __future__ import annotations

import sqlite3

import pytest

from medinv.adapters.sqlite import register_sql_functions
from medinv.catalogue import BusinessReference, Party, PartyKind, PartyRef
from medinv.chain import MovementDecoder, movement_content
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery

ITEM = ItemKey("04006381333931", lot="L1")


def test_a_party_ref_is_a_kind_and_an_id() -> None:
    acme = Party(kind=PartyKind.SUPPLIER, id="ACME", name="Acme Medical", gln="0614141000012")
    ref = PartyRef.of(acme)
    assert (ref.kind, ref.id, str(ref)) == (PartyKind.SUPPLIER, "ACME", "SUPPLIER:ACME")
    assert str(ref) == acme.key
    assert PartyRef.coerce(acme) == PartyRef.coerce(ref) == PartyRef.coerce("supplier:ACME") == ref
    assert PartyRef.parse("CUSTOMER:a:b").id == "a:b"  # the first ':' ends the kind
    assert hash(ref) == hash(PartyRef(kind="SUPPLIER", id="ACME"))


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: PartyRef.parse("ACME"), "invalid party reference 'ACME': expected 'KIND:id'"),
        (lambda: PartyRef.parse(42), "invalid party reference 42"),  # type: ignore[arg-type]
        (lambda: PartyRef(kind="VENDOR", id="ACME"), "unknown party kind 'VENDOR'"),
        (lambda: PartyRef(kind=1, id="ACME"), "kind"),
        (lambda: PartyRef(kind="SUPPLIER", id=" "), "party id"),
        (lambda: PartyRef(kind="PATIENT", id="Jane Doe"), "invalid patient reference"),
        (lambda: PartyRef(kind="PATIENT", id="PATIENTX"), "holds no digit"),
        (lambda: PartyRef.of("SUPPLIER:ACME"), "expected a Party, not str"),  # type: ignore[arg-type]
        (lambda: PartyRef.coerce(3.5), "a party reference is a PartyRef"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_party_ref_is_refused_saying_what(make: object, says: str) -> None:
    with pytest.raises((InvalidValueError, TypeError), match=says):
        make()  # type: ignore[operator]


def test_query_filters_take_values_or_text() -> None:
    query = MovementQuery(counterparty="PATIENT:P-000001", business_reference="po:1")
    assert query.counterparty == PartyRef(kind="PATIENT", id="P-000001")
    assert query.business_reference == BusinessReference(type="po", id="1")
    party = Party(kind=PartyKind.DEPARTMENT, id="ICU", name="Intensive care")
    assert MovementQuery(counterparty=party).counterparty == PartyRef(kind="DEPARTMENT", id="ICU")
    with pytest.raises(InvalidValueError, match="a party reference is a PartyRef"):
        MovementQuery(counterparty=7)
    with pytest.raises(InvalidValueError, match="invalid business reference filter 7"):
        MovementQuery(business_reference=7)
    with pytest.raises(InvalidValueError, match="expected '<type>:<id>'"):
        MovementQuery(business_reference="po")


def test_matches_structure_compares_type_id_and_a_given_issuer() -> None:
    m = Movement.issue(
        "I-1", item=ITEM, quantity=1, source=Location.parse("H/A"),
        occurred_at="2026-11-23T09:00:00+01:00", actor="x", counterparty="CUSTOMER:C1",
        business_references=[BusinessReference(type="po", id="1", issuer_gln="0614141000012")],
    )  # fmt: skip
    assert MovementQuery().matches_structure(m)
    assert MovementQuery(business_reference="po:1").matches_structure(m)
    gln = BusinessReference(type="po", id="1", issuer_gln="0614141000012")
    other = BusinessReference(type="po", id="1", issuer_gln="4006381000017")
    assert MovementQuery(business_reference=gln).matches_structure(m)
    assert not MovementQuery(business_reference=other).matches_structure(m)
    assert not MovementQuery(business_reference="inv:1").matches_structure(m)
    assert not MovementQuery(counterparty="CUSTOMER:C2").matches_structure(m)


def test_sql_reports_read_the_new_fields_by_name() -> None:
    m = Movement.issue(
        "I-1", item=ITEM, quantity=3, source=Location.parse("H/A"),
        occurred_at="2026-11-23T09:00:00+01:00", actor="x", counterparty="DEPARTMENT:ICU",
        business_references=["requisition:RQ-1"],
    )  # fmt: skip
    plain = Movement.issue(
        "I-2", item=ITEM, quantity=1, source=Location.parse("H/A"),
        occurred_at="2026-11-23T09:00:00+01:00", actor="x",
    )  # fmt: skip
    db = sqlite3.connect(":memory:")
    register_sql_functions(db)
    sql = (
        "SELECT movement_field(?1, 'counterparty'), movement_field(?1, 'business_references'), "
        "movement_field(?1, 'quantity')"
    )
    assert db.execute(sql, [movement_content(m)]).fetchone() == (
        "DEPARTMENT:ICU",
        '[["requisition","RQ-1"]]',
        3,
    )
    assert db.execute(sql, [movement_content(plain)]).fetchone() == (None, None, 1)
    assert db.execute(sql, [movement_content(plain) + "\x00-"]).fetchone() == (None, None, None)


def test_a_stored_party_without_a_kind_is_not_a_movement() -> None:
    content = movement_content(
        Movement.issue(
            "I-1", item=ITEM, quantity=1, source=Location.parse("H/A"),
            occurred_at="2026-11-23T09:00:00+01:00", actor="x",
        )
    )  # fmt: skip
    with pytest.raises(ValueError, match="must be 'KIND:id'"):
        MovementDecoder().content(content + "\x00+ICU\x00-")
