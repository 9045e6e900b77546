"""Movements during a count never make a variance; recounts after closing; four eyes by person."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_stocktake import MemoryStocktakes
from medinv.errors import (
    CountLineError,
    FourEyesError,
    InvalidValueError,
    StocktakeStateError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.services import StocktakeService
from medinv.status import StockStatus
from medinv.stocktake import CountLine, StocktakeScope, StocktakeState, VarianceKind

GLOVES = ItemKey("04006381333931", lot="L1")
GLOVES_NEW = ItemKey("04006381333931", lot="L9")
PROBE = ItemKey("04006381333931", lot="L1", serial="SN-1")
A1, A2, A3 = (Location.parse(f"Main/Store/A{n}") for n in (1, 2, 3))
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
    common: dict[str, Any] = {"occurred_at": at(7), "actor": "dock", "expiry": "2027-06-30"}
    ledger.post(
        [
            Movement.receipt("r1", item=GLOVES, quantity=10, to=A1, **common),
            Movement.receipt("r2", item=PROBE, quantity=1, to=A2, **common),
            Movement.receipt("r3", item=GLOVES, quantity=4, to=A3, **common),
        ]
    )
    return ledger


@pytest.fixture
def service(ledger: Ledger) -> StocktakeService:
    service = StocktakeService(ledger, MemoryStocktakes())
    service.plan("ST-1", scope=StocktakeScope(["Main/Store"]), created_by="lea", at=at(8))
    service.begin("ST-1", at=at(9))
    return service


def line(
    line_id: str,
    *,
    counter: str = "ana",
    item: ItemKey = GLOVES,
    location: Location = A1,
    quantity: int = 10,
    when: pendulum.DateTime | None = None,
    recount_of: str | None = None,
) -> CountLine:
    return CountLine(
        id=line_id,
        counter=counter,
        device=f"dev-{counter}",
        counted_at=when or at(10),
        location=location,
        item=item,
        quantity=quantity,
        recount_of=recount_of,
    )


def post(ledger: Ledger, clock: Clock, movement: Movement) -> None:
    clock.now = movement.occurred_at
    ledger.post([movement])


def test_a_lot_delivered_into_a_bin_after_it_was_counted_is_neither_missing_nor_adjusted(
    service, ledger, clock
):
    service.add_lines(
        "ST-1",
        [line("c1", when=at(10)), line("p1", item=PROBE, location=A2, quantity=1, when=at(10))],
    )
    service.add_lines("ST-1", [line("c3", location=A3, quantity=4, when=at(10))])
    post(
        ledger,
        clock,
        Movement.receipt(
            "late",
            item=GLOVES_NEW,
            quantity=6,
            to=A1,
            occurred_at=at(10, 30),
            actor="dock",
            expiry="2028-01-31",
        ),
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    entry = report.entry(GLOVES_NEW, A1)
    assert (entry.kind, entry.expected, entry.counted, entry.counted_at) == (
        VarianceKind.MATCH,
        0,
        0,
        at(10),
    )
    assert report.variances == ()
    service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
    service.post("ST-1", at=at(13))
    assert ledger.balance(GLOVES_NEW, location=A1) == 6  # the delivery stays on the book


def test_a_transfer_creating_a_position_in_a_counted_bin_makes_no_shortage(service, ledger, clock):
    service.add_lines(
        "ST-1",
        [
            line("c1", quantity=10, when=at(10)),
            line("p1", item=PROBE, location=A2, quantity=1, when=at(10, 5)),
        ],
    )
    # After A2 was counted, gloves arrive there from A3 (a new position in A2) ...
    post(
        ledger,
        clock,
        Movement.transfer(
            "t1", item=GLOVES, quantity=3, source=A3, to=A2, occurred_at=at(10, 20), actor="porter"
        ),
    )
    # ... and A3 is counted after the transfer.
    service.add_lines("ST-1", [line("c3", location=A3, quantity=1, when=at(10, 40))])
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    moved = report.entry(GLOVES, A2)
    assert (moved.kind, moved.expected, moved.counted_at) == (VarianceKind.MATCH, 0, at(10, 5))
    assert report.variances == ()


def test_keys_in_bins_nobody_counted_are_not_counted_and_never_adjusted(service, ledger):
    service.add_lines("ST-1", [line("c1", when=at(10))])
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    assert {(v.item, v.location) for v in report.not_counted} == {(PROBE, A2), (GLOVES, A3)}
    assert all(v.difference == 0 and not v.requires_recount for v in report.not_counted)
    assert report.variances == () and report.adjustable == ()
    service.approve("ST-1", approver="max", at=at(13))
    service.post("ST-1", at=at(13))
    assert ledger.balance(GLOVES, location=A3) == 4
    assert ledger.balance(PROBE, location=A2) == 1


def test_a_serial_moved_during_the_count_and_seen_in_both_bins_is_no_duplicate(
    service, ledger, clock
):
    service.add_lines("ST-1", [line("p1", item=PROBE, location=A2, quantity=1, when=at(10))])
    post(
        ledger,
        clock,
        Movement.transfer(
            "t1", item=PROBE, quantity=1, source=A2, to=A3, occurred_at=at(10, 15), actor="porter"
        ),
    )
    service.add_lines(
        "ST-1",
        [
            line("p3", item=PROBE, location=A3, quantity=1, when=at(10, 30)),
            line("c3", location=A3, quantity=4, when=at(10, 30)),
            line("c1", location=A1, quantity=10, when=at(10, 30)),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    assert report.by_kind(VarianceKind.SERIAL_DUPLICATE) == ()
    assert report.variances == () and report.pending_recounts == ()
    service.approve("ST-1", approver="max", at=at(13))
    service.post("ST-1", at=at(13))
    assert ledger.balance(PROBE, location=A3) == 1
    assert ledger.balance(PROBE, location=A2) == 0


def test_a_serial_seen_in_two_bins_the_ledger_does_not_explain_is_still_a_duplicate(service):
    service.add_lines(
        "ST-1",
        [
            line("p2", item=PROBE, location=A2, quantity=1, when=at(10)),
            line("p3", item=PROBE, location=A3, quantity=1, when=at(10, 30)),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    report = service.report("ST-1")
    duplicates = report.by_kind(VarianceKind.SERIAL_DUPLICATE)
    assert {v.location for v in duplicates} == {A2, A3}
    assert all(v.requires_recount for v in duplicates)


def test_an_uncounted_key_of_a_counted_bin_is_recounted_after_closing_without_reopening(
    service, ledger
):
    # Ana counts A1 but misses nothing; she counts A3 and does not see the gloves there.
    service.add_lines(
        "ST-1",
        [
            line("c1", when=at(10)),
            line("p1", item=PROBE, location=A2, quantity=1, when=at(10)),
            line("x3", item=GLOVES_NEW, location=A3, quantity=0, when=at(10, 10)),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    shortage = service.report("ST-1").entry(GLOVES, A3)
    assert (shortage.kind, shortage.requires_recount) == (VarianceKind.SHORTAGE, True)
    assert "x3" in (shortage.detail or "")
    with pytest.raises(CountLineError, match="different counter"):
        service.add_lines(
            "ST-1",
            [line("r3", counter="ANA", location=A3, quantity=4, when=at(12, 30), recount_of="x3")],
        )
    with pytest.raises(CountLineError, match="only recount lines"):
        service.add_lines("ST-1", [line("n3", counter="bob", location=A3, quantity=4)])
    service.add_lines(
        "ST-1",
        [line("r3", counter="bob", location=A3, quantity=4, when=at(12, 30), recount_of="x3")],
    )
    assert service.store.get("ST-1").state is StocktakeState.REVIEW
    entry = service.report("ST-1").entry(GLOVES, A3)
    assert (entry.kind, entry.recount_round, entry.line_ids) == (VarianceKind.MATCH, 1, ("r3",))
    service.approve("ST-1", approver="max", at=at(13))
    service.post("ST-1", at=at(13))
    assert ledger.balance(GLOVES, location=A3) == 4


def test_a_recount_naming_a_line_of_another_bin_is_refused(service):
    service.add_lines("ST-1", [line("c1", when=at(10))])
    service.close_counting("ST-1", at=at(12))
    with pytest.raises(CountLineError, match="not the same stock"):
        service.add_lines(
            "ST-1", [line("r3", counter="bob", location=A3, quantity=4, recount_of="c1")]
        )


# --------------------------------------------------------------------------- four eyes


def test_four_eyes_compares_people_not_strings(service):
    service.add_lines("ST-1", [line("c1", counter="lea", quantity=9, when=at(10))])
    with pytest.raises(CountLineError, match="different counter"):
        service.add_lines(
            "ST-1", [line("r1", counter="Lea", quantity=9, when=at(10, 5), recount_of="c1")]
        )
    with pytest.raises(CountLineError, match="different counter"):
        service.add_lines(
            "ST-1",
            [line("r1", counter="\uff2c\uff45\uff41", quantity=9, when=at(10, 5), recount_of="c1")],
        )
    service.add_lines(
        "ST-1", [line("r1", counter="ana", quantity=9, when=at(10, 5), recount_of="c1")]
    )
    service.close_counting("ST-1", at=at(12))
    with pytest.raises(FourEyesError, match="created"):
        service.approve("ST-1", approver="lea ", at=at(13), default_reason="COUNT")
    with pytest.raises(FourEyesError, match="created"):
        service.approve("ST-1", approver="LEA", at=at(13), default_reason="COUNT")
    with pytest.raises(FourEyesError, match="counted"):
        service.approve("ST-1", approver=" Ana", at=at(13), default_reason="COUNT")
    approved = service.approve("ST-1", approver="Max", at=at(13), default_reason="COUNT")
    assert approved.approved_by == "Max"  # stored as given


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("m\u0430x", "confusable scripts"),  # Cyrillic a in a Latin name
        ("ma\u200bx", "invisible"),
        ("\u202emax", "bidi control"),
        ("max\u00ad", "invisible"),  # soft hyphen
        ("   ", "blank"),
    ],
)
def test_deceptive_actor_names_are_refused_with_the_field_named(service, name, reason):
    service.add_lines("ST-1", [line("c1", when=at(10))])
    service.close_counting("ST-1", at=at(12))
    with pytest.raises(InvalidValueError, match=reason) as refused:
        service.approve("ST-1", approver=name, at=at(13))
    assert "approver" in str(refused.value)
    with pytest.raises(InvalidValueError, match="counter"):
        line("x", counter=name)
    with pytest.raises(InvalidValueError, match="canceller"):
        service.cancel("ST-1", by=name, reason="duplicate")
    assert service.store.get("ST-1").state is StocktakeState.REVIEW


@pytest.mark.parametrize("reason", ["", "   ", "x\x00y", 42, None])
def test_cancel_needs_a_reason(service, reason):
    with pytest.raises(InvalidValueError, match="cancellation reason"):
        service.cancel("ST-1", by="max", reason=reason)
    assert service.store.get("ST-1").state is StocktakeState.COUNTING


def test_cancel_needs_an_actor(service):
    with pytest.raises(InvalidValueError, match="canceller"):
        service.cancel("ST-1", by=None, reason="duplicate")
    cancelled = service.cancel("ST-1", by=" Max ", reason="duplicate")
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == (" Max ", "duplicate")
    with pytest.raises(StocktakeStateError):
        service.cancel("ST-1", by="max", reason="again")


def test_a_counter_sees_their_own_lines_whatever_the_spelling(service):
    service.add_lines("ST-1", [line("c1", counter="ana"), line("c2", counter="bob", location=A3)])
    view = service.view("ST-1", counter=" ANA")
    assert [x.id for x in view.lines] == ["c1"]
    assert view.book is None  # still blind
