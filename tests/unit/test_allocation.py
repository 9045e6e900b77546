"""Rule tests for FEFO allocation: one per FEFO rule of the rules page and each failure it names."""

from __future__ import annotations

import itertools
import random

import attrs
import pendulum
import pytest

from medinv.allocation import (
    AllocationRequest,
    FefoIndex,
    Pick,
    Plan,
    Policy,
    SkipReason,
    fefo_key,
    fifo_key,
)
from medinv.allocation._pick import PICKERS, pick_fefo, picker_for
from medinv.errors import (
    IndivisibleQuantityError,
    InsufficientStockError,
    InvalidQuantityError,
    InvalidValueError,
    StalePlanError,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
from medinv.status import StockStatus

GTIN = "04006381333931"
OTHER = "00614141000418"
USE = pendulum.date(2026, 11, 23)
STORE = Location.parse("H/Store", pick_sequence=10)
WARD = Location.parse("H/Ward/Cab1", pick_sequence=5)
AV = StockStatus.AVAILABLE
T0 = pendulum.datetime(2026, 1, 1, 8, tz="Europe/Paris")


def pos(
    lot: str | None,
    expiry: pendulum.Date | None,
    quantity: int = 5,
    *,
    status: StockStatus = AV,
    location: Location = STORE,
    received: pendulum.DateTime | None = T0,
    serial: str | None = None,
    gtin: str = GTIN,
) -> StockPosition:
    return StockPosition(
        item=ItemKey(gtin, lot=lot, serial=serial),
        location=location,
        status=status,
        quantity=quantity,
        expiry=expiry,
        received_at=received,
    )


def request(quantity: int, **kwargs) -> AllocationRequest:
    kwargs.setdefault("use_date", USE)
    return AllocationRequest.of(GTIN, quantity, **kwargs)


def lots(plan: Plan) -> list[tuple[str | None, int]]:
    return [(None if p.item.lot is None else p.item.lot.value, p.quantity) for p in plan.picks]


def reasons(plan: Plan) -> list[tuple[str | None, SkipReason]]:
    return [(None if s.item.lot is None else s.item.lot.value, s.reason) for s in plan.skipped]


def index_of(*positions: StockPosition) -> FefoIndex:
    index = FefoIndex.from_positions(positions)
    index._check()
    return index


# ---------------------------------------------------------------- §4.1 eligibility


def test_lot_expiring_on_the_use_date_is_picked():
    index = index_of(pos("EDGE", USE), pos("LATER", USE.add(days=10)))
    plan = index.allocate(request(5))
    assert lots(plan) == [("EDGE", 5)]


def test_lot_expired_the_day_before_the_use_date_is_refused():
    index = index_of(pos("EDGE", USE))
    plan = index.allocate(request(5, use_date=USE.add(days=1)), explain=True)
    assert plan.picks == ()
    assert plan.shortfall == 5
    assert reasons(plan) == [("EDGE", SkipReason.EXPIRED)]


@pytest.mark.parametrize(
    "status",
    [StockStatus.QUARANTINE, StockStatus.HOLD, StockStatus.RECALLED, StockStatus.DAMAGED],
)
def test_only_available_stock_is_allocated(status):
    index = index_of(pos("BLOCKED", USE.add(days=1), status=status), pos("OK", USE.add(days=90)))
    plan = index.allocate(request(8), explain=True)
    assert lots(plan) == [("OK", 5)]
    assert plan.shortfall == 3
    assert [(s.item.lot.value, s.status, s.reason) for s in plan.skipped if s.item.lot] == [
        ("BLOCKED", status, SkipReason.NOT_AVAILABLE_STATUS)
    ]


def test_minimum_shelf_life_is_evaluated_at_the_use_date():
    index = index_of(pos("L30", USE.add(days=30)), pos("L31", USE.add(days=31)))
    ok = index.allocate(request(5, min_shelf_life_days=30))
    assert lots(ok) == [("L30", 5)]
    short = index.allocate(request(10, min_shelf_life_days=31), explain=True)
    assert lots(short) == [("L31", 5)]
    assert reasons(short) == [("L30", SkipReason.SHORT_SHELF_LIFE)]
    # The same stock for a use date 10 days later has 10 days less shelf life.
    later = index.allocate(request(5, use_date=USE.add(days=10), min_shelf_life_days=30))
    assert lots(later) == []
    assert later.shortfall == 5


def test_zero_minimum_shelf_life_is_exactly_not_expired():
    index = index_of(pos("EDGE", USE))
    assert lots(index.allocate(request(1, min_shelf_life_days=0))) == [("EDGE", 1)]
    assert index.allocate(request(1, min_shelf_life_days=1)).shortfall == 1


def test_reserved_stock_is_not_allocated_again():
    index = index_of(pos("A", USE.add(days=1), 4), pos("B", USE.add(days=2), 4))
    first = index.allocate(request(4))
    index.reserve(first, reservation_id="ORDER-1")
    index._check()
    second = index.allocate(request(6), explain=True)
    assert lots(second) == [("B", 4)]
    assert second.shortfall == 2
    assert reasons(second) == [("A", SkipReason.RESERVED)]


def test_partly_reserved_stock_offers_the_rest():
    index = index_of(pos("A", USE.add(days=1), 10))
    index.reserve(index.allocate(request(7)), reservation_id="R1")
    assert lots(index.allocate(request(5))) == [("A", 3)]
    assert index.available(GTIN) == 3


# ---------------------------------------------------------------- §4.2 the total order


def test_earliest_expiry_first_and_no_expiry_last():
    index = index_of(
        pos("NOEXP", None, received=T0.subtract(years=2)),
        pos("LATE", USE.add(days=300)),
        pos("EARLY", USE.add(days=3)),
    )
    plan = index.allocate(request(15))
    assert lots(plan) == [("EARLY", 5), ("LATE", 5), ("NOEXP", 5)]


def test_tie_on_expiry_goes_to_the_earliest_received():
    exp = USE.add(days=30)
    index = index_of(pos("NEW", exp, received=T0.add(days=5)), pos("OLD", exp, received=T0))
    assert lots(index.allocate(request(6))) == [("OLD", 5), ("NEW", 1)]


def test_unknown_received_at_sorts_after_known():
    exp = USE.add(days=30)
    index = index_of(pos("UNKNOWN", exp, received=None), pos("KNOWN", exp, received=T0))
    assert lots(index.allocate(request(6))) == [("KNOWN", 5), ("UNKNOWN", 1)]


def test_tie_on_received_goes_to_the_lower_pick_sequence():
    exp = USE.add(days=30)
    far = Location.parse("H/Store/Far", pick_sequence=90)
    near = Location.parse("H/Store/Near", pick_sequence=1)
    index = index_of(pos("L1", exp, location=far), pos("L1", exp, location=near))
    plan = index.allocate(request(6))
    assert [(str(p.location), p.quantity) for p in plan.picks] == [
        ("H/Store/Near", 5),
        ("H/Store/Far", 1),
    ]


def test_tie_on_pick_sequence_goes_to_the_lot_then_the_serial():
    exp = USE.add(days=30)
    index = index_of(
        pos("B", exp, 1, serial="S1"),
        pos("A", exp, 1, serial="S9"),
        pos("A", exp, 1, serial="S2"),
        pos(None, exp, 1),
    )
    plan = index.allocate(request(4))
    assert [
        (p.item.lot and p.item.lot.value, p.item.serial and p.item.serial.value) for p in plan.picks
    ] == [
        (None, None),
        ("A", "S2"),
        ("A", "S9"),
        ("B", "S1"),
    ]


def test_last_tie_break_is_the_location_path():
    exp = USE.add(days=30)
    index = index_of(
        pos("A", exp, location=Location.parse("H/B")), pos("A", exp, location=Location.parse("H/A"))
    )
    assert [str(p.location) for p in index.allocate(request(10)).picks] == ["H/A", "H/B"]


def test_the_key_function_is_the_order_the_index_uses():
    rng = random.Random(7)  # noqa: S311  (reproducible test data)
    bins = [Location.parse(f"H/{name}", pick_sequence=rng.randint(0, 2)) for name in "XYZW"]
    stock = [
        pos(
            f"L{i % 7}",
            None if i % 5 == 0 else USE.add(days=rng.randint(0, 4)),
            1,
            serial=f"S{i}",
            received=T0.add(hours=rng.randint(0, 2)),
            location=rng.choice(bins),
        )
        for i in range(60)
    ]
    plan = FefoIndex.from_positions(stock).allocate(request(60))
    expected = sorted(stock, key=fefo_key)
    assert [(p.item, p.location) for p in plan.picks] == [(s.item, s.location) for s in expected]


def test_same_input_gives_the_same_plan_in_any_insertion_order():
    stock = [
        pos("A", USE.add(days=5), 3),
        pos("B", USE.add(days=5), 3, received=T0.add(days=1)),
        pos("C", None, 3),
        pos("D", USE.add(days=1), 3, location=WARD),
        pos("E", USE.subtract(days=1), 3),
        pos("F", USE.add(days=2), 3, status=StockStatus.HOLD),
    ]
    plans = {
        FefoIndex.from_positions(order).allocate(request(10), explain=True)
        for order in itertools.permutations(stock)
    }
    assert len(plans) == 1
    (plan,) = plans
    assert lots(plan) == [("D", 3), ("A", 3), ("B", 3), ("C", 1)]


def test_fifo_policy_takes_the_first_received_and_still_refuses_expired_stock():
    index = index_of(
        pos("OLDEST-EXPIRED", USE.subtract(days=1), received=T0.subtract(days=9)),
        pos("OLD", USE.add(days=200), received=T0),
        pos("NEW-SHORT", USE.add(days=2), received=T0.add(days=3)),
    )
    plan = index.allocate(request(8, policy=Policy.FIFO))
    assert lots(plan) == [("OLD", 5), ("NEW-SHORT", 3)]
    assert reasons(plan) == [("OLDEST-EXPIRED", SkipReason.EXPIRED)]
    assert fifo_key(pos("X", None))[0] < fifo_key(pos("X", None, received=T0.add(days=1)))[0]
    index._check()


def test_fifo_order_follows_later_updates():
    index = index_of(pos("OLD", USE.add(days=200), 2, received=T0))
    index.allocate(request(1, policy=Policy.FIFO))
    index.apply_delta(
        ItemKey(GTIN, lot="NEWER"), STORE, AV, 4, expiry=USE.add(days=1), received_at=T0.add(days=1)
    )
    index._check()
    assert lots(index.allocate(request(3, policy=Policy.FIFO))) == [("OLD", 2), ("NEWER", 1)]


def test_manual_policy_picks_named_lots_in_the_callers_order():
    index = index_of(
        pos("A", USE.add(days=1)), pos("B", USE.add(days=50)), pos("C", USE.add(days=9))
    )
    plan = index.allocate(
        AllocationRequest.manual(GTIN, 7, lots=["B", "C"], use_date=USE), explain=True
    )
    assert plan.request.policy is Policy.MANUAL
    assert lots(plan) == [("B", 5), ("C", 2)]
    assert reasons(plan) == [("A", SkipReason.NOT_NAMED)]


def test_manual_policy_never_picks_an_expired_or_reserved_named_lot():
    index = index_of(pos("OLD", USE.subtract(days=1)), pos("RES", USE.add(days=5), 2))
    index.reserve(index.allocate(request(2)), reservation_id="R")
    plan = index.allocate(
        AllocationRequest.manual(GTIN, 3, lots=["OLD", "RES", "NONE"], use_date=USE)
    )
    assert plan.picks == ()
    assert plan.shortfall == 3
    assert reasons(plan) == [("OLD", SkipReason.EXPIRED), ("RES", SkipReason.RESERVED)]


def test_serial_level_request_takes_exactly_the_named_units():
    exp = USE.add(days=100)
    index = index_of(
        pos("L", exp, 1, serial="S1"),
        pos("L", exp, 1, serial="S2"),
        pos("L", exp, 1, serial="S3", status=StockStatus.QUARANTINE),
        pos("L", USE.subtract(days=2), 1, serial="S4"),
    )
    plan = index.allocate(
        AllocationRequest.for_serials(GTIN, ["S2", "S3", "S4"], use_date=USE), explain=True
    )
    assert [p.item.serial.value for p in plan.picks if p.item.serial] == ["S2"]
    assert plan.shortfall == 2
    assert [(s.item.serial.value, s.reason) for s in plan.skipped if s.item.serial] == [
        ("S4", SkipReason.EXPIRED),
        ("S1", SkipReason.NOT_NAMED),
        ("S3", SkipReason.NOT_AVAILABLE_STATUS),
    ]


def test_location_subtree_limits_the_picks():
    index = index_of(pos("STORE", USE.add(days=1)), pos("WARD", USE.add(days=9), location=WARD))
    plan = index.allocate(request(7, location=Location.parse("H/Ward")))
    assert lots(plan) == [("WARD", 5)]
    assert plan.shortfall == 2
    assert reasons(plan) == [("STORE", SkipReason.OUTSIDE_LOCATION)]


# ---------------------------------------------------------------- §4.3 the plan


def test_shortfall_is_reported_with_a_partial_plan():
    index = index_of(pos("A", USE.add(days=1), 3), pos("B", USE.add(days=2), 4))
    plan = index.allocate(request(10))
    assert lots(plan) == [("A", 3), ("B", 4)]
    assert plan.shortfall == 3
    assert plan.quantity == 7
    assert not plan.is_complete


def test_planning_never_changes_stock():
    index = index_of(pos("A", USE.add(days=1), 3))
    before = index.positions()
    index.allocate(request(3))
    index.allocate(request(3), explain=True)
    assert index.positions() == before


def test_unknown_product_is_all_shortfall():
    plan = FefoIndex().allocate(request(4))
    assert plan.picks == ()
    assert plan.shortfall == 4
    assert plan.position == 0


def test_without_explain_only_stepped_over_candidates_are_listed():
    index = index_of(pos("EXPIRED", USE.subtract(days=3)), pos("OK", USE.add(days=3)))
    assert index.allocate(request(1)).skipped == ()
    assert not index.allocate(request(1)).explained
    assert reasons(index.allocate(request(1), explain=True)) == [("EXPIRED", SkipReason.EXPIRED)]


# ---------------------------------------------------------------- reservations


def test_release_gives_the_stock_back():
    index = index_of(pos("A", USE.add(days=1), 4))
    index.reserve(index.allocate(request(4)), reservation_id="R1")
    assert index.allocate(request(1)).shortfall == 1
    released = index.release("R1")
    assert released is not None
    assert released.id == "R1"
    assert index.release("R1") is None
    assert lots(index.allocate(request(1))) == [("A", 1)]
    index._check()


def test_reservations_expire_at_their_deadline():
    index = index_of(pos("A", USE.add(days=1), 4))
    deadline = pendulum.datetime(2026, 11, 23, 12, tz="UTC")
    index.reserve(index.allocate(request(2)), reservation_id="R1", expires_at=deadline)
    index.reserve(index.allocate(request(2)), reservation_id="R2")
    assert [r.id for r in index.reservations()] == ["R1", "R2"]
    assert index.expire_reservations(deadline.subtract(seconds=1)) == ()
    expired = index.expire_reservations(deadline)
    assert [r.id for r in expired] == ["R1"]
    assert [r.id for r in index.reservations()] == ["R2"]
    assert index.available(GTIN) == 2
    index._check()


def test_a_stale_plan_cannot_be_reserved():
    index = index_of(pos("A", USE.add(days=1), 4))
    plan = index.allocate(request(3))
    index.reserve(index.allocate(request(3)), reservation_id="R1")
    with pytest.raises(StalePlanError, match="only 1 unreserved left"):
        index.reserve(plan, reservation_id="R2")
    index.apply_delta(ItemKey(GTIN, lot="A"), STORE, AV, -4)  # stock leaves under the reservation
    index._check()
    # R1's units are gone: it holds nothing and waits, as in an index rebuilt from
    # the kept reservations; it is still in force until released.
    assert index.reservations() == ()
    assert [r.id for r in index.waiting_reservations()] == ["R1"]
    assert index.release("R1") is not None
    assert index.waiting_reservations() == ()
    assert index.positions() == []
    with pytest.raises(StalePlanError, match="no AVAILABLE"):
        index.reserve(plan, reservation_id="R3")


def test_units_leaving_under_a_reservation_let_go_only_what_no_longer_fits():
    index = index_of(pos("A", USE.add(days=1), 4))
    index.reserve(index.allocate(request(2)), reservation_id="R1")
    index.reserve(index.allocate(request(2)), reservation_id="R2")
    index.apply_delta(ItemKey(GTIN, lot="A"), STORE, AV, -1)  # a hold takes one unit
    index._check()
    assert [r.id for r in index.reservations()] == ["R1"]  # by id, as a rebuilt index keeps
    assert [r.id for r in index.waiting_reservations()] == ["R2"]
    # The unit left beside R2 stays R2's while it waits, as a store counts it (a store
    # refuses a reservation of it); released, R2 lets it go.
    explained = index.allocate(request(1), explain=True)
    assert explained.picks == ()
    assert [s.reason.value for s in explained.skipped] == ["RESERVED"]
    index.release("R2")
    index._check()
    assert index.allocate(request(1)).picks[0].quantity == 1


def test_a_waiting_reservation_is_held_again_when_its_units_come_back():
    a = ItemKey(GTIN, lot="A")
    index = index_of(pos("A", USE.add(days=1), 1))
    index.reserve(index.allocate(request(1)), reservation_id="R1")
    index.apply_delta(a, STORE, AV, -1)  # a hold takes the unit
    assert index.reservations() == ()
    with pytest.raises(InvalidValueError, match="already in use"):
        index.reserve(index.allocate(request(1)), reservation_id="R1")
    index.apply_delta(ItemKey(OTHER, lot="X"), STORE, AV, 3)  # another product: still waits
    assert [r.id for r in index.waiting_reservations()] == ["R1"]
    index.apply_delta(a, STORE, AV, 1)  # the same lot comes back to the same place
    index._check()
    assert [r.id for r in index.reservations()] == ["R1"]
    assert index.waiting_reservations() == ()
    assert index.allocate(request(1)).picks == ()


def test_releasing_a_reservation_gives_its_units_to_a_waiting_one_in_id_order():
    a = ItemKey(GTIN, lot="A")
    index = index_of(pos("A", USE.add(days=1), 2))
    index.reserve(index.allocate(request(1)), reservation_id="R1")
    index.reserve(index.allocate(request(1)), reservation_id="R2")
    index.apply_delta(a, STORE, AV, -1)  # one unit left: R1 keeps it, R2 waits
    assert [r.id for r in index.reservations()] == ["R1"]
    assert [r.id for r in index.waiting_reservations()] == ["R2"]
    index.release("R1")
    index._check()
    assert [r.id for r in index.reservations()] == ["R2"]
    assert index.waiting_reservations() == ()


def test_waiting_reservations_expire_at_their_deadline():
    index = index_of(pos("A", USE.add(days=1), 1))
    deadline = pendulum.datetime(2026, 11, 23, 12, tz="UTC")
    index.reserve(index.allocate(request(1)), reservation_id="R1", expires_at=deadline)
    index.apply_delta(ItemKey(GTIN, lot="A"), STORE, AV, -1)
    assert [r.id for r in index.expire_reservations(deadline)] == ["R1"]
    assert index.waiting_reservations() == ()
    index._check()


def test_hold_reservations_holds_exactly_those_given_in_id_order():
    index = index_of(pos("A", USE.add(days=1), 2))
    r1 = index.reserve(index.allocate(request(2)), reservation_id="R1")
    index.release("R1")
    r0 = index.reserve(index.allocate(request(1)), reservation_id="R0")
    index.release("R0")
    r9 = index.reserve(index.allocate(request(1)), reservation_id="R9")
    # R0 then R1 in id order: R1 wants both units, one is R0's: R1 waits. R9 is let go.
    assert index.hold_reservations([r1, r0]) == 2
    index._check()
    assert [r.id for r in index.reservations()] == ["R0"]
    assert [r.id for r in index.waiting_reservations()] == ["R1"]
    assert r9 not in index.reservations()
    assert index.hold_reservations([r0, r1]) == 0  # already so
    with pytest.raises(InvalidValueError, match="given twice"):
        index.hold_reservations([r0, r0])
    with pytest.raises(InvalidValueError, match="Reservation"):
        index.hold_reservations(["R0"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match="iterable"):
        index.hold_reservations("R0")  # type: ignore[arg-type]


def test_reservation_ids_are_unique_and_non_blank():
    index = index_of(pos("A", USE.add(days=1), 4))
    index.reserve(index.allocate(request(1)), reservation_id="R1")
    with pytest.raises(InvalidValueError, match="already in use"):
        index.reserve(index.allocate(request(1)), reservation_id="R1")
    with pytest.raises(InvalidValueError, match="non-blank"):
        index.reserve(index.allocate(request(1)), reservation_id=" ")


def test_commit_takes_the_picks_and_releases_the_reservation():
    index = index_of(pos("A", USE.add(days=1), 4), pos("B", USE.add(days=2), 4))
    plan = index.allocate(request(6))
    index.reserve(plan, reservation_id="R1")
    other = index.allocate(request(2))
    index.commit(plan, reservation_id="R1")
    index._check()
    assert index.reservations() == ()
    assert [(p.item.lot.value, p.quantity) for p in index.positions() if p.item.lot] == [("B", 2)]
    index.commit(other)
    assert index.positions() == []
    index._check()


def test_commit_refuses_a_stale_plan_and_changes_nothing():
    index = index_of(pos("A", USE.add(days=1), 4), pos("B", USE.add(days=2), 4))
    plan = index.allocate(request(6))
    index.reserve(index.allocate(request(3)), reservation_id="OTHER")
    before = index.positions()
    with pytest.raises(StalePlanError):
        index.commit(plan)
    assert index.positions() == before
    with pytest.raises(InvalidValueError, match="no reservation"):
        index.commit(plan, reservation_id="NOPE")
    with pytest.raises(InvalidValueError, match="another plan"):
        index.commit(plan, reservation_id="OTHER")
    index._check()


# ---------------------------------------------------------------- packaging


BOXES = PackagingHierarchy.chain(
    PackagingLevel(unit="BX", gtin=OTHER, contains=10),
    PackagingLevel(unit="EA", gtin=GTIN),
)


def test_request_in_boxes_converts_to_eaches():
    req = AllocationRequest.of(GTIN, Quantity.of(2, "BX"), use_date=USE, packaging=BOXES)
    assert req.quantity == 20
    assert req.box_size == 10
    with pytest.raises(IndivisibleQuantityError):
        AllocationRequest.of(OTHER, Quantity.of(5, "EA"), use_date=USE, packaging=BOXES)
    with pytest.raises(InvalidQuantityError, match="without a packaging hierarchy"):
        AllocationRequest.of(GTIN, Quantity.of(2, "BX"), use_date=USE)
    assert AllocationRequest.of(GTIN, Quantity.of(3, gtin=GTIN), use_date=USE).quantity == 3
    assert AllocationRequest.of(OTHER, 1, use_date=USE, packaging=BOXES).box_size is None


def test_opened_boxes_go_first_within_one_expiry_date_only():
    exp = USE.add(days=30)
    index = index_of(
        pos("WHOLE", exp, 20, location=Location.parse("H/A", pick_sequence=1)),
        pos("OPENED", exp, 7, location=Location.parse("H/B", pick_sequence=2)),
        pos("EARLIER", USE.add(days=10), 10),
        pos("LATER-OPENED", USE.add(days=60), 3),
    )
    req = AllocationRequest.of(GTIN, 25, use_date=USE, packaging=BOXES, opened_first=True)
    assert lots(index.allocate(req)) == [("EARLIER", 10), ("OPENED", 7), ("WHOLE", 8)]
    plain = AllocationRequest.of(GTIN, 25, use_date=USE, packaging=BOXES)
    assert lots(index.allocate(plain)) == [("EARLIER", 10), ("WHOLE", 15)]
    big = AllocationRequest.of(GTIN, 45, use_date=USE, packaging=BOXES, opened_first=True)
    assert lots(index.allocate(big)) == [
        ("EARLIER", 10),
        ("OPENED", 7),
        ("WHOLE", 20),
        ("LATER-OPENED", 3),
    ]
    ward = AllocationRequest.of(
        GTIN, 5, use_date=USE, packaging=BOXES, opened_first=True, location=Location.parse("H/B")
    )
    assert lots(index.allocate(ward)) == [("OPENED", 5)]


# ---------------------------------------------------------------- requests


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": 0}, "at least 1"),
        ({"quantity": True}, "whole number"),
        ({"min_shelf_life_days": -1}, "minimum shelf life"),
        ({"policy": Policy.MANUAL}, "must name at least one lot"),
        ({"lots": ("A",)}, "only with the MANUAL policy"),
        ({"policy": Policy.MANUAL, "lots": ("A", "A")}, "named twice"),
        ({"serials": ("S1",), "quantity": 2}, "one unit per serial"),
        ({"serials": ("S1", "S1"), "quantity": 2}, "distinct serials"),
        ({"serials": ("S1",), "quantity": 1, "policy": Policy.FIFO}, "takes no policy"),
        ({"box_size": 1}, "invalid box size"),
        ({"opened_first": True}, "needs to know the box size"),
    ],
)
def test_contradictory_requests_are_refused(kwargs, message):
    fields = {"gtin": GTIN, "quantity": 1, "use_date": USE} | kwargs
    with pytest.raises(InvalidValueError, match=message):
        AllocationRequest(**fields)


def test_request_dates_and_shelf_life():
    req = request(1, use_date="2026-12-31", min_shelf_life_days=1)
    assert req.min_expiry == pendulum.date(2027, 1, 1)


# ---------------------------------------------------------------- the index follows the ledger


def test_index_follows_movements_and_ledger_positions():
    item = ItemKey(GTIN, lot="A")
    index = FefoIndex()
    receipt = Movement.receipt(
        "m1", item=item, quantity=10, to=STORE, occurred_at=T0, actor="u", expiry=USE.add(days=5)
    )
    quarantined = Movement.receipt(
        "m2",
        item=ItemKey(GTIN, lot="Q"),
        quantity=3,
        to=STORE,
        occurred_at=T0,
        actor="u",
        status=StockStatus.QUARANTINE,
        expiry=USE.add(days=1),
    )
    move = Movement.transfer(
        "m3", item=item, quantity=4, source=STORE, to=WARD, occurred_at=T0, actor="u"
    )
    issue = Movement.issue("m4", item=item, quantity=6, source=STORE, occurred_at=T0, actor="u")
    release = Movement.status_change(
        "m5",
        item=ItemKey(GTIN, lot="Q"),
        quantity=3,
        at=STORE,
        from_status=StockStatus.QUARANTINE,
        to_status=AV,
        occurred_at=T0,
        actor="u",
    )
    index.apply([receipt, quarantined], position=2)
    index._check()
    assert index.position == 2
    assert lots(index.allocate(request(20))) == [("A", 10)]
    index.apply([move, issue], position=4)
    index._check()
    plan = index.allocate(request(20))
    assert [(p.item.lot.value, str(p.location), p.expiry) for p in plan.picks if p.item.lot] == [
        ("A", "H/Ward/Cab1", USE.add(days=5))
    ]
    index.apply([release])
    index._check()
    assert lots(index.allocate(request(20))) == [("Q", 3), ("A", 4)]
    assert [p.received_at for p in index.positions()] == [T0, T0]


class _Recorded:
    def __init__(self, movement: Movement, position: int) -> None:
        self.movement = movement
        self.position = position
        self.recorded_at = movement.occurred_at  # a journal.StoredMovement


def test_recorded_movements_are_applied_once_and_in_order():
    item = ItemKey(GTIN, lot="A")

    def receipt(n: int) -> _Recorded:
        movement = Movement.receipt(
            f"m{n}",
            item=item,
            quantity=1,
            to=STORE,
            occurred_at=T0,
            actor="u",
        )
        return _Recorded(movement, n)

    index = FefoIndex()
    index.apply([receipt(1), receipt(2)])
    index.apply([receipt(1), receipt(2), receipt(3)])  # replays are ignored
    assert index.position == 3
    assert index.available(GTIN) == 3
    with pytest.raises(InvalidValueError, match="catch up from position 4"):
        index.apply([receipt(5)])
    index._check()


def test_index_refuses_to_go_negative():
    index = index_of(pos("A", USE, 2))
    with pytest.raises(InsufficientStockError, match="requested 3, available 2"):
        index.apply_delta(ItemKey(GTIN, lot="A"), STORE, AV, -3)
    with pytest.raises(InsufficientStockError, match="available 0"):
        index.apply_delta(ItemKey(GTIN, lot="B"), STORE, StockStatus.HOLD, -1)
    index.apply_delta(ItemKey(GTIN, lot="B"), STORE, StockStatus.HOLD, 0)
    index.apply_delta(ItemKey(GTIN, lot="B"), STORE, StockStatus.HOLD, 2)
    index.apply_delta(ItemKey(GTIN, lot="B"), STORE, StockStatus.HOLD, -2)
    index._check()
    assert [p.item.lot.value for p in index.positions() if p.item.lot] == ["A"]


def test_duplicate_positions_and_bad_positions_are_refused():
    with pytest.raises(InvalidValueError, match="given twice"):
        FefoIndex.from_positions([pos("A", USE), pos("A", USE)])
    with pytest.raises(InvalidValueError, match="given twice"):
        FefoIndex.from_positions([pos("A", USE, status=StockStatus.HOLD)] * 2)
    with pytest.raises(InvalidValueError, match="ledger position"):
        FefoIndex(position=-1)


def test_registered_pick_sequence_applies_to_bare_locations():
    index = FefoIndex()
    index.register_location(Location.parse("H/Near", pick_sequence=1))
    index.register_location(Location.parse("H/Far", pick_sequence=9))
    exp = USE.add(days=1)
    index.apply_delta(
        ItemKey(GTIN, lot="A"), Location.parse("H/Far"), AV, 1, expiry=exp, received_at=T0
    )
    index.apply_delta(ItemKey(GTIN, lot="A"), Location.parse("H/Near"), AV, 1)
    assert [str(p.location) for p in index.allocate(request(2)).picks] == ["H/Near", "H/Far"]
    assert index.positions(GTIN) == index.positions()
    assert index.positions(OTHER) == []
    assert index.available(OTHER) == 0
    index._check()


def test_take_is_allocate_then_commit_in_one_pass():
    stock = [pos("A", USE.add(days=1), 4), pos("B", USE.add(days=2), 4), pos("C", None, 4)]
    one, two = FefoIndex.from_positions(stock), FefoIndex.from_positions(stock)
    two.reserve(two.allocate(request(1)), reservation_id="R")
    one.reserve(one.allocate(request(1)), reservation_id="R")
    for quantity in (2, 5, 9):
        taken = one.take(request(quantity))
        planned = two.allocate(request(quantity))
        two.commit(planned)
        assert taken == planned
        assert one.positions() == two.positions()
        one._check()
    assert one.take(request(1)).shortfall == 1


def test_reservations_of_plans_made_before_a_position_can_be_expired():
    index = index_of(pos("A", USE.add(days=1), 6))
    index.reserve(index.allocate(request(2)), reservation_id="OLD")
    index.apply_delta(ItemKey(GTIN, lot="B"), STORE, AV, 1, expiry=USE, received_at=T0)
    index.apply([], position=5)
    index.reserve(index.allocate(request(2)), reservation_id="NEW")
    assert index.expire_reservations() == ()
    assert [r.id for r in index.expire_reservations(before_position=5)] == ["OLD"]
    assert [r.id for r in index.reservations()] == ["NEW"]
    index._check()


def test_taking_serialised_units_removes_them_from_the_index():
    exp = USE.add(days=100)
    index = index_of(pos("L", exp, 1, serial="S1"), pos("L", exp, 1, serial="S2"))
    plan = index.take(AllocationRequest(gtin=GTIN, quantity=1, use_date=USE, serials="S2"))
    assert [p.item.serial.value for p in plan.picks if p.item.serial] == ["S2"]
    index._check()
    again = index.allocate(AllocationRequest.for_serials(GTIN, ["S2"], use_date=USE))
    assert AllocationRequest.for_serials(GTIN, ("S1", "S2"), use_date=USE).quantity == 2
    assert again.shortfall == 1
    manual = AllocationRequest(gtin=GTIN, quantity=1, use_date=USE, policy=Policy.MANUAL, lots="L")
    assert lots(index.allocate(manual)) == [("L", 1)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"location": "H/Store"}, "expected a Location"),
        ({"policy": "FEFO"}, "expected a medinv.allocation.Policy"),
    ],
)
def test_requests_refuse_values_of_the_wrong_type(kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        AllocationRequest(gtin=GTIN, quantity=1, use_date=USE, **kwargs)


def test_fast_paths_build_what_the_public_constructors_build():
    for where in (None, STORE):
        fast = AllocationRequest.of(
            GTIN, 7, use_date="2026-11-23", min_shelf_life_days=3, location=where
        )
        slow = AllocationRequest(
            gtin=GTIN, quantity=7, use_date=USE, min_shelf_life_days=3, location=where
        )
        assert (fast, repr(fast), hash(fast)) == (slow, repr(slow), hash(slow))
        assert attrs.asdict(fast, recurse=False) == attrs.asdict(slow, recurse=False)
        assert fast.is_plain_fefo

    # Plans and picks (built by setting their slots) against the public constructors,
    # and take() against allocate() followed by commit().
    rng = random.Random(5)  # noqa: S311  (reproducible test data)
    positions = [
        pos(
            f"L{n:02d}",
            USE.add(days=rng.randint(-3, 30)) if n % 9 else None,
            rng.randint(1, 9),
            received=T0.add(hours=rng.randint(0, 50)),
            location=(STORE, WARD)[n % 2],
        )
        for n in range(60)
    ]
    fast_index, slow_index = index_of(*positions), index_of(*positions)
    fast_index.reserve(fast_index.allocate(request(4)), reservation_id="R")
    slow_index.reserve(slow_index.allocate(request(4)), reservation_id="R")
    for _ in range(40):
        wanted = request(rng.randint(1, 25), min_shelf_life_days=rng.randint(0, 5))
        planned = fast_index.allocate(wanted)
        rebuilt = Plan(
            request=wanted,
            picks=tuple(
                Pick(item=p.item, location=p.location, quantity=p.quantity, expiry=p.expiry)
                for p in planned.picks
            ),
            shortfall=planned.shortfall,
            position=planned.position,
        )
        assert (planned, repr(planned), hash(planned)) == (rebuilt, repr(rebuilt), hash(rebuilt))
        assert planned == slow_index.allocate(wanted)
        taken = fast_index.take(wanted)
        slow_index.commit(planned)
        assert (taken, repr(taken)) == (rebuilt, repr(rebuilt))
        fast_index._check()
        slow_index._check()
    assert fast_index.positions() == slow_index.positions()
    assert fast_index.available(GTIN) == slow_index.available(GTIN) > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": 0}, "at least 1"),
        ({"quantity": -3}, "at least 1"),
        ({"quantity": True}, "whole number"),
        ({"min_shelf_life_days": -1}, "minimum shelf life"),
        ({"min_shelf_life_days": 1.5}, "minimum shelf life"),
        ({"location": "H/Store"}, "expected a Location"),
        ({"use_date": "2026-13-01"}, "2026-13-01"),
    ],
)
def test_the_common_case_of_of_refuses_what_the_constructor_refuses(kwargs, message):
    fields = {"quantity": 1, "use_date": USE} | kwargs
    with pytest.raises(InvalidValueError, match=message):
        AllocationRequest(gtin=GTIN, **fields)
    with pytest.raises(InvalidValueError, match=message):
        AllocationRequest.of(GTIN, **fields)


def test_every_policy_has_its_one_picker():
    assert set(PICKERS) == set(Policy)
    assert PICKERS[Policy.FEFO] is pick_fefo
    plain = AllocationRequest.of(GTIN, 1, use_date=USE)
    boxed = AllocationRequest(
        gtin=GTIN, quantity=1, use_date=USE, box_size=2, opened_first=True, location=STORE
    )
    assert picker_for(plain) is picker_for(boxed) is pick_fefo  # one FEFO walk for both
    for policy in Policy:
        lots = ("L",) if policy is Policy.MANUAL else ()
        named = AllocationRequest(gtin=GTIN, quantity=1, use_date=USE, policy=policy, lots=lots)
        assert picker_for(named) is PICKERS[policy]
    serials = AllocationRequest.for_serials(GTIN, ["S1"], use_date=USE)
    assert picker_for(serials) not in PICKERS.values()
