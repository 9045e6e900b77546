"""Stocktakes against the real ledger: the issue's acceptance scenarios end to end."""

from __future__ import annotations

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_stocktake import MemoryStocktakes
from medinv.barcodes import Agency, Carrier, Scan
from medinv.errors import (
    ApprovalRefusedError,
    ConcurrencyError,
    CountLineError,
    FourEyesError,
    InsufficientStockError,
    StocktakeStateError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services import StocktakeService
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    StocktakeScope,
    StocktakeState,
    Tolerance,
    TolerancePolicy,
    VarianceKind,
)

GLOVES = ItemKey("04006381333931", lot="L1")
PROBE = ItemKey("04006381333931", lot="L1", serial="SN-1")
MASKS = ItemKey("96385074")
A1, A2 = Location.parse("Main/Store/A1"), Location.parse("Main/Store/A2")
WARD = Location.parse("Main/Ward")
AV = StockStatus.AVAILABLE


def at(hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")


class Clock:
    def __init__(self) -> None:
        self.now = at(7)

    def __call__(self) -> pendulum.DateTime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(clock: Clock) -> Ledger:
    ledger = Ledger(MemoryStore(), clock=clock)
    ledger.post(
        [
            Movement.receipt(
                "r1",
                item=GLOVES,
                quantity=10,
                to=A1,
                occurred_at=at(7),
                actor="dock",
                expiry="2027-06-30",
            ),
            Movement.receipt(
                "r2",
                item=PROBE,
                quantity=1,
                to=A2,
                occurred_at=at(7),
                actor="dock",
                expiry="2027-06-30",
            ),
            Movement.receipt(
                "r3", item=MASKS, quantity=5, to=WARD, occurred_at=at(7), actor="dock"
            ),
        ]
    )
    return ledger


@pytest.fixture
def service(ledger: Ledger) -> StocktakeService:
    return StocktakeService(ledger, MemoryStocktakes())


def line(
    line_id: str,
    *,
    counter: str = "ana",
    item: ItemKey = GLOVES,
    location: Location = A1,
    quantity: int = 10,
    when: pendulum.DateTime | None = None,
    **kw,
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


def start(service: StocktakeService, **kw) -> None:
    service.plan("ST-1", scope=StocktakeScope(["Main/Store"]), created_by="lea", at=at(8), **kw)
    service.begin("ST-1", at=at(9))


def issue(ledger: Ledger, clock: Clock, n: int, when: pendulum.DateTime, quantity: int = 2) -> None:
    clock.now = when.add(minutes=1)
    ledger.post(
        [
            Movement.issue(
                f"i{n}", item=GLOVES, quantity=quantity, source=A1, occurred_at=when, actor="ward"
            )
        ]
    )


def test_start_point_is_the_ledger_head(service, ledger):
    start(service)
    stocktake = service.store.get("ST-1")
    assert stocktake.start_position == ledger.head().position == 3
    book = service.book_at_start(stocktake)
    assert book.start == {(GLOVES, A1, AV): 10, (PROBE, A2, AV): 1}  # the ward is out of scope


def test_book_at_start_needs_a_start_point(service):
    planned = service.plan("ST-0", scope=StocktakeScope("Main"), created_by="lea", at=at(8))
    with pytest.raises(StocktakeStateError, match="read its book"):
        service.book_at_start(planned)


def test_issue_during_the_count_is_no_variance(service, ledger, clock):
    start(service)
    issue(ledger, clock, 1, at(10))  # between the start point and the count
    service.add_lines(
        "ST-1",
        [line("c1", quantity=8, when=at(10, 30)), line("p1", item=PROBE, location=A2, quantity=1)],
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    assert report.variances == ()
    assert report.entry(GLOVES, A1).expected == 8
    assert report.as_of_position == 4


def test_issue_after_the_count_time_is_a_variance(service, ledger, clock):
    start(service)
    service.add_lines(
        "ST-1",
        [line("c1", quantity=8, when=at(10)), line("p1", item=PROBE, location=A2, quantity=1)],
    )
    issue(ledger, clock, 1, at(10, 30))  # after the line's count time
    service.close_counting("ST-1", at=at(12))
    entry = service.report("ST-1").entry(GLOVES, A1)
    assert (entry.kind, entry.expected, entry.counted) == (VarianceKind.SHORTAGE, 10, 8)


def test_a_report_while_counting_needs_an_as_of(service):
    start(service)
    service.add_lines("ST-1", [line("c1", quantity=10)])
    report = service.report("ST-1", as_of=at(11))
    assert report.entry(PROBE, A2).kind is VarianceKind.NOT_COUNTED  # not counted yet


def test_unknown_item_versus_item_known_to_the_ledger(service):
    start(service)
    stranger = ItemKey("10614141000415")
    service.add_lines(
        "ST-1",
        [
            line("c1", quantity=10),
            line("p1", item=PROBE, location=A2, quantity=1),
            line("s1", item=stranger, location=A2, quantity=4),
            line("m1", item=MASKS, location=A2, quantity=1),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    assert report.entry(stranger, A2).kind is VarianceKind.UNKNOWN_ITEM
    # masks are only booked in the ward, outside the scope: known to the ledger, a surplus here
    assert report.entry(MASKS, A2).kind is VarianceKind.SURPLUS


def test_lot_expiry_mismatch_from_ledger_master_data(service):
    start(service)
    service.add_lines(
        "ST-1",
        [
            line("c1", quantity=10, expiry="2027-07-31"),
            line("p1", item=PROBE, location=A2, quantity=1),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    (mismatch,) = service.report("ST-1").by_kind(VarianceKind.LOT_EXPIRY_MISMATCH)
    assert "2027-06-30" in (mismatch.detail or "")


def test_serial_counted_in_two_locations(service):
    start(service, tolerances=TolerancePolicy(Tolerance(absolute=1)))
    service.add_lines(
        "ST-1",
        [
            line("c1", quantity=10),
            line("p1", item=PROBE, location=A2, quantity=1),
            line("p2", item=PROBE, location=A1, quantity=1, counter="bob"),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    assert {v.location for v in report.by_kind(VarianceKind.SERIAL_DUPLICATE)} == {A1, A2}
    with pytest.raises(ApprovalRefusedError, match="recount"):
        service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")


def test_full_cycle_with_recount_four_eyes_and_idempotent_post(service, ledger, clock):
    start(service)
    issue(ledger, clock, 1, at(9, 30))
    service.add_lines(
        "ST-1",
        [
            line("c1", quantity=5, when=at(10)),
            line("p1", item=PROBE, location=A2, quantity=1, counter="bob"),
        ],
    )
    with pytest.raises(CountLineError, match="different counter"):
        service.add_lines("ST-1", [line("c2", quantity=6, recount_of="c1", when=at(11))])
    service.close_counting("ST-1", at=at(12))
    with pytest.raises(ApprovalRefusedError, match="recount"):
        service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
    service.add_lines(
        "ST-1", [line("c2", counter="cyd", quantity=6, recount_of="c1", when=at(12, 30))]
    )
    report = service.report("ST-1")
    assert report.entry(GLOVES, A1).difference == -2 and report.pending_recounts == ()
    with pytest.raises(FourEyesError, match="created"):
        service.approve("ST-1", approver="lea", at=at(13), default_reason="COUNT")
    with pytest.raises(FourEyesError, match="counted"):
        service.approve("ST-1", approver="cyd", at=at(13), default_reason="COUNT")
    approved = service.approve("ST-1", approver="max", at=at(13), default_reason="LOSS")
    assert approved.state is StocktakeState.APPROVED
    clock.now = at(14)
    result = service.post("ST-1", at=at(14))
    (adjustment,) = result.new
    assert adjustment.movement.kind is MovementKind.ADJUSTMENT
    assert adjustment.movement.reference == "ST-1" and adjustment.movement.reason == "LOSS"
    assert ledger.balance(GLOVES, location=A1) == 6
    assert service.store.get("ST-1").state is StocktakeState.POSTED
    head = ledger.head()
    again = service.post("ST-1", at=at(15))
    assert again.new == () and again.replayed == (adjustment.movement.id,)
    assert ledger.head() == head and ledger.balance(GLOVES, location=A1) == 6
    assert ledger.verify().ok


def test_post_after_a_crash_between_ledger_and_store_is_a_replay(service, ledger):
    start(service, tolerances=TolerancePolicy(Tolerance(absolute=5)))
    service.add_lines(
        "ST-1", [line("c1", quantity=9), line("p1", item=PROBE, location=A2, quantity=1)]
    )
    service.close_counting("ST-1", at=at(12))
    approved = service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
    ledger.post(approved.movements())  # the ledger got it, the store never heard back
    result = service.post("ST-1", at=at(14))
    assert result.new == () and len(result.replayed) == 1
    assert service.store.get("ST-1").state is StocktakeState.POSTED
    assert ledger.balance(GLOVES, location=A1) == 9


def test_post_refused_when_stock_left_since_the_count(service, ledger, clock):
    start(service, tolerances=TolerancePolicy(Tolerance(absolute=10)))
    service.add_lines(
        "ST-1",
        [line("c1", quantity=2, when=at(10)), line("p1", item=PROBE, location=A2, quantity=1)],
    )
    service.close_counting("ST-1", at=at(12))
    service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
    issue(ledger, clock, 9, at(13, 30), quantity=9)  # the book allowed it; the shelf did not
    with pytest.raises(InsufficientStockError):
        service.post("ST-1", at=at(14))
    assert service.store.get("ST-1").state is StocktakeState.APPROVED


def test_lines_and_transitions_race_safely(service):
    start(service)
    stale = service.store.get("ST-1")
    service.close_counting("ST-1", at=at(12))
    with pytest.raises(ConcurrencyError):
        service.store.add_lines("ST-1", [line("c1")], expected_version=stale.version)
    with pytest.raises(StocktakeStateError):
        service.close_counting("ST-1", at=at(12))


def test_reopen_cancel_and_blind_view(service):
    start(service)
    service.add_lines("ST-1", [line("c1", quantity=9)])
    assert service.view("ST-1", counter="ana").book is None
    service.close_counting("ST-1", at=at(12))
    service.reopen("ST-1")
    assert service.store.get("ST-1").state is StocktakeState.COUNTING
    cancelled = service.cancel("ST-1", by="lea", reason="audit postponed")
    assert cancelled.state is StocktakeState.CANCELLED
    view = service.view("ST-1", counter="ana")
    assert view.book == {(GLOVES, A1, AV): 10, (PROBE, A2, AV): 1}
    assert [x.id for x in view.lines] == ["c1"]


def test_csv_and_scan_intake(service):
    start(service)
    added = service.import_csv(
        "ST-1",
        "location,gtin,lot,quantity\nMain/Store/A1,04006381333931,L1,10\n",
        counter="ana",
        counted_at=at(10),
    )
    assert len(added) == 1
    read = Scan(
        agency=Agency.GS1,
        carrier=Carrier.GS1_HUMAN_READABLE,
        gtin=PROBE.gtin.value,
        lot="L1",
        serial="SN-1",
        raw="(01)04006381333931(10)L1(21)SN-1",
    )
    line_ = service.scan(
        "ST-1", read, line_id="s1", counter="bob", device="d2", counted_at=at(10, 5), location=A2
    )
    assert line_.item == PROBE
    assert len(service.store.lines("ST-1")) == 2
