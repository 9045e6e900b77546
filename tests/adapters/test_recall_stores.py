"""The recall contract suite on every store."""

from __future__ import annotations

import pytest

from medinv.testing.recall_contract import RecallStoreContract

from ._store_fixtures import MemoryStores, PostgresStores, SqliteStores


class TestMemoryRecalls(MemoryStores, RecallStoreContract):
    pass


class TestSqliteRecalls(SqliteStores, RecallStoreContract):
    pass


@pytest.mark.postgres
class TestPostgresRecalls(PostgresStores, RecallStoreContract):
    pass
