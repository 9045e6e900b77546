"""`PostgresCatalogue`: the catalogue of a `PostgresStore`'s schema."""

from __future__ import annotations

from medinv.adapters._catalogue_sql import SqlCatalogue
from medinv.adapters.postgres._tables import PostgresTables

__all__ = ["PostgresCatalogue"]


class PostgresCatalogue(PostgresTables, SqlCatalogue):
    """The [`CatalogueStore`][medinv.ports.CatalogueStore] of a PostgreSQL ledger schema.

    Get it as ``store.catalogue``; its tables live in the ledger's schema and it
    uses the store's connection. Each put is one transaction holding an advisory
    lock on the schema's catalogue, so puts from many processes are checked one
    after the other and a conflict leaves nothing written.
    ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "catalogue"

    @property
    def schema(self) -> str:
        """The schema holding the ledger's and the catalogue's tables."""
        return self._store.schema
