"""`SqliteCatalogue`: the catalogue of a `SqliteStore`'s file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from medinv.adapters._catalogue_sql import SqlCatalogue

if TYPE_CHECKING:
    from medinv.adapters.sqlite._store import SqliteStore

__all__ = ["SqliteCatalogue"]


class SqliteCatalogue(SqlCatalogue):
    """The [`CatalogueStore`][medinv.ports.CatalogueStore] of a SQLite ledger file.

    Get it as ``store.catalogue``; it lives in the ledger's file and uses the store's
    connection. Each put is one ``BEGIN IMMEDIATE`` transaction (the conflict
    checks run inside it), committed durably before it returns.
    [`close`][medinv.adapters.sqlite.SqliteCatalogue.close] closes the store.

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

    __slots__ = ("_in_transaction", "_store")

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._in_transaction = False

    @property
    def path(self) -> str:
        """The database file as given."""
        return self._store.path

    @property
    def where(self) -> str:
        """The database, for messages."""
        return f"the SQLite file {self._store.path!r}"

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"{self._store!r}.catalogue"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        store = self._store
        with store._translate("write to the catalogue of"):  # noqa: SLF001  (its own helper)
            db = store._db  # noqa: SLF001
            db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                store._rollback()  # noqa: SLF001
                raise
            db.execute("COMMIT")

    def _rows(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        store = self._store
        with store._translate("read the catalogue of"):  # noqa: SLF001
            return store._db.execute(statement.format(p=""), params).fetchall()  # noqa: SLF001

    def _run(self, statement: str, params: Sequence[object]) -> None:
        self._store._db.execute(statement.format(p=""), params)  # noqa: SLF001

    def _run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        self._store._db.executemany(statement.format(p=""), rows)  # noqa: SLF001
