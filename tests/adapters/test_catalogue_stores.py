"""The catalogue contract suite on every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import sql

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import PackageLevel, Product
from medinv.ports import CatalogueConflictError
from medinv.testing.catalogue_contract import CatalogueStoreContract

from ._catalogue_tamper import MemoryTamper, SqlTamper


class TestMemoryCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self):
        with MemoryStore() as store:
            yield store.catalogue

    @pytest.fixture
    def tamper(self, catalogue):
        return MemoryTamper(catalogue)


class TestSqliteCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self, tmp_path):
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store.catalogue

    @pytest.fixture
    def open_database(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "one.sqlite3")

    @pytest.fixture
    def tamper(self, catalogue):
        db = catalogue._store._db
        return SqlTamper(lambda text, params: db.execute(text.format(p=""), params).fetchall())


@pytest.mark.postgres
class TestPostgresCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store.catalogue

    @pytest.fixture
    def open_database(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema)

    @pytest.fixture
    def tamper(self, catalogue, postgres_dsn, postgres_schema):  # noqa: ARG002  (schema made first)
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:

            def execute(text, params):
                query = text.format(p="{s}.").replace("?", "%s")
                cursor = conn.execute(
                    sql.SQL(query).format(s=sql.Identifier(postgres_schema)), params
                )
                return cursor.fetchall() if cursor.description else []

            yield SqlTamper(execute)


def _race_for_one_di(open_store) -> None:
    """Two stores over one database put two products claiming the same DI at once."""
    box = "10614141000415"
    results: list[str] = []
    barrier = threading.Barrier(2)

    def put(primary: str) -> None:
        product = Product(
            primary_di=primary, packages=(PackageLevel(di=box, contains=primary, quantity=5),)
        )
        with open_store() as store:
            barrier.wait()
            try:
                store.catalogue.put_product(product, valid_from="2026-01-01T00:00:00+00:00")
                results.append("stored")
            except CatalogueConflictError:
                results.append("refused")

    threads = [
        threading.Thread(target=put, args=(p,)) for p in ("00614141000418", "04006381333931")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused", "stored"]
    with open_store() as store:
        [product] = store.catalogue.products()
        match = store.catalogue.product(box)
        assert match is not None
        assert match.product == product


def test_sqlite_writers_racing_for_one_di_leave_one_owner(tmp_path) -> None:
    _race_for_one_di(lambda: SqliteStore(tmp_path / "race.sqlite3"))


@pytest.mark.postgres
def test_postgresql_writers_racing_for_one_di_leave_one_owner(postgres_dsn, postgres_schema):
    PostgresStore(postgres_dsn, schema=postgres_schema).close()
    _race_for_one_di(lambda: PostgresStore(postgres_dsn, schema=postgres_schema))
