"""The SQLite store: `SqliteStore` (the ledger) and `SqliteStocktakes` (its stocktakes)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import operator
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import pendulum

from medinv._windows import window_pages
from medinv.adapters import _base, _rows
from medinv.adapters._codec import (
    check_chained,
    item_filters,
    key_columns,
    link_rows,
    path_of,
    query_links,
    recorded_movement,
    subtree_bounds,
)
from medinv.adapters._stocktake_json import (
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.adapters._tags import BLOCK_BITS, Span, driving_facet, holds
from medinv.adapters.sqlite import _schema, _sql
from medinv.adapters.sqlite._catalogue import SqliteCatalogue
from medinv.adapters.sqlite._checkpoints import SqliteCheckpoints
from medinv.adapters.sqlite._errors import BUSY_CODES, Translate
from medinv.adapters.sqlite._projections import SqliteProjections
from medinv.adapters.sqlite._recalls import SqliteRecalls
from medinv.adapters.sqlite._reservations import SqliteReservations
from medinv.adapters.sqlite._sync import SqliteSync
from medinv.chain import MovementDecoder, movement_content
from medinv.errors import (
    ConcurrencyError,
    CountLineError,
    InvalidValueError,
    MedinvError,
    StorageError,
    UnknownStocktakeError,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import (
    BalanceChange,
    BalanceKey,
    Commit,
    ItemRecord,
    LedgerHead,
    LotKey,
    MovementQuery,
    MovementRow,
    PositionQuery,
    RecordedMovement,
    check_query,
)
from medinv.status import StockStatus
from medinv.stocktake import CountLine, Stocktake, StocktakeState

if TYPE_CHECKING:
    from medinv.adapters.sqlite._coldchain import SqliteColdChain

__all__ = ["SqliteStocktakes", "SqliteStore"]

T = TypeVar("T")
V = TypeVar("V")
_Row = tuple[Any, ...]
_isoformat = dt.datetime.isoformat


def _movement_rows(
    movements: Sequence[RecordedMovement], contents: Sequence[str], item_nos: Mapping[ItemKey, int]
) -> list[_Row]:
    """The rows of ``movements``: position, id, item number, reversed id, content, hash."""
    rows: list[_Row] = []
    append = rows.append
    last_instant: dt.datetime | None = None
    recorded_at = ""
    for recorded, content in zip(movements, contents, strict=True):
        m = recorded.movement
        if recorded.recorded_at is not last_instant:  # one per batch, in practice
            last_instant = recorded.recorded_at
            recorded_at = _isoformat(last_instant)
        append(
            (
                recorded.position,
                m.id,
                item_nos[m.item],
                m.reverses,
                content,
                recorded_at,
                recorded.hash,
            )
        )
    return rows


def _balance_rows(
    changes: Sequence[BalanceChange],
    item_nos: Mapping[ItemKey, int],
    location_nos: Mapping[Location, int],
) -> list[_Row]:
    """``(item_no, location_no, status code, delta)`` of each change, by item number.

    The upsert packs the first three into the balance key (``_sql.UPSERT_BALANCE``):
    packed here, in Python's big integers, the rows cost nearly twice as much to
    build and to sort. Upserted in order of item number (the key's first part), a
    commit's balance rows walk the balance table once instead of jumping between
    its pages: measured on the ledger benchmark's commits replayed into fresh
    stores (50,000 movements, ten alternating rounds), 3 % to 6 % less CPU for the
    whole append (the sort included). A commit holds each key once, so the order
    changes no total.
    """
    codes = _STATUS_CODES
    rows = [(item_nos[c.item], location_nos[c.location], codes[c.status], c.delta) for c in changes]
    rows.sort(key=_first)
    return rows


_first: Final = operator.itemgetter(0)
_STATUS_CODES: Final = _schema.STATUS_CODES
_STATUS_OF_CODE: Final = {code: status for status, code in _schema.STATUS_CODES.items()}


_MAX_TIMEOUT: Final = 86_400.0
"""The longest wait for a lock a store accepts, in seconds (a day)."""


def _database_path(path: object) -> str:
    """The path of a database file as text; `StorageError` for anything that is not one."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise StorageError(
            f"a SQLite ledger path is text or a path-like object, not {type(path).__name__}"
        )
    if not path or "\x00" in path:
        raise StorageError(f"invalid SQLite ledger path {path!r:.80}: empty or contains NUL")
    try:
        path.encode()
    except UnicodeEncodeError:
        raise StorageError(f"invalid SQLite ledger path {path!r:.80}: not valid Unicode") from None
    return path


class SqliteStore(_base.Closing):
    """A [`LedgerStore`][medinv.ports.LedgerStore] in one SQLite file.

    Args:
        path: The database file (created with its directories' parent existing), or
            ``":memory:"`` for a private in-memory database (tests, examples).
        timeout: Seconds a statement waits for another process's write lock before
            giving up with [`ConcurrencyError`][medinv.errors.ConcurrencyError].
        check_same_thread: Passed to `sqlite3.connect`: by default only the thread
            that opened the store may use it; give ``False`` to share the store
            between threads that serialise their calls themselves.

    Raises:
        StorageError: ``path`` is not a path (or holds NUL), the file cannot be
            opened, is not a medinv ledger (it is left untouched), or was written by
            a newer medinv (its schema version is higher than
            [`SCHEMA_VERSION`][medinv.adapters.sqlite.SCHEMA_VERSION]).
        InvalidValueError: ``timeout`` is not a number of seconds from 0 to a day,
            or ``check_same_thread`` is not a bool.

    One `SqliteStore` holds one connection. Several stores (in threads or
    processes) may open the same file; their appends are serialised by SQLite's
    write lock and checked against the ledger head inside the transaction.

    Every read asks the file: the ledger caches what posting reads (see
    [`Ledger`][medinv.ledger.Ledger]). The store only remembers the item and
    location numbers it has written or read inside its write transactions
    (permanent once committed; at most 100,000 of each, then it starts again).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        check_same_thread: bool = True,
    ) -> None:
        self._path = _database_path(path)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 <= timeout <= _MAX_TIMEOUT
        ):
            raise InvalidValueError(
                f"invalid SQLite timeout {timeout!r:.60}: "
                f"expected seconds from 0 to {_MAX_TIMEOUT:g}"
            )
        if not isinstance(check_same_thread, bool):
            raise InvalidValueError(
                f"check_same_thread must be True or False, not {check_same_thread!r:.60}"
            )
        self._timeout = timeout
        self._decoder = MovementDecoder()
        # Item and location numbers of this file, by value: permanent once committed
        # (never reused, never deleted), so they stay valid whatever other writers do.
        self._item_nos: dict[ItemKey, int] = {}
        self._location_nos: dict[Location, int] = {}
        self._closed = False
        self._stocktakes = SqliteStocktakes(self)
        self._catalogue = SqliteCatalogue(self)
        self._reservations = SqliteReservations(self)
        self._checkpoints = SqliteCheckpoints(self)
        self._sync = SqliteSync(self)
        self._projections = SqliteProjections(self)
        try:
            self._db = sqlite3.connect(
                self._path,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=check_same_thread,
            )
        except sqlite3.Error as e:
            raise StorageError(f"cannot open the SQLite ledger {self._path!r}: {e}") from e
        try:
            # A file that is not a medinv ledger is refused before anything is written
            # to it (switching to WAL rewrites its header).
            with self._translate("open"):
                self._stored_version()
            self._configure()
            self._version = self._migrate()
        except BaseException:
            self._db.close()
            self._closed = True
            raise

    # ------------------------------------------------------------------ lifecycle

    @property
    def path(self) -> str:
        """The database file as given (``":memory:"`` for an in-memory database)."""
        return self._path

    @property
    def stocktakes(self) -> SqliteStocktakes:
        """The [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] of this file.

        Stocktakes and their count lines live in the ledger's file and share this
        store's connection: one file, one schema version, one
        [`backup`][medinv.adapters.sqlite.SqliteStore.backup] for both.
        """
        return self._stocktakes

    @property
    def reservations(self) -> SqliteReservations:
        """The [`ReservationStore`][medinv.ports.ReservationStore] of this file."""
        return self._reservations

    @functools.cached_property
    def coldchain(self) -> SqliteColdChain:
        """The [`ColdChainStore`][medinv.coldchain.ColdChainStore] of this store."""
        from medinv.adapters.sqlite._coldchain import SqliteColdChain  # noqa: PLC0415  (loaded on first use)

        return SqliteColdChain(self)

    @property
    def checkpoints(self) -> SqliteCheckpoints:
        """The change feed's consumer checkpoints in this file.

        A [`CheckpointStore`][medinv.feed.CheckpointStore] (table ``feed_checkpoints``).
        """
        return self._checkpoints

    @property
    def catalogue(self) -> SqliteCatalogue:
        """The [`CatalogueStore`][medinv.ports.CatalogueStore] of this file."""
        return self._catalogue

    @property
    def sync(self) -> SqliteSync:
        """The [`SyncStore`][medinv.sync.SyncStore] of this file: the device sync inbox."""
        return self._sync

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (after migration: ``SCHEMA_VERSION``)."""
        return self._version

    def close(self) -> None:
        """Close the connection; further calls raise `StorageError`. Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            self._db.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"schema {self._version}"
        return f"SqliteStore({self._path!r}, {state})"

    def backup(self, target: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the file (every port's tables) to ``target`` while in use.

        Uses SQLite's online backup: the copy is one committed state of the ledger
        (writers may carry on meanwhile), with the recent commits that still sit in
        the ``-wal`` file included. Copying the database file alone with ``cp`` is
        not a backup in WAL mode.

        Raises:
            StorageError: ``target`` cannot be written.
        """
        target = _database_path(target)
        with self._translate(f"back up to {target!r}"):
            copy = sqlite3.connect(target)
            try:
                self._db.backup(copy)
            finally:
                copy.close()

    def _configure(self) -> None:
        with self._translate("configure"):
            mode = self._switch_to_wal()
            if mode not in {"wal", "memory"}:  # pragma: no cover  (read-only media only)
                raise StorageError(
                    f"cannot switch the SQLite ledger {self._path!r} to WAL mode (got {mode!r})"
                )
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = OFF")
            _sql.register_sql_functions(self._db)

    def _switch_to_wal(self) -> str:
        """``PRAGMA journal_mode = WAL``, waiting up to ``timeout`` for other openers.

        Switching a new file to WAL needs it to itself for a moment, and SQLite
        answers "database is locked" at once, without its busy handler, while
        another connection does the same: retry until the timeout.
        """
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return str(self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as e:
                if e.sqlite_errorname not in BUSY_CODES or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _migrate(self) -> int:
        with self._translate("migrate the schema of"):
            # One read transaction: the version and the tables seen in one snapshot,
            # even while another process is creating the schema.
            self._db.execute("BEGIN")
            try:
                version = self._stored_version()
            finally:
                self._rollback()
            if version == _schema.SCHEMA_VERSION:
                return version
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = _schema.create_or_migrate(self._db, self._stored_version())
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            return version

    def _stored_version(self) -> int:
        return _schema.stored_version(self._db, self._path)

    # ------------------------------------------------------------------ errors

    def _translate(self, action: str, *, commit: Commit | None = None) -> Translate:
        return Translate(self, action, commit=commit)

    def _rollback(self) -> None:
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------ writes

    def head(self) -> LedgerHead:
        """The position and hash of the last stored movement."""
        with self._translate("read the head of"):
            position, hash_ = self._db.execute(_sql.HEAD).fetchone()
        return LedgerHead(position, hash_)

    def append(self, commit: Commit) -> None:
        """Store a commit atomically and durably, refusing a stale one.

        Raises:
            ConcurrencyError: the head is no longer ``commit.expected_position``, a
                movement id, position or reversed id is already stored, or another
                writer held the file's write lock for longer than ``timeout``.
            StorageError: any other failure; nothing of the commit is stored.
        """
        movements = commit.movements
        if not movements:
            return
        contents = commit.contents
        if len(contents) != len(movements):
            contents = tuple(movement_content(recorded.movement) for recorded in movements)
        changes = commit.balance_changes
        lot_rows = [
            (lot.gtin, lot.lot, None if lot.expiry is None else lot.expiry.isoformat())
            for lot in commit.lots
        ]
        key = key_columns
        item_rows = [
            (
                *key(record.item),
                _isoformat(record.first_received_at),
                None if record.expiry is None else record.expiry.isoformat(),
            )
            for record in commit.items
        ]
        with self._translate("append to", commit=commit):
            # Inside a transaction of the sync inbox (store.sync.transaction()): the
            # commit joins it, and commits or rolls back with it.
            joined = self._db.in_transaction
            self._db.execute("SAVEPOINT append" if joined else "BEGIN IMMEDIATE")
            try:
                self._check_head(commit)
                try:  # in a busy ledger, every item and location has its number already
                    movement_rows = _movement_rows(movements, contents, self._item_nos)
                    balance_rows = _balance_rows(changes, self._item_nos, self._location_nos)
                except KeyError:
                    item_nos = self._item_numbers(movements, changes)
                    location_nos = self._location_numbers(changes)
                    movement_rows = _movement_rows(movements, contents, item_nos)
                    balance_rows = _balance_rows(changes, item_nos, location_nos)
                self._write(movement_rows, balance_rows, lot_rows, item_rows)
                links = link_rows(movements)
                if links:
                    self._db.executemany(_sql.INSERT_LINK, links)
                _schema.write_tags(self._db, movements)
                last = movements[-1]
                self._db.execute(
                    "UPDATE head SET position = ?, hash = ? WHERE singleton = 1",
                    (last.position, last.hash),
                )
                self._db.execute("RELEASE append" if joined else "COMMIT")
            except BaseException:
                if joined:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK TO append")
                        self._db.execute("RELEASE append")
                else:
                    self._rollback()
                self._item_nos.clear()  # numbers created in the rolled back transaction
                self._location_nos.clear()
                raise

    def _item_numbers(
        self, movements: Sequence[RecordedMovement], changes: Sequence[BalanceChange]
    ) -> dict[ItemKey, int]:
        """Inside the write transaction: the number of every item written, new ones created."""
        known = self._item_nos
        if len(known) > _sql.CACHE_LIMIT:
            known.clear()
        missing: dict[tuple[str, ...], ItemKey] = {}
        key = key_columns
        for item in itertools.chain(
            (recorded.movement.item for recorded in movements), (c.item for c in changes)
        ):
            if item not in known:
                missing[key(item)] = item
        if missing:
            self._number(
                known, missing, _sql.INSERT_ITEM_KEY, _sql.select_item_numbers, _schema.ITEM_LIMIT
            )
        return known

    def _location_numbers(self, changes: Sequence[BalanceChange]) -> dict[Location, int]:
        """Inside the write transaction: the number of every location written, new ones created."""
        known = self._location_nos
        if len(known) > _sql.CACHE_LIMIT:
            known.clear()
        missing: dict[tuple[str, ...], Location] = {}
        path = path_of
        for change in changes:
            location = change.location
            if location not in known:
                missing[(path(location),)] = location
        if missing:
            self._number(
                known,
                missing,
                _sql.INSERT_LOCATION,
                _sql.select_location_numbers,
                _schema.LOCATION_LIMIT,
            )
        return known

    def _number(
        self,
        known: dict[V, int],
        missing: dict[tuple[str, ...], V],
        insert: str,
        select: Callable[[Sequence[tuple[str, ...]]], tuple[str, list[str]]],
        limit: int,
    ) -> None:
        """Number the ``missing`` values by their key columns, and read the numbers back.

        A key numbered already (by another writer) keeps its number. A number must
        stay below ``limit`` to fit its part of a balance key.
        """
        db = self._db
        keys = list(missing)
        db.executemany(insert, keys)
        for chunk in _sql.chunks(keys):
            for number, *parts in db.execute(*select(chunk)):
                if not 0 <= number < limit:
                    raise StorageError(
                        f"cannot number {tuple(parts)!r} in the SQLite ledger {self._path!r}: "
                        f"its number {number:,} is beyond the {limit - 1:,} a balance key holds"
                    )
                known[missing[tuple(parts)]] = number

    def _check_head(self, commit: Commit) -> None:
        """Inside the write transaction: refuse a batch checked against another head.

        A batch checked at the head's position must also chain from its hash.
        """
        expected = commit.expected_position
        position, hash_ = self._db.execute(_sql.HEAD).fetchone()
        if position != expected:
            raise ConcurrencyError(
                f"the ledger moved on: the batch was checked at position {expected}, "
                f"the head is now at {position}; read again and retry",
                expected=expected,
                actual=position,
            )
        check_chained(commit, position, hash_)

    def _write(
        self,
        movement_rows: list[_Row],
        balance_rows: list[_Row],
        lot_rows: list[_Row],
        item_rows: list[_Row],
    ) -> None:
        db = self._db
        db.executemany(_sql.INSERT_MOVEMENT, movement_rows)
        db.executemany(_sql.UPSERT_BALANCE, balance_rows)
        if any(row[3] < 0 for row in balance_rows):  # only a decrease can reach 0
            db.execute(_sql.DELETE_ZERO_BALANCES)
        if lot_rows:
            db.executemany(_sql.INSERT_LOT, lot_rows)
        if item_rows:
            db.executemany(_sql.INSERT_ITEM, item_rows)

    # ------------------------------------------------------------------ keyed reads

    def _movement(self, row: _Row) -> RecordedMovement:
        """A movement row (position, content, recorded_at, previous hash, hash) decoded."""
        return recorded_movement(self._decoder, *row)

    def movements_by_id(self, ids: Collection[str]) -> Mapping[str, RecordedMovement]:
        """The stored movements with the given ids."""
        wanted = list(dict.fromkeys(ids))
        # In order, each chunk of ids probes one stretch of the id index instead of
        # pages all over it: the ledger's read of a batch's 1,000 ids (given as a
        # set, so in hash order) measured 2 % to 3 % less CPU for the whole post
        # (100,000 movements, two ledgers posting alternately in one process).
        least: object = None
        with contextlib.suppress(TypeError):  # ids of mixed types stay as given
            least = min(wanted, default=None)
        rows: list[_Row] = []
        with self._translate("read movements from"):
            if least is not None and self._after_every_id(least):
                return {}
            with contextlib.suppress(TypeError):
                wanted.sort()
            for chunk in _sql.chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT {_sql.MOVEMENT_COLUMNS} FROM movements WHERE id IN ({marks})",  # noqa: S608  (placeholders only)
                    chunk,
                ).fetchall()
        decode = self._movement
        return {recorded.movement.id: recorded for recorded in map(decode, rows)}

    def _after_every_id(self, least: object) -> bool:
        """Whether the id ``least`` (the least of those asked for) sorts after every stored id.

        Then none of them is stored, and one seek to the end of the id index answers
        instead of a probe per id: the common case when ids grow (``DN-000123``,
        time-ordered UUIDs), as the SQLite how-to advises. Measured by
        `benchmarks/bench_ledger.py`: the ledger's read of a batch's 1,000 new ids
        costs about 0.2 µs per id in probes. Text orders the same in Python (code
        points) and in SQLite (UTF-8 bytes, the column's binary collation); a stored
        id that is not text (written outside medinv) makes this answer no.
        """
        (last,) = self._db.execute(_sql.LAST_ID).fetchone()
        return isinstance(least, str) and (last is None or (isinstance(last, str) and least > last))

    def reversals_of(self, ids: Collection[str]) -> Mapping[str, str]:
        """For each given id that a stored reversal reverses: original id -> reversal id."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, str] = {}
        with self._translate("read reversals from"):
            for chunk in _sql.chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                found.update(
                    self._db.execute(
                        f"SELECT reverses, id FROM movements WHERE reverses IN ({marks})",  # noqa: S608  (placeholders only)
                        chunk,
                    ).fetchall()
                )
        return found

    def lot_expiries(self, keys: Collection[LotKey]) -> Mapping[LotKey, pendulum.Date | None]:
        """Expiry master data of the given lots; unknown lots are absent."""
        rows = self._keyed(
            "lot master data",
            "SELECT l.gtin, l.lot, l.expiry FROM lots AS l JOIN v "
            "ON l.gtin = v.gtin AND l.lot = v.lot",
            ("gtin", "lot"),
            list(dict.fromkeys(keys)),
        )
        return {(gtin, lot): self._decoder.date(expiry) for gtin, lot, expiry in rows}

    def item_records(self, items: Collection[ItemKey]) -> Mapping[ItemKey, ItemRecord]:
        """Master data of the given items; items never received are absent."""
        wanted, rows = self._keyed_by_item(
            items,
            "item master data",
            "SELECT i.gtin, i.lot, i.serial, i.first_received_at, i.expiry FROM items AS i "
            "JOIN v ON i.gtin = v.gtin AND i.lot = v.lot AND i.serial = v.serial",
        )
        found: dict[ItemKey, ItemRecord] = {}
        decoder = self._decoder
        for gtin, lot, serial, first, expiry in rows:
            item = wanted[gtin, lot, serial]
            found[item] = ItemRecord(
                item=item,
                first_received_at=decoder.instant(first),
                expiry=decoder.date(expiry),
            )
        return found

    def balances_of(self, items: Collection[ItemKey]) -> Mapping[BalanceKey, int]:
        """Every non-zero balance of the given items, at every location and in every status."""
        wanted, rows = self._keyed_by_item(
            items,
            "balances",
            f"SELECT k.gtin, k.lot, k.serial, loc.path, {_sql.BALANCE_STATUS_CODE}, b.quantity "  # noqa: S608  (constant fragments)
            "FROM v CROSS JOIN item_keys AS k CROSS JOIN balances AS b "
            "JOIN locations AS loc ON loc.location_no = b.location_no "
            "WHERE k.gtin = v.gtin AND k.lot = v.lot AND k.serial = v.serial "
            f"AND {_sql.ITEM_BALANCES} AND b.quantity <> 0",
        )
        location_of, statuses = self._decoder.location, _STATUS_OF_CODE
        return {
            (wanted[gtin, lot, serial], location_of(path), statuses[status]): quantity
            for gtin, lot, serial, path, status, quantity in rows
        }

    def _keyed_by_item(
        self, items: Collection[ItemKey], what: str, select: str
    ) -> tuple[dict[tuple[str, str, str], ItemKey], list[_Row]]:
        """The items by key columns, and ``select`` run over them (``v(gtin, lot, serial)``)."""
        wanted = {key_columns(item): item for item in items}
        return wanted, self._keyed(what, select, ("gtin", "lot", "serial"), list(wanted))

    def _keyed(
        self, what: str, select: str, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]]
    ) -> list[_Row]:
        """Run ``select`` joined with a VALUES list ``k(columns)`` of ``keys``, chunk by chunk."""
        rows: list[_Row] = []
        row_marks = "(" + ", ".join("?" * len(columns)) + ")"
        with self._translate(f"read {what} from"):
            for chunk in _sql.chunks(keys):
                values = ", ".join([row_marks] * len(chunk))
                sql = f"WITH v ({', '.join(columns)}) AS (VALUES {values}) {select}"
                rows += self._db.execute(sql, [part for key in chunk for part in key]).fetchall()
        return rows

    # ------------------------------------------------------------------ queries

    def positions(self, query: PositionQuery) -> list[StockPosition]:
        """The non-zero balances that match ``query``, with expiry and first-received time."""
        check_query(query, PositionQuery)
        conditions, params = item_filters(query, "?", "k.")
        sql = [_sql.POSITION_SELECT, *(f"AND {c}" for c in conditions)]
        if query.location is not None:
            sql.append("AND (loc.path = ? OR (loc.path >= ? AND loc.path < ?))")
            params += subtree_bounds(query.location)
        if query.status is not None:
            sql.append(f"AND {_sql.BALANCE_STATUS_CODE} = ?")
            params.append(_STATUS_CODES[query.status])
        if query.expiry_window or query.has_expiry is False:  # else: checked below
            expiring, more = _sql.expiring_items(query)
            sql.append(f"AND k.item_no IN ({expiring})")
            params += more
        with self._translate("query stock positions in"):
            rows = self._db.execute(" ".join(sql), params).fetchall()
        decoder = self._decoder
        found = [
            StockPosition(
                item=decoder.item(gtin, lot, serial),
                location=decoder.location(location),
                status=_STATUS_OF_CODE[status],
                quantity=quantity,
                expiry=decoder.date(expiry),
                received_at=None if received is None else decoder.instant(received),
            )
            for gtin, lot, serial, location, status, quantity, expiry, received in rows
        ]
        return [p for p in found if query.matches_expiry(p.expiry)]

    def movements(self, query: MovementQuery) -> Iterator[RecordedMovement]:
        """The stored movements that match ``query``, in ascending position order.

        A query on an item, GTIN, lot or serial reads its matches at once, through
        the index; the whole ledger is streamed page by page in position order, so
        that verifying a large ledger needs no more memory than one page.
        """
        check_query(query, MovementQuery)
        links = query_links(query)
        if links:
            return self._linked(query, links)
        driver = driving_facet(query)
        if driver is not None:  # read through the tag index, the other filters checked here
            return filter(query.matches, map(self._movement, self._tagged(query, driver[1])))
        where: list[str] = []
        keyed, params = item_filters(query, "?")  # conditions on item_keys, the small table
        if not keyed:
            if query.up_to_position is not None:
                where.append("position <= ?")
                params.append(query.up_to_position)
            return self._pages(where, params, query.after_position)
        rows = self._by_item(query, keyed, params, _sql.MOVEMENT_COLUMNS)
        return filter(query.matches, map(self._movement, rows))

    def _linked(self, query: MovementQuery, links: list[str]) -> Iterator[RecordedMovement]:
        """Movements with a counterparty or business reference: through ``movement_links``.

        Each link's positions are one range of the links' primary key; the movements
        are then read by position, and the rows checked against every filter.
        """
        conditions: list[str] = []
        params: list[object] = []
        for link in links:
            conditions.append(
                "position IN (SELECT position FROM movement_links WHERE link = ? "
                "AND position > ? AND position <= ?)"
            )
            up_to = query.up_to_position
            params += [link, query.after_position, 2**63 - 1 if up_to is None else up_to]
        keyed, item_params = item_filters(query, "?")
        if keyed:
            conditions.append(
                f"item_no IN (SELECT item_no FROM item_keys WHERE {' AND '.join(keyed)})"  # noqa: S608  (constant fragments)
            )
            params += item_params
        sql = (
            f"SELECT {_sql.MOVEMENT_COLUMNS} FROM movements "  # noqa: S608  (constant fragments)
            f"WHERE {' AND '.join(conditions)} ORDER BY position"
        )
        with self._translate("read the history in"):
            rows = self._db.execute(sql, params).fetchall()
        return (recorded for recorded in map(self._movement, rows) if query.matches(recorded))

    def _pages(
        self, where: list[str], params: list[object], after: int
    ) -> Iterator[RecordedMovement]:
        sql = (
            f"SELECT {_sql.MOVEMENT_COLUMNS} FROM movements "  # noqa: S608  (constant fragments)
            f"WHERE {' AND '.join([*where, 'position > ?'])} ORDER BY position LIMIT {_sql.PAGE}"
        )
        decode = self._movement
        while True:
            with self._translate("read the movements in"):
                rows = self._db.execute(sql, [*params, after]).fetchall()
            yield from map(decode, rows)
            if len(rows) < _sql.PAGE:
                return
            after = rows[-1][0]

    def _by_item(
        self, query: MovementQuery, keyed: list[str], params: list[object], columns: str
    ) -> list[_Row]:
        """The ``columns`` of the movements of the items ``keyed`` selects, in position order."""
        # The history index is per period of positions: seek each period from the
        # first after `after_position` to the last (of `up_to_position`, or of the
        # head, read in the same statement).
        conditions = " AND ".join(keyed)
        last = "?" if query.up_to_position is not None else _sql.HEAD_POSITION
        sql = (
            f"WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods "  # noqa: S608  (constant fragments)
            f"WHERE p < ({last}) >> {_schema.PERIOD_BITS}) "
            f"SELECT {columns} FROM periods CROSS JOIN movements "
            f"WHERE (position >> {_schema.PERIOD_BITS}) = periods.p "
            f"AND item_no IN (SELECT item_no FROM item_keys WHERE {conditions}) "
            "AND position > ? AND position <= coalesce(?, position) ORDER BY position"
        )
        after = query.after_position
        head = [] if query.up_to_position is None else [query.up_to_position]
        arguments = [
            (after + 1) >> _schema.PERIOD_BITS,
            *head,
            *params,
            after,
            query.up_to_position,
        ]
        with self._translate("read the history in"):
            return self._db.execute(sql, arguments).fetchall()

    def balances_snapshot(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        """The whole stored balance projection (zero balances excluded)."""
        with self._translate("read the balances in"):
            rows = self._db.execute(
                "SELECT k.gtin, k.lot, k.serial, loc.path, "  # noqa: S608  (constant fragments)
                f"{_sql.BALANCE_STATUS_CODE}, b.quantity "
                f"FROM balances AS b {_sql.BALANCE_JOINS} WHERE b.quantity <> 0"
            ).fetchall()
        decoder = self._decoder
        return (
            (
                decoder.item(gtin, lot, serial),
                decoder.location(location),
                _STATUS_OF_CODE[status],
                quantity,
            )
            for gtin, lot, serial, location, status, quantity in rows
        )

    # ------------------------------------------------------------------ verification

    def verification_source(self) -> _VerificationRows:
        """What [`Ledger.verify`][medinv.ledger.Ledger.verify] reads: every stored row, undecoded.

        Movements come with the columns the store looks them up by (id, reversed
        id, and the item that the item number names), so that verification checks
        them against the hashed content; rows are read in pages and any text that
        is not valid UTF-8 is reported, not raised.
        """
        return _VerificationRows(self)

    @functools.cached_property
    def recalls(self) -> SqliteRecalls:
        """The [`RecallStore`][medinv.recall.RecallStore] of this file (recall campaigns)."""
        return SqliteRecalls(self)

    @property
    def projections(self) -> SqliteProjections:
        """The [`ProjectionStore`][medinv.ports.ProjectionStore] of this file."""
        return self._projections

    def movement_rows(self, query: MovementQuery) -> Iterator[MovementRow]:
        """The stored movements that match ``query`` as light rows, in position order.

        A query on the item keys and positions (and an occurred-at window) is read
        through the item index as stored text, without decoding movements or
        reading their hashes, in windows of positions sized to hold a few thousand
        rows each (so a hot lot is never in memory whole); any other query is read
        by ``movements``.
        """
        check_query(query, MovementQuery)
        keyed, params = item_filters(query, "?")
        if not keyed or not _rows.light(query):
            return map(MovementRow.of, self.movements(query))
        up_to = self.head().position if query.up_to_position is None else query.up_to_position
        return self._row_windows(query, keyed, params, up_to)

    def _row_windows(
        self, query: MovementQuery, keyed: list[str], params: list[object], up_to: int
    ) -> Iterator[MovementRow]:
        """The rows in windows of positions: one window's rows in memory at a time."""

        def window(after: int, last: int) -> tuple[list[_Row]]:
            part = attrs.evolve(query, after_position=after, up_to_position=last)
            return (self._by_item(part, keyed, params, "position, content, recorded_at"),)

        pages = window_pages(query.after_position, up_to, window)
        return _rows.content_rows(itertools.chain.from_iterable(pages), query)

    @contextlib.contextmanager
    def lock_head(self) -> Iterator[None]:
        """Hold the file's write lock for a whole read-check-append (pessimistic posting).

        One ``BEGIN IMMEDIATE`` transaction: it waits (up to ``timeout``) until no
        other connection writes, then the head and everything read inside it cannot
        change until the block ends; an ``append`` inside joins it and is committed
        when the block ends without an exception (rolled back otherwise). Inside a
        transaction already (``sync.transaction()``), the block joins that one.

        Raises:
            ConcurrencyError: another writer held the lock for longer than ``timeout``.
            StorageError: SQLite failed to begin or to commit.
        """
        db = self._db
        if db.in_transaction:
            yield
            return
        with self._translate("lock the head of"):
            db.execute("BEGIN IMMEDIATE")
        try:
            yield
            with self._translate("commit to"):
                db.execute("COMMIT")
        except BaseException:
            self._rollback()
            self._item_nos.clear()  # numbers created in the rolled back transaction
            self._location_nos.clear()
            raise

    def _tagged(self, query: MovementQuery, spans: list[Span]) -> list[_Row]:
        """The movement rows of the blocks holding a tag of ``spans``, in position order.

        The eras holding one of the tags give the blocks to look at (their rows of
        ``tag_blocks``); the blocks holding one give the movements (each block one
        range of the movements' key). The statements read one snapshot of the file
        (a savepoint: a read transaction of its own, or part of the caller's).
        """
        sql, params = _sql.tagged_blocks(spans)
        after, up_to = query.after_position, query.up_to_position
        db = self._db
        with self._translate("read the history in"):
            db.execute("SAVEPOINT tagged")
            try:
                parts = db.execute(sql, [*params, after, up_to, after, up_to]).fetchall()
                blocks = sorted(
                    {start >> BLOCK_BITS for start, text in parts if holds(text, spans)}
                )
                rows: list[_Row] = []
                for chunk in _sql.chunks(blocks):
                    rows += db.execute(
                        _sql.movements_of_blocks(len(chunk)), [*chunk, after, up_to]
                    ).fetchall()
            finally:
                db.execute("RELEASE tagged")
        return rows


def _text_of(value: object) -> object:
    """Bytes read as UTF-8 text; undecodable bytes stay bytes (verification reports them)."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    return value


class _VerificationRows:
    """The SQLite store's [`VerificationSource`][medinv.verification.VerificationSource]."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        with store._translate("inspect the indexes of"):  # noqa: SLF001  (the store's own helper)
            unique = store._db.execute(  # noqa: SLF001
                "SELECT count(*) FROM pragma_index_list('movements') AS l "
                "JOIN pragma_index_info(l.name) AS i "
                "WHERE l.\"unique\" AND l.partial = 0 AND i.name = 'id' "
                "AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1"
            ).fetchone()[0]
        self.ids_unique = bool(unique)

    def _query(self, sql: str, params: Sequence[object], what: str) -> list[_Row]:
        store = self._store
        with store._translate(f"read {what} of"):  # noqa: SLF001  (the store's own helper)
            return store._db.execute(sql, params).fetchall()  # noqa: SLF001

    def movement_rows(self) -> Iterator[_Row]:
        """Every movement row, in position order, with its query columns."""
        after = -(2**63)
        while True:
            page = (after, _sql.VERIFY_PAGE)
            try:
                rows = self._query(_sql.VERIFY_MOVEMENTS, page, "the movements")
            except StorageError as e:
                if not isinstance(e.__cause__, sqlite3.OperationalError):
                    raise
                rows = self._query(_sql.VERIFY_MOVEMENTS_RAW, page, "the movements")
                rows = [tuple(map(_text_of, row)) for row in rows]
            yield from rows
            if len(rows) < _sql.VERIFY_PAGE:
                return
            after = rows[-1][0]

    def balance_rows(self) -> Iterator[tuple[Any, ...]]:
        """The balance projection, keys encoded like content fields."""
        return self._stream(
            f"SELECT {_sql.ENCODED_KEY}, '+' || loc.path, '+' || {_sql.BALANCE_STATUS}, "  # noqa: S608  (constant fragments)
            "b.quantity FROM balances AS b "
            f"LEFT JOIN item_keys AS k ON k.item_no = {_sql.BALANCE_ITEM_NO} "
            # A location column that disagrees with the key reads as no location.
            "LEFT JOIN locations AS loc ON loc.location_no = b.location_no "
            f"AND b.location_no = {_sql.BALANCE_KEY_LOCATION_NO} "
            "WHERE b.quantity IS NOT 0",
            6,
            "the balances",
        )

    def lot_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every lot record."""
        return self._stream(
            "SELECT gtin, '+' || lot, coalesce('+' || expiry, '-') FROM lots", 3, "the lots"
        )

    def item_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every item record."""
        return self._stream(
            "SELECT gtin, CASE WHEN lot = '' THEN '-' ELSE '+' || lot END, "
            "CASE WHEN serial = '' THEN '-' ELSE '+' || serial END, first_received_at, "
            "coalesce('+' || expiry, '-') FROM items",
            5,
            "the items",
        )

    def link_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every entry of the index of movements by party and document, by position."""
        return self._stream(
            "SELECT link, position FROM movement_links ORDER BY position, link",
            2,
            "the movement links",
        )

    def _stream(self, sql: str, width: int, what: str) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql``, one at a time; text that is not UTF-8 comes back as bytes."""
        store = self._store
        seen = 0
        try:
            with store._translate(f"read {what} of"):  # noqa: SLF001  (the store's own helper)
                for row in store._db.execute(sql):  # noqa: SLF001
                    seen += 1
                    yield row
        except StorageError as e:
            if not isinstance(e.__cause__, sqlite3.OperationalError):
                raise
        else:
            return
        # Read again with every column as bytes, from where the text could not be read.
        columns = ", ".join(
            f"CASE WHEN typeof(c{i}) = 'text' THEN CAST(c{i} AS BLOB) ELSE c{i} END"
            for i in range(width)
        )
        names = ", ".join(f"c{i}" for i in range(width))
        raw = f"WITH r ({names}) AS ({sql}) SELECT {columns} FROM r"  # noqa: S608  (constant fragments)
        with store._translate(f"read {what} of"):  # noqa: SLF001
            for row in itertools.islice(store._db.execute(raw), seen, None):  # noqa: SLF001
                yield tuple(map(_text_of, row))


class SqliteStocktakes(_base.Closing):
    """The stocktakes of a [`SqliteStore`][medinv.adapters.sqlite.SqliteStore]'s file.

    Get it as ``store.stocktakes``; it implements
    [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] and
    [`LineLookup`][medinv.ports_stocktake.LineLookup] over the store's connection.
    Each call is one ``BEGIN IMMEDIATE`` transaction committed (WAL,
    ``synchronous=FULL``) before it returns, so a restart mid-count loses no line;
    version checks run inside it, so several processes may share the file.
    [`close`][medinv.adapters.sqlite.SqliteStocktakes.close] closes the store.

    ```pycon
    >>> import pendulum
    >>> from medinv.adapters.sqlite import SqliteStore
    >>> from medinv.stocktake import Stocktake, StocktakeScope
    >>> with SqliteStore(":memory:") as store:  # a file path in real use
    ...     store.stocktakes.create(Stocktake.plan(
    ...         "ST-1", scope=StocktakeScope(["Main"]), created_by="lea",
    ...         created_at=pendulum.datetime(2026, 11, 23, tz="UTC")))
    ...     store.stocktakes.get("ST-1").state.value
    'PLANNED'

    ```
    """

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def path(self) -> str:
        """The database file as given."""
        return self._store.path

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"{self._store!r}.stocktakes"

    # ------------------------------------------------------------------ helpers

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        store = self._store
        with store._translate(action):  # noqa: SLF001  (the store's own helper)
            db = store._db  # noqa: SLF001
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                store._rollback()  # noqa: SLF001
                raise
            db.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        store = self._store
        with store._translate(action):  # noqa: SLF001  (the store's own helper)
            yield store._db  # noqa: SLF001

    @staticmethod
    def _version(db: sqlite3.Connection, stocktake_id: str) -> int:
        row = db.execute("SELECT version FROM stocktakes WHERE id = ?", (stocktake_id,)).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        return int(row[0])

    def _decode(self, decode: Callable[[str], T], text: str, what: str) -> T:
        try:
            return decode(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            raise StorageError(f"corrupt {what} in the SQLite file {self.path!r}: {e}") from e

    # ------------------------------------------------------------------ the port

    def create(self, stocktake: Stocktake) -> None:
        """See [`StocktakeStore.create`][medinv.ports_stocktake.StocktakeStore.create]."""
        data = stocktake_to_json(stocktake)
        with self._write("write a stocktake to") as db:
            row = db.execute(
                "SELECT version FROM stocktakes WHERE id = ?", (stocktake.id,)
            ).fetchone()
            if row is not None:
                msg = f"stocktake {stocktake.id!r} already exists"
                raise ConcurrencyError(msg, expected=0, actual=row[0])
            db.execute(
                "INSERT INTO stocktakes (id, state, version, data) VALUES (?, ?, ?, ?)",
                (stocktake.id, stocktake.state.value, stocktake.version, data),
            )

    def get(self, stocktake_id: str) -> Stocktake:
        """See [`StocktakeStore.get`][medinv.ports_stocktake.StocktakeStore.get]."""
        with self._read("read a stocktake from") as db:
            row = db.execute("SELECT data FROM stocktakes WHERE id = ?", (stocktake_id,)).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        return self._decode(stocktake_from_json, row[0], f"stocktake {stocktake_id!r}")

    def update(self, stocktake: Stocktake, *, lines_seen: int | None = None) -> None:
        """See [`StocktakeStore.update`][medinv.ports_stocktake.StocktakeStore.update]."""
        data = stocktake_to_json(stocktake)
        with self._write("write a stocktake to") as db:
            stored = self._version(db, stocktake.id)
            if stored != stocktake.version - 1:
                msg = (
                    f"stocktake {stocktake.id!r} is at version {stored}; "
                    f"this update expects {stocktake.version - 1}"
                )
                raise ConcurrencyError(msg, expected=stocktake.version - 1, actual=stored)
            if lines_seen is not None:
                count = db.execute(
                    "SELECT count(*) FROM stocktake_lines WHERE stocktake_id = ?",
                    (stocktake.id,),
                ).fetchone()[0]
                if count != lines_seen:
                    msg = f"stocktake {stocktake.id!r} has {count} lines, not the {lines_seen} seen"
                    raise ConcurrencyError(msg, expected=lines_seen, actual=count)
            db.execute(
                "UPDATE stocktakes SET state = ?, version = ?, data = ? WHERE id = ?",
                (stocktake.state.value, stocktake.version, data, stocktake.id),
            )

    def add_lines(
        self, stocktake_id: str, lines: Sequence[CountLine], *, expected_version: int
    ) -> None:
        """See [`StocktakeStore.add_lines`][medinv.ports_stocktake.StocktakeStore.add_lines]."""
        encoded = [(line.id, line_to_json(line), line) for line in lines]
        with self._write("write count lines to") as db:
            stored = self._version(db, stocktake_id)
            if stored != expected_version:
                msg = f"stocktake {stocktake_id!r} is at version {stored}, not {expected_version}"
                raise ConcurrencyError(msg, expected=expected_version, actual=stored)
            fresh: dict[str, CountLine] = {}
            for line_id, text, line in encoded:
                row = db.execute(
                    "SELECT data FROM stocktake_lines WHERE stocktake_id = ? AND line_id = ?",
                    (stocktake_id, line_id),
                ).fetchone()
                known = fresh.get(line_id)
                if row is not None:
                    known = self._decode(line_from_json, row[0], f"count line {line_id!r}")
                if known is None:
                    fresh[line_id] = line
                    db.execute(
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
        with self._read("read count lines from") as db:
            self._version(db, stocktake_id)
            for chunk in _sql.chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT line_id, data FROM stocktake_lines"  # noqa: S608  (only ? marks)
                    f" WHERE stocktake_id = ? AND line_id IN ({marks})",
                    (stocktake_id, *chunk),
                ).fetchall()
                for lid, data in rows:
                    found[lid] = self._decode(line_from_json, data, f"count line {lid!r}")
        return found

    def lines(self, stocktake_id: str) -> list[CountLine]:
        """See [`StocktakeStore.lines`][medinv.ports_stocktake.StocktakeStore.lines]."""
        with self._read("read count lines from") as db:
            self._version(db, stocktake_id)
            rows = db.execute(
                "SELECT line_id, data FROM stocktake_lines WHERE stocktake_id = ? ORDER BY seq",
                (stocktake_id,),
            ).fetchall()
        return [self._decode(line_from_json, data, f"count line {lid!r}") for lid, data in rows]

    def stocktakes(self, *, state: StocktakeState | None = None) -> list[Stocktake]:
        """See [`StocktakeStore.stocktakes`][medinv.ports_stocktake.StocktakeStore.stocktakes]."""
        with self._read("read stocktakes from") as db:
            if state is None:
                rows = db.execute("SELECT id, data FROM stocktakes ORDER BY id").fetchall()
            else:
                rows = db.execute(
                    "SELECT id, data FROM stocktakes WHERE state = ? ORDER BY id", (state.value,)
                ).fetchall()
        return [self._decode(stocktake_from_json, data, f"stocktake {sid!r}") for sid, data in rows]
