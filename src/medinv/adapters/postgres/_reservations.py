"""`PostgresReservations`: the FEFO reservations of a `PostgresStore`'s schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from medinv.adapters._reservations_sql import SqlReservations
from medinv.ports import LedgerStore

if TYPE_CHECKING:
    from medinv.adapters.postgres._store import PostgresStore

__all__ = ["PostgresReservations"]


class PostgresReservations(SqlReservations):
    """The [`ReservationStore`][medinv.ports.ReservationStore] of a PostgreSQL ledger schema.

    Get it as ``store.reservations``; its tables live in the ledger's schema and it
    uses the store's connection. Each write is one transaction holding an advisory
    lock on the schema's reservations, so the reservations of every process are
    checked one after the other against the balances and the holds committed
    before them. [`close`][medinv.adapters.postgres.PostgresReservations.close]
    closes the store.
    """

    __slots__ = ("_conn", "_store")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def _ledger(self) -> LedgerStore:
        return self._store

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
        with self._store._errors("writing reservations"), conn.transaction():  # noqa: SLF001
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                (f"medinv.reservations.{self._store.schema}",),
            )
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    def _rows(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        conn = self._conn or self._store._open()  # noqa: SLF001
        with self._store._errors("reading reservations"):  # noqa: SLF001
            return conn.execute(self._q(statement), params).fetchall()

    def _run(self, statement: str, params: Sequence[object]) -> None:
        assert self._conn is not None  # noqa: S101  (inside _transaction only)
        self._conn.execute(self._q(statement), params)
