"""Consumers' checkpoints in SQLite: in the ledger's file, or in a consumer's own database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

from medinv.adapters._checkpoints_sql import (
    SqlCheckpoints,
    TableCheckpoints,
    check_name,
    checkpoint_sql,
    refuse_nesting,
)
from medinv.adapters.sqlite._errors import _translate
from medinv.adapters.sqlite._tables import SqliteTables
from medinv.errors import InvalidValueError

__all__ = ["SqliteCheckpointTable", "SqliteCheckpoints"]


class SqliteCheckpoints(SqliteTables, SqlCheckpoints):
    """The [`CheckpointStore`][medinv.feed.CheckpointStore] of a SQLite ledger file.

    Get it as ``store.checkpoints``: consumers without a database of their own keep
    their checkpoints in the ledger's file. Each ``save`` is one ``BEGIN IMMEDIATE``
    transaction; ``transaction()`` does nothing, so delivery is at least once.
    ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "checkpoints"


class SqliteCheckpointTable(TableCheckpoints):
    """A consumer's checkpoints in its own SQLite database, saved in its own transactions.

    Args:
        connection: the consumer's ``sqlite3.Connection`` (it stays the caller's).
        table: the checkpoints' table (created if missing).

    ``save`` writes inside the connection's current transaction and never commits:
    the checkpoint commits or rolls back with what the consumer wrote in the same
    transaction. ``transaction()`` opens one (``BEGIN IMMEDIATE``) and commits it at
    the end of the ``with`` block (rolls back on an exception); a
    [`Follower`][medinv.feed.Follower] given this table applies each page and saves
    its checkpoint in it, so a consumer whose handler writes through this connection
    applies every change exactly once in effect:

    ```pycon
    >>> import sqlite3, pendulum
    >>> from medinv import ItemKey, Location, Movement
    >>> from medinv.adapters.memory import MemoryStore
    >>> from medinv.feed import Follower
    >>> from medinv.ledger import Ledger
    >>> ledger = Ledger(MemoryStore(), clock=lambda: pendulum.datetime(2026, 12, 1, tz="UTC"))
    >>> _ = ledger.post([Movement.receipt("R-1", item=ItemKey("04006381333931"), quantity=4,
    ...     to=Location.parse("A"), occurred_at="2026-12-01T08:00:00Z", actor="jm")])
    >>> erp = sqlite3.connect(":memory:")
    >>> _ = erp.execute("CREATE TABLE stock (movement TEXT PRIMARY KEY, quantity INTEGER)")
    >>> follower = Follower(ledger, "erp", SqliteCheckpointTable(erp))
    >>> def apply(page):
    ...     erp.executemany("INSERT INTO stock VALUES (?, ?)",
    ...                     [(c.movement.id, c.movement.quantity) for c in page.changes])
    >>> follower.poll(apply).head.position, follower.poll(apply)
    (1, None)
    >>> erp.execute("SELECT * FROM stock").fetchall(), follower.checkpoint().position
    ([('R-1', 4)], 1)

    ```

    Raises:
        InvalidValueError: not a ``sqlite3.Connection``, or a bad table name.
        StorageError: the table cannot be created.
    """

    __slots__ = ("_conn", "_table")

    def __init__(
        self, connection: sqlite3.Connection, *, table: str = "medinv_feed_checkpoints"
    ) -> None:
        if not isinstance(connection, sqlite3.Connection):
            raise InvalidValueError(
                f"SqliteCheckpointTable needs a sqlite3.Connection, not {type(connection).__name__}"
            )
        self._conn = connection
        self._table = check_name("checkpoint table name", table)
        self._sql = checkpoint_sql(f'"{table}"', lock="")
        with self._errors("create"):
            connection.execute(self._sql.create)

    def __repr__(self) -> str:
        return f"SqliteCheckpointTable(table={self._table!r})"

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise _translate(
                e, f"cannot {action} the checkpoint table {self._table!r}", None
            ) from e

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on the connection: committed at the end, rolled back on error.

        Raises:
            InvalidValueError: the connection is already in a transaction.
        """
        conn = self._conn
        refuse_nesting(conn.in_transaction)
        with self._errors("begin a transaction on"):
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.rollback()
            raise
        with self._errors("commit a transaction on"):
            conn.commit()

    def _query(self, statement: str, params: tuple[object, ...], *, end: bool) -> list[Any]:  # noqa: ARG002
        with self._errors("read"):
            return self._conn.execute(statement, params).fetchall()

    def _execute(self, statement: str, params: tuple[object, ...]) -> int:
        with self._errors("write"):
            return self._conn.execute(statement, params).rowcount
