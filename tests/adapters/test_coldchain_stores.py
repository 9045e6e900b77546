"""The cold-chain records contract suite on every store."""

from __future__ import annotations

import sqlite3

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.testing.coldchain_contract import ColdChainStoreContract

from ._store_fixtures import MemoryStores, PostgresStores, SqliteStores


class TestMemoryColdChain(MemoryStores, ColdChainStoreContract):
    pass


class TestSqliteColdChain(SqliteStores, ColdChainStoreContract):
    pass


@pytest.mark.postgres
class TestPostgresColdChain(PostgresStores, ColdChainStoreContract):
    pass


def test_a_closed_memory_store_refuses_its_records():
    store = MemoryStore()
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.coldchain.excursions()


def test_a_corrupt_sqlite_record_is_a_storage_error(tmp_path):
    from medinv.coldchain import QualityDecision, Verdict  # noqa: PLC0415
    from medinv.errors import StorageError  # noqa: PLC0415
    from medinv.testing.coldchain_contract import _excursions  # noqa: PLC0415

    closed, _ = _excursions([5, 9, 9, 9, 9, 5])
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        store.coldchain.record_excursions(closed)
        store.coldchain.record_decision(
            QualityDecision(
                excursion_id=closed[0].id, verdict=Verdict.REJECT, decided_by="a",
                approved_by="b", reason="x", decided_at="2026-11-24T10:00:00+00:00",
            )
        )  # fmt: skip
    with sqlite3.connect(path) as db:
        db.execute("UPDATE coldchain_excursions SET data = '{}'")
        db.execute("UPDATE coldchain_decisions SET data = 'not json'")
    with SqliteStore(path) as store:
        with pytest.raises(StorageError, match="corrupt excursion"):
            store.coldchain.excursions()
        with pytest.raises(StorageError, match="corrupt decision"):
            store.coldchain.decision(closed[0].id)
