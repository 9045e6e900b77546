"""PostgresStore.stocktakes: the shipped stocktake contract suite, then PostgreSQL specifics."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from medinv.adapters._stocktake_json import line_to_json, stocktake_to_json
from medinv.adapters.postgres import SCHEMA_VERSION, PostgresStocktakes, PostgresStore
from medinv.adapters.postgres import _schema as pg_schema
from medinv.adapters.postgres import _sql as pg_sql
from medinv.adapters.postgres import _store as pg_store
from medinv.adapters.postgres_stocktake import PostgresStocktakeStore
from medinv.errors import StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery
from medinv.ports_stocktake import LineLookup, StocktakeStore
from medinv.testing.stocktake_contract import (
    StocktakeStoreContract,
    sample_lines,
    sample_stocktake,
)

from ._pg_schemas import replay_migrations

pytestmark = pytest.mark.postgres


class TestPostgresStoreStocktakes(StocktakeStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
            yield opened.stocktakes

    @pytest.fixture
    def reopen(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema).stocktakes

    @pytest.fixture
    def open_database(self, postgres_dsn, postgres_schema):
        def opened():
            store = PostgresStore(postgres_dsn, schema=postgres_schema)
            return store, store.stocktakes

        return opened


def receipt(movement_id: str = "r1") -> Movement:
    return Movement.receipt(
        movement_id,
        item=ItemKey("04006381333931", lot="L1"),
        quantity=10,
        to=Location.parse("Main/A1"),
        occurred_at="2026-11-23T07:00:00+01:00",
        actor="dock",
    )


def old_stocktake_schema(dsn: str, schema: str, *, version: int = 1) -> None:
    """The tables the previous release's separate stocktake store wrote, with one stocktake."""
    s = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
        for text in (
            "CREATE TABLE {s}.stocktake_schema_version (version integer PRIMARY KEY)",
            (
                "CREATE TABLE {s}.stocktakes (id text PRIMARY KEY, state text NOT NULL,"
                " version integer NOT NULL, data text NOT NULL)"
            ),
            "CREATE INDEX stocktakes_state ON {s}.stocktakes (state, id)",
            (
                "CREATE TABLE {s}.stocktake_lines (seq bigserial PRIMARY KEY, stocktake_id text"
                " NOT NULL REFERENCES {s}.stocktakes (id), line_id text NOT NULL,"
                " data text NOT NULL, UNIQUE (stocktake_id, line_id))"
            ),
        ):
            conn.execute(sql.SQL(text).format(s=s))
        conn.execute(
            sql.SQL("INSERT INTO {}.stocktake_schema_version VALUES (%s)").format(s), (version,)
        )
        st = sample_stocktake()
        conn.execute(
            sql.SQL("INSERT INTO {}.stocktakes VALUES (%s, %s, %s, %s)").format(s),
            (st.id, st.state.value, st.version, stocktake_to_json(st)),
        )
        for line in sample_lines():
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.stocktake_lines (stocktake_id, line_id, data)"
                    " VALUES (%s, %s, %s)"
                ).format(s),
                (st.id, line.id, line_to_json(line)),
            )


def test_a_stocktake_schema_of_the_previous_release_is_migrated(postgres_dsn, postgres_schema):
    old_stocktake_schema(postgres_dsn, postgres_schema)
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.stocktakes.lines("ST-1") == sample_lines()
        Ledger(store).post([receipt()])
        with psycopg.connect(postgres_dsn) as conn:
            found = conn.execute(
                "SELECT to_regclass(%s)", (f"{postgres_schema}.stocktake_schema_version",)
            ).fetchone()
        assert found == (None,)


def test_a_ledger_schema_of_the_previous_release_is_migrated(
    postgres_dsn, postgres_schema, monkeypatch
):
    replay_migrations(postgres_dsn, postgres_schema, 1)
    with monkeypatch.context() as patch:
        patch.setattr(pg_schema, "SCHEMA_VERSION", 1)  # the previous release, to post with
        # ... and its movement columns (no counterparty, no business references yet)
        patch.setattr(
            pg_sql,
            "SQL",
            {
                k: v.replace(" counterparty, business_references,", "")
                for k, v in pg_sql.SQL.items()
            },
        )
        new_row = pg_store._movement_row
        patch.setattr(pg_store, "_movement_row", lambda r: new_row(r)[:17] + new_row(r)[19:])
        patch.setitem(pg_sql.SQL, "add_tags", "SELECT %s::text[], %s::bigint[]")  # (no tags)
        with PostgresStore(postgres_dsn, schema=postgres_schema) as old:
            Ledger(old).post([receipt()])
            assert old.schema_version() == 1
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.schema_version() == SCHEMA_VERSION == 12
        assert Ledger(store).balance(gtin="04006381333931") == 10
        assert [r.movement.kind.value for r in store.movements(MovementQuery(kind="RECEIPT"))] == [
            "RECEIPT"
        ]  # the migration tagged the stored movement
        store.stocktakes.create(sample_stocktake())
        assert store.stocktakes.stocktakes() == [sample_stocktake()]


def test_a_newer_separate_stocktake_schema_is_refused(postgres_dsn, postgres_schema):
    old_stocktake_schema(postgres_dsn, postgres_schema, version=99)
    with pytest.raises(StorageError, match="newer than this medinv"):
        PostgresStore(postgres_dsn, schema=postgres_schema)


def test_satisfies_the_port_and_shares_a_connection(postgres_dsn, postgres_schema):
    with psycopg.connect(postgres_dsn) as conn:
        opened = PostgresStore(conn, schema=postgres_schema)
        store = opened.stocktakes
        assert isinstance(store, PostgresStocktakes)
        assert isinstance(store, StocktakeStore)
        assert isinstance(store, LineLookup)
        store.create(sample_stocktake())
        store.close()
        store.close()
        assert not conn.closed  # the caller's connection stays open
        with pytest.raises(StorageError, match="is closed"):
            store.get("ST-1")
        again = PostgresStore(conn, schema=postgres_schema)  # migrations are idempotent
        assert again.stocktakes.get("ST-1") == sample_stocktake()


def test_the_deprecated_store_still_works_and_warns(postgres_dsn, postgres_schema):
    with pytest.warns(DeprecationWarning, match="PostgresStocktakeStore is deprecated"):
        old = PostgresStocktakeStore(postgres_dsn, schema=postgres_schema)
    with old:
        assert isinstance(old, StocktakeStore)
        old.create(sample_stocktake())
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        Ledger(store).post([receipt()])
        assert store.stocktakes.get("ST-1") == sample_stocktake()
    with pytest.raises(StorageError, match="invalid PostgreSQL schema name"):
        PostgresStore(postgres_dsn, schema="Bad-Name")


def test_corrupt_rows_are_storage_errors(postgres_dsn, postgres_schema):
    with PostgresStore(postgres_dsn, schema=postgres_schema).stocktakes as store:
        store.create(sample_stocktake())
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("UPDATE {}.stocktakes SET data = '{{}}'").format(
                    sql.Identifier(postgres_schema)
                )
            )
        with pytest.raises(StorageError, match="corrupt stocktake"):
            store.get("ST-1")
