"""`SqliteReservations`: the FEFO reservations of a `SqliteStore`'s file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from medinv.adapters._reservations_sql import SqlReservations
from medinv.ports import LedgerStore

if TYPE_CHECKING:
    from medinv.adapters.sqlite._store import SqliteStore

__all__ = ["SqliteReservations"]


class SqliteReservations(SqlReservations):
    """The [`ReservationStore`][medinv.ports.ReservationStore] of a SQLite ledger file.

    Get it as ``store.reservations``; it lives in the ledger's file and uses the
    store's connection. Each write is one ``BEGIN IMMEDIATE`` transaction: SQLite's
    write lock serialises the reservations of every process on the file, and the
    check that the units are free runs inside it.
    [`close`][medinv.adapters.sqlite.SqliteReservations.close] closes the store.
    """

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def _ledger(self) -> LedgerStore:
        return self._store

    @property
    def where(self) -> str:
        """The database, for messages."""
        return f"the SQLite file {self._store.path!r}"

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"{self._store!r}.reservations"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        store = self._store
        with store._translate("write the reservations of"):  # noqa: SLF001  (its own helper)
            db = store._db  # noqa: SLF001
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                store._rollback()  # noqa: SLF001
                raise
            db.execute("COMMIT")

    def _rows(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        store = self._store
        with store._translate("read the reservations of"):  # noqa: SLF001
            return store._db.execute(statement.format(p=""), params).fetchall()  # noqa: SLF001

    def _run(self, statement: str, params: Sequence[object]) -> None:
        self._store._db.execute(statement.format(p=""), params)  # noqa: SLF001
