"""Pessimistic posting: ``Ledger.post(..., lock_head=True)`` over the stores' ``lock_head()``.

The head is locked before it is read and stays locked through the checks and the
append, so a post under the lock never loses a race; what it posts is exactly what
an optimistic post would have posted. Every failure inside the lock leaves nothing
written and the lock free.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import psycopg
import pytest
from psycopg import sql

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import ConcurrencyError, InsufficientStockError, InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import Commit, LedgerStore

NOW = pendulum.datetime(2026, 11, 23, 8, 30, tz="UTC")
DAY = "2026-11-23T09:00:00+01:00"
ITEM = ItemKey("04006381333931", lot="L1")
SHELF = Location.parse("H/Store/A")
WARD = Location.parse("H/Ward")


def rcv(mid: str, qty: int = 10) -> Movement:
    return Movement.receipt(
        mid, item=ITEM, quantity=qty, to=SHELF, occurred_at=DAY, actor="jm", expiry="2028-01-31"
    )


def iss(mid: str, qty: int = 1) -> Movement:
    return Movement.issue(mid, item=ITEM, quantity=qty, source=SHELF, occurred_at=DAY, actor="jm")


def moves() -> list[list[Movement]]:
    return [
        [rcv("R1"), rcv("R2", 5)],
        [iss("I1", 3)],
        [
            Movement.transfer(
                "T1", item=ITEM, quantity=2, source=SHELF, to=WARD, occurred_at=DAY, actor="jm"
            )
        ],
        [rcv("R1")],  # a replay
        [iss("I2", 10)],
    ]


Opener = Callable[..., LedgerStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens stores of one ledger (SQLite file or PostgreSQL schema); ``timeout`` for SQLite."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        return lambda timeout=10.0: SqliteStore(path, timeout=timeout)
    dsn = request.getfixturevalue("postgres_dsn")
    schema = request.getfixturevalue("postgres_schema")
    return lambda timeout=10.0: PostgresStore(dsn, schema=schema)  # noqa: ARG005


def _ledger(store: LedgerStore) -> Ledger:
    return Ledger(store, clock=lambda: NOW)


def test_a_locked_post_records_what_an_optimistic_post_records(opener: Opener) -> None:
    reference = _ledger(MemoryStore())
    with opener() as store:
        ledger = _ledger(store)
        for batch in moves():
            expected = reference.post(batch)
            got = ledger.post(batch, lock_head=True)
            assert got == expected
        assert ledger.head() == reference.head() and ledger.verify().ok
        assert ledger.balance(ITEM, status=None) == reference.balance(ITEM)


def test_while_a_post_holds_the_lock_no_other_writer_appends(opener: Opener) -> None:
    with opener() as store, opener(timeout=0) as other:
        ledger, rival = _ledger(store), _ledger(other)
        ledger.post([rcv("R1")])
        lock_head = store.lock_head  # type: ignore[attr-defined]
        with lock_head():
            assert ledger.post([iss("I1")]).head.position == 2
            if isinstance(other, PostgresStore):
                query = sql.SQL("SELECT position FROM {}.head FOR UPDATE NOWAIT").format(
                    sql.Identifier(other.schema)
                )
                with psycopg.connect(other_dsn(other), autocommit=True) as conn:  # noqa: SIM117
                    with pytest.raises(psycopg.errors.LockNotAvailable):
                        conn.execute(query)
            else:
                with pytest.raises(ConcurrencyError, match="held the database lock"):
                    rival.post([iss("I2")])
        # Released and committed: the rival reads the locked post's result and posts after it.
        assert rival.post([iss("I2")]).head.position == 3
        assert rival.movement("I1") is not None and rival.verify().ok


def other_dsn(store: PostgresStore) -> str:
    dsn = store._dsn  # the test reconnects to the same server
    assert dsn is not None
    return dsn


def test_a_refused_post_under_the_lock_writes_nothing_and_frees_the_lock(opener: Opener) -> None:
    with opener() as store, opener(timeout=0) as other:
        ledger = _ledger(store)
        ledger.post([rcv("R1", 2)], lock_head=True)
        with pytest.raises(InsufficientStockError):
            ledger.post([iss("I1", 1), iss("I2", 5)], lock_head=True)
        assert ledger.head().position == 1 and ledger.movement("I1") is None
        assert _ledger(other).post([iss("I3", 2)]).head.position == 2  # the lock is free
        assert ledger.post([rcv("R2", 1)], lock_head=True).head.position == 3  # cache up to date
        assert ledger.balance(ITEM) == 1 and ledger.verify().ok


def test_expected_position_is_still_checked_under_the_lock(opener: Opener) -> None:
    with opener() as store:
        ledger = _ledger(store)
        ledger.post([rcv("R1")], lock_head=True)
        with pytest.raises(ConcurrencyError) as err:
            ledger.post([iss("I1")], expected_position=0, lock_head=True, retries=2)
        assert (err.value.expected, err.value.actual) == (0, 1)
        assert ledger.post([iss("I1")], expected_position=1, lock_head=True).head.position == 2


def test_a_failed_append_inside_the_lock_rolls_back_the_whole_block(opener: Opener) -> None:
    reference = _ledger(MemoryStore())
    stale = reference.post([rcv("X1")]).movements[0]  # recorded at position 1
    with opener() as store:
        ledger = _ledger(store)
        lock_head = store.lock_head  # type: ignore[attr-defined]
        with pytest.raises(ConcurrencyError), lock_head():  # noqa: PT012
            ledger.post([rcv("R1")])
            assert store.head().position == 1
            store.append(Commit(expected_position=0, movements=(stale,)))
        assert store.head().position == 0 and ledger.movement("R1") is None
        assert ledger.post([rcv("R1")], lock_head=True).head.position == 1
        assert ledger.verify().ok


def test_a_failure_at_commit_leaves_nothing_and_the_ledger_posts_on(tmp_path: Path) -> None:
    class FailsAtCommit(SqliteStore):
        fail = True

        @contextlib.contextmanager
        def lock_head(self) -> Iterator[None]:
            with super().lock_head():
                yield
                if self.fail:
                    raise StorageError("the disk is full")

    with FailsAtCommit(tmp_path / "ledger.sqlite3") as store:
        ledger = _ledger(store)
        with pytest.raises(StorageError, match="disk is full"):
            ledger.post([rcv("R1")], lock_head=True)
        assert store.head().position == 0
        store.fail = False
        assert ledger.post([rcv("R2"), iss("I1")], lock_head=True).head.position == 2
        assert ledger.balance(ITEM) == 9 and ledger.verify().ok


def test_inside_a_sync_transaction_the_lock_joins_it(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "ledger.sqlite3") as store:
        ledger = _ledger(store)
        with pytest.raises(RuntimeError), store.sync.transaction():  # noqa: PT012
            ledger.post([rcv("R1")], lock_head=True)
            raise RuntimeError("the batch fails after the post")
        assert store.head().position == 0
        with store.sync.transaction():
            ledger.post([rcv("R1")], lock_head=True)
        assert store.head().position == 1


def test_a_store_without_a_head_lock_posts_optimistically() -> None:
    ledger = _ledger(MemoryStore())
    assert ledger.post([rcv("R1")], lock_head=True).head.position == 1
    with pytest.raises(InvalidValueError, match="lock_head must be True or False"):
        ledger.post([rcv("R2")], lock_head=1)  # type: ignore[arg-type]
