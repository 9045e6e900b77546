"""A reversal is built from, and checked against, one definition of the mirror image."""

from __future__ import annotations

from typing import TypedDict

import pendulum
from hypothesis import given
from hypothesis import strategies as st

from medinv.identifiers import ItemKey
from medinv.movements import Movement, MovementKind
from medinv.testing.strategies import item_keys, locations, statuses

AT = pendulum.datetime(2026, 11, 23, 9, tz="UTC")


class _Common(TypedDict):
    item: ItemKey
    occurred_at: pendulum.DateTime
    actor: str


@st.composite
def movements(draw: st.DrawFn) -> Movement:
    item = draw(item_keys())
    quantity = 1 if item.is_serialised else draw(st.integers(1, 10**6))
    here, there = draw(locations()), draw(locations())
    status, other = draw(statuses()), draw(statuses())
    kind = draw(st.sampled_from(["receipt", "issue", "transfer", "status", "adjust"]))
    common: _Common = {"item": item, "occurred_at": AT, "actor": "a"}
    if kind == "receipt":
        return Movement.receipt("m", quantity=quantity, to=here, status=status, **common)
    if kind == "issue":
        return Movement.issue("m", quantity=quantity, source=here, **common)
    if kind == "transfer" and here != there:
        return Movement.transfer(
            "m", quantity=quantity, source=here, to=there, status=status, **common
        )
    if kind == "status" and status is not other:
        return Movement.status_change(
            "m", quantity=quantity, at=here, from_status=status, to_status=other, **common
        )
    change = quantity * draw(st.sampled_from([1, -1]))
    return Movement.adjustment("m", change=change, at=here, status=status, reason="r", **common)


@given(movements())
def test_a_reversal_mirrors_its_original_and_undoes_every_delta(original: Movement) -> None:
    reversal = Movement.reversal("r", of=original, occurred_at=AT, actor="b")
    assert reversal.kind is MovementKind.REVERSAL
    assert reversal.mirrors(original)
    assert not original.mirrors(original)
    undone = {(loc, status): qty for loc, status, qty in original.deltas()}
    for loc, status, qty in reversal.deltas():
        assert undone.pop((loc, status)) == -qty
    assert not undone


@given(movements())
def test_an_adjustment_has_exactly_one_side(movement: Movement) -> None:
    if movement.kind is MovementKind.ADJUSTMENT:
        assert (movement.from_location is None) != (movement.to_location is None)
        assert len(movement.deltas()) == 1
