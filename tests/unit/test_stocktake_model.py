from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pendulum
import pytest

from medinv.errors import (
    ApprovalRefusedError,
    CountLineError,
    FourEyesError,
    InvalidIdentifierError,
    InvalidQuantityError,
    InvalidValueError,
    StocktakeStateError,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    PlannedAdjustment,
    Stocktake,
    StocktakeScope,
    StocktakeState,
    Tolerance,
    TolerancePolicy,
    VarianceReport,
    effective_lines,
    line_rounds,
    variance_report,
)

GLOVES = ItemKey("04006381333931", lot="L1")
MASKS = ItemKey("96385074")
A1, A2 = Location.parse("Main/Store/A1"), Location.parse("Main/Store/A2")
WARD = Location.parse("Main/Ward")
AV = StockStatus.AVAILABLE


def at(hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")


def line(
    line_id: str,
    *,
    counter: str = "ana",
    item: ItemKey = GLOVES,
    location: Location = A1,
    quantity: int = 5,
    when: pendulum.DateTime | None = None,
    **kw: Any,
) -> CountLine:
    return CountLine(
        id=line_id,
        counter=counter,
        device=f"dev-{counter}",
        counted_at=when or at(10),
        location=location,
        item=item,
        quantity=quantity,
        **kw,
    )


def counting(**kw: Any) -> Stocktake:
    st = Stocktake.plan(
        "ST-1", scope=StocktakeScope(["Main/Store"]), created_by="lea", created_at=at(8), **kw
    )
    return st.begin(start_position=4, at=at(9))


# --------------------------------------------------------------------------- scope & tolerance


def test_scope_covers_subtrees_and_products():
    scope = StocktakeScope([Location.parse("Main/Store"), "Main/Ward"], products=["96385074"])
    assert scope.locations == (Location.parse("Main/Store"), WARD)
    assert scope.covers(MASKS, A1) and scope.covers(MASKS, WARD.child("Cab"))
    assert not scope.covers(GLOVES, A1)
    assert not scope.covers(MASKS, Location.parse("Other"))
    assert StocktakeScope("Main").covers(GLOVES, A1)


@pytest.mark.parametrize("bad", [[], 5, [3]])
def test_scope_needs_locations(bad):
    with pytest.raises(InvalidValueError):
        StocktakeScope(bad)


def test_scope_products_must_be_gtins():
    with pytest.raises(InvalidValueError):
        StocktakeScope(["Main"], products=5)
    assert StocktakeScope(["Main"], products="96385074").products[0].value == "00000096385074"


def test_tolerance_absolute_or_percent():
    t = Tolerance(absolute=2, percent="10")
    assert t.allows(difference=-2, expected=0)
    assert t.allows(difference=10, expected=100)
    assert not t.allows(difference=11, expected=100)
    assert not Tolerance().allows(difference=1, expected=1000)
    assert Tolerance().allows(difference=0, expected=0)
    assert Tolerance(percent=Decimal("0.5")).allows(difference=1, expected=200)


@pytest.mark.parametrize("bad", ["x", -1, float("nan"), True])
def test_tolerance_percent_is_checked(bad):
    with pytest.raises(InvalidValueError):
        Tolerance(percent=bad)


def test_tolerance_absolute_is_checked():
    with pytest.raises(InvalidQuantityError):
        Tolerance(absolute=-1)


def test_tolerance_policy_per_product():
    policy = TolerancePolicy(Tolerance(absolute=1), {"96385074": Tolerance(absolute=9)})
    assert policy.for_item(MASKS).absolute == 9
    assert policy.for_item(GLOVES).absolute == 1
    with pytest.raises(InvalidValueError, match="must be a Tolerance"):
        TolerancePolicy(Tolerance(), {"96385074": 3})
    same = TolerancePolicy(Tolerance(absolute=1), {"00000096385074": Tolerance(absolute=9)})
    assert same == policy and hash(same) == hash(policy)
    assert hash(counting(tolerances=policy)) == hash(counting(tolerances=same))


# --------------------------------------------------------------------------- lines


def test_count_line_validation():
    with pytest.raises(InvalidQuantityError):
        line("x", quantity=-1)
    with pytest.raises(InvalidQuantityError, match="serial is 0 or 1"):
        line("x", item=ItemKey("04006381333931", serial="S1"), quantity=2)
    with pytest.raises(InvalidValueError):
        line("", quantity=1)
    with pytest.raises(InvalidValueError):
        line("x", counter=" ")
    with pytest.raises(InvalidValueError):
        line("x" * 201)
    with pytest.raises(InvalidValueError):
        line("x\x00y")
    with pytest.raises(InvalidValueError):
        line("x", recount_of=7)
    with pytest.raises(InvalidValueError):
        line("x", when=pendulum.naive(2026, 11, 23, 10))
    assert line("x", expiry="2027-01-31").expiry == pendulum.date(2027, 1, 31)


def test_rounds_and_supersession():
    lines = [
        line("a", counter="ana", quantity=5),
        line("b", counter="bob", quantity=2),
        line("r1", counter="cyd", quantity=8, recount_of="a"),
        line("r2", counter="dan", quantity=9, recount_of="r1"),
        line("orphan", counter="eve", location=A2, recount_of="gone"),
    ]
    assert line_rounds(lines) == {"a": 0, "b": 0, "r1": 1, "r2": 2, "orphan": 1}
    eff = effective_lines(lines)
    assert eff[(GLOVES, A1, AV)] == (2, [lines[3]])
    assert eff[(GLOVES, A2, AV)] == (1, [lines[4]])
    assert effective_lines(lines[:2])[(GLOVES, A1, AV)] == (0, lines[:2])


def test_check_lines_accepts_and_skips_resends():
    st = counting()
    first = [line("a"), line("b", location=A2)]
    assert st.check_lines([], first) == first
    assert st.check_lines(first, [first[0], line("c")]) == [line("c")]


def test_check_lines_refusals():
    st = counting()
    stored = [line("a")]
    with pytest.raises(CountLineError, match="already used"):
        st.check_lines(stored, [line("a", quantity=6)])
    with pytest.raises(CountLineError, match="outside the stocktake's scope"):
        st.check_lines(stored, [line("w", location=WARD)])
    with pytest.raises(CountLineError, match="does not exist"):
        st.check_lines(stored, [line("r", counter="bob", recount_of="zzz")])
    with pytest.raises(CountLineError, match="not the same stock"):
        st.check_lines(stored, [line("r", counter="bob", location=A2, recount_of="a")])
    with pytest.raises(CountLineError, match="different counter than ana"):
        st.check_lines(stored, [line("r", counter="ana", recount_of="a")])
    ok = st.check_lines(stored, [line("r", counter="bob", recount_of="a")])
    assert [x.id for x in ok] == ["r"]
    # a second recount must be by someone other than the first recounter, ana may come back
    stored += ok
    with pytest.raises(CountLineError, match="bob"):
        st.check_lines(stored, [line("r2", counter="bob", recount_of="r")])
    assert st.check_lines(stored, [line("r2", counter="ana", recount_of="r")])


def test_lines_only_while_counting_and_recounts_in_review():
    planned = Stocktake.plan("ST-1", scope=StocktakeScope("Main"), created_by="l", created_at=at(8))
    with pytest.raises(StocktakeStateError, match="cannot add count lines"):
        planned.check_lines([], [line("a")])
    review = counting().close_counting(at=at(12))
    with pytest.raises(CountLineError, match="only recount lines"):
        review.check_lines([line("a")], [line("b")])
    assert review.check_lines([line("a")], [line("b", counter="bob", recount_of="a")])


# --------------------------------------------------------------------------- lifecycle


def test_happy_lifecycle_bumps_versions():
    st = counting()
    assert (st.state, st.version, st.start_position, st.started_at) == (
        StocktakeState.COUNTING,
        2,
        4,
        at(9),
    )
    st = st.close_counting(at=at(12))
    assert st.state is StocktakeState.REVIEW and st.closed_at == at(12)
    st = st.reopen()
    assert st.state is StocktakeState.COUNTING and st.closed_at is None
    st = st.close_counting(at=at(12, 30))
    report = variance_report(st, [line("a", quantity=5)], start={(GLOVES, A1, AV): 5})
    st = st.approve(report, approver="max", at=at(13))
    assert st.state is StocktakeState.APPROVED and st.adjustments == ()
    st = st.mark_posted(at=at(14))
    assert (st.state, st.version, st.posted_at) == (StocktakeState.POSTED, 7, at(14))


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s: s.begin(start_position=1, at=at(9)), "begin counting"),
        (lambda s: s.close_counting(at=at(9)), "close counting"),
        (lambda s: s.reopen(), "reopen"),
        (lambda s: s.mark_posted(at=at(9)), "mark posted"),
        (lambda s: s.cancel(by="x", reason="y"), "cancel"),
        (lambda s: s.movements(), "build its adjustments"),
    ],
)
def test_transitions_refused_after_cancel(action, message):
    cancelled = counting().cancel(by="lea", reason="fire drill")
    assert cancelled.state is StocktakeState.CANCELLED and cancelled.cancel_reason == "fire drill"
    with pytest.raises(StocktakeStateError, match=message) as info:
        action(cancelled)
    assert info.value.state == "CANCELLED" and info.value.stocktake_id == "ST-1"


def test_approve_only_in_review():
    st = counting()
    report = variance_report(st, [], start={}, closed_at=at(12))
    with pytest.raises(StocktakeStateError, match="cannot approve"):
        st.approve(report, approver="max", at=at(13))


# --------------------------------------------------------------------------- four eyes


def _review_with(
    lines: list[CountLine], start: dict[tuple[ItemKey, Location, StockStatus], int]
) -> tuple[Stocktake, VarianceReport]:
    st = counting(tolerances=TolerancePolicy(Tolerance(absolute=5))).close_counting(at=at(12))
    return st, variance_report(st, lines, start=start)


def test_creator_may_not_approve():
    st, report = _review_with([line("a", quantity=4)], {(GLOVES, A1, AV): 5})
    with pytest.raises(FourEyesError, match="created the stocktake") as info:
        st.approve(report, approver="lea", at=at(13), default_reason="COUNT")
    assert info.value.approver == "lea"


def test_counter_of_an_approved_line_may_not_approve():
    lines = [line("a", quantity=1), line("b", counter="bob", location=A2, quantity=4)]
    st, report = _review_with(lines, {(GLOVES, A1, AV): 1, (GLOVES, A2, AV): 5})
    with pytest.raises(FourEyesError, match="counted lines"):
        st.approve(report, approver="bob", at=at(13), default_reason="COUNT")
    approved = st.approve(report, approver="max", at=at(13), default_reason="COUNT")
    assert approved.approved_by == "max"


def test_superseded_counter_may_approve():
    lines = [
        line("a", counter="ana", quantity=1),
        line("r", counter="bob", quantity=5, recount_of="a"),
    ]
    st, report = _review_with(lines, {(GLOVES, A1, AV): 5})
    assert report.counters == {"bob"}
    assert st.approve(report, approver="ana", at=at(13)).state is StocktakeState.APPROVED


def test_pending_recounts_block_approval():
    st = counting().close_counting(at=at(12))
    report = variance_report(st, [line("a", quantity=3)], start={(GLOVES, A1, AV): 5})
    with pytest.raises(ApprovalRefusedError, match="need a recount") as info:
        st.approve(report, approver="max", at=at(13), default_reason="COUNT")
    assert info.value.keys == ((GLOVES, A1, AV),)
    assert "Main/Store/A1 [AVAILABLE]" in str(info.value)


def test_every_posted_variance_needs_a_reason():
    lines = [line("a", quantity=4), line("b", location=A2, quantity=2)]
    st, report = _review_with(lines, {(GLOVES, A1, AV): 5, (GLOVES, A2, AV): 1})
    with pytest.raises(ApprovalRefusedError, match="reason code") as info:
        st.approve(report, approver="max", at=at(13), reasons={(GLOVES, A1, AV): "DAMAGE"})
    assert info.value.keys == ((GLOVES, A2, AV),)
    approved = st.approve(
        report,
        approver="max",
        at=at(13),
        reasons={(GLOVES, A1, AV): "DAMAGE"},
        default_reason="COUNT",
    )
    assert [(a.location, a.change, a.reason) for a in approved.adjustments] == [
        (A1, -1, "DAMAGE"),
        (A2, 1, "COUNT"),
    ]


def test_report_of_another_stocktake_is_refused():
    st, report = _review_with([], {})
    other = attrs.evolve(report, stocktake_id="ST-2")
    with pytest.raises(ApprovalRefusedError, match="ST-2"):
        st.approve(other, approver="max", at=at(13))


# --------------------------------------------------------------------------- posting


def test_adjustment_movements_are_deterministic():
    lines = [line("a", quantity=4, when=at(10, 15))]
    st, report = _review_with(lines, {(GLOVES, A1, AV): 5})
    approved = st.approve(report, approver="max", at=at(13), default_reason="COUNT")
    (movement,) = approved.movements()
    assert movement.kind is MovementKind.ADJUSTMENT
    assert movement.deltas() == ((A1, AV, -1),)
    assert (movement.reference, movement.actor, movement.reason) == ("ST-1", "max", "COUNT")
    assert movement.occurred_at == at(10, 15)
    assert movement.id.startswith("ST-1/adj/")
    again = st.approve(report, approver="max", at=at(13, 5), default_reason="COUNT")
    assert again.movements() == approved.movements()
    assert approved.mark_posted(at=at(14)).movements() == approved.movements()


def test_planned_adjustment_ids_differ_per_key():
    common: dict[str, Any] = {"change": 1, "reason": "COUNT", "counted_at": at(10)}
    a = PlannedAdjustment(item=GLOVES, location=A1, status=AV, **common)
    b = PlannedAdjustment(item=GLOVES, location=A2, status=AV, **common)
    c = PlannedAdjustment(item=GLOVES, location=A1, status=StockStatus.QUARANTINE, **common)
    assert len({a.movement_id("S"), b.movement_id("S"), c.movement_id("S")}) == 3
    assert a.key == (GLOVES, A1, AV)


def test_stocktake_text_refuses_a_lone_surrogate_like_a_movement_does() -> None:
    with pytest.raises(InvalidIdentifierError, match=r"count line id .*lone surrogate"):
        line("L-\udc80")
