"""`SqliteReservations`: the FEFO reservations of a `SqliteStore`'s file."""

from __future__ import annotations

from medinv.adapters._reservations_sql import SqlReservations
from medinv.adapters.sqlite._tables import SqliteTables
from medinv.ports import LedgerStore

__all__ = ["SqliteReservations"]


class SqliteReservations(SqliteTables, SqlReservations):
    """The [`ReservationStore`][medinv.ports.ReservationStore] of a SQLite ledger file.

    Get it as ``store.reservations``; it lives in the ledger's file and uses the
    store's connection. Each write is one ``BEGIN IMMEDIATE`` transaction: SQLite's
    write lock serialises the reservations of every process on the file, and the
    check that the units are free runs inside it.
    ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "reservations"

    @property
    def _ledger(self) -> LedgerStore:
        return self._store
