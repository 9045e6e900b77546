"""verify() on PostgreSQL: edited or nonsensical rows are findings, never exceptions."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import psycopg
import pytest
from psycopg import sql

from medinv import ItemKey, Location, Movement
from medinv.adapters.postgres import PostgresStore
from medinv.ledger import Ledger
from medinv.verification import (
    CorruptRecord,
    Finding,
    HashMismatch,
    MasterDataMismatch,
    ProjectionMismatch,
    VerifyReport,
)

pytestmark = pytest.mark.postgres

GTIN = "04006381333931"
LOT = ItemKey(GTIN, lot="L1")
SERIAL = ItemKey(GTIN, serial="SN-7")
A, B = Location.parse("CHU/Store/A"), Location.parse("CHU/Ward")
AT = "2026-11-23T09:00:00+01:00"
CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")


@pytest.fixture
def store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
        ledger = Ledger(opened, clock=lambda: CLOCK)
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
        yield opened


def edit(dsn: str, schema: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        done = conn.execute(sql.SQL(statement).format(s=sql.Identifier(schema)))
        assert done.rowcount >= 1, statement


def kinds(report: VerifyReport) -> set[type[Finding]]:
    return {type(d) for d in report.findings}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {s}.movements SET id = 'R-1-old' WHERE position = 1",
        "UPDATE {s}.movements SET reverses = NULL WHERE id = 'I-1-R'",
        "UPDATE {s}.movements SET reverses = 'R-1' WHERE id = 'I-1-R'",
        "UPDATE {s}.movements SET lot = 'L2' WHERE position = 1",
        "UPDATE {s}.movements SET serial = 'SN-8' WHERE position = 2",
        "UPDATE {s}.movements SET gtin = '09506000134352' WHERE position = 1",
        "UPDATE {s}.movements SET from_location = 'CHU/Elsewhere' WHERE position = 3",
    ],
)
def test_every_column_the_store_queries_by_is_hashed(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str, statement: str
):
    edit(postgres_dsn, postgres_schema, statement)
    # A reversal without its reversed id cannot even be read back: also a finding.
    assert kinds(Ledger(store).verify()) & {HashMismatch, CorruptRecord}


@pytest.mark.parametrize(
    ("statement", "field"),
    [
        ("UPDATE {s}.lots SET expiry = '2099-12-31'", "expiry"),
        ("UPDATE {s}.lots SET expiry = NULL", "expiry"),
        ("DELETE FROM {s}.lots", "record"),
        ("UPDATE {s}.items SET expiry = '2030-01-01' WHERE serial = 'SN-7'", "expiry"),
        ("UPDATE {s}.items SET first_received_at = '2020-01-01T00:00:00+00:00' WHERE lot = 'L1'", "first_received_at"),
        ("DELETE FROM {s}.items WHERE serial = 'SN-7'", "record"),
    ],
)  # fmt: skip
def test_lot_and_item_master_data_is_checked(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str, statement: str, field: str
):
    edit(postgres_dsn, postgres_schema, statement)
    report = Ledger(store).verify()
    found = [d for d in report.findings if isinstance(d, MasterDataMismatch)]
    assert [d.field for d in found] == [field], report.findings


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {s}.movements SET kind = 'TELEPORT' WHERE position = 2",
        "UPDATE {s}.movements SET occurred_at = 'yesterday' WHERE position = 2",
        "UPDATE {s}.movements SET recorded_at = 'never' WHERE position = 2",
        "UPDATE {s}.movements SET to_status = 'LOST' WHERE position = 2",
        "UPDATE {s}.movements SET to_location = '' WHERE position = 2",
        "UPDATE {s}.movements SET gtin = 'abc' WHERE position = 2",
        "UPDATE {s}.movements SET quantity = -3 WHERE position = 2",
        "UPDATE {s}.movements SET actor = '' WHERE position = 2",
        "UPDATE {s}.movements SET hash = 'x' WHERE position = 2",
        "UPDATE {s}.movements SET prev_hash = 'x' WHERE position = 2",
        "UPDATE {s}.balances SET status = 'LOST' WHERE quantity = 6",
        "UPDATE {s}.balances SET location = '' WHERE quantity = 6",
        "UPDATE {s}.balances SET gtin = 'abc' WHERE quantity = 6",
        "UPDATE {s}.lots SET lot = ''",
        "UPDATE {s}.items SET first_received_at = 'never' WHERE lot = 'L1'",
        "UPDATE {s}.items SET gtin = 'abc' WHERE lot = 'L1'",
        "UPDATE {s}.head SET hash = 'x'",
    ],
)
def test_garbage_in_any_stored_column_is_a_finding_never_an_exception(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str, statement: str
):
    edit(postgres_dsn, postgres_schema, statement)
    report = Ledger(store).verify()
    assert not report.ok, statement
    for finding in report.findings:
        assert finding.description


def test_an_unreadable_movement_is_reported_and_the_rest_still_checked(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str
):
    edit(
        postgres_dsn,
        postgres_schema,
        "UPDATE {s}.movements SET kind = 'TELEPORT' WHERE position = 2",
    )
    edit(postgres_dsn, postgres_schema, "UPDATE {s}.balances SET quantity = 5 WHERE quantity = 4")
    report = Ledger(store).verify()
    corrupt = [d for d in report.findings if isinstance(d, CorruptRecord)]
    assert [(d.table, d.position) for d in corrupt] == [("movements", 2)]
    assert "TELEPORT" in corrupt[0].reason
    assert report.movements_checked == 5
    assert ProjectionMismatch in kinds(report)
