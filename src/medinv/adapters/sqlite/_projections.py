"""`SqliteProjections`: the projections kept in a `SqliteStore`'s file."""

from __future__ import annotations

from medinv.adapters._projections_sql import SqlProjections
from medinv.adapters.sqlite._tables import SqliteTables

__all__ = ["SqliteProjections"]


class SqliteProjections(SqliteTables, SqlProjections):
    """The [`ProjectionStore`][medinv.ports.ProjectionStore] of a SQLite ledger file.

    Get it as ``store.projections``; it lives in the ledger's file and uses the
    store's connection. Each save is one ``BEGIN IMMEDIATE`` transaction: SQLite's
    write lock serialises the savers of every process on the file, and the stored
    position is compared inside it. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "projections"
