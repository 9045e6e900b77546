"""What the SQL stores' side tables (catalogue, reservations) need from their store.

The catalogue and the reservations of a SQL store live in the ledger's database
and use the store's connection. Their rules are written once over a few
primitives; this base names the ones every SQL store supplies the same way for
both: run a query, run a write inside the current transaction, name the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medinv.adapters._base import Closing

__all__ = ["SqlTables"]


class SqlTables(Closing):
    """Tables of a SQL store used through its connection; a store supplies the primitives."""

    __slots__ = ()

    def _rows(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run a query (inside the current transaction, if any) and return its rows."""
        raise NotImplementedError  # pragma: no cover

    def _run(self, statement: str, params: Sequence[object]) -> None:
        """Run a write statement inside the current transaction."""
        raise NotImplementedError  # pragma: no cover

    def _run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        """Run a write statement once per row, inside the current transaction."""
        raise NotImplementedError  # pragma: no cover

    @property
    def where(self) -> str:
        """The database, for messages ("the SQLite file 'x.db'")."""
        raise NotImplementedError  # pragma: no cover
