"""verify() on SQLite: every stored fact that decides what the ledger accepts is checked.

Each test edits the file with raw SQL, as someone with the file could, and asserts
the finding; none of them may make verify() raise.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pendulum
import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.ledger import Ledger
from medinv.verification import (
    ColumnMismatch,
    CorruptRecord,
    Finding,
    HashMismatch,
    MasterDataMismatch,
    ProjectionMismatch,
    VerifyReport,
)

GTIN = "04006381333931"
LOT = ItemKey(GTIN, lot="L1")
SERIAL = ItemKey(GTIN, serial="SN-7")
A, B = Location.parse("CHU/Store/A"), Location.parse("CHU/Ward")
AT = "2026-11-23T09:00:00+01:00"
CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A ledger with a lot, a serialised unit, a transfer, an issue and its reversal."""
    file = tmp_path / "ledger.sqlite3"
    with SqliteStore(file) as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        ledger.post(
            [
                Movement.receipt(
                    "R-1", item=LOT, quantity=10, to=A, occurred_at=AT, actor="a", expiry="2027-06-30"
                ),
                Movement.receipt(
                    "R-2", item=SERIAL, quantity=1, to=A, occurred_at=AT, actor="a", expiry="2028-01-31"
                ),
                Movement.transfer("T-1", item=LOT, quantity=4, source=A, to=B, occurred_at=AT, actor="a"),
            ]
        )  # fmt: skip
        issued = ledger.post(
            [Movement.issue("I-1", item=LOT, quantity=2, source=B, occurred_at=AT, actor="a")]
        ).movements[0]
        ledger.post([Movement.reversal("I-1-R", of=issued.movement, occurred_at=AT, actor="a")])
        assert ledger.verify().ok
    return file


def edit(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    try:
        for sql in statements:
            assert db.execute(sql).rowcount >= 1, sql
        db.commit()
    finally:
        db.close()


def verify(path: Path) -> VerifyReport:
    with SqliteStore(path) as store:
        return Ledger(store).verify()


def kinds(report: VerifyReport) -> set[type[Finding]]:
    return {type(d) for d in report.findings}


# --------------------------------------------------------------------------- query columns


def test_an_edited_movement_id_is_reported_and_lets_no_replay_pass_unseen(path: Path):
    edit(path, "UPDATE movements SET id = 'R-1-old' WHERE position = 1")
    report = verify(path)
    (finding,) = report.findings
    assert isinstance(finding, ColumnMismatch) and finding.position == 1
    assert "R-1-old" in finding.stored and "'R-1'" in finding.content
    # The edit lets the same movement be posted a second time: verify() says so.
    with SqliteStore(path) as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        again = Movement.receipt(
            "R-1", item=LOT, quantity=10, to=A, occurred_at=AT, actor="a", expiry="2027-06-30"
        )
        assert ledger.post([again]).new  # stored again under the id the edit freed
        assert ColumnMismatch in kinds(ledger.verify())


@pytest.mark.parametrize(
    ("sql", "column"),
    [
        ("UPDATE movements SET reverses = NULL WHERE id = 'I-1-R'", "reverses"),
        ("UPDATE movements SET reverses = 'R-1' WHERE id = 'I-1-R'", "reverses"),
        ("UPDATE movements SET item_no = (SELECT max(item_no) FROM item_keys) WHERE position = 1", "item"),
        ("UPDATE movements SET item_no = 999 WHERE position = 1", "item"),
        ("UPDATE movements SET item_no = 'abc' WHERE position = 1", "item"),
        ("UPDATE item_keys SET lot = 'L2' WHERE lot = 'L1'", "item"),
        ("UPDATE item_keys SET serial = 'SN-8' WHERE serial = 'SN-7'", "item"),
    ],
)  # fmt: skip
def test_every_column_the_store_queries_by_is_checked_against_the_content(
    path: Path, sql: str, column: str
):
    edit(path, sql)
    report = verify(path)
    assert ColumnMismatch in kinds(report), (column, report.findings)
    assert HashMismatch not in kinds(report)


# --------------------------------------------------------------------------- master data


@pytest.mark.parametrize(
    ("sql", "field"),
    [
        ("UPDATE lots SET expiry = '2099-12-31'", "expiry"),
        ("UPDATE lots SET expiry = NULL", "expiry"),
        ("DELETE FROM lots", "record"),
        ("INSERT INTO lots VALUES ('04006381333931', 'L9', '2099-12-31')", "record"),
        ("UPDATE items SET expiry = '2099-12-31' WHERE lot = 'L1'", "expiry"),
        ("UPDATE items SET expiry = '2030-01-01' WHERE serial = 'SN-7'", "expiry"),
        ("UPDATE items SET first_received_at = '2020-01-01T00:00:00+00:00' WHERE lot = 'L1'", "first_received_at"),
        ("UPDATE items SET first_received_at = '2026-11-23T08:00:00+00:00' WHERE lot = 'L1'", "first_received_at"),
        ("DELETE FROM items WHERE serial = 'SN-7'", "record"),
        ("INSERT INTO items VALUES ('04006381333931', 'L9', '', '2026-11-23T09:00:00+01:00', NULL)", "record"),
    ],
)  # fmt: skip
def test_lot_and_item_master_data_is_checked_against_the_first_inbound_movement(
    path: Path, sql: str, field: str
):
    edit(path, sql)
    report = verify(path)
    found = [d for d in report.findings if isinstance(d, MasterDataMismatch)]
    assert [d.field for d in found] == [field], report.findings
    assert not report.ok


def test_an_edited_lot_expiry_is_reported_before_an_expired_lot_is_issued(path: Path):
    edit(path, "UPDATE lots SET expiry = '2099-12-31'")
    (finding,) = verify(path).findings
    assert isinstance(finding, MasterDataMismatch)
    assert (finding.record, finding.gtin, finding.lot) == ("lot", GTIN, "L1")
    assert (finding.stored, finding.expected) == ("+2099-12-31", "+2027-06-30")
    assert "stored expiry +2099-12-31" in finding.description


# --------------------------------------------------------------------------- unreadable rows


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE movements SET content = 'nonsense' WHERE position = 2",
        "UPDATE movements SET content = CAST(x'ff00fe' AS TEXT) WHERE position = 2",
        "UPDATE movements SET content = x'52' WHERE position = 2",
        "UPDATE movements SET content = 42 WHERE position = 2",
        "UPDATE movements SET recorded_at = 'yesterday' WHERE position = 2",
        "UPDATE movements SET recorded_at = CAST(x'ff' AS TEXT) WHERE position = 2",
        "UPDATE movements SET recorded_at = 7 WHERE position = 2",
        "UPDATE movements SET hash = CAST(x'ff' AS TEXT) WHERE position = 2",
        "UPDATE movements SET hash = 12 WHERE position = 2",
        "UPDATE movements SET id = CAST(x'ff' AS TEXT) WHERE position = 2",
        "UPDATE movements SET id = x'00' WHERE position = 2",
        "UPDATE movements SET reverses = CAST(x'c3' AS TEXT) WHERE position = 5",
        "UPDATE item_keys SET gtin = CAST(x'ff' AS TEXT) WHERE serial = 'SN-7'",
        "UPDATE balances SET quantity = 'many' WHERE quantity = 6",
        "UPDATE balances SET balance_key = balance_key | 15 WHERE quantity = 6",  # no such status
        "UPDATE balances SET balance_key = balance_key + (1000 << 4) WHERE quantity = 6",
        "UPDATE balances SET balance_key = balance_key + (1000 << 32) WHERE quantity = 6",
        "UPDATE balances SET location_no = 999 WHERE quantity = 6",
        "UPDATE locations SET path = CAST(x'ff' AS TEXT) WHERE path = 'CHU/Ward'",
        "UPDATE locations SET path = '' WHERE path = 'CHU/Ward'",
        "UPDATE lots SET expiry = 'soon'",
        "UPDATE lots SET lot = CAST(x'ff' AS TEXT)",
        "UPDATE items SET first_received_at = x'ff' WHERE lot = 'L1'",
        "UPDATE items SET first_received_at = 'never' WHERE lot = 'L1'",
        "UPDATE items SET expiry = 20270630 WHERE lot = 'L1'",
        "UPDATE head SET hash = 'x'",
        "UPDATE head SET position = 99",
    ],
)  # fmt: skip
def test_garbage_in_any_stored_column_is_a_finding_never_an_exception(path: Path, sql: str):
    edit(path, sql)
    report = verify(path)
    assert not report.ok, sql
    assert report.movements_checked == 5
    for finding in report.findings:
        assert finding.description  # every finding can say what is wrong


def test_an_unreadable_movement_is_reported_and_the_rest_still_checked(path: Path):
    edit(
        path,
        "UPDATE movements SET content = CAST(x'ff00fe' AS TEXT) WHERE position = 2",
        "UPDATE balances SET quantity = quantity + 1 WHERE quantity = 4",
    )
    report = verify(path)
    corrupt = [d for d in report.findings if isinstance(d, CorruptRecord)]
    assert [(d.table, d.position) for d in corrupt] == [("movements", 2)]
    assert "bytes" in corrupt[0].reason
    # The movements after it were checked: the projection edit is still found.
    assert ProjectionMismatch in kinds(report)


def test_the_unique_id_index_spares_remembering_every_id(path: Path):
    with SqliteStore(path) as store:
        assert store.verification_source().ids_unique


def test_a_record_that_is_not_utf8_spoils_no_other_record(path: Path):
    edit(
        path,
        "INSERT INTO locations (location_no, path) VALUES (999, CAST(x'ff' AS TEXT))",
        "UPDATE balances SET location_no = 999, balance_key = (balance_key & ~(268435455 << 4)) "
        "| (999 << 4) WHERE quantity = 6",
    )
    report = verify(path)
    # The unreadable balance is reported (its key matches no movement's); the
    # others, read again as bytes, still compare equal.
    assert all(type(d) in {ProjectionMismatch, CorruptRecord} for d in report.findings)
    assert len(report.findings) == 2, report.findings
