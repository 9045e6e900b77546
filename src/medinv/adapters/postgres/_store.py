"""The PostgreSQL store: `PostgresStore` (the ledger) and `PostgresStocktakes` (its stocktakes)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import pendulum
import psycopg
from psycopg import sql

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
from medinv.adapters._tags import block_tags, driving_facet
from medinv.adapters.postgres import _schema, _sql
from medinv.adapters.postgres._catalogue import PostgresCatalogue
from medinv.adapters.postgres._checkpoints import PostgresCheckpoints
from medinv.adapters.postgres._errors import translate_error
from medinv.adapters.postgres._projections import PostgresProjections
from medinv.adapters.postgres._recalls import PostgresRecalls
from medinv.adapters.postgres._reservations import PostgresReservations
from medinv.adapters.postgres._sync import PostgresSync
from medinv.chain import (
    MovementDecoder,
    format_instant,
    movement_fields,
    structured_fields,
)
from medinv.errors import (
    ConcurrencyError,
    CountLineError,
    MedinvError,
    StorageError,
    UnknownStocktakeError,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.ports import (
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
    from medinv.adapters.postgres._coldchain import PostgresColdChain

__all__ = ["PostgresStocktakes", "PostgresStore"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _movement_row(recorded: RecordedMovement) -> tuple[object, ...]:
    """A recorded movement as the columns of ``movements`` (see ``_sql.MOVEMENT_COLUMNS``).

    The fields as [`movement_fields`][medinv.chain.movement_fields] gives them (text,
    written by ``COPY``), except an absent lot or serial, which is ``''`` here.
    """
    id_, kind, gtin, lot, serial, *rest = movement_fields(recorded.movement)
    return (
        recorded.position,
        id_,
        kind,
        gtin,
        lot or "",
        serial or "",
        *rest,
        *structured_fields(recorded.movement),
        format_instant(recorded.recorded_at),
        recorded.prev_hash,
        recorded.hash,
    )


def _columns(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Transpose rows into one list per column (for ``unnest`` of arrays)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


# ---------------------------------------------------------------------- the store


class PostgresStore(_base.Closing):
    """A [`LedgerStore`][medinv.ports.LedgerStore] in a PostgreSQL schema (psycopg 3).

    Args:
        target: A libpq connection string or URI (``"host=db dbname=stock"``,
            ``"postgresql://user@db/stock"``), which the store connects to and
            closes on ``close()``; or an open ``psycopg.Connection`` that stays the
            caller's (the store switches it to autocommit: each read sees committed
            data, each append is one transaction of its own; it must not be in a
            transaction when given).
        schema: The schema that holds the ledger's tables (created if missing, then
            migrated to [`SCHEMA_VERSION`][medinv.adapters.postgres.SCHEMA_VERSION]).
            Lower-case letters, digits and ``_``; one ledger per schema.

    Raises:
        StorageError: The server cannot be reached, the schema name is invalid, the
            connection is in a transaction, or the schema is newer than this medinv.

    One store holds one connection and is not meant to be shared between threads;
    open one store per process or thread (PostgreSQL serialises their appends).
    When the connection breaks (server restart, fail-over), the call that notices
    raises [`StorageError`][medinv.errors.StorageError]; a store that opened its own
    connection connects again on the next call (a given connection is the caller's
    to replace).
    """

    def __init__(self, target: str | psycopg.Connection[Any], *, schema: str = "medinv") -> None:
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise StorageError(
                f"invalid PostgreSQL schema name {schema!r}: expected lower-case letters, "
                "digits and '_', starting with a letter or '_', at most 63 characters"
            )
        if isinstance(target, str) and "\x00" in target:
            raise StorageError("invalid PostgreSQL connection string: it contains NUL")
        self.schema = schema
        """The schema holding the ledger's tables."""
        self._owns = isinstance(target, str)
        self._dsn = target if isinstance(target, str) else None
        self._closed = False
        with self._errors("connecting"):
            if isinstance(target, str):
                conn: psycopg.Connection[Any] = psycopg.connect(target, autocommit=True)
            elif isinstance(target, psycopg.Connection):
                conn = target
                if not conn.autocommit:
                    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        raise StorageError(
                            "the connection given to PostgresStore is inside a transaction; "
                            "commit or roll back first"
                        )
                    conn.autocommit = True
            else:
                raise StorageError(
                    "PostgresStore needs a connection string or a psycopg.Connection, "
                    f"not {type(target).__name__}"
                )
        self._conn = conn
        self._locked: LedgerHead | None = None
        """The head while ``lock_head()`` holds its row lock (``None`` outside)."""
        self._stocktakes = PostgresStocktakes(self)
        self._catalogue = PostgresCatalogue(self)
        self._reservations = PostgresReservations(self)
        self._checkpoints = PostgresCheckpoints(self)
        self._sync = PostgresSync(self)
        self._projections = PostgresProjections(self)
        self._decoder = MovementDecoder()
        identifier = sql.Identifier(schema)
        with self._errors("preparing statements"):
            self._sql = {
                name: sql.SQL(text).format(s=identifier).as_string(conn)
                for name, text in _sql.SQL.items()
            }
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _errors(self, doing: str, *, expected: int | None = None) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as e:
            raise translate_error(e, doing, expected=expected) from e

    @contextlib.contextmanager
    def _corrupt(self, what: str) -> Iterator[None]:
        """Report a stored value that no valid write could have stored."""
        try:
            yield
        except (MedinvError, ValueError, TypeError) as e:
            raise StorageError(
                f"{what} stored in schema {self.schema!r} cannot be read back: {e}"
            ) from e

    def _format(self, text: str) -> str:
        """SQL text with ``{s}`` replaced by the quoted schema name."""
        return sql.SQL(text).format(s=sql.Identifier(self.schema)).as_string(self._conn)

    def _recorded(self, row: Sequence[Any]) -> RecordedMovement:
        """A row of ``_sql.MOVEMENT_COLUMNS`` decoded."""
        position, *fields, recorded_at, prev_hash, hash_ = row
        return recorded_movement(self._decoder, position, fields, recorded_at, prev_hash, hash_)

    def _open(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StorageError(f"the PostgreSQL store of schema {self.schema!r} is closed")
        if self._conn.broken and self._dsn is not None:
            # The server went away (restart, fail-over, idle time-out): the call that
            # noticed raised StorageError; later calls connect again.
            with self._errors("reconnecting"):
                self._conn = psycopg.connect(self._dsn, autocommit=True)
        return self._conn

    def _migrate(self) -> None:
        with self._errors(f"migrating schema {self.schema!r}"):
            _schema.create_or_migrate(self._conn, self.schema)

    @property
    def stocktakes(self) -> PostgresStocktakes:
        """The [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] of this schema.

        Stocktakes and their count lines live in the ledger's schema and share this
        store's connection: one schema, one schema version for both.
        """
        return self._stocktakes

    @property
    def reservations(self) -> PostgresReservations:
        """The [`ReservationStore`][medinv.ports.ReservationStore] of this schema."""
        return self._reservations

    @functools.cached_property
    def coldchain(self) -> PostgresColdChain:
        """The [`ColdChainStore`][medinv.coldchain.ColdChainStore] of this store."""
        from medinv.adapters.postgres._coldchain import PostgresColdChain  # noqa: PLC0415  (loaded on first use)

        return PostgresColdChain(self)

    @property
    def checkpoints(self) -> PostgresCheckpoints:
        """The change feed's consumer checkpoints in this schema.

        A [`CheckpointStore`][medinv.feed.CheckpointStore] (table ``feed_checkpoints``).
        """
        return self._checkpoints

    @property
    def catalogue(self) -> PostgresCatalogue:
        """The [`CatalogueStore`][medinv.ports.CatalogueStore] of this schema (same connection)."""
        return self._catalogue

    @property
    def sync(self) -> PostgresSync:
        """The [`SyncStore`][medinv.sync.SyncStore] of this schema: the device sync inbox."""
        return self._sync

    def schema_version(self) -> int:
        """The schema version recorded in the database (equal to ``SCHEMA_VERSION`` once open)."""
        conn = self._open()
        query = sql.SQL("SELECT max(version) FROM {}.schema_version").format(
            sql.Identifier(self.schema)
        )
        with self._errors("reading the schema version"):
            row = conn.execute(query).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def _fetch(self, name: str, params: Sequence[object] = (), doing: str = "") -> list[Any]:
        conn = self._open()
        with self._errors(doing or f"running {name}"):
            return conn.execute(self._sql[name], params).fetchall()

    def _fetch_items(self, name: str, items: Collection[ItemKey], doing: str) -> list[Any]:
        """Run statement ``name`` over the key columns of ``items`` (three arrays)."""
        return self._fetch(name, _columns([key_columns(i) for i in items], 3), doing)

    # ------------------------------------------------------------------ write

    def head(self) -> LedgerHead:
        """The position and hash of the last stored movement."""
        if self._locked is not None:  # no other writer can move it: see lock_head()
            return self._locked
        rows = self._fetch("head", doing="reading the ledger head")
        if not rows:
            raise StorageError(f"the ledger head row of schema {self.schema!r} is missing")
        position, hash_ = rows[0]
        return LedgerHead(int(position), hash_)

    def append(self, commit: Commit) -> None:
        """Store the commit in one transaction; see [`LedgerStore.append`][medinv.ports.LedgerStore.append].

        Locks the head row, checks the expected position, writes the movements with
        ``COPY``, the balance changes, lots and items with one array statement each,
        and moves the head; all of it or none of it.

        Raises:
            ConcurrencyError: The head moved, or a movement id, position or reversed
                id is already stored (another writer got there first; nothing written).
            StorageError: The commit is not chained from the head, or PostgreSQL failed.
        """  # noqa: E501  (a cross-reference cannot be wrapped)
        conn = self._open()
        if not commit.movements:
            return
        movement_rows = [_movement_row(r) for r in commit.movements]
        balance_rows = [
            (*key_columns(c.item), path_of(c.location), c.status.value, c.delta)
            for c in commit.balance_changes
        ]
        lot_rows = [(lot.gtin, lot.lot, lot.expiry) for lot in commit.lots]
        item_rows = [
            (*key_columns(r.item), format_instant(r.first_received_at), r.expiry)
            for r in commit.items
        ]
        links = link_rows(commit.movements)
        last = commit.movements[-1]
        locked = self._locked
        with (
            self._errors("appending a commit", expected=commit.expected_position),
            # Inside lock_head() the head row is locked already and a failed append
            # fails the whole block: no savepoint, no second lock (bench_feed.py).
            conn.transaction() if locked is None else contextlib.nullcontext(),
        ):
            if locked is None:
                row = conn.execute(self._sql["lock_head"]).fetchone()
                if row is None:
                    raise StorageError(f"the ledger head row of schema {self.schema!r} is missing")
                position, hash_ = int(row[0]), row[1]
            else:
                position, hash_ = locked.position, locked.hash
            if position != commit.expected_position:
                raise ConcurrencyError(
                    f"the ledger moved: expected position {commit.expected_position}, "
                    f"found {position}",
                    expected=commit.expected_position,
                    actual=position,
                )
            check_chained(commit, position, hash_)
            with conn.cursor() as cur:
                with cur.copy(self._sql["copy_movements"]) as copy:
                    for movement_row in movement_rows:
                        copy.write_row(movement_row)
                pairs = block_tags(commit.movements)
                cur.execute(self._sql["add_tags"], ([t for t, _ in pairs], [b for _, b in pairs]))
                self._apply_balances(cur, balance_rows)
                if lot_rows:
                    cur.execute(self._sql["add_lots"], _columns(lot_rows, 3))
                if item_rows:
                    cur.execute(self._sql["add_items"], _columns(item_rows, 5))
                if links:
                    cur.execute(self._sql["add_links"], _columns(links, 2))
                cur.execute(self._sql["set_head"], (last.position, last.hash))
            if locked is not None:
                self._locked = LedgerHead(last.position, last.hash)

    def _apply_balances(
        self, cur: psycopg.Cursor[Any], rows: Sequence[tuple[str, str, str, str | None, str, int]]
    ) -> None:
        """Add the deltas: increases by upsert, decreases by update (the CHECK sees the result)."""
        gains = [r for r in rows if r[5] > 0]
        losses = [r for r in rows if r[5] < 0]
        if gains:
            cur.execute(self._sql["add_balances"], _columns(gains, 6))
        if not losses:
            return
        cur.execute(self._sql["take_balances"], _columns(losses, 6))
        taken = cur.fetchall()
        if len(taken) != len(losses):
            found = {tuple(r[:5]) for r in taken}
            missing = next(r for r in losses if tuple(r[:5]) not in found)
            raise StorageError(
                f"the stored balance of {missing[:3]} at {missing[3]} [{missing[4]}] is "
                f"missing, so {missing[5]} cannot be taken from it; run Ledger.verify()"
            )
        zeros = [r[:5] for r in taken if r[5] == 0]
        if zeros:
            cur.execute(self._sql["drop_zero_balances"], _columns(zeros, 5))

    # ------------------------------------------------------------------ reads for posting

    def movements_by_id(self, ids: Collection[str]) -> Mapping[str, RecordedMovement]:
        """The stored movements with these ids."""
        if not ids:
            return {}
        rows = self._fetch("by_id", (list(ids),), "reading movements by id")
        return {row[1]: self._recorded(row) for row in rows}

    def reversals_of(self, ids: Collection[str]) -> Mapping[str, str]:
        """Original id -> reversal id, for the given ids that are reversed."""
        if not ids:
            return {}
        return dict(self._fetch("reversals", (list(ids),), "reading reversals"))

    def lot_expiries(self, keys: Collection[LotKey]) -> Mapping[LotKey, pendulum.Date | None]:
        """Expiry master data of the known lots among ``keys``."""
        if not keys:
            return {}
        rows = self._fetch("lot_expiries", _columns(list(keys), 2), "reading lot expiries")
        date = self._decoder.date
        with self._corrupt("a lot's expiry"):
            return {(gtin, lot): date(expiry) for gtin, lot, expiry in rows}

    def item_records(self, items: Collection[ItemKey]) -> Mapping[ItemKey, ItemRecord]:
        """Master data of the known items among ``items``."""
        if not items:
            return {}
        decoder = self._decoder
        rows = self._fetch_items("item_records", items, "reading item records")
        out: dict[ItemKey, ItemRecord] = {}
        with self._corrupt("an item record"):
            for gtin, lot, serial, first_received_at, expiry in rows:
                item = decoder.item(gtin, lot, serial)
                out[item] = ItemRecord(
                    item=item,
                    first_received_at=decoder.instant(first_received_at),
                    expiry=decoder.date(expiry),
                )
        return out

    def balances_of(self, items: Collection[ItemKey]) -> Mapping[BalanceKey, int]:
        """Every non-zero balance of the given items."""
        if not items:
            return {}
        decoder = self._decoder
        rows = self._fetch_items("balances_of", items, "reading balances")
        with self._corrupt("a balance"):
            return {
                (decoder.item(g, lot, s), decoder.location(path), StockStatus(status)): int(qty)
                for g, lot, s, path, status, qty in rows
            }

    # ------------------------------------------------------------------ queries

    def positions(self, query: PositionQuery) -> list[StockPosition]:
        """Non-zero balances matching ``query`` with expiry and first-received time.

        Every filter is answered through an index: the balance key (item, GTIN), the
        lot or serial indexes, or a range scan of the location index for a subtree.
        """
        check_query(query, PositionQuery)
        conditions, params = item_filters(query, "%s", "b.")
        if query.location is not None:
            conditions.append("(b.location = %s OR (b.location >= %s AND b.location < %s))")
            params.extend(subtree_bounds(query.location))
        if query.status is not None:
            conditions.append("b.status = %s")
            params.append(query.status.value)
        if query.expiry_window or query.has_expiry is False:  # else: checked below
            expiring, more = _sql.expiring_items(query)
            conditions.append(self._format(expiring))
            params += more
        text = self._sql["positions"] + "".join(f" AND {c}" for c in conditions)
        conn = self._open()
        with self._errors("reading stock positions"):
            rows = conn.execute(text, params).fetchall()
        decoder = self._decoder
        with self._corrupt("a stock position"):
            return [
                StockPosition(
                    item=decoder.item(gtin, lot, serial),
                    location=decoder.location(path),
                    status=StockStatus(status),
                    quantity=int(quantity),
                    expiry=decoder.date(expiry),
                    received_at=None if received is None else decoder.instant(received),
                )
                for gtin, lot, serial, path, status, quantity, expiry, received in rows
                if query.matches_expiry(decoder.date(expiry))
            ]

    def movements(self, query: MovementQuery) -> Iterator[RecordedMovement]:
        """Stored movements matching ``query``, in position order.

        Read in pages of a few thousand rows (keyset pagination on the position), so
        iterating a large ledger holds neither a transaction nor the whole result.
        """
        check_query(query, MovementQuery)
        driver = driving_facet(query)
        if driver is not None:  # read through the tag index, the other filters checked here
            text, tags = _sql.tagged_movements(driver[1])
            last = _sql.MAX_POSITION if query.up_to_position is None else query.up_to_position
            bounds = [query.after_position, last]
            conn = self._open()
            with self._errors("reading movements"):
                rows = conn.execute(self._format(text), [*tags, *bounds, *bounds]).fetchall()
            return filter(query.matches, map(self._recorded, rows))
        conditions, params = item_filters(query, "%s")
        links = query_links(query)
        for link in links:  # through the links' primary key
            conditions.append(f"position IN ({self._sql['linked']})")
            params += [link, query.after_position]
        if query.up_to_position is not None:
            conditions.append("position <= %s")
            params.append(query.up_to_position)
        text = (
            self._sql["movements"]
            + "".join(f" AND {c}" for c in conditions)
            + " ORDER BY position LIMIT %s"
        )
        self._open()
        return filter(query.matches, self._pages(text, query.after_position, params))

    def _pages(self, text: str, after: int, params: list[object]) -> Iterator[RecordedMovement]:
        while True:
            conn = self._open()
            with self._errors("reading movements"):
                rows = conn.execute(text, [after, *params, _sql.PAGE]).fetchall()
            for row in rows:
                yield self._recorded(row)
            if len(rows) < _sql.PAGE:
                return
            after = rows[-1][0]

    def balances_snapshot(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        """The whole stored balance projection, read in pages in key order."""
        self._open()
        return self._snapshot_pages()

    def _snapshot_pages(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        decoder = self._decoder
        rows = self._fetch("snapshot_first", (_sql.PAGE,), "reading the balances")
        while rows:
            for gtin, lot, serial, path, status, quantity in rows:
                with self._corrupt("a balance"):
                    item, location = decoder.item(gtin, lot, serial), decoder.location(path)
                yield item, location, StockStatus(status), int(quantity)
            if len(rows) < _sql.PAGE:
                return
            rows = self._fetch("snapshot_next", (*rows[-1][:5], _sql.PAGE), "reading the balances")

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection if the store opened it; refuse further use. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()

    @functools.cached_property
    def recalls(self) -> PostgresRecalls:
        """The [`RecallStore`][medinv.recall.RecallStore] of this schema (recall campaigns)."""
        return PostgresRecalls(self)

    @property
    def projections(self) -> PostgresProjections:
        """The [`ProjectionStore`][medinv.ports.ProjectionStore] of this schema."""
        return self._projections

    def movement_rows(self, query: MovementQuery) -> Iterator[MovementRow]:
        """The stored movements that match ``query`` as light rows, in position order.

        A query on the item keys and positions (and an occurred-at window) reads
        only the columns of a row through the item index, without decoding movements
        or reading their hashes, in windows of positions sized to hold a few
        thousand rows each (a window's range keeps the planner on the item index; a
        sparse lot over the whole ledger could be read in position order instead),
        each in pages; any other query is read by ``movements``.
        """
        check_query(query, MovementQuery)
        conditions, params = item_filters(query, "%s")
        if not conditions or not _rows.light(query):
            return map(MovementRow.of, self.movements(query))
        text = self._format(
            f"SELECT {_ROW_COLUMNS} FROM {{s}}.movements WHERE position > %s "  # noqa: S608  (constant fragments)
            + "".join(f" AND {c}" for c in conditions)
            + " AND position <= %s ORDER BY position LIMIT %s"
        )
        up_to = self.head().position if query.up_to_position is None else query.up_to_position
        return self._row_windows(text, query, params, up_to)

    def _row_windows(
        self, text: str, query: MovementQuery, params: list[object], up_to: int
    ) -> Iterator[MovementRow]:
        def window(after: int, last: int) -> Iterator[list[MovementRow]]:
            # The window's rows a page at a time. A query sorts every row of its range
            # (the item index is not in position order), so after a full page the next
            # range spans about as many positions as that page did, not the rest of
            # the window: a burst in a wide window costs its rows, not their square.
            start, end = after, last
            while True:
                conn = self._open()
                with self._errors("reading movements"):
                    rows = conn.execute(text, [start, *params, end, _ROW_PAGE]).fetchall()
                yield list(map(_new_row, rows))
                if len(rows) == _ROW_PAGE:
                    span = rows[-1][0] - start
                    start = rows[-1][0]
                    end = min(last, start + span)
                elif end < last:  # that range read whole: the rest, in twice its steps
                    start, end = end, min(last, end + 2 * (end - start))
                else:
                    return

        # The pages chained in C, each row made in one call (the columns are already the
        # row's, in its order): no generator per row. A sparse lot's windows grow 16 times
        # (3 round trips for the exit lot of benchmarks/bench_trace.py, where 4 times took
        # 5); a page holds a window's aim of rows, so a window takes one round trip.
        found = itertools.chain.from_iterable(
            window_pages(query.after_position, up_to, window, _ROW_GROWTH)
        )
        inside = _rows.occurred_window(query)
        return found if inside is None else _rows.occurred_inside(found, inside)

    @contextlib.contextmanager
    def lock_head(self) -> Iterator[None]:
        """Hold the ledger head's row lock for a whole read-check-append (pessimistic posting).

        One transaction that first locks the ``head`` row (``SELECT ... FOR
        UPDATE``, waiting for the writer holding it): the head cannot move until the
        block ends, and every read inside sees the commits before it (read
        committed); ``head()`` answers from the locked row. An ``append`` inside
        writes in this transaction; everything is committed when the block ends
        without an exception, rolled back otherwise (an append that fails inside
        fails the whole block: let its exception end it).

        Raises:
            ConcurrencyError: a deadlock or lock time-out (retrying is the remedy).
            StorageError: PostgreSQL failed, or the head row is missing.
        """
        conn = self._open()
        with self._errors("locking the ledger head"), conn.transaction():
            row = conn.execute(self._sql["lock_head"]).fetchone()
            if row is None:
                raise StorageError(f"the ledger head row of schema {self.schema!r} is missing")
            self._locked = LedgerHead(int(row[0]), row[1])
            try:
                yield
            finally:
                self._locked = None


_ROW_PAGE: Final = 2560
"""Rows per page of ``movement_rows``: a trace holds one page of a hot lot's rows (about
2.5 MB in ``benchmarks/bench_trace.py``, where pages of ``_sql.PAGE`` rows held 8 MB);
more than a window's aim of rows (``medinv._windows.next_window``), so that a window is mostly
read in one round trip."""
_ROW_GROWTH: Final = 16
"""How many times the last window ``movement_rows`` reads the next one at most."""
_ROW_COLUMNS = (
    "position, id, kind, gtin, NULLIF(lot, ''), NULLIF(serial, ''), quantity, occurred_at,"
    " recorded_at, from_location, from_status, to_location, to_status, reverses, counterparty"
)
"""The columns of a `MovementRow`, in its order (the key columns store ``''`` for absent)."""
_new_row = MovementRow._make


# ---------------------------------------------------------------------- stocktakes


class PostgresStocktakes(_base.Closing):
    """The stocktakes of a [`PostgresStore`][medinv.adapters.postgres.PostgresStore]'s schema.

    Get it as ``store.stocktakes``; it implements
    [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] and
    [`LineLookup`][medinv.ports_stocktake.LineLookup] over the store's connection,
    in the tables ``stocktakes`` (state and version as columns, the rest as JSON
    text) and ``stocktake_lines`` (append-only, unique per stocktake and line id) of
    the ledger's schema. Every write is one transaction that locks the stocktake's
    row (``SELECT ... FOR UPDATE``) and checks its version there, so devices and
    reviewers in any number of processes never lose a line or a transition; each
    line is committed before ``add_lines`` returns.
    [`close`][medinv.adapters.postgres.PostgresStocktakes.close] closes the store.
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._s = sql.Identifier(store.schema)

    @property
    def schema(self) -> str:
        """The schema holding the ledger's and the stocktakes' tables."""
        return self._store.schema

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    # ------------------------------------------------------------------ plumbing

    def _conn(self) -> psycopg.Connection[Any]:
        return self._store._open()  # noqa: SLF001  (the store's own connection)

    def _errors(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return self._store._errors(doing)  # noqa: SLF001

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(s=self._s)

    def _locked_version(self, conn: psycopg.Connection[Any], stocktake_id: str) -> int:
        row = conn.execute(
            self._q("SELECT version FROM {s}.stocktakes WHERE id = %s FOR UPDATE"),
            (stocktake_id,),
        ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)
        return int(row[0])

    def _check_exists(self, conn: psycopg.Connection[Any], stocktake_id: str) -> None:
        row = conn.execute(
            self._q("SELECT 1 FROM {s}.stocktakes WHERE id = %s"), (stocktake_id,)
        ).fetchone()
        if row is None:
            raise UnknownStocktakeError(stocktake_id)

    def _decode(self, decode: Any, text: str, what: str) -> Any:
        try:
            return decode(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            msg = f"corrupt {what} in PostgreSQL schema {self._store.schema!r}: {e}"
            raise StorageError(msg) from e

    # ------------------------------------------------------------------ the port

    def create(self, stocktake: Stocktake) -> None:
        """See [`StocktakeStore.create`][medinv.ports_stocktake.StocktakeStore.create]."""
        conn = self._conn()
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
        conn = self._conn()
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
        conn = self._conn()
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
        conn = self._conn()
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
        conn = self._conn()
        with self._errors("reading count lines"):
            self._check_exists(conn, stocktake_id)
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
        conn = self._conn()
        with self._errors("reading count lines"):
            self._check_exists(conn, stocktake_id)
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
        conn = self._conn()
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
