"""The SQL of the recall stores, shared by SQLite and PostgreSQL.

One table in the ledger's database, ``recall_events``: one row per event of a
campaign (campaign id, sequence number, kind, the JSON of
[`_recalls_base`][medinv.adapters._recalls_base]), keyed by campaign and
sequence; rows are only ever inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from medinv.adapters._recalls_base import Event, RecallBase
from medinv.adapters._sql_tables import SqlTables

__all__ = ["SqlRecalls"]

_SELECT: Final = "SELECT campaign_id, seq, kind, data FROM {p}recall_events"
_ORDER: Final = " ORDER BY campaign_id, seq"
INSERT: Final = "INSERT INTO {p}recall_events (campaign_id, seq, kind, data) VALUES (?, ?, ?, ?)"


class SqlRecalls(RecallBase, SqlTables):
    """The recall primitives in SQL; a store supplies ``_rows``, ``_run`` and ``where``."""

    __slots__ = ()

    def _events(self, campaign_id: str | None, kinds: Sequence[str] | None) -> list[Event]:
        where: list[str] = []
        params: list[object] = []
        if campaign_id is not None:
            where.append("campaign_id = ?")
            params.append(campaign_id)
        if kinds is not None:
            where.append("kind IN (" + ", ".join("?" for _ in kinds) + ")")
            params.extend(kinds)
        statement = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
        return [(str(c), int(s), str(k), str(d)) for c, s, k, d in self._rows(statement, params)]

    def _append(self, event: Event) -> None:
        self._run(INSERT, event)
