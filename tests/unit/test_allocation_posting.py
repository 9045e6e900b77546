"""Posting plans through the ledger: atomic batches, stale plans refused, re-planning."""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.allocation import AllocationRequest, FefoIndex
from medinv.errors import (
    InsufficientStockError,
    InvalidValueError,
    StalePlanError,
    StockNotIssuableError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, PostResult
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.services import (
    allocate_and_post,
    index_from_ledger,
    picking,
    plan_movements,
    post_plan,
    sync_index,
)

GTIN = "04006381333931"
STORE = Location.parse("H/Store")
WARD = Location.parse("H/Cardiology/Cabinet")
USE = pendulum.date(2026, 11, 23)
AT = pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris")
EARLY, LATE = ItemKey(GTIN, lot="EARLY"), ItemKey(GTIN, lot="LATE")
CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")


def receipt(mid: str, item: ItemKey, quantity: int, expiry: pendulum.Date) -> Movement:
    return Movement.receipt(
        mid,
        item=item,
        quantity=quantity,
        to=STORE,
        occurred_at=AT.subtract(days=30),
        actor="goods-in",
        expiry=expiry,
    )


@pytest.fixture
def ledger() -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK)
    ledger.post([receipt("r1", LATE, 10, USE.add(days=90)), receipt("r2", EARLY, 4, USE)])
    return ledger


def request(quantity: int) -> AllocationRequest:
    return AllocationRequest.of(GTIN, quantity, use_date=USE)


def index_matches_ledger(index: FefoIndex, ledger: Ledger) -> bool:
    def rows(positions: Iterable[StockPosition]) -> set[tuple[object, ...]]:
        return {(p.item, p.location, p.status, p.quantity, p.expiry) for p in positions}

    index._check()
    return index.position == ledger.head().position and rows(index.positions()) == rows(
        ledger.positions()
    )


def test_index_from_ledger_sees_expiry_and_receipt_times(ledger):
    index = index_from_ledger(ledger)
    assert index_matches_ledger(index, ledger)
    assert index.position == 2
    assert [p.received_at for p in index.positions()] == [AT.subtract(days=30)] * 2


def test_a_plan_is_posted_as_one_batch_and_the_index_follows(ledger):
    index = index_from_ledger(ledger)
    plan = index.allocate(request(6))
    result = post_plan(
        ledger,
        plan,
        kind=MovementKind.TRANSFER,
        to=WARD,
        movement_id="PICK-1",
        occurred_at=AT,
        actor="picker",
        reference="ORDER-7",
        index=index,
    )
    assert [r.movement.id for r in result.new] == ["PICK-1/1", "PICK-1/2"]
    assert [(r.movement.item.lot, r.movement.quantity) for r in result.new] == [
        (EARLY.lot, 4),
        (LATE.lot, 2),
    ]
    assert ledger.balance(gtin=GTIN, location=WARD) == 6
    assert index_matches_ledger(index, ledger)
    store_only = AllocationRequest.of(GTIN, 9, use_date=USE, location=STORE)
    assert [(p.location, p.quantity) for p in index.allocate(store_only).picks] == [(STORE, 8)]


def test_issue_and_consumption_movements(ledger):
    index = index_from_ledger(ledger)
    plan = index.allocate(request(2))
    issued = plan_movements(
        plan, kind=MovementKind.ISSUE, movement_id="I", occurred_at=AT, actor="a"
    )
    assert [m.kind for m in issued] == [MovementKind.ISSUE]
    used = post_plan(
        ledger,
        plan,
        kind=MovementKind.CONSUMPTION,
        movement_id="C",
        occurred_at=AT,
        actor="a",
        reference="PATIENT-42",
        index=index,
    )
    assert used.new[0].movement.kind is MovementKind.CONSUMPTION
    assert used.new[0].movement.reference == "PATIENT-42"
    assert index_matches_ledger(index, ledger)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": MovementKind.SCRAP}, "not SCRAP"),
        ({"kind": MovementKind.ISSUE, "to": WARD}, "only a TRANSFER"),
        ({"kind": MovementKind.TRANSFER}, "needs the destination"),
        ({"kind": MovementKind.CONSUMPTION}, "patient or procedure"),
    ],
)
def test_plan_movements_refuses_what_does_not_fit(ledger, kwargs, message):
    plan = index_from_ledger(ledger).allocate(request(1))
    with pytest.raises(InvalidValueError, match=message):
        plan_movements(plan, movement_id="X", occurred_at=AT, actor="a", **kwargs)


def test_a_plan_made_stale_by_another_writer_is_refused(ledger):
    index = index_from_ledger(ledger)
    plan = index.allocate(request(4))
    ledger.post(
        [Movement.issue("other", item=EARLY, quantity=3, source=STORE, occurred_at=AT, actor="b")]
    )
    head = ledger.head()
    with pytest.raises(StalePlanError, match="made at position 2 is stale at position 3") as info:
        post_plan(ledger, plan, kind=MovementKind.ISSUE, movement_id="P", occurred_at=AT, actor="a")
    assert info.value.planned_at == 2
    assert ledger.head() == head  # nothing was posted
    assert sync_index(index, ledger) == 1
    assert index_matches_ledger(index, ledger)


def test_a_reserved_plan_is_posted_after_other_writers(ledger):
    index = index_from_ledger(ledger)
    plan = index.allocate(request(4))
    index.reserve(plan, reservation_id="ORDER-1")
    ledger.post(
        [Movement.issue("other", item=LATE, quantity=3, source=STORE, occurred_at=AT, actor="b")]
    )
    post_plan(
        ledger,
        plan,
        kind=MovementKind.ISSUE,
        movement_id="P",
        occurred_at=AT,
        actor="a",
        index=index,
        reservation_id="ORDER-1",
    )
    assert index.reservations() == ()
    assert index_matches_ledger(index, ledger)
    assert ledger.balance(item=EARLY) == 0
    with pytest.raises(InvalidValueError, match="needs the index"):
        post_plan(
            ledger,
            plan,
            kind=MovementKind.ISSUE,
            movement_id="Q",
            occurred_at=AT,
            actor="a",
            reservation_id="R",
        )


def test_the_ledger_still_refuses_stock_expired_on_the_posting_day(ledger):
    index = index_from_ledger(ledger)
    plan = index.allocate(request(4))  # EARLY is usable on the use date ...
    with pytest.raises(StockNotIssuableError):  # ... but not the day after
        post_plan(
            ledger,
            plan,
            kind=MovementKind.ISSUE,
            movement_id="P",
            occurred_at=AT.add(days=1),
            actor="a",
        )


class RacingLedger(Ledger):
    """A ledger where another writer posts just before each of our first ``races`` posts."""

    def __init__(self, base: Ledger, races: int) -> None:
        super().__init__(base.store, clock=lambda: CLOCK)
        self.races = races

    def post(self, movements, *, expected_position=None, retries=0, lock_head=False) -> PostResult:
        if self.races:
            self.races -= 1
            other = Movement.issue(
                f"race-{self.races}",
                item=EARLY,
                quantity=1,
                source=STORE,
                occurred_at=AT,
                actor="b",
            )
            super().post([other])
        return super().post(
            movements, expected_position=expected_position, retries=retries, lock_head=lock_head
        )


def test_allocate_and_post_plans_again_after_losing_a_race(ledger):
    racing = RacingLedger(ledger, races=2)
    index = index_from_ledger(racing)
    plan, result = allocate_and_post(
        racing,
        index,
        request(5),
        kind=MovementKind.ISSUE,
        movement_id="P",
        occurred_at=AT,
        actor="a",
    )
    # Two units of EARLY went to the racing writer; the third plan saw that.
    assert [(p.item.lot, p.quantity) for p in plan.picks] == [(EARLY.lot, 2), (LATE.lot, 3)]
    assert [r.movement.id for r in result.new] == ["P/1", "P/2"]
    assert index_matches_ledger(index, racing)


def test_allocate_and_post_gives_up_after_its_attempts(ledger):
    racing = RacingLedger(ledger, races=5)
    index = index_from_ledger(racing)
    with pytest.raises(StalePlanError):
        allocate_and_post(
            racing,
            index,
            request(1),
            kind=MovementKind.ISSUE,
            movement_id="P",
            occurred_at=AT,
            actor="a",
            attempts=2,
        )
    with pytest.raises(InvalidValueError, match="at least 1 attempt"):
        allocate_and_post(
            racing,
            index,
            request(1),
            kind=MovementKind.ISSUE,
            movement_id="P",
            occurred_at=AT,
            actor="a",
            attempts=0,
        )


def test_allocate_and_post_refuses_a_short_plan_unless_partial_is_allowed(ledger):
    index = index_from_ledger(ledger)
    head = ledger.head()
    with pytest.raises(InsufficientStockError, match="requested 20, available 14"):
        allocate_and_post(
            ledger,
            index,
            request(20),
            kind=MovementKind.ISSUE,
            movement_id="P",
            occurred_at=AT,
            actor="a",
        )
    assert ledger.head() == head
    plan, _ = allocate_and_post(
        ledger,
        index,
        request(20),
        kind=MovementKind.ISSUE,
        movement_id="P",
        occurred_at=AT,
        actor="a",
        allow_partial=True,
    )
    assert plan.shortfall == 6
    assert ledger.balance(gtin=GTIN) == 0


def test_index_from_ledger_reads_positions_consistently(ledger):
    class Busy(Ledger):
        def __init__(self) -> None:
            super().__init__(ledger.store, clock=lambda: CLOCK)
            self.n = 0

        def positions(self, *args, **kwargs):
            self.n += 1
            if self.n <= 3:  # a writer posts while every plain read is in progress
                super().post([receipt(f"busy-{self.n}", LATE, 1, USE.add(days=90))])
            return super().positions(*args, **kwargs)

    busy = Busy()
    index = index_from_ledger(busy, attempts=3)
    assert index_matches_ledger(index, busy)


OPTIONS = {"kind": MovementKind.ISSUE, "movement_id": "X", "occurred_at": AT, "actor": "a"}


def call(function: str, ledger: Ledger, **options: object) -> object:
    """Call one of the three picking functions with the posting ``options`` only."""
    index = index_from_ledger(ledger)
    if function == "plan_movements":
        return plan_movements(index.allocate(request(1)), **options)  # type: ignore[arg-type]
    if function == "post_plan":
        return post_plan(ledger, index.allocate(request(1)), **options)  # type: ignore[arg-type]
    return allocate_and_post(ledger, index, request(1), **options)  # type: ignore[arg-type]


FUNCTIONS = ("plan_movements", "post_plan", "allocate_and_post")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_posting_options_are_keyword_arguments_as_before(ledger, function):
    with pytest.raises(
        TypeError, match=rf"{function}\(\) got an unexpected keyword argument 'kinds'"
    ):
        call(function, ledger, **OPTIONS, kinds=MovementKind.ISSUE)
    for missing in ("actor", "kind", "movement_id", "occurred_at"):
        given = {k: v for k, v in OPTIONS.items() if k != missing}
        with pytest.raises(TypeError, match=rf"{function}\(\) missing .* argument: '{missing}'"):
            call(function, ledger, **given)
    assert ledger.head().position == 2  # nothing was posted
    assert call(function, ledger, **OPTIONS, reason="R")


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "ISSUE"}, "not ISSUE"),  # text, not a MovementKind
        ({"kind": MovementKind.SCRAP}, "not SCRAP"),
        ({"kind": MovementKind.TRANSFER}, "needs the destination"),
        ({"kind": MovementKind.CONSUMPTION}, "patient or procedure"),
    ],
)
def test_every_picking_function_checks_the_options_alike(ledger, function, options, message):
    with pytest.raises(InvalidValueError, match=message):
        call(function, ledger, **(OPTIONS | options))
    assert ledger.head().position == 2


def test_allocate_and_post_checks_its_options_before_planning(ledger):
    index = index_from_ledger(ledger)
    options = OPTIONS | {"kind": MovementKind.CONSUMPTION}  # no reference
    with pytest.raises(InvalidValueError, match="patient or procedure"):
        # the request is short too, but the options are what is wrong
        allocate_and_post(ledger, index, request(20), **options)  # type: ignore[arg-type]
    assert index.position == 2


def test_the_typed_options_and_the_checked_ones_name_the_same_fields():
    fields = attrs.fields(picking._Posting)
    assert [f.name for f in fields] == list(picking.PostingOptions.__annotations__)
    required = [f.name for f in fields if f.default is attrs.NOTHING]
    assert required == ["kind", "movement_id", "occurred_at", "actor"]
    annotations = picking.PostingOptions.__annotations__
    assert all("Required[" in str(annotations[name]) for name in required)
