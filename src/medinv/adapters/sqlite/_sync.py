"""`SqliteSync`: the sync inbox of a `SqliteStore`'s file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from medinv.adapters._sync_sql import SqlSync
from medinv.adapters.sqlite._tables import SqliteTables

__all__ = ["SqliteSync"]


class SqliteSync(SqliteTables, SqlSync):
    """The [`SyncStore`][medinv.sync.SyncStore] of a SQLite ledger file.

    Get it as ``store.sync``; it lives in the ledger's file and uses the store's
    connection. ``transaction()`` is one ``BEGIN IMMEDIATE`` transaction: ledger
    appends made inside it join it (as savepoints), so an ingestion's movements and
    its inbox rows are committed by one ``COMMIT``, or rolled back together (a
    process killed before the commit leaves the file as it was).
    ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "sync inbox"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """See [`SyncStore.transaction`][medinv.sync.SyncStore.transaction]."""
        store = self._store
        try:
            with self._transaction():
                yield
        except BaseException:
            # Item and location numbers created by appends in the rolled back transaction.
            store._item_nos.clear()  # noqa: SLF001  (the store's own caches)
            store._location_nos.clear()  # noqa: SLF001
            raise
