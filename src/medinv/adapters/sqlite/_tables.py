"""`SqliteTables`: catalogue and reservation tables through a `SqliteStore`'s connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from medinv.adapters._sql_tables import SqlTables

if TYPE_CHECKING:
    from medinv.adapters.sqlite._store import SqliteStore

__all__ = ["SqliteTables"]


class SqliteTables(SqlTables):
    """The SQL primitives over the store's connection; each write is one ``BEGIN IMMEDIATE``.

    SQLite's write lock serialises the writes of every process on the file; the
    checks a write makes run inside it, and it is committed durably before it returns.
    """

    __slots__ = ("_store",)

    noun: ClassVar[str]
    """What the tables hold, for messages and ``repr`` (``catalogue``, ``reservations``)."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def where(self) -> str:
        """The database, for messages."""
        return f"the SQLite file {self._store.path!r}"

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"{self._store!r}.{self.noun}"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        store = self._store
        with store._translate(f"write to the {self.noun} of"):  # noqa: SLF001  (its own helper)
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
        with store._translate(f"read the {self.noun} of"):  # noqa: SLF001
            return store._db.execute(statement.format(p=""), params).fetchall()  # noqa: SLF001

    def _run(self, statement: str, params: Sequence[object]) -> None:
        self._store._db.execute(statement.format(p=""), params)  # noqa: SLF001

    def _run_many(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        self._store._db.executemany(statement.format(p=""), rows)  # noqa: SLF001
