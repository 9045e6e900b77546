"""What a patient, procedure or department received, net of returns and reversals, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore
from medinv.services import PartyReceipts, received
from medinv.status import StockStatus

STENT = ItemKey("04006381333931", lot="L1")
SCREW = ItemKey("09506000134352", serial="SN-1")
OR1, STORE = Location.parse("CHU/OR-1"), Location.parse("CHU/Store")
PATIENT, OTHER, ICU = "PATIENT:P-000123", "PATIENT:P-000456", "DEPARTMENT:ICU"
T0 = pendulum.datetime(2026, 11, 23, 8, tz="Europe/Paris")


def at(hours: int) -> pendulum.DateTime:
    return T0.add(hours=hours)


def _opened(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> LedgerStore:
    if kind == "postgres":
        schema = request.getfixturevalue("postgres_schema")
        return PostgresStore(request.getfixturevalue("postgres_dsn"), schema=schema)
    return SqliteStore(tmp_path / "ledger.sqlite3") if kind == "sqlite" else MemoryStore()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    opened = _opened(request.param, request, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def history(ledger: Ledger) -> None:
    def use(mid: str, hours: int, party: str, qty: int = 1, **kw: object) -> Movement:
        return Movement.consumption(
            mid, item=STENT, quantity=qty, source=OR1, occurred_at=at(hours), actor="rn",
            counterparty=party, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    ledger.post(
        [
            Movement.receipt("R-1", item=STENT, quantity=20, to=OR1, occurred_at=at(0), actor="d",
                             counterparty="SUPPLIER:ACME", business_references=["po:PO-1"]),
            Movement.receipt("R-2", item=SCREW, quantity=1, to=OR1, occurred_at=at(0), actor="d"),
            Movement.receipt("R-3", item=STENT, quantity=20, to=STORE, occurred_at=at(0), actor="d"),
            use("C-1", 1, PATIENT, 3, business_references=["procedure:OP-1"]),
            use("C-2", 2, OTHER, 2, business_references=["procedure:OP-2"]),
            Movement.consumption("C-3", item=SCREW, quantity=1, source=OR1, occurred_at=at(3),
                                 actor="rn", counterparty=PATIENT,
                                 business_references=["procedure:OP-1"]),
            Movement.return_("B-1", item=STENT, quantity=1, to=OR1, occurred_at=at(4), actor="rn",
                             counterparty=PATIENT, business_references=["procedure:OP-1"]),
            Movement.issue("I-1", item=STENT, quantity=5, source=STORE, occurred_at=at(5),
                           actor="st", counterparty=ICU, business_references=["requisition:RQ-9"]),
            Movement.transfer("T-1", item=STENT, quantity=2, source=STORE, to=OR1,
                              occurred_at=at(5), actor="st", counterparty=ICU),
        ]
    )  # fmt: skip
    wrong = ledger.movement("C-2")
    assert wrong is not None
    ledger.post([Movement.reversal("C-2-R", of=wrong.movement, occurred_at=at(6), actor="rn")])


def test_a_patient_procedure_and_department_received(store: LedgerStore) -> None:
    ledger = Ledger(store)
    history(ledger)
    patient = received(ledger, party=PATIENT)
    assert [(line.movement_id, line.quantity) for line in patient.lines] == [
        ("C-1", 3),
        ("C-3", 1),
        ("B-1", -1),
    ]
    assert [(i.item, i.quantity, i.first_at, i.last_at) for i in patient.items] == [
        (STENT, 2, at(1), at(4)),
        (SCREW, 1, at(3), at(3)),
    ]
    assert patient.quantity() == 3
    # A reversed consumption nets to nothing: the reversal carries the patient too.
    other = received(ledger, party=OTHER)
    assert [(line.movement_id, line.kind, line.quantity) for line in other.lines] == [
        ("C-2", MovementKind.CONSUMPTION, 2),
        ("C-2-R", MovementKind.REVERSAL, -2),
    ]
    assert [(i.item, i.quantity) for i in other.items] == [(STENT, 0)]
    assert received(ledger, business_reference="procedure:OP-1").quantity() == 3
    assert received(ledger, business_reference="procedure:OP-1").quantity(SCREW) == 1
    assert received(ledger, business_reference="procedure:OP-2").quantity() == 0
    # The department: the issue counts; a transfer stays inside the ledger's locations.
    assert [line.movement_id for line in received(ledger, party=ICU).lines] == ["I-1"]
    # A supplier's delivery is what it gave, not what it received.
    assert received(ledger, party="SUPPLIER:ACME").lines == ()
    # Both filters at once, and a time window (from inclusive, until exclusive).
    both = received(ledger, party=PATIENT, business_reference="procedure:OP-1")
    assert both.quantity() == 3
    window = received(ledger, party=PATIENT, since=at(2), until=at(4))
    assert [line.movement_id for line in window.lines] == ["C-3"]


def test_a_reversal_whose_original_is_outside_the_answer_is_still_netted() -> None:
    """The original is looked up when the reversal alone matches (the window excludes it)."""
    ledger = Ledger(MemoryStore())
    history(ledger)
    late = received(ledger, party=OTHER, since=at(6))
    assert [(line.movement_id, line.quantity) for line in late.lines] == [("C-2-R", -2)]


def test_whose_receipts_must_be_said() -> None:
    ledger = Ledger(MemoryStore())
    with pytest.raises(InvalidValueError, match="party"):
        received(ledger)
    with pytest.raises(InvalidValueError, match="patient reference"):
        received(ledger, party="PATIENT:Jane Doe")
    with pytest.raises(InvalidValueError, match="business transaction type"):
        received(ledger, business_reference="surgery:1")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["use", "back", "undo"]), st.integers(1, 4), st.booleans()),
        max_size=12,
    )
)
def test_the_net_is_what_left_the_shelf_for_the_patient(
    steps: list[tuple[str, int, bool]],
) -> None:
    """Whatever the mix of uses, returns and reversals, the net received equals the shelf's loss."""
    ledger = Ledger(MemoryStore())
    ledger.post(
        [Movement.receipt("R", item=STENT, quantity=1000, to=OR1, occurred_at=T0, actor="d")]
    )
    done: list[Movement] = []
    for n, (step, qty, mine) in enumerate(steps):
        party = PATIENT if mine else OTHER
        if step == "use":
            move = Movement.consumption(f"U{n}", item=STENT, quantity=qty, source=OR1,
                                        occurred_at=T0, actor="rn", counterparty=party)  # fmt: skip
        elif step == "back":
            move = Movement.return_(f"B{n}", item=STENT, quantity=qty, to=OR1, occurred_at=T0,
                                    actor="rn", counterparty=party, status=StockStatus.AVAILABLE)  # fmt: skip
        else:
            undoable = [m for m in done if m.kind is not MovementKind.REVERSAL]
            if not undoable:
                continue
            target = undoable[qty % len(undoable)]
            if ledger.store.reversals_of([target.id]):
                continue
            move = Movement.reversal(f"X{n}", of=target, occurred_at=T0, actor="rn")
        ledger.post([move])
        done.append(move)
    got: PartyReceipts = received(ledger, party=PATIENT)
    shelf_loss = 0
    for recorded in ledger.store.movements_by_id([m.id for m in done]).values():
        m = recorded.movement
        if m.counterparty is not None and str(m.counterparty) == PATIENT:
            for _, _, delta in m.deltas():
                shelf_loss -= delta
    assert got.quantity() == shelf_loss
