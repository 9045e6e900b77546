"""The SQL of the checkpoint tables, shared by SQLite and PostgreSQL, stores and helpers.

One table of one row per consumer: its name, the position and hash of its
checkpoint, and when it was last saved (UTC text). The statements are written once
with ``?`` marks and ``{t}`` for the table's name; each user puts in its name and
turns the marks into its dialect's.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Final

import attrs

from medinv.adapters._checkpoints_base import CheckpointBase
from medinv.adapters._sql_tables import SqlTables
from medinv.errors import InvalidValueError
from medinv.journal import LedgerHead

__all__ = [
    "STORE_SQL",
    "CheckpointSql",
    "SqlCheckpoints",
    "TableCheckpoints",
    "check_name",
    "checkpoint_sql",
    "refuse_nesting",
]

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


def checkpoint_sql(table: str, *, mark: str = "?", lock: str = " FOR UPDATE") -> CheckpointSql:
    """The statements over ``table`` (a quoted name) with ``mark`` for parameters.

    ``lock`` ends the read that ``save`` makes (SQLite has none: its write lock is
    the database's).
    """

    def sql(text: str) -> str:
        return text.replace("{t}", table).replace("?", mark)

    return CheckpointSql(
        create=sql(CREATE),
        read=sql("SELECT position, hash FROM {t} WHERE consumer = ?"),
        read_for_update=sql("SELECT position, hash FROM {t} WHERE consumer = ?" + lock),  # noqa: S608  (a constant)
        # A first save inserts (two racing first saves: one violates the key), later
        # ones update the row read.
        insert=sql("INSERT INTO {t} (position, hash, saved_at, consumer) VALUES (?, ?, ?, ?)"),
        update=sql("UPDATE {t} SET position = ?, hash = ?, saved_at = ? WHERE consumer = ?"),
        delete=sql("DELETE FROM {t} WHERE consumer = ?"),
        all=sql("SELECT consumer, position, hash FROM {t} ORDER BY consumer"),
    )


STORE_SQL: Final = checkpoint_sql("{p}feed_checkpoints")
"""The statements over a ledger's own ``feed_checkpoints`` table (``{p}``: the store's prefix)."""


class SqlCheckpoints(CheckpointBase, SqlTables):
    """The checkpoints a SQL store keeps beside its ledger; the store supplies its primitives.

    Each ``save`` is one write transaction of the store's (``_transaction``);
    ``transaction()`` does nothing, so delivery through these checkpoints is at
    least once.
    """

    __slots__ = ()

    def _write_scope(self) -> contextlib.AbstractContextManager[None]:
        return self._transaction()

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError  # pragma: no cover  (every store supplies it)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Nothing: the page's effects and the save are not one unit (at least once)."""
        return contextlib.nullcontext()

    def _read(self, consumer: str, *, for_update: bool) -> LedgerHead | None:  # noqa: ARG002
        rows = self._rows(STORE_SQL.read, (consumer,))
        return LedgerHead(int(rows[0][0]), rows[0][1]) if rows else None

    def _write(self, consumer: str, checkpoint: LedgerHead, moment: str, *, new: bool) -> None:
        statement = STORE_SQL.insert if new else STORE_SQL.update
        self._run(statement, (checkpoint.position, checkpoint.hash, moment, consumer))

    def _delete(self, consumer: str) -> bool:
        found = bool(self._rows(STORE_SQL.read, (consumer,)))
        self._run(STORE_SQL.delete, (consumer,))
        return found

    def _all(self) -> list[tuple[str, LedgerHead]]:
        return [(c, LedgerHead(int(p), h)) for c, p, h in self._rows(STORE_SQL.all, ())]


_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_IN_TRANSACTION: Final = (
    "the connection is already in a transaction: commit or roll back first, "
    "or save inside it without transaction()"
)


def check_name(what: str, name: object) -> str:
    """A table or schema name: letters, digits and ``_``, not starting with a digit, <= 63."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidValueError(
            f"invalid {what} {name!r:.60}: expected letters, digits and '_', "
            "starting with a letter or '_', at most 63 characters"
        )
    return name


class TableCheckpoints(CheckpointBase):
    """Checkpoints in a table of the consumer's own database, on the caller's connection.

    A driver supplies two primitives: ``_query`` (rows of a statement; ``end``: a read
    that opened a transaction ends it) and ``_execute`` (a write, its row count), both
    inside the connection's current transaction; and ``transaction()``.
    """

    __slots__ = ("_sql",)

    _sql: CheckpointSql

    def _query(self, statement: str, params: tuple[object, ...], *, end: bool) -> list[Any]:
        raise NotImplementedError  # pragma: no cover

    def _execute(self, statement: str, params: tuple[object, ...]) -> int:
        raise NotImplementedError  # pragma: no cover

    def _write_scope(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the caller's transaction

    def _read(self, consumer: str, *, for_update: bool) -> LedgerHead | None:
        statement = self._sql.read_for_update if for_update else self._sql.read
        rows = self._query(statement, (consumer,), end=not for_update)
        return LedgerHead(int(rows[0][0]), rows[0][1]) if rows else None

    def _write(self, consumer: str, checkpoint: LedgerHead, moment: str, *, new: bool) -> None:
        statement = self._sql.insert if new else self._sql.update
        self._execute(statement, (checkpoint.position, checkpoint.hash, moment, consumer))

    def _delete(self, consumer: str) -> bool:
        return self._execute(self._sql.delete, (consumer,)) > 0

    def _all(self) -> list[tuple[str, LedgerHead]]:
        rows = self._query(self._sql.all, (), end=True)
        return [(c, LedgerHead(int(p), h)) for c, p, h in rows]


def refuse_nesting(in_transaction: bool) -> None:  # noqa: FBT001  (a fact, not a flag)
    """``transaction()`` does not nest: refuse when the connection is in one already."""
    if in_transaction:
        raise InvalidValueError(_IN_TRANSACTION)
