"""`SqliteRecalls`: the recall campaigns of a `SqliteStore`'s file."""

from __future__ import annotations

from medinv.adapters._recalls_sql import SqlRecalls
from medinv.adapters.sqlite._tables import SqliteTables

__all__ = ["SqliteRecalls"]


class SqliteRecalls(SqliteTables, SqlRecalls):
    """The [`RecallStore`][medinv.recall.RecallStore] of a SQLite ledger file.

    Get it as ``store.recalls``; it lives in the ledger's file and uses the store's
    connection. Each write is one ``BEGIN IMMEDIATE`` transaction: the checks it
    makes (idempotency, a closed campaign, four eyes) run under SQLite's write lock.
    ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "recall campaigns"
