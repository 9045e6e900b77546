"""Bounded quantities, fields type-checked at construction, options validated."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import (
    BalanceLimitError,
    InvalidMovementError,
    InvalidQuantityError,
    InvalidValueError,
    StorageError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, retry
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.ports import LedgerHead, MovementQuery, PositionQuery
from medinv.quantity import MAX_QUANTITY, PackagingHierarchy, PackagingLevel, Quantity
from medinv.status import StockStatus

ITEM = ItemKey("04006381333931", lot="L1")
BIN = Location.parse("H/Store/A1")
AT = "2026-11-23T09:00:00+01:00"
NOW = pendulum.datetime(2026, 11, 23, 8, 0, tz="UTC")


def receipt(mid: str = "R1", qty: int = 5, **kw: object) -> Movement:
    fields: dict[str, object] = {
        "item": ITEM,
        "quantity": qty,
        "to": BIN,
        "occurred_at": AT,
        "actor": "jm",
    }
    fields.update(kw)
    return Movement.receipt(mid, **fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bounds


def test_max_quantity_is_the_largest_signed_64_bit_integer():
    assert MAX_QUANTITY == 2**63 - 1 == 9_223_372_036_854_775_807


def test_quantities_above_the_maximum_are_refused_in_every_value_object():
    assert Quantity.of(MAX_QUANTITY).amount == MAX_QUANTITY
    with pytest.raises(InvalidQuantityError, match="MAX_QUANTITY"):
        Quantity.of(MAX_QUANTITY + 1)
    with pytest.raises(InvalidQuantityError):
        Quantity.of(MAX_QUANTITY) + Quantity.of(1)
    with pytest.raises(InvalidQuantityError):
        Quantity.of(2**62) * 2
    assert receipt(qty=MAX_QUANTITY).quantity == MAX_QUANTITY
    with pytest.raises(InvalidQuantityError, match="MAX_QUANTITY"):
        receipt(qty=MAX_QUANTITY + 1)
    with pytest.raises(InvalidQuantityError):
        Movement.adjustment(
            "A1", item=ITEM, change=-(2**64), at=BIN, occurred_at=AT, actor="jm", reason="x"
        )
    with pytest.raises(InvalidQuantityError):
        StockPosition(item=ITEM, location=BIN, status=StockStatus.AVAILABLE, quantity=2**63)
    with pytest.raises(InvalidQuantityError):
        PackagingLevel(unit="CS", contains=2**63)


def test_a_conversion_beyond_the_maximum_is_refused():
    h = PackagingHierarchy.chain(
        PackagingLevel(unit="CS", contains=2**40), PackagingLevel(unit="EA")
    )
    assert h.convert(Quantity.of(2**22, "CS"), "EA").amount == 2**62
    with pytest.raises(InvalidQuantityError):
        h.convert(Quantity.of(2**23, "CS"), "EA")


def test_a_balance_that_would_overflow_is_refused_and_the_cache_stays_right():
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    ledger.post([receipt("R1", qty=MAX_QUANTITY)])
    with pytest.raises(BalanceLimitError, match="2\\*\\*63 - 1") as info:
        ledger.post([receipt("R2", qty=1)])
    assert info.value.movement_id == "R2"
    assert ledger.head().position == 1
    ledger.post(
        [Movement.issue("I1", item=ITEM, quantity=1, source=BIN, occurred_at=AT, actor="jm")]
    )
    ledger.post([receipt("R2", qty=1)])  # fits again
    assert ledger.balance(ITEM) == MAX_QUANTITY
    assert ledger.verify().ok


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "RECEIPT"),
        ("item", "04006381333931"),
        ("to_location", "H/Store/A1"),
        ("to_status", "AVAILABLE"),
        ("from_location", ["H", "Store"]),
        ("from_status", 3),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_at_construction_naming_it(field, value):
    fields: dict[str, object] = {
        "id": "M1",
        "kind": MovementKind.RECEIPT,
        "item": ITEM,
        "quantity": 1,
        "occurred_at": AT,
        "actor": "jm",
        "to_location": BIN,
        "to_status": StockStatus.AVAILABLE,
    }
    fields[field] = value
    with pytest.raises(InvalidMovementError, match=field):
        Movement(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("item", "04006381333931"),
        ("location", "H/Store"),
        ("status", "AVAILABLE"),
        ("quantity", 1.0),
        ("quantity", True),
        ("quantity", -1),
        ("expiry", "2027-01-01"),
        ("expiry", pendulum.datetime(2027, 1, 1)),
        ("received_at", "2026-01-01T00:00:00Z"),
        ("received_at", pendulum.naive(2026, 1, 1)),
    ],
)
def test_a_stock_position_checks_its_fields(field, value):
    fields: dict[str, object] = {
        "item": ITEM,
        "location": BIN,
        "status": StockStatus.AVAILABLE,
        "quantity": 1,
    }
    fields[field] = value
    with pytest.raises(InvalidValueError, match=field):
        StockPosition(**fields)  # type: ignore[arg-type]


def test_a_reversal_of_something_else_is_refused():
    with pytest.raises(InvalidMovementError, match="Movement"):
        Movement.reversal("X", of="R1", occurred_at=AT, actor="jm")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["R\ud800", "\udfff", "ok \ud83d then"])
@pytest.mark.parametrize("field", ["id", "reference", "reason"])
def test_a_lone_surrogate_is_refused_at_construction(field, text):
    kw: dict[str, Any] = {field: text} if field != "id" else {}
    with pytest.raises(InvalidValueError, match="surrogate"):
        receipt(text if field == "id" else "R1", **kw)


def test_queries_check_their_item():
    with pytest.raises(InvalidValueError, match="ItemKey"):
        PositionQuery(item="04006381333931")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="ItemKey"):
        MovementQuery(item=3)  # type: ignore[arg-type]
    for bad in ("1", -1, 2**63, 1.0, False):
        with pytest.raises(InvalidValueError, match="position"):
            MovementQuery(after_position=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("bad", ["1", -1, 1.5, None, True])
def test_post_options_are_checked(bad):
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    with pytest.raises(InvalidValueError, match="retries"):
        ledger.post([receipt()], retries=bad)
    if bad is not None:
        with pytest.raises(InvalidValueError, match="expected_position"):
            ledger.post([receipt()], expected_position=bad)
    assert ledger.head().position == 0


def test_post_refuses_what_is_not_a_batch():
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    with pytest.raises(InvalidMovementError, match="iterable"):
        ledger.post(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidMovementError, match="Movement"):
        ledger.post(["R1"])  # type: ignore[list-item]


def test_retry_checks_its_arguments():
    for kwargs in ({"attempts": "3"}, {"attempts": 0}, {"wait": -1}, {"wait": "1"}, {"sleep": 1}):
        with pytest.raises(InvalidValueError):
            retry(lambda: 1, **kwargs)
    with pytest.raises(InvalidValueError):
        retry(3)  # type: ignore[arg-type]


def test_ledger_arguments_are_checked():
    with pytest.raises(InvalidValueError, match="LedgerStore"):
        Ledger("ledger.db")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="clock"):
        Ledger(MemoryStore(), clock="now")  # type: ignore[arg-type]
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    for anchor in ("abc", 3, LedgerHead("1", "h"), LedgerHead(1, 2)):  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="anchor"):
            ledger.verify(anchor=anchor)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="text"):
        ledger.movement(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["a\x00b", 3, b"ledger.db", None, "", "x\ud800"])
def test_sqlite_store_refuses_what_is_not_a_path(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="path"):
        SqliteStore(path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("timeout", ["10", -1, float("nan"), float("inf"), None, True])
def test_sqlite_store_refuses_a_bad_timeout(timeout, tmp_path):
    with pytest.raises(InvalidValueError, match="timeout"):
        SqliteStore(tmp_path / "l.db", timeout=timeout)
    with pytest.raises(InvalidValueError, match="check_same_thread"):
        SqliteStore(tmp_path / "l.db", check_same_thread="no")  # type: ignore[arg-type]


def test_sqlite_backup_refuses_a_bad_target():
    with SqliteStore(":memory:") as store, pytest.raises(StorageError, match="path"):
        store.backup("x\x00y")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_opening_a_foreign_sqlite_database_leaves_it_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO patients (name) VALUES ('x')")
    raw.close()
    before = _digest(path)
    files = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StorageError, match="not a medinv ledger"):
        SqliteStore(path)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    raw.close()


def test_opening_a_file_that_is_not_sqlite_leaves_it_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"medication list\n" * 500)
    before = _digest(path)
    with pytest.raises(StorageError):
        SqliteStore(path)
    assert _digest(path) == before
