"""The PostgreSQL [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] (psycopg 3).

Needs the ``postgres`` extra. Stocktakes and their count lines live in two tables
of a schema (``medinv`` by default, next to the ledger's tables, whose names they
do not share): ``stocktakes`` (one row per stocktake: state and version as columns,
the rest as JSON text) and ``stocktake_lines`` (append-only, unique per stocktake
and line id). Every write is one transaction that locks the stocktake's row
(``SELECT ... FOR UPDATE``) and checks its version there, so counting devices and
reviewers in any number of processes never lose a line or a transition. Each line
is committed before ``add_lines`` returns: a restart mid-count loses nothing.

```pycon
>>> from medinv.adapters.postgres_stocktake import PostgresStocktakeStore
>>> with PostgresStocktakeStore("host=/run/postgresql dbname=stock") as store:  # doctest: +SKIP
...     store.stocktakes()
[]

```
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Collection, Iterator, Sequence
from typing import Any, Final, Self

import psycopg
from psycopg import sql

from medinv.adapters._stocktake_json import (
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.adapters.postgres import translate_error
from medinv.errors import (
    ConcurrencyError,
    CountLineError,
    MedinvError,
    StorageError,
    UnknownStocktakeError,
)
from medinv.stocktake import CountLine, Stocktake, StocktakeState

__all__ = ["SCHEMA_VERSION", "PostgresStocktakeStore"]

SCHEMA_VERSION: Final = 1
"""The stocktake schema version this medinv writes."""

_MIGRATIONS: Final = (
    """CREATE TABLE IF NOT EXISTS {s}.stocktakes (
        id text PRIMARY KEY,
        state text NOT NULL,
        version integer NOT NULL,
        data text NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS stocktakes_state ON {s}.stocktakes (state, id)",
    """CREATE TABLE IF NOT EXISTS {s}.stocktake_lines (
        seq bigserial PRIMARY KEY,
        stocktake_id text NOT NULL REFERENCES {s}.stocktakes (id),
        line_id text NOT NULL,
        data text NOT NULL,
        UNIQUE (stocktake_id, line_id))""",
)


class PostgresStocktakeStore:
    """Stocktakes and count lines in a PostgreSQL schema.

    Args:
        target: a libpq connection string (the store connects and closes it) or an
            open ``psycopg.Connection`` (switched to autocommit; stays the caller's).
        schema: the schema holding the tables (created if missing).

    Raises:
        StorageError: the server cannot be reached, the schema name is invalid or the
            schema was written by a newer medinv.
    """

    def __init__(self, target: str | psycopg.Connection[Any], *, schema: str = "medinv") -> None:
        if not schema.isidentifier() or schema != schema.lower() or len(schema) > 63:  # noqa: PLR2004
            msg = (
                f"invalid PostgreSQL schema name {schema!r}: expected lower-case letters, digits, _"
            )
            raise StorageError(msg)
        self.schema = schema
        """The schema holding the stocktake tables."""
        self._owns = isinstance(target, str)
        self._closed = False
        with self._errors("connecting"):
            if isinstance(target, str):
                self._conn: psycopg.Connection[Any] = psycopg.connect(target, autocommit=True)
            else:
                self._conn = target
                self._conn.autocommit = True
        self._s = sql.Identifier(schema)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as e:
            raise translate_error(e, doing) from e

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    def _db(self) -> psycopg.Connection[Any]:
        if self._closed:
            msg = f"the PostgreSQL stocktake store of schema {self.schema!r} is closed"
            raise StorageError(msg)
        return self._conn

    def _migrate(self) -> None:
        conn = self._conn
        with self._errors(f"migrating the stocktake tables of {self.schema!r}"), conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"medinv.stocktake.{self.schema}",)
            )
            conn.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            conn.execute(
                self._q(
                    "CREATE TABLE IF NOT EXISTS {s}.stocktake_schema_version"
                    " (version integer PRIMARY KEY)"
                )
            )
            row = conn.execute(
                self._q("SELECT coalesce(max(version), 0) FROM {s}.stocktake_schema_version")
            ).fetchone()
            current = 0 if row is None else int(row[0])
            if current > SCHEMA_VERSION:
                msg = (
                    f"the stocktake tables of {self.schema!r} are at version {current}, newer "
                    f"than this medinv knows ({SCHEMA_VERSION}); upgrade medinv"
                )
                raise StorageError(msg)
            if current < SCHEMA_VERSION:
                for statement in _MIGRATIONS:
                    conn.execute(self._q(statement))
                conn.execute(
                    self._q("INSERT INTO {s}.stocktake_schema_version (version) VALUES (%s)"),
                    (SCHEMA_VERSION,),
                )

    def _locked_version(self, conn: psycopg.Connection[Any], stocktake_id: str) -> int:
        row = conn.execute(
            self._q("SELECT version FROM {s}.stocktakes WHERE id = %s FOR UPDATE"),
            (stocktake_id,),
        ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        return int(row[0])

    def _decode(self, decode: Any, text: str, what: str) -> Any:
        try:
            return decode(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            msg = f"corrupt {what} in PostgreSQL schema {self.schema!r}: {e}"
            raise StorageError(msg) from e

    def close(self) -> None:
        """Close the connection if the store opened it (twice is harmless)."""
        if not self._closed:
            self._closed = True
            if self._owns:
                self._conn.close()

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

    # ------------------------------------------------------------------ the port

    def create(self, stocktake: Stocktake) -> None:
        """See [`StocktakeStore.create`][medinv.ports_stocktake.StocktakeStore.create]."""
        conn = self._db()
        with self._errors("creating a stocktake"), conn.transaction():
            row = conn.execute(
                self._q(
                    "INSERT INTO {s}.stocktakes (id, state, version, data)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id"
                ),
                (
                    stocktake.id,
                    stocktake.state.value,
                    stocktake.version,
                    stocktake_to_json(stocktake),
                ),
            ).fetchone()
            if row is None:
                msg = f"stocktake {stocktake.id!r} already exists"
                raise ConcurrencyError(msg, expected=0)

    def get(self, stocktake_id: str) -> Stocktake:
        """See [`StocktakeStore.get`][medinv.ports_stocktake.StocktakeStore.get]."""
        conn = self._db()
        with self._errors("reading a stocktake"):
            row = conn.execute(
                self._q("SELECT data FROM {s}.stocktakes WHERE id = %s"), (stocktake_id,)
            ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        result: Stocktake = self._decode(stocktake_from_json, row[0], f"stocktake {stocktake_id!r}")
        return result

    def update(self, stocktake: Stocktake, *, lines_seen: int | None = None) -> None:
        """See [`StocktakeStore.update`][medinv.ports_stocktake.StocktakeStore.update]."""
        conn = self._db()
        with self._errors("updating a stocktake"), conn.transaction():
            stored = self._locked_version(conn, stocktake.id)
            if stored != stocktake.version - 1:
                msg = (
                    f"stocktake {stocktake.id!r} is at version {stored}; "
                    f"this update expects {stocktake.version - 1}"
                )
                raise ConcurrencyError(msg, expected=stocktake.version - 1, actual=stored)
            if lines_seen is not None:
                row = conn.execute(
                    self._q("SELECT count(*) FROM {s}.stocktake_lines WHERE stocktake_id = %s"),
                    (stocktake.id,),
                ).fetchone()
                count = 0 if row is None else int(row[0])
                if count != lines_seen:
                    msg = f"stocktake {stocktake.id!r} has {count} lines, not the {lines_seen} seen"
                    raise ConcurrencyError(msg, expected=lines_seen, actual=count)
            conn.execute(
                self._q(
                    "UPDATE {s}.stocktakes SET state = %s, version = %s, data = %s WHERE id = %s"
                ),
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
        conn = self._db()
        with self._errors("adding count lines"), conn.transaction():
            stored = self._locked_version(conn, stocktake_id)
            if stored != expected_version:
                msg = f"stocktake {stocktake_id!r} is at version {stored}, not {expected_version}"
                raise ConcurrencyError(msg, expected=expected_version, actual=stored)
            ids = sorted({line.id for line in lines})
            rows = conn.execute(
                self._q(
                    "SELECT line_id, data FROM {s}.stocktake_lines"
                    " WHERE stocktake_id = %s AND line_id = ANY(%s)"
                ),
                (stocktake_id, ids),
            ).fetchall()
            known: dict[str, CountLine] = {
                lid: self._decode(line_from_json, data, f"count line {lid!r}") for lid, data in rows
            }
            fresh: list[tuple[str, str, str]] = []
            for line in lines:
                held = known.get(line.id)
                if held is None:
                    known[line.id] = line
                    fresh.append((stocktake_id, line.id, line_to_json(line)))
                elif held != line:
                    raise CountLineError(line.id, "the id was already used for another count")
            if fresh:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        self._q(
                            "INSERT INTO {s}.stocktake_lines (stocktake_id, line_id, data)"
                            " VALUES (%s, %s, %s)"
                        ),
                        fresh,
                    )

    def lines_by_id(self, stocktake_id: str, line_ids: Collection[str]) -> dict[str, CountLine]:
        """See [`LineLookup.lines_by_id`][medinv.ports_stocktake.LineLookup.lines_by_id]."""
        conn = self._db()
        with self._errors("reading count lines"):
            exists = conn.execute(
                self._q("SELECT 1 FROM {s}.stocktakes WHERE id = %s"), (stocktake_id,)
            ).fetchone()
            if exists is None:
                raise UnknownStocktakeError(stocktake_id)
            rows = conn.execute(
                self._q(
                    "SELECT line_id, data FROM {s}.stocktake_lines"
                    " WHERE stocktake_id = %s AND line_id = ANY(%s)"
                ),
                (stocktake_id, sorted(set(line_ids))),
            ).fetchall()
        return {
            lid: self._decode(line_from_json, data, f"count line {lid!r}") for lid, data in rows
        }

    def lines(self, stocktake_id: str) -> list[CountLine]:
        """See [`StocktakeStore.lines`][medinv.ports_stocktake.StocktakeStore.lines]."""
        conn = self._db()
        with self._errors("reading count lines"):
            exists = conn.execute(
                self._q("SELECT 1 FROM {s}.stocktakes WHERE id = %s"), (stocktake_id,)
            ).fetchone()
            if exists is None:
                raise UnknownStocktakeError(stocktake_id)
            rows = conn.execute(
                self._q(
                    "SELECT line_id, data FROM {s}.stocktake_lines"
                    " WHERE stocktake_id = %s ORDER BY seq"
                ),
                (stocktake_id,),
            ).fetchall()
        return [self._decode(line_from_json, data, f"count line {lid!r}") for lid, data in rows]

    def stocktakes(self, *, state: StocktakeState | None = None) -> list[Stocktake]:
        """See [`StocktakeStore.stocktakes`][medinv.ports_stocktake.StocktakeStore.stocktakes]."""
        conn = self._db()
        with self._errors("listing stocktakes"):
            if state is None:
                rows = conn.execute(self._q("SELECT id, data FROM {s}.stocktakes ORDER BY id"))
            else:
                rows = conn.execute(
                    self._q("SELECT id, data FROM {s}.stocktakes WHERE state = %s ORDER BY id"),
                    (state.value,),
                )
            found = rows.fetchall()
        return [
            self._decode(stocktake_from_json, data, f"stocktake {sid!r}") for sid, data in found
        ]
