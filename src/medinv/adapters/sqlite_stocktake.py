"""Deprecated: stocktakes now live in the ledger's SQLite file.

Use [`SqliteStore(path).stocktakes`][medinv.adapters.sqlite.SqliteStore.stocktakes]:
one file holds the ledger and the stocktakes, with one schema version and one
[`backup`][medinv.adapters.sqlite.SqliteStore.backup].
[`SqliteStocktakeStore`][medinv.adapters.sqlite_stocktake.SqliteStocktakeStore]
keeps working for one minor release: it opens the same kind of file through a
`SqliteStore` of its own and warns with a `DeprecationWarning`.
"""

from __future__ import annotations

import os
import warnings
from typing import Final

from medinv.adapters._stocktake_json import (
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.adapters.sqlite import SqliteStocktakes, SqliteStore

__all__ = [
    "SCHEMA_VERSION",
    "SqliteStocktakeStore",
    "line_from_json",
    "line_to_json",
    "stocktake_from_json",
    "stocktake_to_json",
]

SCHEMA_VERSION: Final = 1
"""The last version of the separate stocktake schema (files of it are migrated on opening)."""


class SqliteStocktakeStore(SqliteStocktakes):
    """Deprecated: use ``SqliteStore(path).stocktakes``.

    Opens ``path`` through a [`SqliteStore`][medinv.adapters.sqlite.SqliteStore]
    (a file of the previous release's stocktake store is migrated to the one
    schema that holds the ledger and the stocktakes) and serves its stocktakes.

    Args:
        path: the database file, or ``":memory:"``.
        timeout: seconds to wait for another process's write lock.

    Raises:
        StorageError: the file cannot be opened, is neither a medinv file nor
            empty, or was written by a newer medinv.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        warnings.warn(
            "medinv.adapters.sqlite_stocktake.SqliteStocktakeStore is deprecated: use "
            "medinv.adapters.sqlite.SqliteStore(path).stocktakes (one file for the ledger "
            "and the stocktakes); it will be removed in the next minor release",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(SqliteStore(path, timeout=timeout))
