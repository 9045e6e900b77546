"""Lot-wide status operations on every store: one batch, deterministic ids, lost races retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import (
    BalanceLimitError,
    ConcurrencyError,
    InvalidIdentifierError,
    InvalidValueError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore
from medinv.quantity import MAX_QUANTITY
from medinv.services import (
    StockTarget,
    change_status,
    hold,
    quarantine,
    recall,
    release,
)
from medinv.status import StockStatus

GTIN = "04006381333931"
OTHER = "96385074"
LOT_A = ItemKey(GTIN, lot="LA")
LOT_B = ItemKey(GTIN, lot="LB")
UNIT = ItemKey(GTIN, lot="LA", serial="SN-1")
MASKS = ItemKey(OTHER, lot="LA")
PHARMACY = Location.parse("CHU/Pharmacy")
WARD = Location.parse("CHU/Ward-3")
THEATRE = Location.parse("CHU/Theatre/Cab-1")
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
AV, HO, QU, RE, DA = (
    StockStatus.AVAILABLE,
    StockStatus.HOLD,
    StockStatus.QUARANTINE,
    StockStatus.RECALLED,
    StockStatus.DAMAGED,
)
WHO: dict[str, Any] = {"reason": "investigation", "actor": "qa", "occurred_at": AT}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        with SqliteStore(tmp_path / "ledger.sqlite3") as opened:
            yield opened
    else:
        from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        with PostgresStore(dsn, schema=schema) as opened:
            yield opened


def receipt(mid: str, item: ItemKey, qty: int, to: Location, status: StockStatus = AV) -> Movement:
    return Movement.receipt(
        mid,
        item=item,
        quantity=qty,
        to=to,
        occurred_at=AT,
        actor="dock",
        expiry="2027-06-30",
        status=status,
    )


@pytest.fixture
def ledger(store: LedgerStore) -> Ledger:
    ledger = Ledger(store)
    ledger.post(
        [
            receipt("r1", LOT_A, 40, PHARMACY),
            receipt("r2", LOT_A, 7, WARD),
            receipt("r3", LOT_A, 3, THEATRE, QU),
            receipt("r4", LOT_B, 11, PHARMACY),
            receipt("r5", UNIT, 1, THEATRE),
            receipt("r6", MASKS, 9, WARD),
        ]
    )
    ledger.post(
        [
            Movement.status_change(
                "d1",
                item=LOT_A,
                quantity=2,
                at=PHARMACY,
                from_status=AV,
                to_status=DA,
                occurred_at=AT,
                actor="qa",
            )
        ]
    )
    return ledger


def totals(ledger: Ledger, **query: Any) -> dict[tuple[str, str, str], int]:
    return {
        (str(p.item), str(p.location), p.status.value): p.quantity
        for p in ledger.positions(**query)
    }


def test_hold_takes_available_stock_of_the_lot_at_every_location_in_one_batch(ledger: Ledger):
    before = ledger.head()
    result = hold(ledger, StockTarget.of_lot(GTIN, "LA"), operation="INV-1", **WHO)

    assert [(str(m.item), str(m.location), m.from_status, m.quantity) for m in result.moved] == [
        (str(LOT_A), "CHU/Pharmacy", AV, 38),
        (str(LOT_A), "CHU/Ward-3", AV, 7),
        (str(UNIT), "CHU/Theatre/Cab-1", AV, 1),
    ]
    assert result.quantity == 46
    assert result.head.position == before.position + 3
    assert {(str(p.location), p.status) for p in result.left} == {
        ("CHU/Pharmacy", DA),
        ("CHU/Theatre/Cab-1", QU),
    }
    assert result.already == ()
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 0
    assert ledger.balance(gtin=GTIN, lot="LA", status=HO) == 46
    # Other lots and GTINs are untouched.
    assert ledger.balance(LOT_B, status=AV) == 11
    assert ledger.balance(MASKS, status=AV) == 9
    posted = [ledger.movement(m.movement_id) for m in result.moved]
    assert all(r is not None and r.movement.kind is MovementKind.STATUS_CHANGE for r in posted)
    assert {r.movement.reason for r in posted if r} == {"investigation"}
    assert {r.movement.actor for r in posted if r} == {"qa"}
    assert len({r.hash for r in posted if r}) == 3
    assert ledger.verify().ok


def test_rerunning_an_operation_adds_nothing_and_reports_the_stock_already_moved(ledger: Ledger):
    target = StockTarget.of_lot(GTIN, "LA")
    first = hold(ledger, target, operation="INV-1", **WHO)
    head = ledger.head()

    again = hold(ledger, target, operation="INV-1", **WHO)

    assert again.moved == ()
    assert ledger.head() == head == again.head
    assert sum(p.quantity for p in again.already) == first.quantity == 46


def test_movement_ids_are_deterministic_across_ledgers(store: LedgerStore):
    runs = []
    for ledger in (Ledger(store), Ledger(MemoryStore())):
        ledger.post([receipt("r1", LOT_A, 5, PHARMACY), receipt("r2", LOT_A, 4, WARD)])
        runs.append(hold(ledger, LOT_A, operation="INV-9", **WHO))
    assert [m.movement_id for m in runs[0].moved] == [m.movement_id for m in runs[1].moved]
    assert all(m.movement_id.startswith("INV-9/") for m in runs[0].moved)


def test_stock_coming_back_is_taken_by_a_rerun_under_the_next_id(ledger: Ledger):
    target = StockTarget.of_lot(GTIN, "LA")
    first = hold(ledger, target, operation="INV-1", **WHO)
    ledger.post([receipt("r7", LOT_A, 5, PHARMACY)])

    again = hold(ledger, target, operation="INV-1", **WHO)

    [move] = again.moved
    base = next(m.movement_id for m in first.moved if m.location == PHARMACY)
    assert move.movement_id == f"{base}.2"
    assert move.quantity == 5
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 0
    ledger.post([receipt("r8", LOT_A, 1, PHARMACY)])
    assert hold(ledger, target, operation="INV-1", **WHO).moved[0].movement_id == f"{base}.3"


def test_release_brings_held_stock_back_and_leaves_quarantine_alone(ledger: Ledger):
    target = StockTarget.of_lot(GTIN, "LA")
    hold(ledger, target, operation="INV-1", **WHO)

    result = release(ledger, target, operation="INV-1-CLEARED", **WHO)

    assert result.quantity == 46
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 46
    assert ledger.balance(gtin=GTIN, lot="LA", status=QU) == 3
    released = release(ledger, target, operation="QC-7", from_statuses=[QU], **WHO)
    assert [(m.location, m.quantity) for m in released.moved] == [(THEATRE, 3)]
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 49


def test_quarantine_takes_available_and_held_stock(ledger: Ledger):
    hold(ledger, LOT_B, operation="INV-2", **WHO)
    ledger.post([receipt("r9", LOT_B, 4, WARD)])

    result = quarantine(ledger, StockTarget.of_lot(GTIN, "LB"), operation="Q-1", **WHO)

    assert sorted((m.from_status.value, m.quantity) for m in result.moved) == [
        ("AVAILABLE", 4),
        ("HOLD", 11),
    ]
    assert ledger.balance(gtin=GTIN, lot="LB", status=QU) == 15


def test_recall_takes_every_status_but_recalled_across_a_lot_list(ledger: Ledger):
    target = StockTarget.of_lots(GTIN, ["LB", "LA", "LA"])
    assert [lot.value for lot in target.lots] == ["LA", "LB"]

    result = recall(ledger, target, operation="FSN-2026-11", reference="FSN-2026-11", **WHO)

    assert result.quantity == 2 + 38 + 7 + 3 + 1 + 11
    assert {m.from_status for m in result.moved} == {AV, QU, DA}
    assert ledger.balance(gtin=GTIN, status=RE) == 62
    assert ledger.balance(gtin=GTIN, status=AV) == 0
    assert ledger.balance(MASKS, status=AV) == 9
    recorded = ledger.movement(result.moved[0].movement_id)
    assert recorded is not None
    assert recorded.movement.reference == "FSN-2026-11"
    again = recall(ledger, target, operation="FSN-2026-11", **WHO)
    assert again.moved == ()
    assert sum(p.quantity for p in again.already) == 62


def test_a_serial_target_moves_only_that_unit(ledger: Ledger):
    result = recall(ledger, StockTarget.of_serial(GTIN, "SN-1"), operation="FSN-3", **WHO)

    assert [(m.item, m.location, m.quantity) for m in result.moved] == [(UNIT, THEATRE, 1)]
    assert ledger.balance(UNIT, status=RE) == 1
    assert ledger.balance(LOT_A, status=AV) == 45
    assert StockTarget.of_item(UNIT) == StockTarget.of_serial(GTIN, "SN-1")


def test_a_product_target_and_a_location_scope(ledger: Ledger):
    result = hold(
        ledger, StockTarget.of_product(GTIN), operation="INV-3", within="CHU/Pharmacy", **WHO
    )

    assert sorted((str(m.item), m.quantity) for m in result.moved) == [
        (str(LOT_A), 38),
        (str(LOT_B), 11),
    ]
    assert ledger.balance(gtin=GTIN, location=WARD, status=AV) == 7


def test_nothing_to_move_posts_nothing(ledger: Ledger):
    head = ledger.head()
    result = hold(ledger, StockTarget.of_lot(GTIN, "NO-SUCH-LOT"), operation="INV-4", **WHO)
    assert (result.moved, result.already, result.left) == ((), (), ())
    assert result.head == head == ledger.head()


def test_a_refused_batch_leaves_the_ledger_unchanged(ledger: Ledger):
    # The ward already holds as much as any balance can: its hold is refused, and
    # with it the pharmacy's, which comes first in the batch.
    ledger.post([receipt("big", LOT_A, MAX_QUANTITY, WARD, HO)])
    head = ledger.head()
    before = totals(ledger, gtin=GTIN)

    with pytest.raises(BalanceLimitError):
        hold(ledger, StockTarget.of_lot(GTIN, "LA"), operation="INV-5", **WHO)

    assert ledger.head() == head
    assert totals(ledger, gtin=GTIN) == before
    assert ledger.verify().ok


def test_a_write_during_the_read_is_retried(ledger: Ledger, monkeypatch: pytest.MonkeyPatch):
    other = Ledger(ledger.store)
    real = ledger.positions
    raced: list[object] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        if not raced:  # another writer commits right after the first read
            raced.append(other.post([receipt("late", LOT_A, 6, WARD)]))
        return found

    monkeypatch.setattr(ledger, "positions", racing)
    result = hold(ledger, LOT_A, operation="INV-6", **WHO)

    assert result.attempts == 2
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 0
    assert sum(m.quantity for m in result.moved if m.location == WARD) == 13


def test_a_write_between_read_and_post_is_retried(ledger: Ledger, monkeypatch: pytest.MonkeyPatch):
    other = Ledger(ledger.store)
    real = ledger.post
    calls: list[int] = []

    def racing(movements: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["expected_position"])
        if len(calls) == 1:  # another writer takes stock before the batch lands
            other.post(
                [
                    Movement.issue(
                        "pick",
                        item=LOT_A,
                        quantity=30,
                        source=PHARMACY,
                        occurred_at=AT,
                        actor="nurse",
                    )
                ]
            )
        return real(movements, **kwargs)

    monkeypatch.setattr(ledger, "post", racing)
    result = hold(ledger, LOT_A, operation="INV-7", **WHO)

    assert result.attempts == 2
    assert calls[1] == calls[0] + 1
    assert [(m.location, m.quantity) for m in result.moved] == [
        (PHARMACY, 8),
        (WARD, 7),
        (THEATRE, 1),
    ]
    assert ledger.balance(gtin=GTIN, lot="LA", status=AV) == 0
    assert ledger.verify().ok


def test_a_race_lost_on_every_attempt_raises_and_posts_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
):
    other = Ledger(ledger.store)
    real = ledger.post
    n = iter(range(100))

    def racing(movements: Any, **kwargs: Any) -> Any:
        other.post([receipt(f"noise-{next(n)}", MASKS, 1, WARD)])
        return real(movements, **kwargs)

    monkeypatch.setattr(ledger, "post", racing)
    with pytest.raises(ConcurrencyError):
        hold(ledger, LOT_A, operation="INV-8", retries=2, **WHO)
    assert ledger.balance(gtin=GTIN, lot="LA", status=HO) == 0
    assert ledger.balance(MASKS) == 12


BAD: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("to", {"to": DA}, InvalidValueError, "DAMAGED"),
    ("to text", {"to": "nonsense"}, InvalidValueError, "unknown stock status"),
    ("source", {"to": AV, "from_statuses": [RE]}, InvalidValueError, "not from RECALLED"),
    ("no source", {"to": HO, "from_statuses": []}, InvalidValueError, "no status"),
    ("operation", {"operation": " "}, InvalidValueError, "operation id"),
    ("long operation", {"operation": "x" * 190}, InvalidValueError, "at most"),
    ("reason", {"reason": ""}, InvalidValueError, "needs a reason"),
    ("actor", {"actor": ""}, InvalidIdentifierError, "actor"),
    ("time", {"occurred_at": "2026-11-23T09:00"}, InvalidValueError, "offset"),
    ("retries", {"retries": -1}, InvalidValueError, "retries"),
    ("within", {"within": "CHU//Ward"}, InvalidValueError, "segment 2 is empty"),
    ("within type", {"within": 7}, InvalidValueError, "not int"),
    ("target", {"target": "LA"}, InvalidValueError, "StockTarget"),
]


@pytest.mark.parametrize(
    ("changes", "error", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_arguments_are_refused_before_anything_is_read(
    ledger: Ledger, changes: dict[str, Any], error: type[Exception], words: str
):
    call: dict[str, Any] = {"to": HO, "operation": "OP", "target": LOT_A, **WHO, **changes}
    head = ledger.head()
    with pytest.raises(error, match=words):
        change_status(ledger, call.pop("target"), **call)
    assert ledger.head() == head


TARGETS: list[tuple[Callable[[], object], str]] = [
    (lambda: StockTarget(GTIN, ("LA",), "S1"), "not both"),
    (lambda: StockTarget.of_lots(GTIN, []), "at least one lot"),
    (lambda: StockTarget.of_lot("04006381333932", "LA"), "check digit"),
    (lambda: StockTarget.of_serial(GTIN, ""), "serial"),
]


@pytest.mark.parametrize(("build", "words"), TARGETS)
def test_malformed_targets_are_refused(build: Callable[[], object], words: str):
    with pytest.raises(InvalidValueError, match=words):
        build()


def test_target_text():
    assert str(StockTarget.of_lots(GTIN, ["B", "A"])) == f"(01){GTIN}(10)A(10)B"
    assert str(StockTarget.of_serial(GTIN, "S")) == f"(01){GTIN}(21)S"
    assert str(StockTarget.of_item(ItemKey(GTIN))) == f"(01){GTIN}"


def test_one_lot_or_one_status_given_alone_is_not_split_into_characters(ledger: Ledger):
    assert StockTarget.of_lots(GTIN, "LA") == StockTarget.of_lot(GTIN, "LA")
    result = hold(ledger, LOT_A, operation="QC-2", from_statuses="quarantine", **WHO)
    assert [(m.location, m.from_status, m.quantity) for m in result.moved] == [(THEATRE, QU, 3)]
