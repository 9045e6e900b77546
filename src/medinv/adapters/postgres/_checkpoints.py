"""Consumers' checkpoints in PostgreSQL, and the notifier that wakes a follower.

Checkpoints live in the ledger's schema or in a consumer's own database; the
notifier wakes a follower when the ledger moves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Final, Self

import psycopg
from psycopg import sql

from medinv.adapters._checkpoints_sql import (
    SqlCheckpoints,
    TableCheckpoints,
    check_name,
    checkpoint_sql,
    refuse_nesting,
)
from medinv.adapters.postgres._errors import translate_error
from medinv.adapters.postgres._tables import PostgresTables
from medinv.errors import InvalidValueError

__all__ = ["FeedNotifier", "PostgresCheckpointTable", "PostgresCheckpoints"]


class PostgresCheckpoints(PostgresTables, SqlCheckpoints):
    """The [`CheckpointStore`][medinv.feed.CheckpointStore] of a PostgreSQL ledger schema.

    Get it as ``store.checkpoints``: consumers without a database of their own keep
    their checkpoints in the ledger's schema (table ``feed_checkpoints``). Each
    ``save`` is one transaction under the checkpoints' advisory lock;
    ``transaction()`` does nothing, so delivery is at least once.
    """

    __slots__ = ()

    noun = "checkpoints"


class PostgresCheckpointTable(TableCheckpoints):
    """A consumer's checkpoints in its own PostgreSQL database, saved in its own transactions.

    Args:
        connection: the consumer's ``psycopg.Connection`` (it stays the caller's).
        table: the checkpoints' table (created if missing).
        schema: the table's schema (``None``: the connection's search path).

    ``save`` runs inside the connection's current transaction and never commits; it
    locks the consumer's row (``SELECT ... FOR UPDATE``), so two followers of one
    consumer are checked one after the other. ``transaction()`` is the
    connection's ``transaction()`` block: a [`Follower`][medinv.feed.Follower] given
    this table applies each page and saves its checkpoint in one transaction, and a
    handler writing through this connection applies every change exactly once in
    effect.

    Raises:
        InvalidValueError: not a ``psycopg.Connection``, or a bad table or schema name.
        StorageError: the table cannot be created.
    """

    __slots__ = ("_conn", "_table")

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        *,
        table: str = "medinv_feed_checkpoints",
        schema: str | None = None,
    ) -> None:
        if not isinstance(connection, psycopg.Connection):
            raise InvalidValueError(
                "PostgresCheckpointTable needs a psycopg.Connection, not "
                f"{type(connection).__name__}"
            )
        check_name("checkpoint table name", table)
        name = sql.Identifier(table)
        if schema is not None:
            name = sql.Identifier(check_name("schema name", schema), table)
        self._conn = connection
        self._table = table if schema is None else f"{schema}.{table}"
        with self._errors("creating"):
            self._sql = checkpoint_sql(name.as_string(connection), mark="%s")
            with self.transaction():
                connection.execute(self._sql.create.encode())

    def __repr__(self) -> str:
        return f"PostgresCheckpointTable(table={self._table!r})"

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as e:
            raise translate_error(e, f"{doing} the checkpoint table {self._table!r}") from e

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on the connection: committed at the end, rolled back on error.

        Raises:
            InvalidValueError: the connection is already in a transaction.
        """
        refuse_nesting(self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)
        with self._errors("writing to"), self._conn.transaction():
            yield

    @contextlib.contextmanager
    def _reading(self, *, end: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """A read; with ``end``, one that opened a transaction (the connection was idle) ends it."""
        conn = self._conn
        idle = end and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._errors("reading"):
            yield conn
            if idle and not conn.autocommit:
                conn.rollback()

    def _query(self, statement: str, params: tuple[object, ...], *, end: bool) -> list[Any]:
        with self._reading(end=end) as conn:
            return conn.execute(statement.encode(), params).fetchall()

    def _execute(self, statement: str, params: tuple[object, ...]) -> int:
        with self._errors("writing to"):
            return self._conn.execute(statement.encode(), params).rowcount


_NOTIFY_FUNCTION: Final = """
CREATE OR REPLACE FUNCTION {s}.feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], NEW.position::text);
    RETURN NULL;
END $$"""
_NOTIFY_TRIGGER: Final = (
    "CREATE OR REPLACE TRIGGER feed_notify AFTER UPDATE ON {s}.head "
    "FOR EACH ROW EXECUTE FUNCTION {s}.feed_notify({channel})"
)


class FeedNotifier:
    """Wakes a caught-up [`Follower`][medinv.feed.Follower] when a PostgreSQL ledger moves.

    Args:
        target: a libpq connection string; the notifier opens its own connection
            and ``LISTEN``s on the ledger's channel.
        schema: the ledger's schema.

    Give it to [`Follower.follow`][medinv.feed.Follower.follow] as ``waiter``: the
    follower then waits for a notification (up to its backoff) instead of sleeping
    it out. The notifications come from a trigger on the ledger's head, which
    [`install`][medinv.adapters.postgres.FeedNotifier.install] creates once per
    schema (it costs each commit one ``pg_notify``; without it the follower polls).
    A notification is only a hint: the follower still reads the changes after its
    checkpoint, so a lost one delays, never loses, a change.

    Raises:
        StorageError: the server cannot be reached.
        InvalidValueError: a bad schema name.
    """

    def __init__(self, target: str, *, schema: str = "medinv") -> None:
        self._schema = check_name("schema name", schema)
        self.channel = f"medinv_feed_{schema}"[:63]
        """The ``LISTEN`` channel (``medinv_feed_<schema>``, at most 63 characters)."""
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(target, autocommit=True)
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as e:
            raise translate_error(e, f"listening on {self.channel!r}") from e

    def install(self) -> None:
        """Create (or replace) the trigger that notifies the channel on every commit."""
        s = sql.Identifier(self._schema)
        try:
            with self._conn.transaction():
                self._conn.execute(sql.SQL(_NOTIFY_FUNCTION).format(s=s))
                self._conn.execute(
                    sql.SQL(_NOTIFY_TRIGGER).format(s=s, channel=sql.Literal(self.channel))
                )
        except psycopg.Error as e:
            raise translate_error(
                e, f"installing the feed trigger of schema {self._schema!r}"
            ) from e

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a notification; ``True`` if one came."""
        try:
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error as e:
            raise translate_error(e, f"waiting on {self.channel!r}") from e

    def close(self) -> None:
        """Close the notifier's connection (twice is harmless)."""
        if not self._conn.closed:
            self._conn.close()

    def __enter__(self) -> Self:
        """Return the notifier."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the notifier."""
        self.close()
