"""Scenario tests of time-aware expectations and the variance report (the rules page, "Stocktake")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pendulum
import pytest

from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    CountTiming,
    Stocktake,
    StocktakeScope,
    TimedMovement,
    Tolerance,
    TolerancePolicy,
    VarianceKind,
    expected_quantities,
    variance_report,
)

GLOVES = ItemKey("04006381333931", lot="L1")
MASKS = ItemKey("96385074")
PROBE = ItemKey("04006381333931", lot="L1", serial="SN-1")
A1, A2 = Location.parse("Main/Store/A1"), Location.parse("Main/Store/A2")
OUT = Location.parse("Other/X")
AV, Q = StockStatus.AVAILABLE, StockStatus.QUARANTINE


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
        device="d1",
        counted_at=when or at(10),
        location=location,
        item=item,
        quantity=quantity,
        **kw,
    )


def review(tolerance: Tolerance | None = None, **kw: Any) -> Stocktake:
    st = Stocktake.plan(
        "ST-1",
        scope=StocktakeScope(["Main/Store"]),
        created_by="lea",
        created_at=at(8),
        tolerances=TolerancePolicy(tolerance or Tolerance()),
        **kw,
    )
    return st.begin(start_position=10, at=at(9)).close_counting(at=at(12))


def issue(
    n: int,
    when: pendulum.DateTime,
    quantity: int = 2,
    item: ItemKey = GLOVES,
    source: Location = A1,
) -> Movement:
    return Movement.issue(
        f"m{n}", item=item, quantity=quantity, source=source, occurred_at=when, actor="ward"
    )


def timed(movement: Movement, recorded: pendulum.DateTime | None = None) -> TimedMovement:
    return TimedMovement(movement, recorded or movement.occurred_at)


# --------------------------------------------------------------------------- §5.2 timing


def test_an_issue_between_start_and_count_time_is_no_variance():
    # Book 10 at the start point; 2 issued at 10:00; the counter finds 8 at 10:30.
    report = variance_report(
        review(),
        [line("c1", quantity=8, when=at(10, 30))],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(10)))],
    )
    entry = report.entry(GLOVES, A1)
    assert (entry.kind, entry.expected, entry.counted) == (VarianceKind.MATCH, 8, 8)
    assert report.variances == ()


def test_an_issue_after_the_count_time_is_a_variance():
    # Counted 8 at 10:00 (2 had gone unrecorded); the issue of 2 is posted at 10:30.
    report = variance_report(
        review(),
        [line("c1", quantity=8, when=at(10))],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(10, 30)))],
    )
    entry = report.entry(GLOVES, A1)
    assert (entry.kind, entry.expected, entry.counted, entry.difference) == (
        VarianceKind.SHORTAGE,
        10,
        8,
        -2,
    )
    assert entry.requires_recount and not entry.within_tolerance


def test_an_issue_after_the_count_does_not_disturb_a_correct_count():
    report = variance_report(
        review(),
        [line("c1", quantity=10, when=at(10))],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(10, 30)))],
    )
    assert report.entry(GLOVES, A1).kind is VarianceKind.MATCH


def test_each_line_has_its_own_count_time():
    movements = [timed(issue(1, at(10))), timed(issue(2, at(11), item=MASKS, source=A2))]
    report = variance_report(
        review(),
        [
            line("c1", quantity=8, when=at(10, 30)),  # after the gloves issue
            line("c2", item=MASKS, location=A2, quantity=5, when=at(10, 45)),  # before masks'
        ],
        start={(GLOVES, A1, AV): 10, (MASKS, A2, AV): 5},
        movements=movements,
    )
    assert report.variances == ()


def test_a_movement_at_the_count_instant_counts_as_before():
    report = variance_report(
        review(),
        [line("c1", quantity=8, when=at(10))],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(10)))],
    )
    assert report.entry(GLOVES, A1).kind is VarianceKind.MATCH


def test_late_recorded_movement_placed_by_when_it_happened():
    # Issued at 10:00 on an offline scanner, synced at 11:00; counted 8 at 10:30.
    movements = [timed(issue(1, at(10)), recorded=at(11))]
    args: dict[str, Any] = {"start": {(GLOVES, A1, AV): 10}, "movements": movements}
    lines = [line("c1", quantity=8, when=at(10, 30))]
    by_occurrence = variance_report(review(), lines, **args)
    assert by_occurrence.entry(GLOVES, A1).kind is VarianceKind.MATCH
    by_record = variance_report(review(), lines, timing=CountTiming.RECORDED_AT, **args)
    assert by_record.entry(GLOVES, A1).difference == -2


def test_transfer_during_count_between_counted_bins():
    # 4 move A1 -> A2 at 10:15. A1 counted before (10), A2 after (10:30): both match.
    move = Movement.transfer(
        "t1", item=GLOVES, quantity=4, source=A1, to=A2, occurred_at=at(10, 15), actor="x"
    )
    report = variance_report(
        review(),
        [
            line("c1", quantity=10, when=at(10)),
            line("c2", location=A2, quantity=4, when=at(10, 30)),
        ],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(move)],
    )
    assert report.variances == ()
    assert report.entry(GLOVES, A2).expected == 4


def test_expected_quantities_scope_and_closed_at():
    receipt_out = Movement.receipt(
        "r1", item=GLOVES, quantity=3, to=OUT, occurred_at=at(10), actor="x"
    )
    receipt_in = Movement.receipt(
        "r2", item=MASKS, quantity=3, to=A2, occurred_at=at(11), actor="x"
    )
    late = Movement.receipt("r3", item=MASKS, quantity=1, to=A2, occurred_at=at(13), actor="x")
    result = expected_quantities(
        {(GLOVES, A1, AV): 10, (GLOVES, OUT, AV): 1},
        [timed(receipt_out), timed(receipt_in), timed(late)],
        {},
        closed_at=at(12),
        scope=StocktakeScope(["Main/Store"]),
    )
    assert result == {(GLOVES, A1, AV): 10, (MASKS, A2, AV): 3}
    everything = expected_quantities(
        {(GLOVES, OUT, AV): 1}, [timed(receipt_out)], {(GLOVES, OUT, AV): at(9)}, closed_at=at(12)
    )
    assert everything == {(GLOVES, OUT, AV): 1}


def test_booked_keys_in_bins_nobody_counted_are_not_counted_not_zero():
    report = variance_report(
        review(),
        [],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(11)))],
    )
    entry = report.entry(GLOVES, A1)
    assert (entry.kind, entry.expected, entry.counted, entry.counted_at) == (
        VarianceKind.NOT_COUNTED,
        8,
        0,
        at(12),
    )
    assert entry.recount_round == -1 and entry.line_ids == () and not entry.requires_recount
    assert entry.difference == 0 and report.variances == () and report.adjustable == ()
    assert report.not_counted == (entry,)


def test_uncounted_keys_of_a_counted_bin_are_shortages_at_the_bins_count_time():
    report = variance_report(
        review(),
        [line("c1", item=MASKS, quantity=0, when=at(10))],
        start={(GLOVES, A1, AV): 10},
        movements=[timed(issue(1, at(11)))],
    )
    entry = report.entry(GLOVES, A1)
    assert (entry.kind, entry.expected, entry.counted, entry.counted_at) == (
        VarianceKind.SHORTAGE,
        10,
        0,
        at(10),
    )
    assert entry.recount_round == -1 and entry.line_ids == () and entry.requires_recount


def test_closed_at_is_needed_before_counting_closes():
    st = Stocktake.plan("S", scope=StocktakeScope("Main"), created_by="l", created_at=at(8))
    with pytest.raises(InvalidValueError, match="pass closed_at"):
        variance_report(st, [], start={})
    assert variance_report(st, [], start={}, closed_at=at(9)).entries == ()


# --------------------------------------------------------------------------- §5.4 classes


def test_surplus_unknown_and_found_elsewhere():
    stranger = ItemKey("10614141000415")
    report = variance_report(
        review(),
        [
            line("c1", quantity=12),  # surplus at A1
            line("c2", item=MASKS, location=A1, quantity=2),  # masks booked at A2 only
            line("c3", item=stranger, location=A2, quantity=1),  # never heard of
            line("c4", item=MASKS, location=A2, quantity=3),
        ],
        start={(GLOVES, A1, AV): 10, (MASKS, A2, AV): 3},
    )
    kinds = {(v.item, v.location): v.kind for v in report.entries}
    assert kinds == {
        (GLOVES, A1): VarianceKind.SURPLUS,
        (MASKS, A1): VarianceKind.FOUND_IN_OTHER_LOCATION,
        (MASKS, A2): VarianceKind.MATCH,
        (stranger, A2): VarianceKind.UNKNOWN_ITEM,
    }
    assert report.entry(MASKS, A1).detail == "booked at Main/Store/A2 [AVAILABLE]"
    known = variance_report(
        review(),
        [line("c3", item=stranger, location=A2, quantity=1)],
        start={},
        known_items={stranger},
    )
    assert known.entry(stranger, A2).kind is VarianceKind.SURPLUS


def test_a_count_in_another_status_is_its_own_key():
    report = variance_report(
        review(),
        [line("c1", quantity=10, status=Q)],
        start={(GLOVES, A1, AV): 10},
    )
    assert report.entry(GLOVES, A1, Q).kind is VarianceKind.FOUND_IN_OTHER_LOCATION
    assert report.entry(GLOVES, A1, AV).kind is VarianceKind.SHORTAGE
    with pytest.raises(InvalidValueError, match="no entry"):
        report.entry(MASKS, A1)


def test_lot_expiry_mismatch_with_master_data():
    report = variance_report(
        review(),
        [
            line("c1", quantity=10, expiry="2027-06-30"),
            line(
                "c2",
                item=ItemKey("04006381333931", lot="L2"),
                location=A2,
                quantity=1,
                expiry="2027-01-31",
            ),
        ],
        start={(GLOVES, A1, AV): 10},
        lot_expiries={("04006381333931", "L1"): pendulum.date(2027, 5, 31)},
    )
    (mismatch,) = report.by_kind(VarianceKind.LOT_EXPIRY_MISMATCH)
    assert mismatch.key == (GLOVES, A1, AV)
    assert mismatch.line_ids == ("c1",) and mismatch.difference == 0
    assert "2027-06-30" in (mismatch.detail or "") and "2027-05-31" in (mismatch.detail or "")
    assert not mismatch.requires_recount
    assert report.entry(GLOVES, A1).kind is VarianceKind.MATCH
    # the unknown lot L2 carries its counted expiry into the adjustment
    found = report.entry(ItemKey("04006381333931", lot="L2"), A2)
    assert found.found_expiry == pendulum.date(2027, 1, 31)


def test_serial_scanned_twice_in_one_place_counts_once():
    report = variance_report(
        review(),
        [line("s1", item=PROBE, quantity=1), line("s2", item=PROBE, quantity=1, counter="bob")],
        start={(PROBE, A1, AV): 1},
    )
    assert report.entry(PROBE, A1).kind is VarianceKind.MATCH
    (dup,) = report.by_kind(VarianceKind.SERIAL_DUPLICATE)
    assert dup.detail == "scanned 2 times here; counted once" and not dup.requires_recount
    assert report.pending_recounts == ()


def test_serial_counted_in_two_locations_is_reported():
    lines = [
        line("s1", item=PROBE, quantity=1),
        line("s2", item=PROBE, location=A2, quantity=1, counter="bob"),
    ]
    report = variance_report(review(Tolerance(absolute=1)), lines, start={(PROBE, A1, AV): 1})
    dups = report.by_kind(VarianceKind.SERIAL_DUPLICATE)
    assert {d.location for d in dups} == {A1, A2}
    assert all(d.requires_recount for d in dups)
    assert "serial counted in 2 places" in (dups[0].detail or "")
    # a recount at A2 by someone else finds nothing there: resolved
    lines.append(line("s3", item=PROBE, location=A2, quantity=0, counter="cyd", recount_of="s2"))
    resolved = variance_report(review(), lines, start={(PROBE, A1, AV): 1})
    assert resolved.by_kind(VarianceKind.SERIAL_DUPLICATE) == ()
    assert resolved.variances == () and resolved.pending_recounts == ()


def test_tolerances_decide_recounts_and_recounts_supersede():
    policy = Tolerance(absolute=1, percent=5)
    lines = [line("c1", quantity=95), line("m1", item=MASKS, location=A2, quantity=7)]
    start = {(GLOVES, A1, AV): 100, (MASKS, A2, AV): 10}
    report = variance_report(review(policy), lines, start=start)
    gloves, masks = report.entry(GLOVES, A1), report.entry(MASKS, A2)
    assert gloves.within_tolerance and not gloves.requires_recount
    assert not masks.within_tolerance and masks.requires_recount
    assert report.pending_recounts == (masks,)
    lines.append(line("m2", item=MASKS, location=A2, quantity=8, counter="bob", recount_of="m1"))
    again = variance_report(review(policy), lines, start=start)
    masks = again.entry(MASKS, A2)
    assert (masks.counted, masks.recount_round, masks.line_ids, masks.counters) == (
        8,
        1,
        ("m2",),
        ("bob",),
    )
    assert not masks.requires_recount and again.pending_recounts == ()
    assert again.counters == {"ana", "bob"}
    per_product = TolerancePolicy(Tolerance(), {"96385074": Tolerance(absolute=3)})
    st = review()
    st = Stocktake(
        **{
            **{f: getattr(st, f) for f in ("id", "scope", "created_by", "created_at")},
            "tolerances": per_product,
            "closed_at": at(12),
        }
    )
    custom = variance_report(st, lines[:2], start=start)
    assert not custom.entry(MASKS, A2).requires_recount
    assert custom.entry(GLOVES, A1).requires_recount


def test_values_use_unit_costs():
    report = variance_report(
        review(),
        [line("c1", quantity=7), line("m1", item=MASKS, location=A2, quantity=11)],
        start={(GLOVES, A1, AV): 10, (MASKS, A2, AV): 10},
        unit_costs={"04006381333931": Decimal("2.50")},
    )
    assert report.entry(GLOVES, A1).value == Decimal("-7.50")
    assert report.entry(MASKS, A2).value is None
    assert report.total_value == Decimal("-7.50")
    assert [v.kind for v in report.adjustable] == [VarianceKind.SURPLUS, VarianceKind.SHORTAGE]


def test_entries_are_sorted_and_complete():
    report = variance_report(
        review(),
        [line("m1", item=MASKS, location=A2, quantity=1), line("c1", quantity=1)],
        start={(GLOVES, A1, AV): 1, (MASKS, A2, AV): 1},
        as_of_position=99,
    )
    assert [(v.item, v.location) for v in report.entries] == [(MASKS, A2), (GLOVES, A1)]
    assert report.as_of_position == 99 and report.closed_at == at(12)
