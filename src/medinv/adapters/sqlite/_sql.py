"""The SQL text of the SQLite store, and the SQL function that reads stored content."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

from medinv.adapters._tags import BLOCK_BITS, Span, expiry_terms, span_terms
from medinv.adapters.sqlite._schema import (
    ITEM_SHIFT,
    LOCATION_SHIFT,
    STATUS_CODES,
    STATUS_MASK,
    TAG_ERA_BITS,
)
from medinv.chain import CONTENT_FIELDS, STRUCTURED_FIELDS
from medinv.ports import PositionQuery

__all__ = ["register_sql_functions"]

T = TypeVar("T")

CHUNK: Final = 500  # keys per IN (...) / VALUES list (3 variables each: well under the limit)
PAGE: Final = 2000  # rows per page when streaming the whole ledger
CACHE_LIMIT: Final = 100_000
MAX_POSITION: Final = 2**63 - 1  # item or location numbers remembered; a full map starts again

MOVEMENT_COLUMNS: Final = (
    "position, content, recorded_at, "
    "(SELECT p.hash FROM movements AS p WHERE p.position = movements.position - 1), hash"
)
HEAD: Final = "SELECT position, hash FROM head WHERE singleton = 1"
HEAD_POSITION: Final = "SELECT position FROM head WHERE singleton = 1"
LAST_ID: Final = "SELECT max(id) FROM movements"  # one seek to the end of the id index
INSERT_MOVEMENT: Final = (
    "INSERT INTO movements (position, id, item_no, reverses, content, recorded_at, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ITEM_KEY: Final = (
    "INSERT INTO item_keys (gtin, lot, serial) VALUES (?, ?, ?) "
    "ON CONFLICT (gtin, lot, serial) DO NOTHING"
)
UPSERT_BALANCE: Final = (
    # (item number, location number, status code, delta): SQLite packs the key, from
    # numbers small enough for Python to handle without big-integer arithmetic.
    "INSERT INTO balances (balance_key, location_no, quantity) "  # noqa: S608  (constant SQL)
    f"VALUES ((?1 << {ITEM_SHIFT}) | (?2 << {LOCATION_SHIFT}) | ?3, ?2, ?4) "
    "ON CONFLICT (balance_key) DO UPDATE SET quantity = quantity + excluded.quantity"
)
INSERT_LINK: Final = "INSERT INTO movement_links (link, position) VALUES (?, ?)"
DELETE_ZERO_BALANCES: Final = "DELETE FROM balances WHERE quantity = 0"
INSERT_LOCATION: Final = "INSERT INTO locations (path) VALUES (?) ON CONFLICT (path) DO NOTHING"
INSERT_LOT: Final = (
    "INSERT INTO lots (gtin, lot, expiry) VALUES (?, ?, ?) ON CONFLICT (gtin, lot) DO NOTHING"
)
INSERT_ITEM: Final = (
    "INSERT INTO items (gtin, lot, serial, first_received_at, expiry) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (gtin, lot, serial) DO NOTHING"
)
# Aliases: b balances, k item_keys, loc locations, l lots, i items.
# A balance's key packs its item number, location number and status code (schema 17).
# An item's balances are one range of the key, written out so that a plan from the
# item keys to the balances reads that range.
BALANCE_ITEM_NO: Final = f"(b.balance_key >> {ITEM_SHIFT})"
BALANCE_KEY_LOCATION_NO: Final = (
    f"((b.balance_key >> {LOCATION_SHIFT}) & {(1 << (ITEM_SHIFT - LOCATION_SHIFT)) - 1})"
)
"""The location number in the key of balance ``b`` (the column ``location_no`` repeats it)."""
BALANCE_STATUS_CODE: Final = f"(b.balance_key & {STATUS_MASK})"
BALANCE_STATUS: Final = (
    f"CASE {BALANCE_STATUS_CODE} "
    + " ".join(f"WHEN {code} THEN '{status.value}'" for status, code in STATUS_CODES.items())
    + " END"
)
"""The status of balance ``b`` as its text (``NULL`` for a code no status has)."""
ITEM_BALANCES: Final = (
    f"b.balance_key BETWEEN (k.item_no << {ITEM_SHIFT}) "
    f"AND ((k.item_no << {ITEM_SHIFT}) | {(1 << ITEM_SHIFT) - 1})"
)
"""The balances ``b`` of the item key ``k``: one range of the key (its upper bound the
greatest key of the item, which the next item's first key could overflow)."""
BALANCE_JOINS: Final = (
    f"JOIN item_keys AS k ON k.item_no = {BALANCE_ITEM_NO} AND {ITEM_BALANCES} "
    "JOIN locations AS loc ON loc.location_no = b.location_no"
)
POSITION_SELECT: Final = (
    f"SELECT k.gtin, k.lot, k.serial, loc.path, {BALANCE_STATUS_CODE}, b.quantity, "  # noqa: S608  (constant fragments)
    "CASE WHEN l.gtin IS NOT NULL THEN l.expiry ELSE i.expiry END, i.first_received_at "
    f"FROM balances AS b {BALANCE_JOINS} "
    "LEFT JOIN lots AS l ON l.gtin = k.gtin AND l.lot = k.lot "
    "LEFT JOIN items AS i ON i.gtin = k.gtin AND i.lot = k.lot AND i.serial = k.serial "
    "WHERE b.quantity <> 0"
)

VERIFY_PAGE: Final = 20_000
ENCODED_KEY: Final = (
    "k.gtin, CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END, "
    "CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END"
)
VERIFY_MOVEMENTS: Final = (
    "SELECT m.position, m.content, m.recorded_at, NULL, m.hash, m.id, "  # noqa: S608  (constant fragments)
    f"coalesce('+' || m.reverses, '-'), {ENCODED_KEY} "
    "FROM movements AS m LEFT JOIN item_keys AS k ON k.item_no = m.item_no "
    "WHERE m.position > ? ORDER BY m.position LIMIT ?"
)
# The same, every text read as bytes: for a page holding text that is not UTF-8.
VERIFY_MOVEMENTS_RAW: Final = (
    "SELECT m.position, CAST(m.content AS BLOB), CAST(m.recorded_at AS BLOB), NULL, "
    "CAST(m.hash AS BLOB), CAST(m.id AS BLOB), CAST(coalesce('+' || m.reverses, '-') AS BLOB), "
    "CAST(k.gtin AS BLOB), CAST(CASE WHEN k.lot = '' THEN '-' ELSE '+' || k.lot END AS BLOB), "
    "CAST(CASE WHEN k.serial = '' THEN '-' ELSE '+' || k.serial END AS BLOB) "
    "FROM movements AS m LEFT JOIN item_keys AS k ON k.item_no = m.item_no "
    "WHERE m.position > ? ORDER BY m.position LIMIT ?"
)


_FIELD_INDEX: Final = {name: index for index, name in enumerate(CONTENT_FIELDS + STRUCTURED_FIELDS)}
_OPTIONAL_FIELDS: Final = frozenset(
    {"lot", "serial", "from_location", "from_status", "to_location", "to_status"}
    | {"reason", "reference", "expiry", "reverses", *STRUCTURED_FIELDS}
)


def _movement_field(content: object, name: object) -> str | int | None:
    if not isinstance(content, str) or not isinstance(name, str) or name not in _FIELD_INDEX:
        return None
    fields = content.split("\x00")
    if len(fields) == len(CONTENT_FIELDS):
        fields += ["-"] * len(STRUCTURED_FIELDS)
    if len(fields) != len(CONTENT_FIELDS) + len(STRUCTURED_FIELDS):
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
    name). ``counterparty`` and ``business_references`` (see
    [`structured_fields`][medinv.chain.structured_fields]) read the same way.

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


def select_item_numbers(keys: Sequence[tuple[str, ...]]) -> tuple[str, list[str]]:
    """The statement that reads the numbers of the items with these key columns."""
    values = ", ".join(["(?, ?, ?)"] * len(keys))
    sql = (
        f"WITH v (gtin, lot, serial) AS (VALUES {values}) "  # noqa: S608  (placeholders only)
        "SELECT i.item_no, i.gtin, i.lot, i.serial FROM item_keys AS i "
        "JOIN v ON i.gtin = v.gtin AND i.lot = v.lot AND i.serial = v.serial"
    )
    return sql, [part for key in keys for part in key]


def select_location_numbers(keys: Sequence[tuple[str, ...]]) -> tuple[str, list[str]]:
    """The statement that reads the numbers of the locations with these paths."""
    marks = ", ".join("?" * len(keys))
    return (
        f"SELECT location_no, path FROM locations WHERE path IN ({marks})",  # noqa: S608  (placeholders only)
        [path for (path,) in keys],
    )


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size``: one statement's worth of parameters each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def tagged_blocks(spans: Sequence[Span]) -> tuple[str, list[str]]:
    """The ``tag_blocks`` rows ``(start, tags)`` of the eras holding a tag in one of ``spans``.

    Parameters: for each span its tag (and upper bound), then ``after_position``
    and ``up_to_position`` (``NULL``: to the head), each twice: for the eras and for
    the blocks. Each span is one seek (or one range) of ``tag_eras``; each era
    found, one range of ``tag_blocks``. Which of those blocks hold a tag of the
    spans, the store checks ([`holds`][medinv.adapters._tags.holds]).
    """
    clauses, params = span_terms(spans, "?")
    shift = BLOCK_BITS + TAG_ERA_BITS  # an era's blocks hold 2**shift positions
    return (
        f"SELECT t.start, t.tags FROM (SELECT DISTINCT era FROM tag_eras WHERE ({clauses}) "  # noqa: S608  (placeholders only)
        f"AND era >= (? >> {shift}) AND era <= (coalesce(?, {MAX_POSITION}) >> {shift})) AS eras "
        f"CROSS JOIN tag_blocks AS t WHERE t.start >= (eras.era << {shift}) "
        f"AND t.start < ((eras.era + 1) << {shift}) "
        f"AND t.start >= (((? + 1) >> {BLOCK_BITS}) << {BLOCK_BITS}) "
        f"AND t.start <= coalesce(?, {MAX_POSITION})"
    ), params


def movements_of_blocks(count: int) -> str:
    """The movements of ``count`` blocks of positions, in position order.

    Parameters: the blocks, then ``after_position`` and ``up_to_position`` (``NULL``:
    to the head). Each block is one range of the movements' key.
    """
    blocks = ", ".join(["(?)"] * count)
    bits = BLOCK_BITS
    return (
        f"WITH b (block) AS (VALUES {blocks}) SELECT {MOVEMENT_COLUMNS} "  # noqa: S608  (placeholders only)
        f"FROM b CROSS JOIN movements WHERE position >= (b.block << {bits}) "
        f"AND position < ((b.block + 1) << {bits}) AND position > ? "
        "AND position <= coalesce(?, position) ORDER BY position"
    )


def expiring_items(query: PositionQuery) -> tuple[str, list[object]]:
    """The numbers of the items whose lot or item record expires in the window (by index)."""
    lots, items, params = expiry_terms(query, "?")
    return (
        "SELECT k2.item_no FROM lots AS l2 CROSS JOIN item_keys AS k2 "  # noqa: S608  (constant fragments)
        f"ON k2.gtin = l2.gtin AND k2.lot = l2.lot WHERE {lots} UNION "
        "SELECT k2.item_no FROM items AS i2 CROSS JOIN item_keys AS k2 ON k2.gtin = i2.gtin "
        f"AND k2.lot = i2.lot AND k2.serial = i2.serial WHERE {items}"
    ), [str(v) for v in params]  # dates are ISO text in SQLite
