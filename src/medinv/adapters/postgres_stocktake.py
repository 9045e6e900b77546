"""Deprecated: stocktakes now live in the ledger's PostgreSQL schema.

Use [`PostgresStore(target).stocktakes`][medinv.adapters.postgres.PostgresStore.stocktakes]:
one schema holds the ledger and the stocktakes, with one schema version.
[`PostgresStocktakeStore`][medinv.adapters.postgres_stocktake.PostgresStocktakeStore]
keeps working for one minor release: it opens the schema through a `PostgresStore`
of its own and warns with a `DeprecationWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import psycopg

from medinv.adapters.postgres import PostgresStocktakes, PostgresStore

__all__ = ["SCHEMA_VERSION", "PostgresStocktakeStore"]

SCHEMA_VERSION: Final = 1
"""The last version of the separate stocktake tables (migrated on opening)."""


class PostgresStocktakeStore(PostgresStocktakes):
    """Deprecated: use ``PostgresStore(target, schema=...).stocktakes``.

    Opens the schema through a [`PostgresStore`][medinv.adapters.postgres.PostgresStore]
    (stocktake tables of the previous release are taken into the one schema that
    holds the ledger and the stocktakes) and serves its stocktakes.

    Args:
        target: a libpq connection string (the store connects and closes it) or an
            open ``psycopg.Connection`` (switched to autocommit; stays the caller's).
        schema: the schema holding the tables (created if missing).

    Raises:
        StorageError: the server cannot be reached, the schema name is invalid or the
            schema was written by a newer medinv.
    """

    def __init__(self, target: str | psycopg.Connection[Any], *, schema: str = "medinv") -> None:
        warnings.warn(
            "medinv.adapters.postgres_stocktake.PostgresStocktakeStore is deprecated: use "
            "medinv.adapters.postgres.PostgresStore(target, schema=...).stocktakes (one schema "
            "for the ledger and the stocktakes); it will be removed in the next minor release",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(PostgresStore(target, schema=schema))
