"""Counterparty and business references through the one encoder and decoder (Hypothesis)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.catalogue import BusinessReference, PartyRef
from medinv.chain import (
    MovementDecoder,
    content_differences,
    content_link_keys,
    link_keys,
    movement_content,
    movement_fields,
    structured_fields,
)
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.testing import strategies as mst

ITEM = ItemKey("04006381333931", lot="L1")
AT = "2026-11-23T09:00:00+01:00"


def issue(**kw: object) -> Movement:
    return Movement.issue(
        "I-1", item=ITEM, quantity=1, source=Location.parse("H/A"), occurred_at=AT, actor="x",
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@settings(max_examples=300)
@given(st.none() | mst.party_refs(), mst.movement_business_references())
def test_content_and_fields_round_trip(
    party: PartyRef | None, references: list[BusinessReference]
) -> None:
    m = issue(counterparty=party, business_references=references)
    decoder = MovementDecoder()
    assert decoder.content(movement_content(m)) == m
    assert decoder.fields(*movement_fields(m), *structured_fields(m)) == m
    fields = movement_content(m).split("\x00")
    assert len(fields) == (16 if party is None and not references else 18)
    assert content_link_keys(movement_content(m)) == link_keys(m)
    assert len(link_keys(m)) == (party is not None) + len({(r.type, r.id) for r in references})


@given(mst.movement_business_references(), st.randoms())
def test_the_same_references_in_any_order_are_the_same_movement(
    references: list[BusinessReference], shuffler: random.Random
) -> None:
    shuffled = list(references)
    shuffler.shuffle(shuffled)
    a, b = issue(business_references=references), issue(business_references=shuffled + shuffled)
    assert a == b and movement_content(a) == movement_content(b)
    assert list(a.business_references) == sorted(
        set(references), key=lambda r: (r.type.value, r.id, r.issuer_gln or "")
    )


def test_a_movement_without_them_encodes_as_before() -> None:
    """Sixteen fields, as the previous release hashed them."""
    m = issue()
    assert movement_content(m) == (
        "I-1\x00ISSUE\x0004006381333931\x00+L1\x00-\x001\x00"
        "2026-11-23T09:00:00+01:00\x00x\x00+H/A\x00+AVAILABLE\x00-\x00-\x00-\x00-\x00-\x00-"
    )
    assert structured_fields(m) == (None, None)


def test_differences_name_the_new_fields() -> None:
    plain = issue()
    party = issue(counterparty="DEPARTMENT:ICU")
    both = issue(counterparty="DEPARTMENT:ICU", business_references=["po:1"])
    assert content_differences(plain, party) == ("counterparty",)
    assert content_differences(party, both) == ("business_references",)
    assert content_differences(both, plain) == ("counterparty", "business_references")


@pytest.mark.parametrize(
    "tail",
    [
        "\x00-\x00-",  # both absent: never written so
        "\x00+PATIENT:Jane Doe\x00-",  # not a pseudonym
        "\x00+DEPT:ICU\x00-",  # unknown kind
        "\x00+nokind\x00-",
        '\x00-\x00+[["po","1"],["desadv","2"]]',  # not in canonical order
        '\x00-\x00+[["po", "1"]]',  # not compact
        "\x00-\x00+[]",
        '\x00-\x00+[["po"]]',
        '\x00-\x00+{"po":"1"}',
        '\x00-\x00+[["nope","1"]]',
        "\x00-\x00+not json",
        "\x00-",  # seventeen fields
    ],
)
def test_stored_content_no_movement_encodes_to_is_refused(tail: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (InvalidValueError is a ValueError too)
        MovementDecoder().content(movement_content(issue()) + tail)


def test_wrong_values_are_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidValueError, match="patient reference"):
        issue(counterparty="PATIENT:Jane Doe")
    with pytest.raises(InvalidValueError, match="a party reference is a PartyRef"):
        issue(counterparty=42)
    with pytest.raises(InvalidValueError, match="business references are a sequence"):
        issue(business_references="po:1")
    with pytest.raises(InvalidValueError, match="a business reference is"):
        issue(business_references=[42])
    with pytest.raises(InvalidValueError, match="unknown business transaction type"):
        issue(business_references=["surgery:1"])


def test_a_consumption_names_its_patient_or_procedure_in_any_of_three_ways() -> None:
    common = {"item": ITEM, "quantity": 1, "source": Location.parse("H/A"), "occurred_at": AT}
    for way in (
        {"reference": "OP-1"},
        {"counterparty": "PATIENT:P-000001"},
        {"business_references": ["procedure:OP-1"]},
    ):
        Movement.consumption("C-1", actor="x", **common, **way)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="needs the patient or procedure"):
        Movement.consumption("C-1", actor="x", **common)  # type: ignore[arg-type]
