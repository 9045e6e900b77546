"""The sync store contract suite on every store."""

from __future__ import annotations

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.testing.sync_contract import SyncStoreContract


class TestMemorySync(SyncStoreContract):
    rolls_back_ledger = False

    @pytest.fixture
    def store(self):
        with MemoryStore() as store:
            yield store


class TestSqliteSync(SyncStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "one.sqlite3")


@pytest.mark.postgres
class TestPostgresSync(SyncStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store

    @pytest.fixture
    def open_database(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema)
