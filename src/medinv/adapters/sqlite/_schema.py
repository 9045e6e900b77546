"""The SQLite store's schema: the current one, written once, and the migrations from each older one.

A new file is created from ``SCHEMA`` directly.
A file of an older version gets the steps of
[`MIGRATIONS`][medinv.adapters.sqlite.MIGRATIONS] it lacks; a test checks that
both end in exactly the same schema (tables, columns, indexes and version).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from typing import Final, NamedTuple

from medinv.adapters._base import Migration
from medinv.adapters._catalogue_sql import SET_CHAIN, SET_HEAD, TO_CHAIN, chained
from medinv.adapters._checkpoints_sql import CREATE as CHECKPOINTS_TABLE
from medinv.adapters._tags import BLOCK_BITS, Positioned, packed_tags
from medinv.chain import GENESIS_HASH, MovementDecoder
from medinv.errors import StorageError
from medinv.movements import Movement
from medinv.status import StockStatus

_INSERT_GENESIS_HEAD: Final = (
    f"INSERT INTO head (singleton, position, hash) VALUES (1, 0, '{GENESIS_HASH}')"  # noqa: S608  (a constant)
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Migration",
    "create_or_migrate",
    "stored_version",
    "write_tags",
]

# The tables (and their indexes) that are still as the migration that made them
# created them; the current schema and that migration share them.
_MOVEMENTS: Final = """
    CREATE TABLE {name} (
        position    INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        item_no     INTEGER NOT NULL,
        reverses    TEXT,
        content     TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        hash        TEXT NOT NULL
    )
    """
_LOTS: Final = (
    """
    CREATE TABLE lots (
        gtin   TEXT NOT NULL,
        lot    TEXT NOT NULL,
        expiry TEXT,
        PRIMARY KEY (gtin, lot)
    ) WITHOUT ROWID
    """,
)
_ITEMS: Final = (
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
)
_HEAD: Final = (
    """
    CREATE TABLE head (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        position  INTEGER NOT NULL,
        hash      TEXT NOT NULL
    )
    """,
    _INSERT_GENESIS_HEAD,
)
_LOCATIONS: Final = (
    "CREATE TABLE locations (location_no INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)"
)
_ITEM_KEYS: Final = (
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
)

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
    *_LOTS,
    *_ITEMS,
    *_HEAD,
)

# Version 2: one compact history index instead of three text indexes. Every item
# that appears in a movement gets a small integer (`item_keys`, store-internal, not
# master data); `movements.item_no` is indexed, and history queries by item, GTIN,
# lot or serial find their item numbers in the small `item_keys` table first.
# An index entry shrinks from ~30 bytes of text to a few bytes, so a batch dirties
# (and writes to the WAL, and fsyncs) about a third of the pages it did.
_SCHEMA_V2: Final = (
    *_ITEM_KEYS,
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
    _LOCATIONS,
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

PERIOD_BITS: Final = 14
"""The history index is kept per period of 2**14 = 16,384 positions (see schema 4)."""

_SCHEMA_V4: Final = (
    # A movement's previous hash is the hash of the movement before it: not stored
    # twice. (Reading a movement looks it up; `verify()` still recomputes every
    # hash over it, so an edited, deleted or reordered row is still found.)
    _MOVEMENTS.format(name="movements_v4"),
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
    f"CREATE INDEX movements_by_period_item ON movements (position >> {PERIOD_BITS}, item_no)",
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

# Version 6: the catalogue (products, location profiles, parties), effective-dated.
# One row per version: kind ('product', 'location', 'party'), key (the primary DI
# as 'AGENCY:DI', the location path joined with '/', the party's 'KIND:id'), the
# moment it is valid from as UTC text that sorts in time order, and the version as
# JSON (medinv.adapters._catalogue_json). `catalogue_lookups` says which entry owns
# each DI of a product ('di') and each party GLN ('gln'): a DI belongs to one
# product, a GLN to one party.
_SCHEMA_V6: Final = (
    """
    CREATE TABLE catalogue_versions (
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        valid_from TEXT NOT NULL,
        data       TEXT NOT NULL,
        PRIMARY KEY (kind, key, valid_from)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE catalogue_lookups (
        kind   TEXT NOT NULL,
        lookup TEXT NOT NULL,
        key    TEXT NOT NULL,
        PRIMARY KEY (kind, lookup)
    ) WITHOUT ROWID
    """,
)

# Version 7: movements by counterparty and by business reference. Both live in the
# movement's hashed content (two more content fields, only when present); this
# table is their index: one row per (link, position), the link being
# 'party:KIND:id' or 'ref:type:id' (medinv.chain.link_keys). A separate
# table rather than columns: a movement has any number of business references,
# and the many movements with neither cost nothing. No release before version 7
# could store either field, so there is nothing to fill in.
_SCHEMA_V7: Final = (
    """
    CREATE TABLE movement_links (
        link     TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (link, position)
    ) WITHOUT ROWID
    """,
)

# Version 8: the catalogue's versions chained like the movements. Each version gets
# its sequence number in the order written (one sequence for the whole catalogue),
# the hash of the version written before it and its own hash over that hash, its
# kind and its JSON (medinv.verification.catalogue_hash); `catalogue_head` keeps the
# last sequence number and hash. The versions a file already holds are chained in
# the order of their moments when it is migrated (create_or_migrate).
_SCHEMA_V8: Final = (
    "ALTER TABLE catalogue_versions ADD COLUMN seq INTEGER",
    "ALTER TABLE catalogue_versions ADD COLUMN prev_hash TEXT",
    "ALTER TABLE catalogue_versions ADD COLUMN hash TEXT",
    "CREATE UNIQUE INDEX catalogue_versions_by_seq ON catalogue_versions (seq)",
    """
    CREATE TABLE catalogue_head (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        position  INTEGER NOT NULL,
        hash      TEXT NOT NULL
    )
    """,
    f"INSERT INTO catalogue_head (singleton, position, hash) VALUES (1, 0, '{GENESIS_HASH}')",  # noqa: S608  (a constant)
)

# Version 9: FEFO reservations, shared by every process on the file. One row per
# reservation (its id, its expiry moment as UTC text that sorts in time order, the
# reservation as JSON: medinv.adapters._reservations_json) and one per unit it holds
# of an item at a location, keyed by the item first: what the reservations in force
# hold of an item is one range of that key.
_SCHEMA_V9: Final = (
    """
    CREATE TABLE reservations (
        id         TEXT PRIMARY KEY,
        expires_at TEXT NOT NULL,
        data       TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX reservations_by_expiry ON reservations (expires_at)",
    """
    CREATE TABLE reservation_holds (
        gtin           TEXT NOT NULL,
        lot            TEXT NOT NULL,
        serial         TEXT NOT NULL,
        location       TEXT NOT NULL,
        reservation_id TEXT NOT NULL,
        quantity       INTEGER NOT NULL,
        expires_at     TEXT NOT NULL,
        PRIMARY KEY (gtin, lot, serial, location, reservation_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX reservation_holds_by_reservation ON reservation_holds (reservation_id)",
    "CREATE INDEX reservation_holds_by_expiry ON reservation_holds (expires_at)",
)

# Version 10: the stock controller's queries. `movement_tags` holds the tags of the
# movements (kind and UTC hour, normalised actor, the path of each location they
# touch, reference: medinv.adapters._tags) by block of 64 positions, keyed (tag,
# block): one B-tree answers every movement filter beyond the item ones by an
# equality or a range of its key. Lots and items get an index by expiry for the expiry window of
# stock positions. A file migrated to it gets the tags of its movements in the
# same transaction (`_tag_stored_movements`). Version 16 keeps them otherwise.
_SCHEMA_V10: Final = (
    """
    CREATE TABLE movement_tags (
        tag   TEXT NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (tag, block)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX lots_by_expiry ON lots (expiry)",
    "CREATE INDEX items_by_expiry ON items (expiry)",
)
_TAGS_VERSION: Final = 10

# Version 11: the change feed's consumer checkpoints, for consumers without a
# database of their own (medinv.adapters._checkpoints_sql).
_SCHEMA_V11: Final = (CHECKPOINTS_TABLE.replace("{t}", "feed_checkpoints"),)

# Version 12: recall campaigns. One row per event of a campaign (opened, a party
# notified, a party's response, closed), numbered per campaign, as JSON
# (medinv.adapters._recalls_base); rows are only ever inserted.
_SCHEMA_V12: Final = (
    """
    CREATE TABLE recall_events (
        campaign_id TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        data        TEXT NOT NULL,
        PRIMARY KEY (campaign_id, seq)
    ) WITHOUT ROWID
    """,
)

# Version 13: the device sync inbox (medinv.sync, medinv.adapters._sync_sql): each
# event with its device, sequence number and outcome (the record as JSON), held
# events as one range of a partial index, the append-only delivery log, conflicts,
# resolutions and released gaps in the order recorded, and each device's cursor.
_SCHEMA_V13: Final = (
    """
    CREATE TABLE sync_events (
        event_id  TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        outcome   TEXT NOT NULL,
        data      TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX sync_events_by_seq ON sync_events (device_id, seq)",
    "CREATE INDEX sync_events_held ON sync_events (device_id, seq) WHERE outcome = 'held'",
    """
    CREATE TABLE sync_deliveries (
        no        INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        event_id  TEXT NOT NULL,
        kind      TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sync_conflicts (
        no        INTEGER PRIMARY KEY,
        id        TEXT NOT NULL UNIQUE,
        device_id TEXT NOT NULL,
        data      TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sync_resolutions (
        no          INTEGER PRIMARY KEY,
        conflict_id TEXT NOT NULL UNIQUE,
        data        TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sync_gaps (
        no        INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        data      TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE sync_cursors (
        device_id TEXT PRIMARY KEY,
        next_seq  INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
)

# Version 14: the cold chain's records. One row per excursion (its deterministic id,
# sensor, location path, start as UTC text, whether it is still open, the excursion
# as JSON: medinv.coldchain.excursion_to_json) and one per quality decision on an
# excursion. Readings are not stored.
_SCHEMA_V14: Final = (
    """
    CREATE TABLE coldchain_excursions (
        id       TEXT PRIMARY KEY,
        sensor   TEXT NOT NULL,
        location TEXT NOT NULL,
        start_at TEXT NOT NULL,
        is_open  INTEGER NOT NULL,
        data     TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX coldchain_excursions_by_start ON coldchain_excursions (start_at, id)",
    """
    CREATE TABLE coldchain_decisions (
        excursion_id TEXT PRIMARY KEY,
        data         TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)

# Version 15: projections kept beside the ledger (the daily demand of
# medinv.analytics.DemandProjection): per projection, the ledger position it has
# folded in and its time zone; per projection and key, one JSON text. A catch-up
# rewrites only the keys it changed, and only if the stored position is still
# the one it started from.
_SCHEMA_V15: Final = (
    """
    CREATE TABLE projections (
        name     TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        timezone TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE projection_rows (
        name TEXT NOT NULL,
        key  TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID
    """,
)

TAG_ERA_BITS: Final = 4
"""``tag_eras`` records which eras of 2**4 = 16 blocks (1,024 positions) hold a tag."""

# Version 16: the movement tags laid out so that a commit writes few rows
# (measured by benchmarks/bench_ledger.py: keyed (tag, block), a commit of 1,000
# movements wrote about 620 rows, one per distinct tag and block, each tag in its
# own part of the key). `tag_blocks` holds one row per block and commit (keyed by
# the first position it covers, so a commit's rows append at the end of the
# table): the block's distinct tags in one text, NUL between them. `tag_eras`
# holds which eras of 16 blocks hold each tag: a busy era repeats its tags, so a
# commit adds few rows there. A query finds the eras of its tags, reads their
# blocks' rows and keeps the blocks holding one (medinv.adapters._tags.holds).
# A file migrated to it gets its tag rows regrouped in the same transaction.
_TAG_TABLES: Final = (
    """
    CREATE TABLE tag_blocks (
        start INTEGER PRIMARY KEY,
        tags  TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE tag_eras (
        tag TEXT NOT NULL,
        era INTEGER NOT NULL,
        PRIMARY KEY (tag, era)
    ) WITHOUT ROWID
    """,
)
_SCHEMA_V16: Final = (
    *_TAG_TABLES,
    (
        "INSERT INTO tag_blocks (start, tags) "  # noqa: S608  (constant SQL)
        f"SELECT block << {BLOCK_BITS}, group_concat(tag, char(0)) "
        "FROM movement_tags GROUP BY block"
    ),
    (
        "INSERT INTO tag_eras (tag, era) "  # noqa: S608  (constant SQL)
        f"SELECT DISTINCT tag, block >> {TAG_ERA_BITS} FROM movement_tags"
    ),
    "DROP TABLE movement_tags",
)

# Version 17: the balance projection keyed by one integer, the item number, the
# location number and a status code packed together (`balance_key`), in a rowid
# table. A commit upserts about one balance per movement; keyed by three columns in
# a WITHOUT ROWID table, each upsert compared records and rewrote the row through
# the index B-tree. Measured by benchmarks/bench_ledger.py (December 2026): the
# balance upserts of a commit, with their share of its pages, cost about a quarter
# less. An item's balances are still one range of the key (item number first). The
# location number is also a column of its own, indexed: SQLite joins through an
# index on a column, not through one on an expression of the key.
ITEM_SHIFT: Final = 32
"""``balance_key >> 32`` is the item number (below 2**31)."""
LOCATION_SHIFT: Final = 4
"""``balance_key >> 4`` holds the location number (below 2**28) in its low bits."""
STATUS_MASK: Final = (1 << LOCATION_SHIFT) - 1
"""``balance_key & 15`` is the status code (`STATUS_CODES`)."""
ITEM_LIMIT: Final = 1 << 31
"""Item numbers a balance key holds: 0 to 2**31 - 1."""
LOCATION_LIMIT: Final = 1 << (ITEM_SHIFT - LOCATION_SHIFT)
"""Location numbers a balance key holds: 0 to 2**28 - 1."""
STATUS_CODES: Final = {
    StockStatus.AVAILABLE: 0,
    StockStatus.QUARANTINE: 1,
    StockStatus.HOLD: 2,
    StockStatus.RECALLED: 3,
    StockStatus.DAMAGED: 4,
}
"""The status part of a balance key. Stored in every file: never renumber a status."""
_STATUS_TEXT: Final = " ".join(
    f"WHEN '{status.value}' THEN {code}" for status, code in STATUS_CODES.items()
)
_BALANCES: Final = """
    CREATE TABLE {name} (
        balance_key INTEGER PRIMARY KEY,
        location_no INTEGER NOT NULL,
        quantity    INTEGER NOT NULL
    )
    """
_BALANCE_INDEXES: Final = (
    # `balance_key` is the table's rowid: both indexes hold it after their column.
    "CREATE INDEX balances_by_location ON balances (location_no)",
    "CREATE INDEX balances_emptied ON balances (quantity) WHERE quantity = 0",
)
_SCHEMA_V17: Final = (
    _BALANCES.format(name="balances_v17"),
    (
        "INSERT INTO balances_v17 (balance_key, location_no, quantity) "  # noqa: S608  (constant SQL)
        f"SELECT (item_no << {ITEM_SHIFT}) | (location_no << {LOCATION_SHIFT}) "
        f"| CASE status {_STATUS_TEXT} END, location_no, quantity "
        "FROM balances WHERE quantity <> 0 ORDER BY 1"
    ),
    "DROP TABLE balances",
    "ALTER TABLE balances_v17 RENAME TO balances",
    *_BALANCE_INDEXES,
)
_PACKED_BALANCES_VERSION: Final = 17

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
    Migration(
        6,
        "the catalogue: effective-dated products, location profiles and parties, and "
        "which product owns each DI and which party each GLN",
        _SCHEMA_V6,
    ),
    Migration(
        7,
        "movements by counterparty and by business reference: the index of both "
        "(the fields themselves are in the hashed content)",
        _SCHEMA_V7,
    ),
    Migration(
        8,
        "catalogue versions chained: a sequence number, the previous hash and a hash "
        "per version, and the catalogue's head; existing versions chained by moment",
        _SCHEMA_V8,
    ),
    Migration(
        9,
        "FEFO reservations and the units each holds per item and location, shared by "
        "every process on the file",
        _SCHEMA_V9,
    ),
    Migration(
        _TAGS_VERSION,
        "movement tags (kind, actor, occurred-at, location, reference) in one index, and "
        "lots and items indexed by expiry, for the stock controller's queries",
        _SCHEMA_V10,
    ),
    Migration(
        11,
        "the change feed's consumer checkpoints (position and hash of the last change "
        "each consumer applied)",
        _SCHEMA_V11,
    ),
    Migration(
        12,
        "recall campaigns: each campaign's events (opened, notified, responses, closed), "
        "append-only",
        _SCHEMA_V12,
    ),
    Migration(
        13,
        "the device sync inbox: events and their outcomes, the delivery log, conflicts, "
        "resolutions, released gaps and device cursors",
        _SCHEMA_V13,
    ),
    Migration(
        14,
        "the cold chain: temperature excursions and the quality decisions on them",
        _SCHEMA_V14,
    ),
    Migration(
        15,
        "projections kept beside the ledger (the daily demand of the analytics): the "
        "position each has folded in, and one JSON text per key",
        _SCHEMA_V15,
    ),
    Migration(
        16,
        "the movement tags kept per block (one row per block and commit) with an index of "
        "the eras of 16 blocks holding each tag: a commit writes about a tenth as many rows",
        _SCHEMA_V16,
    ),
    Migration(
        _PACKED_BALANCES_VERSION,
        "the balance projection keyed by one integer (item number, location number and "
        "status code packed together) in a rowid table: a commit's balance upserts cost "
        "about a quarter less",
        _SCHEMA_V17,
    ),
)
"""The schema's history, oldest first; a file is at the version of the last step applied."""

SCHEMA_VERSION: Final = MIGRATIONS[-1].version
"""The schema version this medinv writes; newer files are refused."""

SCHEMA: Final = (
    # The ledger: movements as their hashed content next to the columns the store
    # queries by, the balance projection keyed by item and location numbers, lot and
    # item master data, and the head.
    _MOVEMENTS.format(name="movements"),
    "CREATE UNIQUE INDEX movements_by_reverses ON movements (reverses) WHERE reverses IS NOT NULL",
    f"CREATE INDEX movements_by_period_item ON movements (position >> {PERIOD_BITS}, item_no)",
    *_ITEM_KEYS,
    _LOCATIONS,
    _BALANCES.format(name="balances"),
    *_BALANCE_INDEXES,
    *_LOTS,
    *_ITEMS,
    *_HEAD,
    # The stocktakes (as the last migration adds them: a file of the previous
    # release's separate stocktake store already has them, and keeps them).
    *_SCHEMA_V5,
    # The catalogue (its versions chained as the last migration chains them).
    *_SCHEMA_V6,
    # Movements by counterparty and business reference.
    *_SCHEMA_V7,
    *_SCHEMA_V8,
    # The reservations.
    *_SCHEMA_V9,
    # The expiry indexes (version 10) and the movement tags (as version 16 keeps them).
    *_SCHEMA_V10[1:],
    *_TAG_TABLES,
    # The change feed's checkpoints.
    *_SCHEMA_V11,
    # The recall campaigns.
    *_SCHEMA_V12,
    # The device sync inbox.
    *_SCHEMA_V13,
    # The cold chain's excursions and decisions.
    *_SCHEMA_V14,
    # The projections.
    *_SCHEMA_V15,
)
"""The DDL of a new file at [`SCHEMA_VERSION`][medinv.adapters.sqlite.SCHEMA_VERSION]."""

_OLD_STOCKTAKE_NAMES: Final = frozenset(
    {"medinv_stocktake_schema", "stocktakes", "stocktakes_state", "stocktake_lines"}
)
"""What the previous release's separate stocktake store created in a file of its own."""
_OLD_STOCKTAKE_VERSION: Final = 1
"""The last stocktake schema version of that store."""
_APPLICATION_ID: Final = 0x4D444E56  # "MDNV": marks the file as a medinv ledger


def stored_version(db: sqlite3.Connection, path: str) -> int:
    """The schema version of the open file: 0 for an empty file (or a stocktake-only one).

    Raises:
        StorageError: the file is not a medinv file (it is left untouched), or a
            newer medinv wrote it.
    """
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if application_id == _APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the SQLite ledger {path!r} has schema version {version}, newer than "
                f"this medinv knows ({SCHEMA_VERSION}); upgrade medinv to open it"
            )
        return int(version)
    names = {
        row[0]
        for row in db.execute("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
    }
    if application_id == 0 and names and names <= _OLD_STOCKTAKE_NAMES:
        _check_old_stocktake_version(db, path)
        return 0
    tables = len(names)
    if application_id != 0 or tables:
        raise StorageError(
            f"{path!r} is an SQLite database but not a medinv ledger "
            f"(application id {application_id}, {tables} table(s) or index(es))"
        )
    return 0


def _check_old_stocktake_version(db: sqlite3.Connection, path: str) -> None:
    """A stocktake-only file of the previous release: refuse one a newer medinv wrote."""
    row = None
    with contextlib.suppress(sqlite3.OperationalError):  # no version table: nothing to check
        row = db.execute("SELECT max(version) FROM medinv_stocktake_schema").fetchone()
    if row is not None and row[0] is not None and row[0] > _OLD_STOCKTAKE_VERSION:
        raise StorageError(
            f"the SQLite stocktake file {path!r} has stocktake schema version "
            f"{row[0]}, newer than this medinv knows ({_OLD_STOCKTAKE_VERSION}); "
            "upgrade medinv to open it"
        )


def create_or_migrate(db: sqlite3.Connection, version: int) -> int:
    """Inside the caller's write transaction: take a file at ``version`` to the current one.

    A file without the ledger's tables (version 0) gets ``SCHEMA``;
    an older one the steps of [`MIGRATIONS`][medinv.adapters.sqlite.MIGRATIONS] after
    its version. Returns the version reached.
    """
    if version == 0:
        for statement in SCHEMA:
            db.execute(statement)
    for step in MIGRATIONS if version else ():
        if step.version <= version:
            continue
        if step.version == _PACKED_BALANCES_VERSION:
            _check_balance_keys(db)  # on the balances as the steps before left them
        for statement in step.statements:
            db.execute(statement)
    if version < _CHAINED_CATALOGUE:
        _chain_catalogue(db)
    if 0 < version < _TAGS_VERSION:
        _tag_stored_movements(db)
    db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return SCHEMA_VERSION


def _check_balance_keys(db: sqlite3.Connection) -> None:
    """Before migration 17: refuse a file whose balances the packed key cannot hold.

    Every status must have a code and every item and location number must fit its
    part of the key; otherwise the migration would store a wrong key, silently.
    """
    statuses = ", ".join(f"'{status.value}'" for status in STATUS_CODES)
    bad = db.execute(
        "SELECT item_no, location_no, status FROM balances "  # noqa: S608  (constant SQL)
        f"WHERE quantity <> 0 AND (status NOT IN ({statuses}) "
        f"OR item_no NOT BETWEEN 0 AND {ITEM_LIMIT - 1} "
        f"OR location_no NOT BETWEEN 0 AND {LOCATION_LIMIT - 1}) LIMIT 1"
    ).fetchone()
    if bad is not None:
        raise StorageError(
            "cannot migrate the SQLite ledger to schema 17 (nothing was changed): the "
            f"balance of item number {bad[0]!r}, location number {bad[1]!r} and status "
            f"{bad[2]!r} does not fit a balance key"
        )


_CHAINED_CATALOGUE: Final = 8
"""The version from which catalogue versions are chained as they are written."""


def _chain_catalogue(db: sqlite3.Connection) -> None:
    """Chain the catalogue versions a file kept before version 8 (none in a new file)."""
    updates, (position, digest) = chained(db.execute(TO_CHAIN.format(p="")).fetchall())
    if updates:
        db.executemany(SET_CHAIN.format(p=""), updates)
        db.execute(SET_HEAD.format(p=""), (position, digest))


def _tag_stored_movements(db: sqlite3.Connection) -> None:
    """Write the tags of every stored movement (migration to version 10), page by page."""
    decoder = MovementDecoder()
    after = 0
    while True:
        rows = db.execute(
            "SELECT position, content FROM movements WHERE position > ? ORDER BY position "
            "LIMIT 4096",
            (after,),
        ).fetchall()
        if not rows:
            return
        write_tags(db, [_Stored(position, decoder.content(content)) for position, content in rows])
        after = rows[-1][0]


class _Stored(NamedTuple):
    """What `block_tags` reads of a stored movement."""

    position: int
    movement: Movement


def write_tags(db: sqlite3.Connection, movements: Sequence[Positioned]) -> None:
    """Write the tags of ``movements`` (a commit's, in position order) to the tag tables."""
    parts, eras = packed_tags(movements, TAG_ERA_BITS)
    db.executemany("INSERT INTO tag_blocks (start, tags) VALUES (?, ?)", parts)
    db.executemany("INSERT INTO tag_eras (tag, era) VALUES (?, ?) ON CONFLICT DO NOTHING", eras)
