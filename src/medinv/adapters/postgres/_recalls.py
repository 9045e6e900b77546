"""`PostgresRecalls`: the recall campaigns of a `PostgresStore`'s schema."""

from __future__ import annotations

from medinv.adapters._recalls_sql import SqlRecalls
from medinv.adapters.postgres._tables import PostgresTables

__all__ = ["PostgresRecalls"]


class PostgresRecalls(PostgresTables, SqlRecalls):
    """The [`RecallStore`][medinv.recall.RecallStore] of a PostgreSQL ledger schema.

    Get it as ``store.recalls``; its table lives in the ledger's schema and it uses
    the store's connection. Each write is one transaction holding an advisory lock
    on the schema's recall campaigns, so the writes of every process are checked
    one after the other. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "recalls"
