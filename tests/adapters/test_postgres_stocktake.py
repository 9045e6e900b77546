"""PostgresStocktakeStore: the shipped stocktake contract suite, then PostgreSQL specifics."""

from __future__ import annotations

import pendulum
import psycopg
import pytest
from psycopg import sql

from medinv.adapters.postgres import PostgresStore
from medinv.adapters.postgres_stocktake import PostgresStocktakeStore
from medinv.errors import StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports_stocktake import StocktakeStore
from medinv.services import StocktakeService
from medinv.stocktake import CountLine, StocktakeScope
from medinv.testing.stocktake_contract import StocktakeStoreContract, sample_stocktake

pytestmark = pytest.mark.postgres


class TestPostgresStocktakeStore(StocktakeStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, postgres_schema):
        with PostgresStocktakeStore(postgres_dsn, schema=postgres_schema) as opened:
            yield opened

    @pytest.fixture
    def reopen(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStocktakeStore(postgres_dsn, schema=postgres_schema)


def test_satisfies_the_port_and_shares_a_connection(postgres_dsn, postgres_schema):
    with psycopg.connect(postgres_dsn) as conn:
        store = PostgresStocktakeStore(conn, schema=postgres_schema)
        assert isinstance(store, StocktakeStore)
        store.create(sample_stocktake())
        store.close()
        store.close()
        assert not conn.closed  # the caller's connection stays open
        with pytest.raises(StorageError, match="is closed"):
            store.get("ST-1")
        again = PostgresStocktakeStore(conn, schema=postgres_schema)  # migrations are idempotent
        assert again.get("ST-1") == sample_stocktake()


def test_bad_schema_names_and_newer_schemas_are_refused(postgres_dsn, postgres_schema):
    with pytest.raises(StorageError, match="invalid PostgreSQL schema name"):
        PostgresStocktakeStore(postgres_dsn, schema="Bad-Name")
    PostgresStocktakeStore(postgres_dsn, schema=postgres_schema).close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.stocktake_schema_version VALUES (99)").format(
                sql.Identifier(postgres_schema)
            )
        )
    with pytest.raises(StorageError, match="newer than this medinv"):
        PostgresStocktakeStore(postgres_dsn, schema=postgres_schema)


def test_corrupt_rows_are_storage_errors(postgres_dsn, postgres_schema):
    with PostgresStocktakeStore(postgres_dsn, schema=postgres_schema) as store:
        store.create(sample_stocktake())
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("UPDATE {}.stocktakes SET data = '{{}}'").format(
                    sql.Identifier(postgres_schema)
                )
            )
        with pytest.raises(StorageError, match="corrupt stocktake"):
            store.get("ST-1")


def test_restart_mid_count_with_postgres_ledger_and_stocktakes(postgres_dsn, postgres_schema):
    def at(hour: int, minute: int = 0) -> pendulum.DateTime:
        return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")

    item, a1 = ItemKey("04006381333931", lot="L1"), Location.parse("Main/A1")

    def open_service() -> tuple[StocktakeService, PostgresStore, PostgresStocktakeStore]:
        ledger_store = PostgresStore(postgres_dsn, schema=postgres_schema)
        stocktakes = PostgresStocktakeStore(postgres_dsn, schema=postgres_schema)
        return StocktakeService(Ledger(ledger_store), stocktakes), ledger_store, stocktakes

    service, ledger_store, stocktakes = open_service()
    Ledger(ledger_store).post(
        [Movement.receipt("r1", item=item, quantity=10, to=a1, occurred_at=at(7), actor="dock")]
    )
    service.plan("ST-1", scope=StocktakeScope("Main"), created_by="lea", at=at(8))
    service.begin("ST-1", at=at(9))
    line = CountLine(
        id="d1-1",
        counter="ana",
        device="d1",
        counted_at=at(10),
        location=a1,
        item=item,
        quantity=9,
    )
    service.add_lines("ST-1", [line])
    ledger_store.close()
    stocktakes.close()  # the process stops mid-count

    service, ledger_store, stocktakes = open_service()
    try:
        assert service.store.lines("ST-1") == [line]
        recount = CountLine(
            id="d2-1",
            counter="bob",
            device="d2",
            counted_at=at(11),
            location=a1,
            item=item,
            quantity=9,
            recount_of="d1-1",
        )
        service.add_lines("ST-1", [line, recount])
        service.close_counting("ST-1", at=at(12))
        service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
        service.post("ST-1", at=at(14))
        service.post("ST-1", at=at(15))
        assert Ledger(ledger_store).balance(item, location=a1) == 9
    finally:
        ledger_store.close()
        stocktakes.close()
