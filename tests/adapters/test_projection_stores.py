"""The projection contract suite on every store."""

from __future__ import annotations

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.testing.projection_contract import ProjectionStoreContract

from ._store_fixtures import MemoryStores, PostgresStores, SqliteStores


class TestMemoryProjections(MemoryStores, ProjectionStoreContract):
    pass


class TestSqliteProjections(SqliteStores, ProjectionStoreContract):
    pass


@pytest.mark.postgres
class TestPostgresProjections(PostgresStores, ProjectionStoreContract):
    pass


def test_projection_store_reprs_name_their_store(tmp_path) -> None:
    with SqliteStore(tmp_path / "p.sqlite3") as store:
        assert repr(store.projections).endswith(".projections")
