"""`PostgresProjections`: the projections kept in a `PostgresStore`'s schema."""

from __future__ import annotations

from medinv.adapters._projections_sql import SqlProjections
from medinv.adapters.postgres._tables import PostgresTables

__all__ = ["PostgresProjections"]


class PostgresProjections(PostgresTables, SqlProjections):
    """The [`ProjectionStore`][medinv.ports.ProjectionStore] of a PostgreSQL ledger schema.

    Get it as ``store.projections``; its tables live in the ledger's schema and it
    uses the store's connection. Each save is one transaction holding an advisory
    lock on the schema's projections, and the stored position is compared inside
    it. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "projections"
