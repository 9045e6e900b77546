"""`PostgresSync`: the sync inbox of a `PostgresStore`'s schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from medinv.adapters._sync_sql import SqlSync
from medinv.adapters.postgres._tables import PostgresTables

__all__ = ["PostgresSync"]


class PostgresSync(PostgresTables, SqlSync):
    """The [`SyncStore`][medinv.sync.SyncStore] of a PostgreSQL ledger schema.

    Get it as ``store.sync``; it uses the store's connection. ``transaction()`` is
    one transaction holding the inbox's advisory lock: ledger appends made inside it
    become savepoints of it, so an ingestion's movements and its inbox rows commit
    together or not at all. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "sync"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """See [`SyncStore.transaction`][medinv.sync.SyncStore.transaction]."""
        with self._transaction():
            yield
