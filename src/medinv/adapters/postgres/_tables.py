"""`PostgresTables`: catalogue and reservation tables through a `PostgresStore`'s connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import psycopg
from psycopg import sql

from medinv.adapters._sql_tables import SqlTables

if TYPE_CHECKING:
    from medinv.adapters.postgres._store import PostgresStore

__all__ = ["PostgresTables"]


class PostgresTables(SqlTables):
    """The SQL primitives over the store's connection; each write holds an advisory lock.

    Each write is one transaction holding an advisory lock on the schema's tables of
    this kind (``medinv.<noun>.<schema>``), so writes from many processes are
    checked one after the other and a refused one leaves nothing written.
    """

    __slots__ = ("_conn", "_store")

    noun: ClassVar[str]
    """What the tables hold, for messages and the lock (``catalogue``, ``reservations``)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: psycopg.Connection[Any] | None = None
        """The connection inside a write transaction (``None`` outside)."""

    @property
    def where(self) -> str:
        """The database, for messages."""
        return f"PostgreSQL schema {self._store.schema!r}"

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def _q(self, statement: str) -> sql.Composed:
        text = statement.format(p="{s}.").replace("?", "%s")
        return sql.SQL(text).format(s=sql.Identifier(self._store.schema))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._store._open()  # noqa: SLF001  (the store's own connection)
        with self._store._errors(f"writing to the {self.noun}"), conn.transaction():  # noqa: SLF001
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                (f"medinv.{self.noun}.{self._store.schema}",),
            )
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    def _rows(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        conn = self._conn or self._store._open()  # noqa: SLF001
        with self._store._errors(f"reading the {self.noun}"):  # noqa: SLF001
            return conn.execute(self._q(statement), params).fetchall()

    def _run(self, statement: str, params: Sequence[object]) -> None:
        assert self._conn is not None  # noqa: S101  (inside _transaction only)
        self._conn.execute(self._q(statement), params)

    def _run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        assert self._conn is not None  # noqa: S101  (inside _transaction only)
        with self._conn.cursor() as cursor:
            cursor.executemany(self._q(statement), rows)
