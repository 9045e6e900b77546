"""The SQL of the projection stores, shared by SQLite and PostgreSQL.

Two tables in the ledger's database: ``projections`` (per projection: the ledger
position it has folded in and its time zone) and ``projection_rows`` (per
projection and key: one text). The statements are written once with ``?`` marks
and ``{p}`` before table names; each store turns them into its own dialect.
"""

from __future__ import annotations

from typing import Final

from medinv.adapters._projections_base import ProjectionBase
from medinv.adapters._sql_tables import SqlTables
from medinv.ports import StoredProjection

__all__ = ["SqlProjections"]

HEAD: Final = "SELECT position, timezone FROM {p}projections WHERE name = ?"
ROWS: Final = "SELECT key, data FROM {p}projection_rows WHERE name = ?"
INSERT_HEAD: Final = "INSERT INTO {p}projections (name, position, timezone) VALUES (?, ?, ?)"
UPDATE_HEAD: Final = "UPDATE {p}projections SET position = ?, timezone = ? WHERE name = ?"
DELETE_ROW: Final = "DELETE FROM {p}projection_rows WHERE name = ? AND key = ?"
INSERT_ROW: Final = "INSERT INTO {p}projection_rows (name, key, data) VALUES (?, ?, ?)"
DROP_ROWS: Final = "DELETE FROM {p}projection_rows WHERE name = ?"
DROP_HEAD: Final = "DELETE FROM {p}projections WHERE name = ?"


class SqlProjections(ProjectionBase, SqlTables):
    """The projection primitives in SQL; a store supplies ``_rows``, ``_run`` and ``where``."""

    __slots__ = ()

    def _load(self, name: str) -> StoredProjection | None:
        head = self._rows(HEAD, (name,))
        if not head:
            return None
        position, timezone = head[0]
        rows = {str(key): str(data) for key, data in self._rows(ROWS, (name,))}
        return StoredProjection(position=int(position), timezone=str(timezone), rows=rows)

    def _stored_position(self, name: str) -> int | None:
        head = self._rows(HEAD, (name,))
        return int(head[0][0]) if head else None

    def _write(self, name: str, position: int, timezone: str, rows: dict[str, str]) -> None:
        if self._stored_position(name) is None:
            self._run(INSERT_HEAD, (name, position, timezone))
        else:
            self._run(UPDATE_HEAD, (position, timezone, name))
        # Delete then insert: one statement shape for both dialects.
        self._run_many(DELETE_ROW, [(name, key) for key in rows])
        self._run_many(INSERT_ROW, [(name, key, text) for key, text in rows.items() if text])

    def _drop(self, name: str) -> None:
        self._run(DROP_ROWS, (name,))
        self._run(DROP_HEAD, (name,))
