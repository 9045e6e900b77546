from __future__ import annotations

import sqlite3

import pendulum
import pytest

from medinv.adapters.sqlite import SqliteStore
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
from medinv.services import StocktakeService
from medinv.stocktake import CountLine, StocktakeScope
from medinv.testing.stocktake_contract import (
    StocktakeStoreContract,
    sample_lines,
    sample_stocktake,
)


class TestSqliteStocktakeStore(StocktakeStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with SqliteStocktakeStore(tmp_path / "stocktakes.sqlite3") as store:
            yield store

    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: SqliteStocktakeStore(tmp_path / "stocktakes.sqlite3")


def test_satisfies_the_port(tmp_path):
    with SqliteStocktakeStore(tmp_path / "s.db") as store:
        assert isinstance(store, StocktakeStore)
        assert store.path.endswith("s.db")


def test_json_codec_round_trips():
    st = sample_stocktake()
    assert stocktake_from_json(stocktake_to_json(st)) == st
    for line in sample_lines():
        assert line_from_json(line_to_json(line)) == line


def test_two_connections_share_the_file(tmp_path):
    path = tmp_path / "shared.db"
    with SqliteStocktakeStore(path) as one, SqliteStocktakeStore(path) as two:
        one.create(sample_stocktake())
        two.add_lines("ST-1", sample_lines(), expected_version=1)
        assert one.lines("ST-1") == sample_lines()
        begun = one.get("ST-1").begin(start_position=0, at="2026-11-23T09:00:00+01:00")
        one.update(begun)
        with pytest.raises(ConcurrencyError):
            two.update(begun)


def test_closed_store_and_driver_errors_are_storage_errors(tmp_path):
    store = SqliteStocktakeStore(tmp_path / "x.db")
    store.close()
    store.close()
    with pytest.raises(StorageError, match="is closed"):
        store.get("ST-1")
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStocktakeStore(tmp_path / "missing-dir" / "x.db")


def test_corrupt_rows_are_reported(tmp_path):
    path = tmp_path / "c.db"
    with SqliteStocktakeStore(path) as store:
        store.create(sample_stocktake())
        store.add_lines("ST-1", sample_lines()[:1], expected_version=1)
    db = sqlite3.connect(path)
    db.execute("UPDATE stocktakes SET data = '{}'")
    db.execute("UPDATE stocktake_lines SET data = '{\"id\": 1}'")
    db.commit()
    db.close()
    with SqliteStocktakeStore(path) as store:
        with pytest.raises(StorageError, match="corrupt stocktake 'ST-1'"):
            store.get("ST-1")
        with pytest.raises(StorageError, match="corrupt count line"):
            store.lines("ST-1")
        with pytest.raises(StorageError, match="corrupt"):
            store.stocktakes()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "n.db"
    SqliteStocktakeStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE medinv_stocktake_schema SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="newer than this medinv"):
        SqliteStocktakeStore(path)


def test_a_locked_file_is_a_concurrency_error(tmp_path):
    path = tmp_path / "l.db"
    with SqliteStocktakeStore(path, timeout=0.05) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConcurrencyError, match="SQLITE_BUSY"):
                store.create(sample_stocktake())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        store.create(sample_stocktake())


def test_restart_mid_count_with_sqlite_ledger_and_stocktakes(tmp_path):
    def at(hour: int, minute: int = 0) -> pendulum.DateTime:
        return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")

    item, a1 = ItemKey("04006381333931", lot="L1"), Location.parse("Main/A1")

    def open_service() -> tuple[StocktakeService, SqliteStore, SqliteStocktakeStore]:
        ledger_store = SqliteStore(tmp_path / "ledger.sqlite3")
        stocktakes = SqliteStocktakeStore(tmp_path / "stocktakes.sqlite3")
        return StocktakeService(Ledger(ledger_store), stocktakes), ledger_store, stocktakes

    service, ledger_store, stocktakes = open_service()
    Ledger(ledger_store).post(
        [Movement.receipt("r1", item=item, quantity=10, to=a1, occurred_at=at(7), actor="dock")]
    )
    service.plan("ST-1", scope=StocktakeScope("Main"), created_by="lea", at=at(8))
    service.begin("ST-1", at=at(9))
    line = CountLine(
        id="d1-1", counter="ana", device="d1", counted_at=at(10), location=a1, item=item, quantity=9
    )
    service.add_lines("ST-1", [line])
    ledger_store.close()
    stocktakes.close()  # the process stops mid-count

    service, ledger_store, stocktakes = open_service()
    try:
        assert service.store.lines("ST-1") == [line]
        assert service.add_lines("ST-1", [line]) == []  # the device re-sends: nothing new
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
        service.add_lines("ST-1", [recount])
        service.close_counting("ST-1", at=at(12))
        service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")
        service.post("ST-1", at=at(14))
        assert Ledger(ledger_store).balance(item, location=a1) == 9
    finally:
        ledger_store.close()
        stocktakes.close()
