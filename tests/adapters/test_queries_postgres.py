"""PostgreSQL: every stock-controller query can be answered through an index; old schemas get tags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from medinv.adapters.postgres import PostgresStore
from medinv.ports import MovementQuery, PositionQuery
from medinv.testing import _queries
from medinv.testing.contract import _forged_commit

from .test_queries_sqlite import MOVEMENT_FILTERS, POSITION_FILTERS

pytestmark = pytest.mark.postgres


class _Recorder:
    """A connection that remembers the statements it runs (and runs them)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.seen: list[tuple[Any, Any]] = []

    def execute(self, query: Any, params: Any = None) -> Any:
        self.seen.append((query, params))
        return self.conn.execute(query, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.fixture
def store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
        _queries.store_query_ledger(opened, _forged_commit)
        opened._conn.execute(
            sql.SQL("ANALYZE {}.movement_tags").format(sql.Identifier(postgres_schema))
        )
        yield opened


def _plans(store: PostgresStore, run: Any) -> list[str]:
    """The plan of every statement ``run`` makes the store execute.

    The test ledger is small, so sequential scans are switched off for the plan:
    what is left is whether an index can answer the statement at all (without one,
    PostgreSQL still plans a sequential scan).
    """
    conn = store._conn
    recorder = _Recorder(conn)
    store._conn = recorder  # type: ignore[assignment]
    try:
        run()
    finally:
        store._conn = conn
    plans = []
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        for query, params in recorder.seen:
            rows = conn.execute(f"EXPLAIN {query}", params).fetchall()
            plans.append("\n".join(row[0] for row in rows))
    return plans


def _seq_scans(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if "Seq Scan" in line]


@pytest.mark.parametrize("filters", MOVEMENT_FILTERS, ids=repr)
def test_every_movement_filter_reads_an_index(
    store: PostgresStore, filters: dict[str, Any]
) -> None:
    [plan] = _plans(store, lambda: list(store.movements(MovementQuery(**filters))))
    assert not _seq_scans(plan), plan
    assert "movement_tags_key" in plan or "movements_item_idx" in plan or "lot_idx" in plan, plan


@pytest.mark.parametrize("filters", POSITION_FILTERS, ids=repr)
def test_every_expiry_filter_reads_an_index(store: PostgresStore, filters: dict[str, Any]) -> None:
    [plan] = _plans(store, lambda: store.positions(PositionQuery(**filters)))
    assert not _seq_scans(plan), plan
    assert "lots_expiry_idx" in plan and "items_expiry_idx" in plan, plan


def test_a_schema_of_the_previous_version_gets_its_movements_tagged(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str
) -> None:
    stored = list(store.movements(MovementQuery()))
    s = sql.Identifier(postgres_schema)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn, conn.transaction():
        for statement in (
            "DROP TABLE {}.movement_tags",
            "DROP INDEX {}.lots_expiry_idx",
            "DROP INDEX {}.items_expiry_idx",
            "DELETE FROM {}.schema_version WHERE version = 4",
        ):
            conn.execute(sql.SQL(statement).format(s))
    with PostgresStore(postgres_dsn, schema=postgres_schema) as migrated:
        assert migrated.schema_version() == 4
        for filters in ({"kind": "ISSUE"}, {"actor": " lea"}, {"location": "CHU/Store"}):
            found = [r.movement.id for r in migrated.movements(MovementQuery(**filters))]
            assert found
            assert found == _queries.expected_movements(stored, filters)


def test_the_plan_check_sees_a_sequential_scan(store: PostgresStore, postgres_schema: str) -> None:
    store._conn.execute(
        sql.SQL("DROP INDEX {}.lots_expiry_idx").format(sql.Identifier(postgres_schema))
    )
    [plan] = _plans(store, lambda: store.positions(PositionQuery(expires_before="2027-01-01")))
    assert _seq_scans(plan), plan
