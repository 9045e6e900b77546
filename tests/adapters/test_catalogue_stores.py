"""The catalogue contract suite on every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.testing.catalogue_contract import CatalogueStoreContract


class TestMemoryCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self):
        with MemoryStore() as store:
            yield store.catalogue


class TestSqliteCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self, tmp_path):
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store.catalogue

    @pytest.fixture
    def open_database(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "one.sqlite3")


@pytest.mark.postgres
class TestPostgresCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store.catalogue

    @pytest.fixture
    def open_database(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema)
