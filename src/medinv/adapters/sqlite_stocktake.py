"""The SQLite [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore]: counts survive restarts.

Each count line is committed (WAL, ``synchronous=FULL``) before
[`add_lines`][medinv.adapters.sqlite_stocktake.SqliteStocktakeStore.add_lines]
returns, so a process or device restart mid-count loses no line. Stocktakes are
stored as one row each (state and version as columns, the rest as JSON); lines
are append-only rows, unique per (stocktake, line id). Version checks run inside
``BEGIN IMMEDIATE`` transactions, so several processes may share the file.

```pycon
>>> import pendulum
>>> from medinv.stocktake import Stocktake, StocktakeScope
>>> with SqliteStocktakeStore(":memory:") as store:
...     store.create(Stocktake.plan("ST-1", scope=StocktakeScope(["Main"]), created_by="lea",
...                                 created_at=pendulum.datetime(2026, 11, 23, tz="UTC")))
...     store.get("ST-1").state.value
'PLANNED'

```

Keep stocktakes in their own file (e.g. next to the ledger's): the ledger's
SQLite store refuses a file whose tables it did not create.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import types
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Final, Self

from medinv.adapters._stocktake_json import (
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.errors import (
    ConcurrencyError,
    CountLineError,
    MedinvError,
    StorageError,
    UnknownStocktakeError,
)
from medinv.stocktake import CountLine, Stocktake, StocktakeState

__all__ = [
    "SCHEMA_VERSION",
    "SqliteStocktakeStore",
    "line_from_json",
    "line_to_json",
    "stocktake_from_json",
    "stocktake_to_json",
]

SCHEMA_VERSION: Final = 1
"""The stocktake schema version this medinv writes."""

_CHUNK: Final = 500  # ids per query (SQLite's host parameter limit is 999 on old builds)

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS medinv_stocktake_schema (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS stocktakes (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS stocktakes_state ON stocktakes (state, id)",
    """CREATE TABLE IF NOT EXISTS stocktake_lines (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        stocktake_id TEXT NOT NULL REFERENCES stocktakes (id),
        line_id TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (stocktake_id, line_id))""",
)


# --------------------------------------------------------------------------- the store


class SqliteStocktakeStore:
    """Stocktakes and their count lines in one SQLite file.

    Args:
        path: the database file, or ``":memory:"`` (tests, examples).
        timeout: seconds to wait for another process's write lock.

    Raises:
        StorageError: the file cannot be opened or was written by a newer medinv.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self._path = str(path)
        self._closed = False
        try:
            self._db = sqlite3.connect(self._path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as e:
            msg = f"cannot open the SQLite stocktake store {self._path!r}: {e}"
            raise StorageError(msg) from e
        try:
            with self._translate("set up"):
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = FULL")
                self._migrate()
        except BaseException:
            self._db.close()
            self._closed = True
            raise

    def _migrate(self) -> None:
        with self._write():
            for statement in _SCHEMA:
                self._db.execute(statement)
            row = self._db.execute("SELECT version FROM medinv_stocktake_schema").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO medinv_stocktake_schema (singleton, version) VALUES (1, ?)",
                    (SCHEMA_VERSION,),
                )
            elif row[0] > SCHEMA_VERSION:
                msg = (
                    f"the SQLite stocktake store {self._path!r} has schema version {row[0]}, "
                    f"newer than this medinv knows ({SCHEMA_VERSION})"
                )
                raise StorageError(msg)

    @property
    def path(self) -> str:
        """The database file as given."""
        return self._path

    def close(self) -> None:
        """Close the connection (twice is harmless)."""
        if not self._closed:
            self._closed = True
            self._db.close()

    def __enter__(self) -> Self:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    # ------------------------------------------------------------------ helpers

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        if self._closed:
            msg = f"the SQLite stocktake store {self._path!r} is closed"
            raise StorageError(msg)
        try:
            yield
        except sqlite3.Error as e:
            name = getattr(e, "sqlite_errorname", type(e).__name__)
            message = f"cannot {action} the SQLite stocktake store {self._path!r}: {e} [{name}]"
            if name in {"SQLITE_BUSY", "SQLITE_LOCKED"}:
                raise ConcurrencyError(message) from e
            raise StorageError(message) from e

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _version(self, stocktake_id: str) -> int:
        row = self._db.execute(
            "SELECT version FROM stocktakes WHERE id = ?", (stocktake_id,)
        ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        return int(row[0])

    def _decode(self, decode: Any, text: str, what: str) -> Any:
        try:
            return decode(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            msg = f"corrupt {what} in the SQLite stocktake store {self._path!r}: {e}"
            raise StorageError(msg) from e

    # ------------------------------------------------------------------ the port

    def create(self, stocktake: Stocktake) -> None:
        """See [`StocktakeStore.create`][medinv.ports_stocktake.StocktakeStore.create]."""
        with self._translate("write to"), self._write():
            row = self._db.execute(
                "SELECT version FROM stocktakes WHERE id = ?", (stocktake.id,)
            ).fetchone()
            if row is not None:
                msg = f"stocktake {stocktake.id!r} already exists"
                raise ConcurrencyError(msg, expected=0, actual=row[0])
            self._db.execute(
                "INSERT INTO stocktakes (id, state, version, data) VALUES (?, ?, ?, ?)",
                (
                    stocktake.id,
                    stocktake.state.value,
                    stocktake.version,
                    stocktake_to_json(stocktake),
                ),
            )

    def get(self, stocktake_id: str) -> Stocktake:
        """See [`StocktakeStore.get`][medinv.ports_stocktake.StocktakeStore.get]."""
        with self._translate("read"):
            row = self._db.execute(
                "SELECT data FROM stocktakes WHERE id = ?", (stocktake_id,)
            ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        result: Stocktake = self._decode(stocktake_from_json, row[0], f"stocktake {stocktake_id!r}")
        return result

    def update(self, stocktake: Stocktake, *, lines_seen: int | None = None) -> None:
        """See [`StocktakeStore.update`][medinv.ports_stocktake.StocktakeStore.update]."""
        with self._translate("write to"), self._write():
            stored = self._version(stocktake.id)
            if stored != stocktake.version - 1:
                msg = (
                    f"stocktake {stocktake.id!r} is at version {stored}; "
                    f"this update expects {stocktake.version - 1}"
                )
                raise ConcurrencyError(msg, expected=stocktake.version - 1, actual=stored)
            if lines_seen is not None:
                count = self._db.execute(
                    "SELECT count(*) FROM stocktake_lines WHERE stocktake_id = ?",
                    (stocktake.id,),
                ).fetchone()[0]
                if count != lines_seen:
                    msg = f"stocktake {stocktake.id!r} has {count} lines, not the {lines_seen} seen"
                    raise ConcurrencyError(msg, expected=lines_seen, actual=count)
            self._db.execute(
                "UPDATE stocktakes SET state = ?, version = ?, data = ? WHERE id = ?",
                (
                    stocktake.state.value,
                    stocktake.version,
                    stocktake_to_json(stocktake),
                    stocktake.id,
                ),
            )

    def add_lines(
        self, stocktake_id: str, lines: Sequence[CountLine], *, expected_version: int
    ) -> None:
        """See [`StocktakeStore.add_lines`][medinv.ports_stocktake.StocktakeStore.add_lines]."""
        encoded = [(line.id, line_to_json(line), line) for line in lines]
        with self._translate("write to"), self._write():
            stored = self._version(stocktake_id)
            if stored != expected_version:
                msg = f"stocktake {stocktake_id!r} is at version {stored}, not {expected_version}"
                raise ConcurrencyError(msg, expected=expected_version, actual=stored)
            fresh: dict[str, CountLine] = {}
            for line_id, text, line in encoded:
                row = self._db.execute(
                    "SELECT data FROM stocktake_lines WHERE stocktake_id = ? AND line_id = ?",
                    (stocktake_id, line_id),
                ).fetchone()
                known = fresh.get(line_id)
                if row is not None:
                    known = self._decode(line_from_json, row[0], f"count line {line_id!r}")
                if known is None:
                    fresh[line_id] = line
                    self._db.execute(
                        "INSERT INTO stocktake_lines (stocktake_id, line_id, data)"
                        " VALUES (?, ?, ?)",
                        (stocktake_id, line_id, text),
                    )
                elif known != line:
                    raise CountLineError(line_id, "the id was already used for another count")

    def lines_by_id(self, stocktake_id: str, line_ids: Collection[str]) -> dict[str, CountLine]:
        """See [`LineLookup.lines_by_id`][medinv.ports_stocktake.LineLookup.lines_by_id]."""
        wanted = sorted(set(line_ids))
        found: dict[str, CountLine] = {}
        with self._translate("read"):
            self._version(stocktake_id)
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT line_id, data FROM stocktake_lines"  # noqa: S608  (only ? marks)
                    f" WHERE stocktake_id = ? AND line_id IN ({marks})",
                    (stocktake_id, *chunk),
                ).fetchall()
                for lid, data in rows:
                    found[lid] = self._decode(line_from_json, data, f"count line {lid!r}")
        return found

    def lines(self, stocktake_id: str) -> list[CountLine]:
        """See [`StocktakeStore.lines`][medinv.ports_stocktake.StocktakeStore.lines]."""
        with self._translate("read"):
            self._version(stocktake_id)
            rows = self._db.execute(
                "SELECT line_id, data FROM stocktake_lines WHERE stocktake_id = ? ORDER BY seq",
                (stocktake_id,),
            ).fetchall()
        return [self._decode(line_from_json, data, f"count line {lid!r}") for lid, data in rows]

    def stocktakes(self, *, state: StocktakeState | None = None) -> list[Stocktake]:
        """See [`StocktakeStore.stocktakes`][medinv.ports_stocktake.StocktakeStore.stocktakes]."""
        with self._translate("read"):
            if state is None:
                rows = self._db.execute("SELECT id, data FROM stocktakes ORDER BY id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT id, data FROM stocktakes WHERE state = ? ORDER BY id", (state.value,)
                ).fetchall()
        return [self._decode(stocktake_from_json, data, f"stocktake {sid!r}") for sid, data in rows]
