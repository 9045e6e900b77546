"""The checkpoint contract on every store and on the consumer-side tables; the PostgreSQL notifier."""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import FeedNotifier, PostgresCheckpointTable, PostgresStore
from medinv.adapters.sqlite import SqliteCheckpointTable, SqliteStore
from medinv.errors import ConcurrencyError, InvalidValueError, StorageError
from medinv.journal import LedgerHead
from medinv.testing.checkpoint_contract import CheckpointStoreContract, head_at


class TestMemoryCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self):
        with MemoryStore() as store:
            yield store.checkpoints


class TestSqliteCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, tmp_path):
        with SqliteStore(tmp_path / "ledger.sqlite3") as store:
            yield store.checkpoints

    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: SqliteStore(tmp_path / "ledger.sqlite3").checkpoints


@pytest.mark.postgres
class TestPostgresCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store.checkpoints

    @pytest.fixture
    def reopen(self, postgres_dsn, postgres_schema):
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema).checkpoints


class TestSqliteCheckpointTable(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, tmp_path):
        conn = sqlite3.connect(tmp_path / "erp.sqlite3")
        yield SqliteCheckpointTable(conn, table="erp_checkpoints")
        conn.close()

    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: SqliteCheckpointTable(
            sqlite3.connect(tmp_path / "erp.sqlite3"), table="erp_checkpoints"
        )


@pytest.mark.postgres
class TestPostgresCheckpointTable(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, postgres_dsn, postgres_schema):
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {postgres_schema}")
            conn.commit()
            yield PostgresCheckpointTable(conn, schema=postgres_schema)

    @pytest.fixture
    def reopen(self, postgres_dsn, postgres_schema):
        opened: list[psycopg.Connection] = []

        def table() -> PostgresCheckpointTable:
            opened.append(psycopg.connect(postgres_dsn))
            return PostgresCheckpointTable(opened[-1], schema=postgres_schema)

        yield table
        for conn in opened:
            conn.close()


# ------------------------------------------------------------------ the consumer's tables


def test_a_sqlite_table_saves_inside_the_callers_transaction(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "erp.sqlite3")
    table = SqliteCheckpointTable(conn)
    conn.execute("CREATE TABLE applied (position INTEGER)")
    conn.execute("INSERT INTO applied VALUES (1)")  # opens the caller's transaction
    table.save("erp", head_at(1))
    conn.rollback()
    assert table.load("erp") == LedgerHead.empty()
    assert conn.execute("SELECT count(*) FROM applied").fetchone() == (0,)
    with table.transaction():
        conn.execute("INSERT INTO applied VALUES (1)")
        table.save("erp", head_at(1))
    assert not conn.in_transaction
    other = sqlite3.connect(tmp_path / "erp.sqlite3")
    assert SqliteCheckpointTable(other).load("erp") == head_at(1)


def test_a_sqlite_table_rolls_back_both_on_an_error(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "erp.sqlite3")
    table = SqliteCheckpointTable(conn)
    conn.execute("CREATE TABLE applied (position INTEGER)")

    def apply_then_fail() -> None:
        with table.transaction():
            conn.execute("INSERT INTO applied VALUES (1)")
            table.save("erp", head_at(1))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        apply_then_fail()
    assert table.load("erp") == LedgerHead.empty()
    assert conn.execute("SELECT count(*) FROM applied").fetchone() == (0,)


def test_a_sqlite_transaction_does_not_nest(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "erp.sqlite3")
    table = SqliteCheckpointTable(conn)
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(InvalidValueError, match="already in a transaction"), table.transaction():
        pass  # pragma: no cover


def test_a_sqlite_writer_holding_the_lock_is_a_concurrency_error(tmp_path) -> None:
    path = tmp_path / "erp.sqlite3"
    first = SqliteCheckpointTable(sqlite3.connect(path))
    second = SqliteCheckpointTable(sqlite3.connect(path, timeout=0.05))
    with first.transaction():
        first.save("erp", head_at(1))
        with pytest.raises(ConcurrencyError, match="checkpoint table"), second.transaction():
            pass  # pragma: no cover


@pytest.mark.parametrize("table", ["", "1abc", "a-b", "x" * 64, 'a"b', None])
def test_a_bad_table_name_is_refused(table) -> None:
    with pytest.raises(InvalidValueError, match="checkpoint table name"):
        SqliteCheckpointTable(sqlite3.connect(":memory:"), table=table)


def test_a_table_needs_a_connection_of_its_driver() -> None:
    with pytest.raises(InvalidValueError, match=r"sqlite3\.Connection"):
        SqliteCheckpointTable("erp.sqlite3")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"psycopg\.Connection"):
        PostgresCheckpointTable(sqlite3.connect(":memory:"))  # type: ignore[arg-type]
    assert "erp_x" in repr(SqliteCheckpointTable(sqlite3.connect(":memory:"), table="erp_x"))


def test_a_closed_sqlite_connection_is_a_storage_error() -> None:
    conn = sqlite3.connect(":memory:")
    table = SqliteCheckpointTable(conn)
    conn.close()
    with pytest.raises(StorageError, match="checkpoint table"):
        table.load("erp")


def test_closed_stores_refuse_their_checkpoints(tmp_path) -> None:
    memory = MemoryStore()
    sqlite_store = SqliteStore(tmp_path / "l.sqlite3")
    for store in (memory, sqlite_store):
        store.checkpoints.close()
        with pytest.raises(StorageError, match="closed"):
            store.checkpoints.load("erp")
        with pytest.raises(StorageError, match="closed"):
            store.checkpoints.save("erp", head_at(1))
    assert "checkpoints" in repr(memory.checkpoints)
    assert "checkpoints" in repr(sqlite_store.checkpoints)


@pytest.mark.postgres
def test_a_postgres_table_saves_inside_the_callers_transaction(
    postgres_dsn, postgres_schema
) -> None:
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(f"CREATE SCHEMA {postgres_schema}")
        conn.commit()
        table = PostgresCheckpointTable(conn, schema=postgres_schema, table="erp_cp")
        assert "erp_cp" in repr(table)
        table.save("erp", head_at(1))
        conn.rollback()
        assert table.load("erp") == LedgerHead.empty()

        def save_then_fail() -> None:
            with table.transaction():
                table.save("erp", head_at(1))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            save_then_fail()
        assert table.load("erp") == LedgerHead.empty()
        conn.commit()


@pytest.mark.postgres
def test_two_first_saves_on_postgres_race_and_one_is_refused(postgres_dsn, postgres_schema) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as setup:
        setup.execute(f"CREATE SCHEMA {postgres_schema}")
    with psycopg.connect(postgres_dsn) as a, psycopg.connect(postgres_dsn) as b:
        first = PostgresCheckpointTable(a, schema=postgres_schema)
        second = PostgresCheckpointTable(b, schema=postgres_schema)
        errors: list[BaseException] = []
        first.save("erp", head_at(1), expected=LedgerHead.empty())  # a's transaction, open

        def race() -> None:
            try:
                with second.transaction():
                    second.save("erp", head_at(2), expected=LedgerHead.empty())
            except ConcurrencyError as e:
                errors.append(e)

        thread = threading.Thread(target=race)
        thread.start()
        time.sleep(0.3)  # b waits for a's row
        a.commit()
        thread.join(10)
        assert len(errors) == 1
        assert first.load("erp") == head_at(1)


@pytest.mark.postgres
def test_the_notifier_wakes_a_waiter_on_a_commit(postgres_dsn, postgres_schema) -> None:
    from medinv import ItemKey, Location, Movement  # noqa: PLC0415
    from medinv.ledger import Ledger  # noqa: PLC0415

    with (
        PostgresStore(postgres_dsn, schema=postgres_schema) as store,
        FeedNotifier(postgres_dsn, schema=postgres_schema) as notifier,
    ):
        assert notifier.wait(0.05) is False  # nothing installed, nothing posted
        notifier.install()
        notifier.install()  # twice is harmless
        ledger = Ledger(store)
        timer = threading.Timer(
            0.2,
            lambda: ledger.post(
                [
                    Movement.receipt(
                        "R-1",
                        item=ItemKey("04006381333931"),
                        quantity=1,
                        to=Location.parse("A"),
                        occurred_at="2026-12-01T08:00:00Z",
                        actor="jm",
                    )
                ]
            ),
        )
        started = time.monotonic()
        timer.start()
        assert notifier.wait(10) is True
        assert time.monotonic() - started < 5
        timer.join()
    notifier.close()  # twice is harmless
    with pytest.raises(StorageError):
        notifier.wait(0.01)


def test_the_notifier_refuses_a_bad_schema_and_an_unreachable_server() -> None:
    with pytest.raises(InvalidValueError, match="schema name"):
        FeedNotifier("host=/nonexistent", schema="Bad-Name")
    with pytest.raises(StorageError):
        FeedNotifier("host=/nonexistent/socket dbname=x connect_timeout=1")
