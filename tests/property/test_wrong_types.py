"""Every public constructor and entry point, given values of the wrong type: only medinv errors.

Each case is a call with valid arguments in which Hypothesis replaces one argument
by an arbitrary value (of any type, odd numbers and text included). The call may
succeed (the value happened to be acceptable) or raise a
[`MedinvError`][medinv.errors.MedinvError]; a bare `TypeError`, `AttributeError`,
`ValueError`, `KeyError`, `OverflowError` ... is a bug.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medinv
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import (
    AllocationRequest,
    FefoIndex,
    fefo_key,
    fifo_key,
)
from medinv.dates import (
    Expiry,
    facility_date,
    facility_timezone,
    is_expired,
    remaining_shelf_life,
    to_date,
    to_datetime,
)
from medinv.errors import MedinvError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.ledger import Ledger, retry
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.ports import LedgerHead, MovementQuery, PositionQuery
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
from medinv.status import StockStatus

GTIN = "04006381333931"
ITEM = ItemKey(GTIN, lot="L1")
BIN = Location.parse("H/Store/A1")
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
USE = pendulum.date(2026, 11, 23)
NOW = pendulum.datetime(2026, 11, 23, 8, 0, tz="UTC")


class Odd:
    """An object of no type medinv knows."""

    def __repr__(self) -> str:
        return "Odd()"


WRONG: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, 0, 2**63, 2**64, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "\ud800", "x" * 300, "2026-13-01", "Europe/Nowhere"]),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=3)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(
        [
            object(),
            Odd(),
            dt.datetime(2026, 1, 1),  # noqa: DTZ001  (a naive date-time: one of the wrong values)
            dt.date(2026, 1, 1),
            pendulum.duration(days=1),
            ITEM,
            BIN,
            StockStatus.HOLD,
            MovementKind.ISSUE,
            Gtin(GTIN),
            Lot("L1"),
            Quantity.of(1),
            LedgerHead(0, "x"),
            float("inf"),
        ]
    ),
)


def receipt(mid: str = "R1", quantity: int = 5) -> Movement:
    return Movement.receipt(
        mid, item=ITEM, quantity=quantity, to=BIN, occurred_at=AT, actor="a", expiry="2027-01-01"
    )


def stocked_ledger() -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    ledger.post([receipt()])
    return ledger


def stocked_index() -> FefoIndex:
    return FefoIndex.from_positions(stocked_ledger().positions(), position=1)


def position(**kw: Any) -> StockPosition:
    fields: dict[str, Any] = {
        "item": ITEM,
        "location": BIN,
        "status": StockStatus.AVAILABLE,
        "quantity": 3,
        "expiry": USE,
        "received_at": AT,
    }
    fields.update(kw)
    return StockPosition(**fields)


def reserve(index: FefoIndex, arguments: dict[str, Any]) -> object:
    return index.reserve(index.allocate(REQUEST), **arguments)


HIERARCHY = PackagingHierarchy.chain(
    PackagingLevel(unit="CS", contains=10), PackagingLevel(unit="EA")
)
REQUEST = AllocationRequest.of(GTIN, 2, use_date=USE)

Call = Callable[[dict[str, Any]], object]
"""A call taking its (possibly replaced) keyword arguments."""

CASES: dict[str, tuple[Call, dict[str, Any]]] = {
    # value objects
    "Gtin": (lambda a: Gtin(**a), {"value": GTIN}),
    "Gtin.parse": (lambda a: Gtin.parse(**a), {"text": GTIN}),
    "Lot": (lambda a: Lot(**a), {"value": "L1"}),
    "Serial": (lambda a: Serial(**a), {"value": "S1"}),
    "ItemKey": (lambda a: ItemKey(**a), {"gtin": GTIN, "lot": "L1", "serial": None}),
    "Location": (lambda a: Location(**a), {"path": ("H", "A"), "pick_sequence": 1}),
    "Location.parse": (lambda a: Location.parse(**a), {"text": "H/A", "pick_sequence": 0}),
    "Location.child": (lambda a: BIN.child(**a), {"segment": "X", "pick_sequence": 0}),
    "Location.is_within": (lambda a: BIN.is_within(**a), {"other": BIN}),
    "StockStatus.parse": (lambda a: StockStatus.parse(**a), {"text": "hold"}),
    "Quantity.of": (lambda a: Quantity.of(**a), {"amount": 3, "unit": "EA", "gtin": None}),
    "Quantity.add": (lambda a: Quantity.of(1) + a["other"], {"other": Quantity.of(2)}),
    "Quantity.compare": (lambda a: Quantity.of(1) < a["other"], {"other": Quantity.of(2)}),
    "PackagingLevel": (
        lambda a: PackagingLevel(**a),
        {"unit": "CS", "gtin": None, "contains": 10},
    ),
    "PackagingHierarchy": (lambda a: PackagingHierarchy(**a), {"levels": HIERARCHY.levels}),
    "PackagingHierarchy.convert": (
        lambda a: HIERARCHY.convert(**a),
        {"quantity": Quantity.of(2, "CS"), "to": "EA"},
    ),
    "PackagingHierarchy.base_units_per": (
        lambda a: HIERARCHY.base_units_per(**a),
        {"unit_or_gtin": "CS"},
    ),
    "Expiry.on": (lambda a: Expiry.on(**a), {"date": "2027-01-31"}),
    "Expiry.month_end": (lambda a: Expiry.month_end(**a), {"year": 2027, "month": 2}),
    "to_date": (lambda a: to_date(**a), {"value": "2026-01-01"}),
    "to_datetime": (lambda a: to_datetime(**a), {"value": AT}),
    "facility_date": (lambda a: facility_date(**a), {"instant": AT, "tz": "Europe/Paris"}),
    "facility_timezone": (lambda a: facility_timezone(**a), {"tz": "Europe/Paris"}),
    "is_expired": (lambda a: is_expired(**a), {"expiry": USE, "as_of": USE}),
    "remaining_shelf_life": (lambda a: remaining_shelf_life(**a), {"expiry": USE, "as_of": USE}),
    "StockPosition": (lambda a: position(**a), {"quantity": 3, "expiry": USE}),
    "fefo_key": (lambda a: fefo_key(**a), {"position": position()}),
    "fifo_key": (lambda a: fifo_key(**a), {"position": position()}),
    # movements
    "Movement.receipt": (
        lambda a: Movement.receipt(**a),
        {
            "id": "R1",
            "item": ITEM,
            "quantity": 5,
            "to": BIN,
            "occurred_at": AT,
            "actor": "a",
            "status": StockStatus.AVAILABLE,
            "expiry": "2027-01-01",
            "reference": None,
            "reason": None,
        },
    ),
    "Movement.issue": (
        lambda a: Movement.issue(**a),
        {"id": "I1", "item": ITEM, "quantity": 1, "source": BIN, "occurred_at": AT, "actor": "a"},
    ),
    "Movement.transfer": (
        lambda a: Movement.transfer(**a),
        {
            "id": "T1",
            "item": ITEM,
            "quantity": 1,
            "source": BIN,
            "to": Location.parse("H/Ward"),
            "occurred_at": AT,
            "actor": "a",
            "status": StockStatus.AVAILABLE,
        },
    ),
    "Movement.status_change": (
        lambda a: Movement.status_change(**a),
        {
            "id": "S1",
            "item": ITEM,
            "quantity": 1,
            "at": BIN,
            "from_status": StockStatus.AVAILABLE,
            "to_status": StockStatus.HOLD,
            "occurred_at": AT,
            "actor": "a",
        },
    ),
    "Movement.adjustment": (
        lambda a: Movement.adjustment(**a),
        {
            "id": "A1",
            "item": ITEM,
            "change": -1,
            "at": BIN,
            "occurred_at": AT,
            "actor": "a",
            "reason": "count",
        },
    ),
    "Movement.reversal": (
        lambda a: Movement.reversal(**a),
        {"id": "X1", "of": receipt(), "occurred_at": AT, "actor": "a"},
    ),
    "Movement": (
        lambda a: Movement(**a),
        {
            "id": "M1",
            "kind": MovementKind.RECEIPT,
            "item": ITEM,
            "quantity": 1,
            "occurred_at": AT,
            "actor": "a",
            "to_location": BIN,
            "to_status": StockStatus.AVAILABLE,
        },
    ),
    # queries
    "PositionQuery": (
        lambda a: PositionQuery(**a),
        {"item": None, "gtin": GTIN, "lot": None, "location": "H", "status": "available"},
    ),
    "MovementQuery": (
        lambda a: MovementQuery(**a),
        {"item": None, "gtin": GTIN, "after_position": 0, "up_to_position": None},
    ),
    # the ledger
    "Ledger": (
        lambda a: Ledger(**a),
        {"store": MemoryStore(), "clock": None, "timezone": "Europe/Paris"},
    ),
    "Ledger.post": (
        lambda a: stocked_ledger().post(**a),
        {"movements": [receipt("R2")], "expected_position": None, "retries": 0},
    ),
    "Ledger.balance": (
        lambda a: stocked_ledger().balance(**a),
        {"item": ITEM, "location": None, "status": None, "as_of_position": None},
    ),
    "Ledger.positions": (
        lambda a: stocked_ledger().positions(**a),
        {"gtin": GTIN, "lot": None, "as_of_position": 1},
    ),
    "Ledger.history": (
        lambda a: stocked_ledger().history(**a),
        {"item": None, "serial": None, "after_position": 0, "up_to_position": None},
    ),
    "Ledger.movement": (lambda a: stocked_ledger().movement(**a), {"movement_id": "R1"}),
    "Ledger.verify": (lambda a: stocked_ledger().verify(**a), {"anchor": None}),
    "retry": (lambda a: retry(**a), {"fn": lambda: 1, "attempts": 2, "wait": 0.0}),
    # allocation
    "AllocationRequest.of": (
        lambda a: AllocationRequest.of(**a),
        {"gtin": GTIN, "quantity": 2, "use_date": USE, "min_shelf_life_days": 0},
    ),
    "AllocationRequest.manual": (
        lambda a: AllocationRequest.manual(**a),
        {"gtin": GTIN, "quantity": 2, "lots": ["L1"], "use_date": USE},
    ),
    "AllocationRequest.for_serials": (
        lambda a: AllocationRequest.for_serials(**a),
        {"gtin": GTIN, "serials": ["S1"], "use_date": USE},
    ),
    "FefoIndex": (lambda a: FefoIndex(**a), {"position": 0}),
    "FefoIndex.from_positions": (
        lambda a: FefoIndex.from_positions(**a),
        {"positions": [position()], "position": 0},
    ),
    "FefoIndex.allocate": (
        lambda a: stocked_index().allocate(**a),
        {"request": REQUEST, "explain": False},
    ),
    "FefoIndex.take": (lambda a: stocked_index().take(**a), {"request": REQUEST}),
    "FefoIndex.apply": (
        lambda a: stocked_index().apply(**a),
        {"movements": [receipt("R9")], "position": None},
    ),
    "FefoIndex.apply_delta": (
        lambda a: stocked_index().apply_delta(**a),
        {"item": ITEM, "location": BIN, "status": StockStatus.AVAILABLE, "delta": 1},
    ),
    "FefoIndex.positions": (lambda a: stocked_index().positions(**a), {"gtin": GTIN}),
    "FefoIndex.available": (lambda a: stocked_index().available(**a), {"gtin": GTIN}),
    "FefoIndex.register_location": (
        lambda a: stocked_index().register_location(**a),
        {"location": BIN},
    ),
    "FefoIndex.reserve": (
        lambda a: reserve(stocked_index(), a),
        {"reservation_id": "RES-1", "expires_at": None},
    ),
    "FefoIndex.commit": (
        lambda a: stocked_index().commit(**a),
        {"plan": stocked_index().allocate(REQUEST), "reservation_id": None},
    ),
    "FefoIndex.release": (lambda a: stocked_index().release(**a), {"reservation_id": "RES-1"}),
    "FefoIndex.expire_reservations": (
        lambda a: stocked_index().expire_reservations(**a),
        {"as_of": AT, "before_position": None},
    ),
    # stores
    "MemoryStore.movements": (
        lambda a: MemoryStore().movements(**a),
        {"query": MovementQuery()},
    ),
    "MemoryStore.positions": (
        lambda a: MemoryStore().positions(**a),
        {"query": PositionQuery()},
    ),
}

ARGUMENTS = [(name, key) for name, (_, valid) in CASES.items() for key in valid]


@pytest.mark.parametrize(("name", "argument"), ARGUMENTS, ids=[f"{n}:{k}" for n, k in ARGUMENTS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=WRONG)
def test_only_medinv_errors_escape(name: str, argument: str, value: Any) -> None:
    call, valid = CASES[name]
    arguments = {**valid, argument: value}
    with contextlib.suppress(MedinvError):
        call(arguments)


@settings(max_examples=40, deadline=None)
@given(path=WRONG, timeout=WRONG)
def test_sqlite_store_arguments(tmp_path_factory: pytest.TempPathFactory, path: Any, timeout: Any):
    folder = tmp_path_factory.mktemp("wrong")
    if isinstance(path, str) and path:
        path = folder / Path(path).name if "\x00" not in path else path
    for kwargs in ({"path": path}, {"path": folder / "l.db", "timeout": timeout}):
        with contextlib.suppress(MedinvError):
            SqliteStore(**kwargs).close()


def test_every_public_callable_is_driven() -> None:
    """Each class and function of ``medinv.__all__`` has a case here (or needs no argument)."""
    exempt = {"errors", "__version__", "parse_scan", "Scan", "Plan", "Policy", "SkipReason"}
    exempt |= {"LedgerStore", "LedgerHead", "RecordedMovement", "PostResult", "VerifyReport"}
    exempt |= {"MedinvError", "InvalidValueError", "StockError", "StorageError", "DatePrecision"}
    exempt |= {"MovementKind", "StockStatus"}
    covered = {name.split(".")[0] for name in CASES}
    missing = [
        name
        for name in medinv.__all__
        if name not in exempt
        and name not in covered
        and (inspect.isclass(getattr(medinv, name)) or callable(getattr(medinv, name)))
    ]
    assert missing == []
