"""`PostgresReservations`: the FEFO reservations of a `PostgresStore`'s schema."""

from __future__ import annotations

from medinv.adapters._reservations_sql import SqlReservations
from medinv.adapters.postgres._tables import PostgresTables
from medinv.ports import LedgerStore

__all__ = ["PostgresReservations"]


class PostgresReservations(PostgresTables, SqlReservations):
    """The [`ReservationStore`][medinv.ports.ReservationStore] of a PostgreSQL ledger schema.

    Get it as ``store.reservations``; its tables live in the ledger's schema and it
    uses the store's connection. Each write is one transaction holding an advisory
    lock on the schema's reservations, so the reservations of every process are
    checked one after the other against the balances and the holds committed
    before them. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "reservations"

    @property
    def _ledger(self) -> LedgerStore:
        return self._store
