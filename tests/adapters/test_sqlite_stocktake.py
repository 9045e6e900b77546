from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from medinv.adapters.sqlite_stocktake import (
    SqliteStocktakeStore,
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.errors import ConcurrencyError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports_stocktake import StocktakeStore
from medinv.testing.stocktake_contract import (
    StocktakeStoreContract,
    sample_lines,
    sample_stocktake,
)

DATA = Path(__file__).parent.parent / "data"
"""Files written by the previous release (0.x, ledger schema 4, stocktake schema 1)."""


class TestSqliteStoreStocktakes(StocktakeStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store.stocktakes

    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "medinv.sqlite3").stocktakes

    @pytest.fixture
    def open_database(self, tmp_path):
        def opened():
            store = SqliteStore(tmp_path / "one.sqlite3")
            return store, store.stocktakes

        return opened


def receipt(movement_id: str = "r1", quantity: int = 10) -> Movement:
    return Movement.receipt(
        movement_id,
        item=ItemKey("04006381333931", lot="L1"),
        quantity=quantity,
        to=Location.parse("Main/A1"),
        occurred_at="2026-11-23T07:00:00+01:00",
        actor="dock",
    )


def test_the_deprecated_store_first_then_the_ledger(tmp_path):
    path = tmp_path / "one.sqlite3"
    with pytest.warns(DeprecationWarning, match=r"SqliteStore\(path\)\.stocktakes"):
        old = SqliteStocktakeStore(path)
    with old:
        old.create(sample_stocktake())
    with SqliteStore(path) as store:
        Ledger(store).post([receipt()])
        assert store.stocktakes.get("ST-1") == sample_stocktake()


def test_backup_copies_ledger_and_stocktakes(tmp_path):
    with SqliteStore(tmp_path / "live.sqlite3") as store:
        Ledger(store).post([receipt()])
        store.stocktakes.create(sample_stocktake())
        store.stocktakes.add_lines("ST-1", sample_lines(), expected_version=1)
        store.backup(tmp_path / "copy.sqlite3")
        Ledger(store).post([receipt("r2", 5)])  # after the backup: not in it
    with SqliteStore(tmp_path / "copy.sqlite3") as restored:
        assert Ledger(restored).balance(gtin="04006381333931") == 10
        assert restored.stocktakes.get("ST-1") == sample_stocktake()
        assert restored.stocktakes.lines("ST-1") == sample_lines()
        assert Ledger(restored).verify().ok


def test_a_stocktake_and_ledger_writes_share_the_connection(tmp_path):
    with SqliteStore(tmp_path / "s.sqlite3") as store:
        assert store.stocktakes._store is store  # one connection, not two
        assert store.stocktakes.path == store.path
        assert store.stocktakes.path.endswith("s.sqlite3")
        assert "stocktakes" in repr(store.stocktakes)


def copy_of(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copyfile(DATA / name, target)
    return target


def test_a_ledger_file_of_the_previous_release_is_migrated(tmp_path):
    path = copy_of(tmp_path, "ledger-schema4.sqlite3")
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert Ledger(store).balance(gtin="04006381333931") == 12
        assert Ledger(store).verify().ok
        store.stocktakes.create(sample_stocktake())
        assert store.stocktakes.stocktakes() == [sample_stocktake()]


def test_a_stocktake_file_of_the_previous_release_is_migrated(tmp_path):
    path = copy_of(tmp_path, "stocktakes-schema1.sqlite3")
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.stocktakes.get("ST-1") == sample_stocktake()
        assert store.stocktakes.lines("ST-1") == sample_lines()
        Ledger(store).post([receipt()])
        assert Ledger(store).verify().ok
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_schema").fetchall()
    assert ("medinv_stocktake_schema",) not in tables


def test_a_ledger_file_the_old_stocktake_store_added_to_is_migrated(tmp_path):
    path = copy_of(tmp_path, "ledger4-and-stocktakes1.sqlite3")
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert Ledger(store).balance(gtin="04006381333931") == 12
        assert store.stocktakes.lines("ST-1") == sample_lines()


def test_other_databases_are_still_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE stocktakes (x)")
    db.execute("CREATE TABLE invoices (x)")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="not a medinv ledger"):
        SqliteStore(path)


def test_the_deprecated_store_still_works_and_warns(tmp_path):
    with pytest.warns(DeprecationWarning, match="SqliteStocktakeStore is deprecated"):
        old = SqliteStocktakeStore(tmp_path / "s.db", timeout=1.0)
    with old:
        assert isinstance(old, StocktakeStore)
        old.create(sample_stocktake())
        old.add_lines("ST-1", sample_lines(), expected_version=1)
    with SqliteStore(tmp_path / "s.db") as store:
        assert store.stocktakes.lines("ST-1") == sample_lines()


def test_json_codec_round_trips():
    st = sample_stocktake()
    assert stocktake_from_json(stocktake_to_json(st)) == st
    for line in sample_lines():
        assert line_from_json(line_to_json(line)) == line


def test_two_connections_share_the_file(tmp_path):
    path = tmp_path / "shared.db"
    with SqliteStore(path) as first, SqliteStore(path) as second:
        one, two = first.stocktakes, second.stocktakes
        one.create(sample_stocktake())
        two.add_lines("ST-1", sample_lines(), expected_version=1)
        assert one.lines("ST-1") == sample_lines()
        begun = one.get("ST-1").begin(start_position=0, at="2026-11-23T09:00:00+01:00")
        one.update(begun)
        with pytest.raises(ConcurrencyError):
            two.update(begun)


def test_closed_store_and_driver_errors_are_storage_errors(tmp_path):
    store = SqliteStore(tmp_path / "x.db").stocktakes
    store.close()
    store.close()
    with pytest.raises(StorageError, match="is closed"):
        store.get("ST-1")
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStore(tmp_path / "missing-dir" / "x.db")


def test_corrupt_rows_are_reported(tmp_path):
    path = tmp_path / "c.db"
    with SqliteStore(path).stocktakes as store:
        store.create(sample_stocktake())
        store.add_lines("ST-1", sample_lines()[:1], expected_version=1)
    db = sqlite3.connect(path)
    db.execute("UPDATE stocktakes SET data = '{}'")
    db.execute("UPDATE stocktake_lines SET data = '{\"id\": 1}'")
    db.commit()
    db.close()
    with SqliteStore(path).stocktakes as store:
        with pytest.raises(StorageError, match="corrupt stocktake 'ST-1'"):
            store.get("ST-1")
        with pytest.raises(StorageError, match="corrupt count line"):
            store.lines("ST-1")
        with pytest.raises(StorageError, match="corrupt"):
            store.stocktakes()


def test_a_stocktake_file_of_a_newer_separate_schema_is_refused(tmp_path):
    path = copy_of(tmp_path, "stocktakes-schema1.sqlite3")
    db = sqlite3.connect(path)
    db.execute("UPDATE medinv_stocktake_schema SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="newer than this medinv"):
        SqliteStore(path)
    db = sqlite3.connect(path)  # left untouched
    assert db.execute("SELECT version FROM medinv_stocktake_schema").fetchone() == (99,)
    db.close()


def test_a_stocktake_only_file_without_its_version_table_is_migrated(tmp_path):
    path = copy_of(tmp_path, "stocktakes-schema1.sqlite3")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE medinv_stocktake_schema")
    db.commit()
    db.close()
    with SqliteStore(path) as store:
        assert store.stocktakes.lines("ST-1") == sample_lines()


def test_a_locked_file_is_a_concurrency_error(tmp_path):
    path = tmp_path / "l.db"
    with SqliteStore(path, timeout=0.05).stocktakes as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConcurrencyError, match="database lock"):
                store.create(sample_stocktake())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        store.create(sample_stocktake())
