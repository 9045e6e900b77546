"""PostgreSQL: every stock-controller query can be answered through an index; old schemas get tags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from medinv.adapters.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore
from medinv.ports import MovementQuery, PositionQuery
from medinv.testing import _queries
from medinv.testing.contract import _forged_commit

from .test_queries_sqlite import MOVEMENT_FILTERS, POSITION_FILTERS, later_tables

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


# Filler rows, so that the planner plans for a ledger of some size (on a few hundred
# rows a sequential scan is the cheapest plan, and the right one). The filler stays
# out of every answer: positions past the test ledger's, other GTINs, far expiries.
_FILLER = (
    """INSERT INTO {s}.movements SELECT 1000000 + g, 'F-' || g, 'RECEIPT', '09999999999994',
        '', '', 1, '2026-01-01T00:00:00+00:00', 'filler', NULL, NULL, 'Filler/' || g % 500,
        'AVAILABLE', NULL, 'F-' || g, NULL, NULL, '2026-01-01T00:00:00+00:00', '', ''
        FROM generate_series(1, 50000) AS g""",
    """INSERT INTO {s}.movement_tags SELECT DISTINCT t.tag, (1000000 + g) / 64
        FROM generate_series(1, 50000) AS g CROSS JOIN LATERAL (VALUES
        ('k=STATUS_CHANGE:' || lpad((g / 64)::text, 8, '0')), ('a=filler ' || g % 100),
        ('l=Filler/' || g % 500), ('r=F-' || g)) AS t(tag)""",
    """INSERT INTO {s}.balances SELECT '09999999999994', 'F' || g, '', 'Filler/' || g % 500,
        'AVAILABLE', 1 FROM generate_series(1, 50000) AS g""",
    """INSERT INTO {s}.lots SELECT '09999999999994', 'F' || g, DATE '2100-01-01' + g % 900
        FROM generate_series(1, 50000) AS g""",
    """INSERT INTO {s}.items SELECT '09999999999994', 'F' || g, '', '2026-01-01T00:00:00Z',
        DATE '2100-01-01' + g % 900 FROM generate_series(1, 50000) AS g""",
)
_BIG_TABLES = frozenset({"movements", "movement_tags", "balances", "lots", "items"})


@pytest.fixture(scope="module")
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    """One ledger for the module (the filler takes a few seconds to write)."""
    name = f"t_{uuid.uuid4().hex[:20]}"
    s = sql.Identifier(name)
    try:
        with PostgresStore(postgres_dsn, schema=name) as opened:
            _queries.store_query_ledger(opened, _forged_commit)
            for statement in _FILLER:
                opened._conn.execute(sql.SQL(statement).format(s=s))
            for table in sorted(_BIG_TABLES):
                opened._conn.execute(sql.SQL("ANALYZE {}.{}").format(s, sql.Identifier(table)))
            yield opened
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(s))


def _plans(store: PostgresStore, run: Any) -> list[dict[str, Any]]:
    """The plan (JSON) of every statement ``run`` makes the store execute."""
    conn = store._conn
    recorder = _Recorder(conn)
    store._conn = recorder  # type: ignore[assignment]
    try:
        run()
    finally:
        store._conn = conn
    plans = []
    for query, params in recorder.seen:
        row = conn.execute(f"EXPLAIN (FORMAT JSON) {query}", params).fetchone()
        assert row is not None
        plans.append(row[0][0]["Plan"])
    return plans


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _full_scans(plan: dict[str, Any]) -> list[str]:
    """The nodes that read a whole table of the ledger: a sequential scan, or an index
    walked from end to end (no index condition)."""
    return [
        f"{node['Node Type']} on {node['Relation Name']}"
        for node in _nodes(plan)
        if node.get("Relation Name") in _BIG_TABLES
        and (
            node["Node Type"] == "Seq Scan"
            or ("Index" in node["Node Type"] and "Index Cond" not in node)
        )
    ]


def _indexes(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


@pytest.mark.parametrize("filters", MOVEMENT_FILTERS, ids=repr)
def test_every_movement_filter_reads_an_index(
    store: PostgresStore, filters: dict[str, Any]
) -> None:
    [plan] = _plans(store, lambda: list(store.movements(MovementQuery(**filters))))
    assert not _full_scans(plan), plan
    assert _indexes(plan) & {"movement_tags_key", "movements_item_idx", "movements_lot_idx"}


@pytest.mark.parametrize("filters", POSITION_FILTERS, ids=repr)
def test_every_expiry_filter_reads_an_index(store: PostgresStore, filters: dict[str, Any]) -> None:
    [plan] = _plans(store, lambda: store.positions(PositionQuery(**filters)))
    assert not _full_scans(plan), (_full_scans(plan), plan)
    assert _indexes(plan) & {"lots_expiry_idx", "items_expiry_idx", "balances_location_idx"}


def test_a_schema_of_the_previous_version_gets_its_movements_tagged(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        stored = _queries.store_query_ledger(store, _forged_commit)
    s = sql.Identifier(postgres_schema)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn, conn.transaction():
        for statement in (
            "DROP TABLE {}.movement_tags",
            "DROP INDEX {}.lots_expiry_idx",
            "DROP INDEX {}.items_expiry_idx",
            "DROP INDEX {}.movements_gtin_idx",
            *(f"DROP TABLE {{}}.{t}" for t in later_tables(MIGRATIONS, 7)),
            "DELETE FROM {}.schema_version WHERE version >= 7",
        ):
            conn.execute(sql.SQL(statement).format(s))
    with PostgresStore(postgres_dsn, schema=postgres_schema) as migrated:
        assert migrated.schema_version() == SCHEMA_VERSION
        cases: list[dict[str, Any]] = [
            {"kind": "ISSUE"},
            {"actor": " lea"},
            {"location": "CHU/Store"},
        ]
        for filters in cases:
            found = [r.movement.id for r in migrated.movements(MovementQuery(**filters))]
            assert found
            assert found == _queries.expected_movements(stored, filters)


def test_the_plan_check_sees_a_full_scan(store: PostgresStore) -> None:
    with store._conn.transaction():  # rolled back: the index comes back
        store._conn.execute(
            sql.SQL("DROP INDEX {}.lots_expiry_idx").format(sql.Identifier(store.schema))
        )
        [plan] = _plans(store, lambda: store.positions(PositionQuery(expires_before="2027-01-01")))
        assert _full_scans(plan), plan
        raise psycopg.Rollback


@pytest.mark.parametrize(
    "filters",
    [
        {"gtin": "04006381333931"},
        {"gtin": "04006381333931", "kind": "STATUS_CHANGE"},
        {"device": "04006381333931", "after_position": 3},
    ],
    ids=repr,
)
def test_a_product_filter_seeks_the_product_not_the_position_order(
    store: PostgresStore, filters: dict[str, Any]
) -> None:
    # Walking the positions and filtering on the GTIN would pass the check above (the
    # walk has an index condition, position > n) but read every later movement.
    [plan] = _plans(store, lambda: list(store.movements(MovementQuery(**filters))))
    conditions = [
        node.get("Index Cond", "")
        for node in _nodes(plan)
        if node.get("Relation Name") == "movements"
    ]
    assert any("gtin" in condition for condition in conditions), plan
