"""`SqliteCatalogue`: the catalogue of a `SqliteStore`'s file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medinv.adapters._catalogue_sql import SqlCatalogue
from medinv.adapters.sqlite._tables import SqliteTables

if TYPE_CHECKING:
    from medinv.adapters.sqlite._store import SqliteStore

__all__ = ["SqliteCatalogue"]


class SqliteCatalogue(SqliteTables, SqlCatalogue):
    """The [`CatalogueStore`][medinv.ports.CatalogueStore] of a SQLite ledger file.

    Get it as ``store.catalogue``; it lives in the ledger's file and uses the store's
    connection. Each put is one ``BEGIN IMMEDIATE`` transaction (the conflict
    checks run inside it), committed durably before it returns.
    ``close()`` closes the store.

    ```pycon
    >>> from medinv.adapters.sqlite import SqliteStore
    >>> from medinv.catalogue import LocationKind, LocationProfile
    >>> with SqliteStore(":memory:") as store:  # a file path in real use
    ...     store.catalogue.put_location(
    ...         LocationProfile(path="CHU/Pharmacy/A", kind=LocationKind.STORE, pick_sequence=30),
    ...         valid_from="2026-01-01T00:00:00+00:00")
    ...     store.catalogue.profile_for("CHU/Pharmacy/A/03").pick_sequence
    True
    30

    ```
    """

    __slots__ = ("_in_transaction",)

    noun = "catalogue"

    def __init__(self, store: SqliteStore) -> None:
        super().__init__(store)
        self._in_transaction = False

    @property
    def path(self) -> str:
        """The database file as given."""
        return self._store.path
