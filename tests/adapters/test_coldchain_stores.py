"""The cold-chain records contract suite on every store."""

from __future__ import annotations

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.testing.coldchain_contract import ColdChainStoreContract


class TestMemoryColdChain(ColdChainStoreContract):
    @pytest.fixture
    def store(self):
        with MemoryStore() as store:
            yield store


class TestSqliteColdChain(ColdChainStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "one.sqlite3")


@pytest.mark.postgres
class TestPostgresColdChain(ColdChainStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store

    @pytest.fixture
    def open_database(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema)


def test_a_closed_memory_store_refuses_its_records():
    store = MemoryStore()
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.coldchain.excursions()
