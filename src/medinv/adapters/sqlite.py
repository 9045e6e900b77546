"""The SQLite store: the embedded default home of the movement ledger.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

[`SqliteStore`][medinv.adapters.sqlite.SqliteStore] keeps the ledger in one SQLite
file through the standard library's `sqlite3`:

- the file is opened in WAL mode with ``synchronous=FULL``: when
  [`append`][medinv.adapters.sqlite.SqliteStore.append] returns, the batch survives
  a crash of the process or a power cut;
- ``append`` runs in one ``BEGIN IMMEDIATE`` transaction that re-reads the ledger
  head before writing anything: a writer whose batch was validated against an older
  head gets [`ConcurrencyError`][medinv.errors.ConcurrencyError] and nothing is
  written (optimistic concurrency between processes that share the file);
- every query of the [`LedgerStore`][medinv.ports.LedgerStore] port is answered
  through an index (movements by id, position and reversed id, and by item number,
  reached from an item, GTIN, lot or serial through the small `item_keys` table;
  balances by item, lot, serial and location subtree);
- a movement is stored as its canonical content, the very text its chain hash
  covers, next to the columns the store queries by (id, item number, reversed id);
  [`register_sql_functions`][medinv.adapters.sqlite.register_sql_functions] lets
  reports in SQL read its fields by name;
- the same file holds the stocktakes:
  [`store.stocktakes`][medinv.adapters.sqlite.SqliteStore.stocktakes] serves the
  [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] port over the store's
  connection, so one schema version and one
  [`backup`][medinv.adapters.sqlite.SqliteStore.backup] cover both;
- the schema is versioned: opening a file applies the migrations it lacks (a file
  of the previous release's separate stocktake store included), and a file written
  by a newer medinv is refused with a clear error;
- every `sqlite3` exception is translated into a
  [`StorageError`][medinv.errors.StorageError] (``raise ... from e``).

Use it through the ledger service, which checks the rules and hands the store
what to write:

```pycon
>>> from medinv import ItemKey, Location, Movement
>>> from medinv.adapters.sqlite import SqliteStore
>>> from medinv.ledger import Ledger
>>> receipt = Movement.receipt(
...     "DN-1/1", item=ItemKey("04006381333931", lot="L1"), quantity=12,
...     to=Location.parse("CHU/Store/A1"), occurred_at="2026-11-23T09:00:00+01:00", actor="jm",
... )
>>> with SqliteStore(":memory:") as store:  # a file path in real use
...     ledger = Ledger(store)
...     _ = ledger.post([receipt])
...     ledger.balance(gtin="04006381333931", location="CHU/Store"), store.schema_version
(12, 5)

```

[How to use SQLite and PostgreSQL](../how-to/use-sqlite-and-postgresql.md) covers
files, backups and concurrent writers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import sqlite3
import time
import types
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Final, Self, TypeVar

import attrs
import pendulum

from medinv.adapters._codec import (
    STATUSES,
    item_filters,
    key_columns,
    path_of,
    recorded_movement,
    subtree_bounds,
)
from medinv.adapters._stocktake_json import (
    line_from_json,
    line_to_json,
    stocktake_from_json,
    stocktake_to_json,
)
from medinv.chain import CONTENT_FIELDS, MovementDecoder, movement_content
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
    PositionQuery,
    RecordedMovement,
    check_query,
)
from medinv.status import StockStatus
from medinv.stocktake import CountLine, Stocktake, StocktakeState

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SqliteStocktakes",
    "SqliteStore",
    "register_sql_functions",
]

T = TypeVar("T")
V = TypeVar("V")


@attrs.frozen
class Migration:
    """One step of the schema's history: the SQL that takes a file to ``version``."""

    version: int
    """The schema version after this step (1, 2, 3 ...)."""
    description: str
    """What the step changes, for people reading the history."""
    statements: tuple[str, ...]
    """The DDL statements, run in order inside the migrating transaction."""


# Conventions of the schema:
# - text is stored verbatim; date-times as ISO 8601 text with their UTC offset (the
#   hash chain encodes the offset), dates as ISO 8601 text;
# - in `movements`, an absent lot, serial, location, status, reason, reference,
#   expiry or reversed id is NULL;
# - in the keyed tables (`balances`, `items`), an absent lot or serial is '' (a lot
#   or serial is 1 to 20 characters, never empty), so that keys are plain equality
#   and UNIQUE constraints hold (NULLs are distinct in SQL);
# - a location is its path joined with '/' (segments never contain '/'); the
#   subtree of 'A/B' is 'A/B' plus the range ['A/B/', 'A/B0') ('0' follows '/').
_SCHEMA_V1: Final = (
    """
    CREATE TABLE movements (
        position    INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        gtin        TEXT NOT NULL,
        lot         TEXT,
        serial      TEXT,
        quantity    INTEGER NOT NULL,
        occurred_at TEXT NOT NULL,
        actor       TEXT NOT NULL,
        from_location TEXT,
        from_status TEXT,
        to_location TEXT,
        to_status   TEXT,
        reason      TEXT,
        reference   TEXT,
        expiry      TEXT,
        reverses    TEXT,
        recorded_at TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    )
    """,
    "CREATE INDEX movements_by_item ON movements (gtin, lot, serial)",
    "CREATE INDEX movements_by_lot ON movements (lot) WHERE lot IS NOT NULL",
    "CREATE INDEX movements_by_serial ON movements (serial) WHERE serial IS NOT NULL",
    "CREATE UNIQUE INDEX movements_by_reverses ON movements (reverses) WHERE reverses IS NOT NULL",
    """
    CREATE TABLE balances (
        gtin     TEXT NOT NULL,
        lot      TEXT NOT NULL,
        serial   TEXT NOT NULL,
        location TEXT NOT NULL,
        status   TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        PRIMARY KEY (gtin, lot, serial, location, status)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX balances_by_location ON balances (location)",
    # Partial: '' (no lot, no serial) is most rows and must not attract the planner;
    # queries add the literal term "lot <> ''" / "serial <> ''" to use them.
    "CREATE INDEX balances_by_lot ON balances (lot) WHERE lot <> ''",
    "CREATE INDEX balances_by_serial ON balances (serial) WHERE serial <> ''",
    """
    CREATE TABLE lots (
        gtin   TEXT NOT NULL,
        lot    TEXT NOT NULL,
        expiry TEXT,
        PRIMARY KEY (gtin, lot)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE items (
        gtin   TEXT NOT NULL,
        lot    TEXT NOT NULL,
        serial TEXT NOT NULL,
        first_received_at TEXT NOT NULL,
        expiry TEXT,
        PRIMARY KEY (gtin, lot, serial)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE head (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        position  INTEGER NOT NULL,
        hash      TEXT NOT NULL
    )
    """,
    "INSERT INTO head (singleton, position, hash) VALUES (1, 0, '" + "0" * 64 + "')",
)

# Version 2: one compact history index instead of three text indexes. Every item
# that appears in a movement gets a small integer (`item_keys`, store-internal, not
# master data); `movements.item_no` is indexed, and history queries by item, GTIN,
# lot or serial find their item numbers in the small `item_keys` table first.
# An index entry shrinks from ~30 bytes of text to a few bytes, so a batch dirties
# (and writes to the WAL, and fsyncs) about a third of the pages it did.
_SCHEMA_V2: Final = (
    """
    CREATE TABLE item_keys (
        item_no INTEGER PRIMARY KEY,
        gtin    TEXT NOT NULL,
        lot     TEXT NOT NULL,
        serial  TEXT NOT NULL,
        UNIQUE (gtin, lot, serial)
    )
    """,
    "CREATE INDEX item_keys_by_lot ON item_keys (lot) WHERE lot <> ''",
    "CREATE INDEX item_keys_by_serial ON item_keys (serial) WHERE serial <> ''",
    "ALTER TABLE movements ADD COLUMN item_no INTEGER",
    (
        "INSERT INTO item_keys (gtin, lot, serial) "
        "SELECT DISTINCT gtin, coalesce(lot, ''), coalesce(serial, '') FROM movements "
        "ORDER BY 1, 2, 3"
    ),
    (
        "UPDATE movements SET item_no = (SELECT k.item_no FROM item_keys AS k "
        "WHERE k.gtin = movements.gtin AND k.lot = coalesce(movements.lot, '') "
        "AND k.serial = coalesce(movements.serial, ''))"
    ),
    "CREATE INDEX movements_by_item_no ON movements (item_no)",
    "DROP INDEX movements_by_item",
    "DROP INDEX movements_by_lot",
    "DROP INDEX movements_by_serial",
)

# Version 3: a movement is stored as its canonical content (`medinv.chain.movement_content`,
# the text the hash chain covers: its sixteen fields separated by NUL, '-' for an absent
# optional field, '+' before a present one) next to the columns the store queries by:
# id, item number, reversed id. One text instead of sixteen columns halves the cost of
# an insert, and what is stored is exactly what was hashed. SQL reads a field with
# `movement_field(content, 'quantity')` once `register_sql_functions` has added it to
# the connection (SQLite's own string functions stop at the first NUL).
_CONTENT_SQL: Final = " || char(0) || ".join(  # noqa: FLY002  (one SQL term a line)
    (
        "id",
        "kind",
        "gtin",
        "coalesce('+' || lot, '-')",
        "coalesce('+' || serial, '-')",
        "quantity",
        "occurred_at",
        "actor",
        "coalesce('+' || from_location, '-')",
        "coalesce('+' || from_status, '-')",
        "coalesce('+' || to_location, '-')",
        "coalesce('+' || to_status, '-')",
        "coalesce('+' || reason, '-')",
        "coalesce('+' || reference, '-')",
        "coalesce('+' || expiry, '-')",
        "coalesce('+' || reverses, '-')",
    )
)
_SCHEMA_V3: Final = (
    """
    CREATE TABLE movements_v3 (
        position    INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        item_no     INTEGER NOT NULL,
        reverses    TEXT,
        content     TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    )
    """,
    (
        "INSERT INTO movements_v3 (position, id, item_no, reverses, content, recorded_at, "  # noqa: S608  (constant SQL)
        f"prev_hash, hash) SELECT position, id, item_no, reverses, {_CONTENT_SQL}, "
        "recorded_at, prev_hash, hash FROM movements ORDER BY position"
    ),
    "DROP TABLE movements",
    "ALTER TABLE movements_v3 RENAME TO movements",
    "CREATE UNIQUE INDEX movements_by_reverses ON movements (reverses) WHERE reverses IS NOT NULL",
    "CREATE INDEX movements_by_item_no ON movements (item_no)",
    # Balances keyed by small numbers: the item's (`item_keys`) and the location's
    # (`locations`, paths numbered like items) instead of five text columns. A
    # batch's upserts touch a fraction of the pages, and a key compares as integers.
    "CREATE TABLE locations (location_no INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)",
    (
        "INSERT INTO item_keys (gtin, lot, serial) SELECT DISTINCT gtin, lot, serial "
        "FROM balances WHERE true ORDER BY 1, 2, 3 ON CONFLICT (gtin, lot, serial) DO NOTHING"
    ),
    "INSERT INTO locations (path) SELECT DISTINCT location FROM balances ORDER BY 1",
    """
    CREATE TABLE balances_v3 (
        item_no     INTEGER NOT NULL,
        location_no INTEGER NOT NULL,
        status      TEXT NOT NULL,
        quantity    INTEGER NOT NULL,
        PRIMARY KEY (item_no, location_no, status)
    ) WITHOUT ROWID
    """,
    (
        "INSERT INTO balances_v3 (item_no, location_no, status, quantity) "
        "SELECT k.item_no, l.location_no, b.status, b.quantity FROM balances AS b "
        "JOIN item_keys AS k ON k.gtin = b.gtin AND k.lot = b.lot AND k.serial = b.serial "
        "JOIN locations AS l ON l.path = b.location WHERE b.quantity <> 0"
    ),
    "DROP TABLE balances",
    "ALTER TABLE balances_v3 RENAME TO balances",
    "CREATE INDEX balances_by_location ON balances (location_no)",
)

_PERIOD_BITS: Final = 14
"""The history index is kept per period of 2**14 = 16,384 positions (see schema 4)."""

_SCHEMA_V4: Final = (
    # A movement's previous hash is the hash of the movement before it: not stored
    # twice. (Reading a movement looks it up; `verify()` still recomputes every
    # hash over it, so an edited, deleted or reordered row is still found.)
    """
    CREATE TABLE movements_v4 (
        position    INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        item_no     INTEGER NOT NULL,
        reverses    TEXT,
        content     TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        hash        TEXT NOT NULL
    )
    """,
    (
        "INSERT INTO movements_v4 (position, id, item_no, reverses, content, recorded_at, hash) "
        "SELECT position, id, item_no, reverses, content, recorded_at, hash FROM movements "
        "ORDER BY position"
    ),
    "DROP TABLE movements",
    "ALTER TABLE movements_v4 RENAME TO movements",
    "CREATE UNIQUE INDEX movements_by_reverses ON movements (reverses) WHERE reverses IS NOT NULL",
    # The history index leads with the position's period: a batch's entries all land
    # in the current period's part of the index, a few dozen pages, instead of pages
    # all over an index as large as the ledger (each of them rewritten at every
    # commit). A history query seeks each period from the first it asks about.
    f"CREATE INDEX movements_by_period_item ON movements (position >> {_PERIOD_BITS}, item_no)",
    # Balances that reach 0 are found through this index (it holds only them) and
    # deleted once per commit.
    "CREATE INDEX balances_emptied ON balances (item_no) WHERE quantity = 0",
)

# Stocktakes live in the ledger's file: one row per stocktake (state and version as
# columns, the rest as JSON) and append-only count lines, unique per (stocktake,
# line id). ``IF NOT EXISTS``: a file the previous release's separate stocktake
# store created (or added its tables to) already has them, with the same columns;
# its own schema-version table gives way to the file's one version.
_SCHEMA_V5: Final = (
    """
    CREATE TABLE IF NOT EXISTS stocktakes (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS stocktakes_state ON stocktakes (state, id)",
    """
    CREATE TABLE IF NOT EXISTS stocktake_lines (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        stocktake_id TEXT NOT NULL REFERENCES stocktakes (id),
        line_id TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (stocktake_id, line_id)
    )
    """,
    "DROP TABLE IF EXISTS medinv_stocktake_schema",
)

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "movements, balance projection, lot and item master data, ledger head",
        _SCHEMA_V1,
    ),
    Migration(
        2,
        "item numbers: one compact history index replaces the item, lot and serial indexes",
        _SCHEMA_V2,
    ),
    Migration(
        3,
        "movements stored as their canonical content next to id, item number and reversed "
        "id; balances keyed by item and location numbers",
        _SCHEMA_V3,
    ),
    Migration(
        4,
        "the previous hash no longer stored twice; the history index kept per period of "
        "positions; an index of emptied balances",
        _SCHEMA_V4,
    ),
    Migration(
        5,
        "stocktakes and their count lines in the ledger's file (one file, one schema "
        "version, one backup for every port)",
        _SCHEMA_V5,
    ),
)
"""The schema's history, oldest first; a file is at the version of the last step applied."""

SCHEMA_VERSION: Final = MIGRATIONS[-1].version
"""The schema version this medinv writes; newer files are refused."""

_OLD_STOCKTAKE_NAMES: Final = frozenset(
    {"medinv_stocktake_schema", "stocktakes", "stocktakes_state", "stocktake_lines"}
)
"""What the previous release's separate stocktake store created in a file of its own."""
_OLD_STOCKTAKE_VERSION: Final = 1
"""The last stocktake schema version of that store."""
_APPLICATION_ID: Final = 0x4D444E56  # "MDNV": marks the file as a medinv ledger
_CHUNK: Final = 500  # keys per IN (...) / VALUES list (3 variables each: well under the limit)
_PAGE: Final = 2000  # rows per page when streaming the whole ledger
_CACHE_LIMIT: Final = 100_000  # item or location numbers remembered; a full map starts again

_MOVEMENT_COLUMNS: Final = (
    "position, content, recorded_at, "
    "(SELECT p.hash FROM movements AS p WHERE p.position = movements.position - 1), hash"
)
_HEAD_POSITION: Final = "SELECT position FROM head WHERE singleton = 1"
_INSERT_MOVEMENT: Final = (
    "INSERT INTO movements (position, id, item_no, reverses, content, recorded_at, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ITEM_KEY: Final = (
    "INSERT INTO item_keys (gtin, lot, serial) VALUES (?, ?, ?) "
    "ON CONFLICT (gtin, lot, serial) DO NOTHING"
)
_UPSERT_BALANCE: Final = (
    "INSERT INTO balances (item_no, location_no, status, quantity) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (item_no, location_no, status) "
    "DO UPDATE SET quantity = quantity + excluded.quantity"
)
_DELETE_ZERO_BALANCES: Final = "DELETE FROM balances WHERE quantity = 0"
_INSERT_LOCATION: Final = "INSERT INTO locations (path) VALUES (?) ON CONFLICT (path) DO NOTHING"
_INSERT_LOT: Final = (
    "INSERT INTO lots (gtin, lot, expiry) VALUES (?, ?, ?) ON CONFLICT (gtin, lot) DO NOTHING"
)
_INSERT_ITEM: Final = (
    "INSERT INTO items (gtin, lot, serial, first_received_at, expiry) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (gtin, lot, serial) DO NOTHING"
)
# Aliases: b balances, k item_keys, loc locations, l lots, i items.
_BALANCE_JOINS: Final = (
    "JOIN item_keys AS k ON k.item_no = b.item_no "
    "JOIN locations AS loc ON loc.location_no = b.location_no"
)
_POSITION_SELECT: Final = (
    "SELECT k.gtin, k.lot, k.serial, loc.path, b.status, b.quantity, "  # noqa: S608  (constant fragments)
    "CASE WHEN l.gtin IS NOT NULL THEN l.expiry ELSE i.expiry END, i.first_received_at "
    f"FROM balances AS b {_BALANCE_JOINS} "
    "LEFT JOIN lots AS l ON l.gtin = k.gtin AND l.lot = k.lot "
    "LEFT JOIN items AS i ON i.gtin = k.gtin AND i.lot = k.lot AND i.serial = k.serial "
    "WHERE b.quantity <> 0"
)

_isoformat = dt.datetime.isoformat

_Row = tuple[Any, ...]


_FIELD_INDEX: Final = {name: index for index, name in enumerate(CONTENT_FIELDS)}
_OPTIONAL_FIELDS: Final = frozenset(
    {"lot", "serial", "from_location", "from_status", "to_location", "to_status"}
    | {"reason", "reference", "expiry", "reverses"}
)


def _movement_field(content: object, name: object) -> str | int | None:
    if not isinstance(content, str) or not isinstance(name, str) or name not in _FIELD_INDEX:
        return None
    fields = content.split("\x00")
    if len(fields) != len(CONTENT_FIELDS):
        return None
    value = fields[_FIELD_INDEX[name]]
    if name == "quantity":
        return int(value) if value.lstrip("-").isdigit() else None
    if name in _OPTIONAL_FIELDS:
        return value[1:] if value[:1] == "+" else None
    return value


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Add ``movement_field(content, name)`` to a `sqlite3` connection, for reports in SQL.

    The ``movements`` table keeps each movement as its canonical content (the text
    its chain hash covers: the fields of [`CONTENT_FIELDS`][medinv.chain.CONTENT_FIELDS]
    separated by NUL), which SQLite's own string functions cannot split. With the
    function, any connection to a ledger file reads a field by name: the text, the
    quantity as an integer, ``NULL`` for an absent optional field (or an unknown
    name).

    ```pycon
    >>> import sqlite3
    >>> from medinv import ItemKey, Location, Movement
    >>> from medinv.adapters.sqlite import register_sql_functions
    >>> from medinv.chain import movement_content
    >>> content = movement_content(Movement.receipt(
    ...     "DN-1/1", item=ItemKey("04006381333931", lot="L1"), quantity=5,
    ...     to=Location.parse("CHU/Store"), occurred_at="2026-11-23T09:00:00+01:00", actor="jm",
    ... ))
    >>> report = sqlite3.connect(":memory:")  # a connection to the ledger file in real use
    >>> register_sql_functions(report)
    >>> report.execute(
    ...     "SELECT movement_field(?1, 'kind'), movement_field(?1, 'quantity'), "
    ...     "movement_field(?1, 'lot'), movement_field(?1, 'serial')", [content]
    ... ).fetchone()
    ('RECEIPT', 5, 'L1', None)

    ```
    """
    connection.create_function("movement_field", 2, _movement_field, deterministic=True)


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
    """``(item_no, location_no, status, delta)`` of each change."""
    return [
        (item_nos[c.item], location_nos[c.location], c.status._value_, c.delta) for c in changes
    ]


def _select_item_numbers(keys: Sequence[tuple[str, ...]]) -> tuple[str, list[str]]:
    values = ", ".join(["(?, ?, ?)"] * len(keys))
    sql = (
        f"WITH v (gtin, lot, serial) AS (VALUES {values}) "  # noqa: S608  (placeholders only)
        "SELECT i.item_no, i.gtin, i.lot, i.serial FROM item_keys AS i "
        "JOIN v ON i.gtin = v.gtin AND i.lot = v.lot AND i.serial = v.serial"
    )
    return sql, [part for key in keys for part in key]


def _select_location_numbers(keys: Sequence[tuple[str, ...]]) -> tuple[str, list[str]]:
    marks = ", ".join("?" * len(keys))
    return (
        f"SELECT location_no, path FROM locations WHERE path IN ({marks})",  # noqa: S608  (placeholders only)
        [path for (path,) in keys],
    )


def _chunks(values: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


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


class SqliteStore:
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
    def schema_version(self) -> int:
        """The schema version of the open file (after migration: ``SCHEMA_VERSION``)."""
        return self._version

    def close(self) -> None:
        """Close the connection; further calls raise `StorageError`. Closing twice is harmless."""
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

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"schema {self._version}"
        return f"SqliteStore({self._path!r}, {state})"

    def backup(self, target: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the file (ledger and stocktakes) to ``target`` while in use.

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
            register_sql_functions(self._db)

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
                if e.sqlite_errorname not in _BUSY_CODES or time.monotonic() > deadline:
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
            if version == SCHEMA_VERSION:
                return version
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = self._stored_version()
                for migration in MIGRATIONS:
                    if migration.version > version:
                        for statement in migration.statements:
                            self._db.execute(statement)
                        version = migration.version
                self._db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version = {version}")
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            return version

    def _stored_version(self) -> int:
        application_id, version = (
            self._db.execute("PRAGMA application_id").fetchone()[0],
            self._db.execute("PRAGMA user_version").fetchone()[0],
        )
        if application_id == _APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"the SQLite ledger {self._path!r} has schema version {version}, newer than "
                    f"this medinv knows ({SCHEMA_VERSION}); upgrade medinv to open it"
                )
            return int(version)
        names = {
            row[0]
            for row in self._db.execute(
                "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
            )
        }
        if application_id == 0 and names and names <= _OLD_STOCKTAKE_NAMES:
            self._check_old_stocktake_version()
            return 0
        tables = len(names)
        if application_id != 0 or tables:
            raise StorageError(
                f"{self._path!r} is an SQLite database but not a medinv ledger "
                f"(application id {application_id}, {tables} table(s) or index(es))"
            )
        return 0

    def _check_old_stocktake_version(self) -> None:
        """A stocktake-only file of the previous release: refuse one a newer medinv wrote."""
        row = None
        with contextlib.suppress(sqlite3.OperationalError):  # no version table: nothing to check
            row = self._db.execute("SELECT max(version) FROM medinv_stocktake_schema").fetchone()
        if row is not None and row[0] is not None and row[0] > _OLD_STOCKTAKE_VERSION:
            raise StorageError(
                f"the SQLite stocktake file {self._path!r} has stocktake schema version "
                f"{row[0]}, newer than this medinv knows ({_OLD_STOCKTAKE_VERSION}); "
                "upgrade medinv to open it"
            )

    # ------------------------------------------------------------------ errors

    def _translate(self, action: str, *, commit: Commit | None = None) -> _Translate:
        return _Translate(self, action, commit=commit)

    def _rollback(self) -> None:
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------ writes

    def head(self) -> LedgerHead:
        """The position and hash of the last stored movement."""
        with self._translate("read the head of"):
            position, hash_ = self._db.execute(
                "SELECT position, hash FROM head WHERE singleton = 1"
            ).fetchone()
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
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._check_head(commit.expected_position)
                try:  # in a busy ledger, every item and location has its number already
                    movement_rows = _movement_rows(movements, contents, self._item_nos)
                    balance_rows = _balance_rows(changes, self._item_nos, self._location_nos)
                except KeyError:
                    item_nos = self._item_numbers(movements, changes)
                    location_nos = self._location_numbers(changes)
                    movement_rows = _movement_rows(movements, contents, item_nos)
                    balance_rows = _balance_rows(changes, item_nos, location_nos)
                self._write(movement_rows, balance_rows, lot_rows, item_rows)
                last = movements[-1]
                self._db.execute(
                    "UPDATE head SET position = ?, hash = ? WHERE singleton = 1",
                    (last.position, last.hash),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                self._item_nos.clear()  # numbers created in the rolled back transaction
                self._location_nos.clear()
                raise

    def _item_numbers(
        self, movements: Sequence[RecordedMovement], changes: Sequence[BalanceChange]
    ) -> dict[ItemKey, int]:
        """Inside the write transaction: the number of every item written, new ones created."""
        known = self._item_nos
        if len(known) > _CACHE_LIMIT:
            known.clear()
        missing: dict[tuple[str, ...], ItemKey] = {}
        key = key_columns
        for item in itertools.chain(
            (recorded.movement.item for recorded in movements), (c.item for c in changes)
        ):
            if item not in known:
                missing[key(item)] = item
        if missing:
            self._number(known, missing, _INSERT_ITEM_KEY, _select_item_numbers)
        return known

    def _location_numbers(self, changes: Sequence[BalanceChange]) -> dict[Location, int]:
        """Inside the write transaction: the number of every location written, new ones created."""
        known = self._location_nos
        if len(known) > _CACHE_LIMIT:
            known.clear()
        missing: dict[tuple[str, ...], Location] = {}
        path = path_of
        for change in changes:
            location = change.location
            if location not in known:
                missing[(path(location),)] = location
        if missing:
            self._number(known, missing, _INSERT_LOCATION, _select_location_numbers)
        return known

    def _number(
        self,
        known: dict[V, int],
        missing: dict[tuple[str, ...], V],
        insert: str,
        select: Callable[[Sequence[tuple[str, ...]]], tuple[str, list[str]]],
    ) -> None:
        """Number the ``missing`` values by their key columns, and read the numbers back.

        A key numbered already (by another writer) keeps its number.
        """
        db = self._db
        keys = list(missing)
        db.executemany(insert, keys)
        for chunk in _chunks(keys):
            for number, *parts in db.execute(*select(chunk)):
                known[missing[tuple(parts)]] = number

    def _check_head(self, expected: int) -> None:
        """Inside the write transaction: refuse a batch checked against another head."""
        (position,) = self._db.execute("SELECT position FROM head WHERE singleton = 1").fetchone()
        if position != expected:
            raise ConcurrencyError(
                f"the ledger moved on: the batch was checked at position {expected}, "
                f"the head is now at {position}; read again and retry",
                expected=expected,
                actual=position,
            )

    def _write(
        self,
        movement_rows: list[_Row],
        balance_rows: list[_Row],
        lot_rows: list[_Row],
        item_rows: list[_Row],
    ) -> None:
        db = self._db
        db.executemany(_INSERT_MOVEMENT, movement_rows)
        db.executemany(_UPSERT_BALANCE, balance_rows)
        if any(row[3] < 0 for row in balance_rows):  # only a decrease can reach 0
            db.execute(_DELETE_ZERO_BALANCES)
        if lot_rows:
            db.executemany(_INSERT_LOT, lot_rows)
        if item_rows:
            db.executemany(_INSERT_ITEM, item_rows)

    # ------------------------------------------------------------------ keyed reads

    def _movement(self, row: _Row) -> RecordedMovement:
        """A movement row (position, content, recorded_at, previous hash, hash) decoded."""
        return recorded_movement(self._decoder, *row)

    def movements_by_id(self, ids: Collection[str]) -> Mapping[str, RecordedMovement]:
        """The stored movements with the given ids."""
        wanted = list(dict.fromkeys(ids))
        rows: list[_Row] = []
        with self._translate("read movements from"):
            for chunk in _chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT {_MOVEMENT_COLUMNS} FROM movements WHERE id IN ({marks})",  # noqa: S608  (placeholders only)
                    chunk,
                ).fetchall()
        decode = self._movement
        return {recorded.movement.id: recorded for recorded in map(decode, rows)}

    def reversals_of(self, ids: Collection[str]) -> Mapping[str, str]:
        """For each given id that a stored reversal reverses: original id -> reversal id."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, str] = {}
        with self._translate("read reversals from"):
            for chunk in _chunks(wanted):
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
        key = key_columns
        wanted = {key(item): item for item in items}
        rows = self._keyed(
            "item master data",
            "SELECT i.gtin, i.lot, i.serial, i.first_received_at, i.expiry FROM items AS i "
            "JOIN v ON i.gtin = v.gtin AND i.lot = v.lot AND i.serial = v.serial",
            ("gtin", "lot", "serial"),
            list(wanted),
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
        key = key_columns
        wanted = {key(item): item for item in items}
        rows = self._keyed(
            "balances",
            "SELECT k.gtin, k.lot, k.serial, loc.path, b.status, b.quantity "
            "FROM v CROSS JOIN item_keys AS k CROSS JOIN balances AS b "
            "JOIN locations AS loc ON loc.location_no = b.location_no "
            "WHERE k.gtin = v.gtin AND k.lot = v.lot AND k.serial = v.serial "
            "AND b.item_no = k.item_no AND b.quantity <> 0",
            ("gtin", "lot", "serial"),
            list(wanted),
        )
        location_of, statuses = self._decoder.location, STATUSES
        return {
            (wanted[gtin, lot, serial], location_of(path), statuses[status]): quantity
            for gtin, lot, serial, path, status, quantity in rows
        }

    def _keyed(
        self, what: str, select: str, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]]
    ) -> list[_Row]:
        """Run ``select`` joined with a VALUES list ``k(columns)`` of ``keys``, chunk by chunk."""
        rows: list[_Row] = []
        row_marks = "(" + ", ".join("?" * len(columns)) + ")"
        with self._translate(f"read {what} from"):
            for chunk in _chunks(keys):
                values = ", ".join([row_marks] * len(chunk))
                sql = f"WITH v ({', '.join(columns)}) AS (VALUES {values}) {select}"
                rows += self._db.execute(sql, [part for key in chunk for part in key]).fetchall()
        return rows

    # ------------------------------------------------------------------ queries

    def positions(self, query: PositionQuery) -> list[StockPosition]:
        """The non-zero balances that match ``query``, with expiry and first-received time."""
        check_query(query, PositionQuery)
        conditions, params = item_filters(query, "?", "k.")
        sql = [_POSITION_SELECT, *(f"AND {c}" for c in conditions)]
        if query.location is not None:
            sql.append("AND (loc.path = ? OR (loc.path >= ? AND loc.path < ?))")
            params += subtree_bounds(query.location)
        if query.status is not None:
            sql.append("AND b.status = ?")
            params.append(query.status.value)
        with self._translate("query stock positions in"):
            rows = self._db.execute(" ".join(sql), params).fetchall()
        decoder = self._decoder
        return [
            StockPosition(
                item=decoder.item(gtin, lot, serial),
                location=decoder.location(location),
                status=STATUSES[status],
                quantity=quantity,
                expiry=decoder.date(expiry),
                received_at=None if received is None else decoder.instant(received),
            )
            for gtin, lot, serial, location, status, quantity, expiry, received in rows
        ]

    def movements(self, query: MovementQuery) -> Iterator[RecordedMovement]:
        """The stored movements that match ``query``, in ascending position order.

        A query on an item, GTIN, lot or serial reads its matches at once, through
        the index; the whole ledger is streamed page by page in position order, so
        that verifying a large ledger needs no more memory than one page.
        """
        check_query(query, MovementQuery)
        where: list[str] = []
        keyed, params = item_filters(query, "?")  # conditions on item_keys, the small table
        if not keyed:
            if query.up_to_position is not None:
                where.append("position <= ?")
                params.append(query.up_to_position)
            return self._pages(where, params, query.after_position)
        # The history index is per period of positions: seek each period from the
        # first after `after_position` to the last (of `up_to_position`, or of the
        # head, read in the same statement).
        conditions = " AND ".join(keyed)
        last = "?" if query.up_to_position is not None else _HEAD_POSITION
        sql = (
            f"WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods "  # noqa: S608  (constant fragments)
            f"WHERE p < ({last}) >> {_PERIOD_BITS}) "
            f"SELECT {_MOVEMENT_COLUMNS} FROM periods CROSS JOIN movements "
            f"WHERE (position >> {_PERIOD_BITS}) = periods.p "
            f"AND item_no IN (SELECT item_no FROM item_keys WHERE {conditions}) "
            "AND position > ? AND position <= coalesce(?, position) ORDER BY position"
        )
        after = query.after_position
        head = [] if query.up_to_position is None else [query.up_to_position]
        arguments = [
            (after + 1) >> _PERIOD_BITS,
            *head,
            *params,
            after,
            query.up_to_position,
        ]
        with self._translate("read the history in"):
            rows = self._db.execute(sql, arguments).fetchall()
        return map(self._movement, rows)

    def _pages(
        self, where: list[str], params: list[object], after: int
    ) -> Iterator[RecordedMovement]:
        sql = (
            f"SELECT {_MOVEMENT_COLUMNS} FROM movements "  # noqa: S608  (constant fragments)
            f"WHERE {' AND '.join([*where, 'position > ?'])} ORDER BY position LIMIT {_PAGE}"
        )
        decode = self._movement
        while True:
            with self._translate("read the movements in"):
                rows = self._db.execute(sql, [*params, after]).fetchall()
            yield from map(decode, rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def balances_snapshot(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        """The whole stored balance projection (zero balances excluded)."""
        with self._translate("read the balances in"):
            rows = self._db.execute(
                "SELECT k.gtin, k.lot, k.serial, loc.path, b.status, b.quantity "  # noqa: S608  (constant fragments)
                f"FROM balances AS b {_BALANCE_JOINS} WHERE b.quantity <> 0"
            ).fetchall()
        decoder = self._decoder
        return (
            (
                decoder.item(gtin, lot, serial),
                decoder.location(location),
                STATUSES[status],
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


_VERIFY_PAGE: Final = 20_000
_ENCODED_KEY: Final = (
    "k.gtin, CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END, "
    "CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END"
)
_VERIFY_MOVEMENTS: Final = (
    "SELECT m.position, m.content, m.recorded_at, NULL, m.hash, m.id, "  # noqa: S608  (constant fragments)
    f"coalesce('+' || m.reverses, '-'), {_ENCODED_KEY} "
    "FROM movements AS m LEFT JOIN item_keys AS k ON k.item_no = m.item_no "
    "WHERE m.position > ? ORDER BY m.position LIMIT ?"
)
# The same, every text read as bytes: for a page holding text that is not UTF-8.
_VERIFY_MOVEMENTS_RAW: Final = (
    "SELECT m.position, CAST(m.content AS BLOB), CAST(m.recorded_at AS BLOB), NULL, "
    "CAST(m.hash AS BLOB), CAST(m.id AS BLOB), CAST(coalesce('+' || m.reverses, '-') AS BLOB), "
    "CAST(k.gtin AS BLOB), CAST(CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END AS BLOB), "
    "CAST(CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END AS BLOB) "
    "FROM movements AS m LEFT JOIN item_keys AS k ON k.item_no = m.item_no "
    "WHERE m.position > ? ORDER BY m.position LIMIT ?"
)


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
            try:
                rows = self._query(_VERIFY_MOVEMENTS, (after, _VERIFY_PAGE), "the movements")
            except StorageError as e:
                if not isinstance(e.__cause__, sqlite3.OperationalError):
                    raise
                rows = self._query(_VERIFY_MOVEMENTS_RAW, (after, _VERIFY_PAGE), "the movements")
                rows = [tuple(map(_text_of, row)) for row in rows]
            yield from rows
            if len(rows) < _VERIFY_PAGE:
                return
            after = rows[-1][0]

    def balance_rows(self) -> Iterator[tuple[Any, ...]]:
        """The balance projection, keys encoded like content fields."""
        return self._stream(
            f"SELECT {_ENCODED_KEY}, '+' || loc.path, '+' || b.status, b.quantity "  # noqa: S608  (constant fragments)
            "FROM balances AS b LEFT JOIN item_keys AS k ON k.item_no = b.item_no "
            "LEFT JOIN locations AS loc ON loc.location_no = b.location_no "
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


class SqliteStocktakes:
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

    def __enter__(self) -> Self:
        """Return the stocktakes themselves."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

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
            for chunk in _chunks(wanted):
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


class _Translate:
    """Context manager: translate `sqlite3` exceptions into medinv's storage errors."""

    def __init__(self, store: SqliteStore, action: str, *, commit: Commit | None = None) -> None:
        self._store = store
        self._action = action
        self._commit = commit

    def __enter__(self) -> None:
        if self._store._closed:  # noqa: SLF001  (the store's own helper)
            raise StorageError(f"the SQLite ledger {self._store.path!r} is closed")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return
        raise _translate(
            exc, f"cannot {self._action} the SQLite ledger {self._store.path!r}", self._commit
        ) from exc


_BUSY_CODES: Final = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
_UNIQUE_COLUMNS: Final = {
    "movements.id": "a movement id of the batch is already stored",
    "movements.position": "a position of the batch is already taken",
    "movements.reverses": "a movement the batch reverses is already reversed",
}


def _translate(error: sqlite3.Error, message: str, commit: Commit | None) -> StorageError:
    """The medinv error for a `sqlite3` error (the caller raises it ``from error``).

    - a UNIQUE violation on a movement's id, position or reversed id while
      appending: another writer stored it first, `ConcurrencyError`;
    - ``SQLITE_BUSY`` / ``SQLITE_LOCKED``: another connection held the lock for
      longer than the timeout, `ConcurrencyError` (retrying is the remedy);
    - anything else: `StorageError` naming the action, the file and the cause.
    """
    expected = None if commit is None else commit.expected_position
    name = getattr(error, "sqlite_errorname", "")
    if isinstance(error, sqlite3.IntegrityError) and commit is not None:
        text = str(error)
        for column, reason in _UNIQUE_COLUMNS.items():
            if text == f"UNIQUE constraint failed: {column}":
                return ConcurrencyError(f"{message}: {reason}", expected=expected)
    if name in _BUSY_CODES:
        return ConcurrencyError(
            f"{message}: another writer held the database lock too long ({error})",
            expected=expected,
        )
    return StorageError(f"{message}: {error} [{name or type(error).__name__}]")
