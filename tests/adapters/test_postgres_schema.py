"""The current PostgreSQL schema is written once, and every older schema migrates to exactly it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from medinv.adapters.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore
from medinv.adapters.postgres._schema import SCHEMA

from ._pg_schemas import catalog, replay_migrations
from .test_postgres_stocktake import old_stocktake_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def created(postgres_dsn: str) -> Iterator[dict[str, list[tuple[object, ...]]]]:
    schema = f"t_created_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresStore(postgres_dsn, schema=schema) as store:
            assert store.schema_version() == SCHEMA_VERSION
        yield catalog(postgres_dsn, schema)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_a_new_schema_is_created_from_the_current_schema(created) -> None:
    tables = {name for name, kind in created["relations"] if kind == "r"}
    assert tables == {
        "movements", "balances", "lots", "items", "head", "stocktakes", "stocktake_lines",
        "catalogue_versions", "catalogue_lookups", "catalogue_head", "schema_version",
        "movement_links", "reservations", "reservation_holds", "movement_tags",
        "feed_checkpoints",
        "recall_events",
        "sync_events", "sync_deliveries", "sync_conflicts", "sync_resolutions", "sync_gaps",
        "sync_cursors",
        "coldchain_excursions", "coldchain_decisions",
        "projections", "projection_rows",
    }  # fmt: skip
    assert [v for v, _ in created["versions"]] == [m.version for m in MIGRATIONS]
    assert set(SCHEMA) == {s for m in MIGRATIONS for s in m.statements}


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_schema_built_by_replaying_old_migrations_ends_in_the_current_schema(
    postgres_dsn: str, postgres_schema: str, created, version: int
) -> None:
    replay_migrations(postgres_dsn, postgres_schema, version)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert catalog(postgres_dsn, postgres_schema) == created


@pytest.mark.parametrize("ledger_first", [False, True])
def test_stocktake_tables_of_the_previous_release_migrate_to_the_current_schema(
    postgres_dsn: str, postgres_schema: str, created, ledger_first: bool
) -> None:
    if ledger_first:
        replay_migrations(postgres_dsn, postgres_schema, 1)
    old_stocktake_schema(postgres_dsn, postgres_schema)
    with PostgresStore(postgres_dsn, schema=postgres_schema):
        pass
    assert catalog(postgres_dsn, postgres_schema) == created


def test_the_comparison_sees_a_missing_index(
    postgres_dsn: str, postgres_schema: str, created
) -> None:
    with PostgresStore(postgres_dsn, schema=postgres_schema):
        pass
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP INDEX {}.balances_location_idx").format(sql.Identifier(postgres_schema))
        )
    assert catalog(postgres_dsn, postgres_schema) != created
