"""The scenario: a lot over three sites and five departments, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from medinv.catalogue import PartyKind, PartyRef
from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.movements import MovementKind
from medinv.ports import LedgerStore
from medinv.status import StockStatus
from medinv.trace import FlowKind, Tracer, TraceSubject

from ._scenario import GTIN, LOT, SERIAL, build, day, loc
from .conftest import STORES

A, Q = StockStatus.AVAILABLE, StockStatus.QUARANTINE
SUBJECT = TraceSubject.of_lot(GTIN, "L-777")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> LedgerStore:
    """The scenario's store: in memory, in an SQLite file, in a PostgreSQL schema."""
    found: LedgerStore = request.getfixturevalue(f"{request.param}_store")
    return found


@pytest.fixture
def tracer(store: LedgerStore) -> Tracer:
    build(store)
    return Tracer(store)


def test_forward_where_it_is_now(tracer: Tracer) -> None:
    trace = tracer.forward(SUBJECT)
    assert trace.movements == 22  # every movement of the lot; not the serial's
    assert (trace.first_at, trace.last_at) == (day(1), day(7))
    assert {(str(h.location), h.status): h.quantity for h in trace.holdings} == {
        ("North/Store/Bin-3", A): 35,  # 100 - 30 - 10 - 15 - 10
        ("North/Ward/Cardio", A): 7,  # 15 - 3 - 2 - 1 (backdated) - 2 scrapped
        ("North/OR", A): 6,  # 10 - 4 - 1 + 1 (reversed)
        ("South/Store", A): 10,  # 30 - 10 - 5 - 5 issued + 2 returned, released, re-issued
        ("South/Store", Q): 1,  # returned again
        ("South/ICU", A): 8,
        ("South/Ward/Neuro", A): 5,
        ("East/Store", A): 5,
        ("East/ER", A): 4,
    }
    assert trace.on_hand_within(loc("North")) == 48
    assert all(h.item == LOT for h in trace.holdings)


def test_forward_mass_balance(tracer: Tracer) -> None:
    balance = tracer.forward(SUBJECT).balance
    assert (balance.received, balance.returned, balance.adjusted) == (100, 3, 0)
    assert (balance.on_hand, balance.consumed, balance.distributed, balance.scrapped) == (
        81, 13, 7, 2  # consumed: 3 + 2 + 4 + 2 + 1 + 1 (late) + 1 - 1 (reversed)
    )  # fmt: skip
    assert balance.balances
    walked = list(tracer.balances(SUBJECT))
    assert len(walked) == 22
    assert all(b.balances for _, b in walked)
    assert walked[-1][1] == balance


def test_forward_where_it_went(tracer: Tracer) -> None:
    trace = tracer.forward(SUBJECT)
    parties = {str(p.party): (p.sent, p.received, p.consumed) for p in trace.parties}
    assert parties == {
        "SUPPLIER:ACME": (0, 100, 0),
        "SITE:SOUTH": (30, 0, 0),
        "SITE:EAST": (10, 0, 0),
        "DEPARTMENT:CARDIO": (15, 0, 0),
        "DEPARTMENT:OR": (10, 0, 0),
        "DEPARTMENT:ICU": (10, 0, 0),
        "DEPARTMENT:NEURO": (5, 0, 0),
        "DEPARTMENT:ER": (5, 0, 0),
        "CUSTOMER:CLINIC-9": (7, 3, 0),  # issued 5, 2 back, re-issued 2, 1 back
        "PATIENT:P-10001": (3, 0, 3),
        "PATIENT:P-10002": (2, 0, 2),
        "PATIENT:P-10003": (4, 0, 4),
        "PATIENT:P-10004": (2, 0, 2),
        "PATIENT:P-10005": (1, 0, 1),
        "PATIENT:P-10006": (0, 0, 0),  # consumed in error, reversed
        "PATIENT:P-10007": (1, 0, 1),
    }
    assert len(trace.parties_of(PartyKind.DEPARTMENT)) == 5
    customers = trace.parties_of(PartyKind.CUSTOMER)
    assert [(c.net, c.first_at, c.last_at) for c in customers] == [(4, day(4), day(7))]
    sites = {str(f.place): (f.entered, f.left) for f in trace.sites}
    assert sites == {"East": (10, 1), "North": (100, 52), "South": (33, 9)}
    assert all(f.kind is FlowKind.SITE for f in trace.sites)
    flows = {str(f.place): (f.entered, f.left) for f in trace.locations}
    assert flows["North/Store/Bin-3"] == (100, 65)
    assert flows["North/Ward/Cardio"] == (15, 8)  # 3 + 2 + 1 consumed, 2 scrapped
    assert flows["South/Store"] == (33, 22)  # a status change is no flow


def test_steps_are_the_ledger_order_with_reversals_resolved(tracer: Tracer) -> None:
    steps = list(tracer.steps(SUBJECT))
    assert [s.position for s in steps] == sorted(s.position for s in steps)
    reversal = next(s for s in steps if s.kind is MovementKind.REVERSAL)
    assert (reversal.reverses, reversal.effective_kind, reversal.signed_quantity) == (
        "C-OR-2", MovementKind.CONSUMPTION, -1
    )  # fmt: skip
    assert steps[-1].movement_id == "C-LATE"


def test_serial_and_lot_never_collide(tracer: Tracer) -> None:
    serial = tracer.forward(TraceSubject.of_serial(GTIN, "L-777"))
    assert serial.movements == 1
    assert [(h.item, h.quantity) for h in serial.holdings] == [(SERIAL, 1)]
    assert tracer.forward(LOT).movements == 22  # an item key names its lot
    assert tracer.forward(ItemKey(GTIN, lot="L-778")).movements == 0


def test_where_on_a_date_counts_sub_bins(tracer: Tracer) -> None:
    """End of day 1: everything is in ``North/Store/Bin-3``, which is inside ``North/Store``."""
    where = tracer.where(SUBJECT, at=day(2, 0))
    assert [(str(h.location), h.quantity) for h in where.holdings] == [("North/Store/Bin-3", 100)]
    assert where.quantity_within(loc("North/Store")) == 100
    assert where.quantity_within(loc("North")) == 100
    assert where.quantity_within(loc("North/Store"), StockStatus.HOLD) == 0
    assert where.quantity_within(loc("South")) == 0
    assert where.late == ()


def test_where_as_known_at_a_position_shows_the_backdated_movement(
    tracer: Tracer, store: LedgerStore
) -> None:
    head = store.head().position
    end_of_day3 = day(4, 0)
    now = tracer.where(SUBJECT, at=end_of_day3)
    before = tracer.where(SUBJECT, at=end_of_day3, known_at=head - 1)
    cardio = loc("North/Ward/Cardio")
    assert now.quantity_within(cardio) == 15 - 3 - 2 - 1
    assert before.quantity_within(cardio) == 15 - 3 - 2
    assert [s.movement_id for s in before.late] == ["C-LATE"]
    assert before.late[0].occurred_at < end_of_day3 and before.known_at == head - 1
    assert now.late == ()
    # Without an instant: the lot as the ledger knew it at a position.
    assert tracer.where(SUBJECT, known_at=1).quantity_within(loc("North")) == 100


def test_backward_from_a_location_and_a_party(tracer: Tracer) -> None:
    south = tracer.backward(location="South")
    assert [(r.item, r.reached, r.left) for r in south.items] == [(LOT, 33, 9)]
    wards = tracer.backward(
        location=loc("North/Ward"), occurred_from=day(2, 0), occurred_to=day(3, 0)
    )
    assert [(r.item, r.reached, r.left, r.first_at) for r in wards.items] == [
        (LOT, 15, 0, day(2, 10))
    ]
    store = tracer.backward(location="North/Store")
    assert {r.item: (r.reached, r.left) for r in store.items} == {LOT: (100, 65), SERIAL: (1, 0)}
    patient = tracer.backward(party=PartyRef.parse("PATIENT:P-10001"))
    assert [(r.item, r.reached) for r in patient.items] == [(LOT, 3)]
    clinic = tracer.backward(party="CUSTOMER:CLINIC-9", occurred_from=day(5, 0))
    assert [(r.reached, r.left) for r in clinic.items] == [(2, 3)]
    assert clinic.party == PartyRef.parse("CUSTOMER:CLINIC-9") and clinic.location is None


def test_bad_questions_are_refused_clearly(tracer: Tracer, store: LedgerStore) -> None:
    head = store.head().position
    with pytest.raises(InvalidValueError, match=r"outside the ledger \(0\.\."):
        tracer.forward(SUBJECT, known_at=head + 1)
    with pytest.raises(InvalidValueError, match="ledger position"):
        tracer.forward(SUBJECT, known_at="3")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="exactly one of them"):
        tracer.backward(party="CUSTOMER:CLINIC-9", location="South")
    with pytest.raises(InvalidValueError, match="exactly one of them"):
        tracer.backward()
    with pytest.raises(InvalidValueError, match="invalid instant"):
        tracer.where(SUBJECT, at="2026-05-04")
    with pytest.raises(InvalidValueError, match="TraceSubject or an ItemKey"):
        tracer.forward("L-777")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="neither a lot nor a serial"):
        tracer.forward(ItemKey(GTIN))
    with pytest.raises(InvalidValueError, match="exactly one"):
        TraceSubject(device=GTIN, lot="L1", serial="S1")
    with pytest.raises(InvalidValueError, match="LedgerStore"):
        Tracer(object())  # type: ignore[arg-type]


def test_a_reversal_of_a_missing_movement_is_a_storage_error(store: LedgerStore) -> None:
    """A store that lost the movement a reversal undoes is corrupt: say so, do not guess."""
    build(store)

    class Forgetful:
        def __init__(self, inner: LedgerStore) -> None:
            self.inner = inner

        def movements_by_id(self, _ids: object) -> dict[str, object]:
            return {}

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    tracer = Tracer(Forgetful(store))  # type: ignore[arg-type]  # a store in every other way
    with pytest.raises(StorageError, match="'C-OR-2', which it does not hold"):
        tracer.forward(SUBJECT)
