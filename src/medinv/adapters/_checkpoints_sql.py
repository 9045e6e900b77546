"""The SQL of the checkpoint tables, shared by SQLite and PostgreSQL, stores and helpers.

One table of one row per consumer: its name, the position and hash of its
checkpoint, and when it was last saved (UTC text). The statements are written once
with ``?`` marks and ``{t}`` for the table's name; each user puts in its name and
turns the marks into its dialect's.
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["CheckpointSql", "checkpoint_sql"]

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS {t} ("
    " consumer text NOT NULL PRIMARY KEY,"
    " position bigint NOT NULL CHECK (position >= 0),"
    " hash text NOT NULL,"
    " saved_at text NOT NULL)"
)
"""The table (SQLite and PostgreSQL alike)."""


@attrs.frozen
class CheckpointSql:
    """The statements over one checkpoint table."""

    create: str
    read: str
    read_for_update: str
    insert: str
    update: str
    delete: str
    all: str


def checkpoint_sql(table: str, *, mark: str = "?") -> CheckpointSql:
    """The statements over ``table`` (a quoted name) with ``mark`` for parameters."""

    def sql(text: str) -> str:
        return text.replace("{t}", table).replace("?", mark)

    return CheckpointSql(
        create=sql(CREATE),
        read=sql("SELECT position, hash FROM {t} WHERE consumer = ?"),
        read_for_update=sql("SELECT position, hash FROM {t} WHERE consumer = ? FOR UPDATE"),
        # A first save inserts (two racing first saves: one violates the key), later
        # ones update the row read.
        insert=sql("INSERT INTO {t} (position, hash, saved_at, consumer) VALUES (?, ?, ?, ?)"),
        update=sql("UPDATE {t} SET position = ?, hash = ?, saved_at = ? WHERE consumer = ?"),
        delete=sql("DELETE FROM {t} WHERE consumer = ?"),
        all=sql("SELECT consumer, position, hash FROM {t} ORDER BY consumer"),
    )
