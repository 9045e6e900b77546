"""The PostgreSQL store's schema: each table written once, and the migrations from older versions.

A new schema is created from ``SCHEMA``; an older one gets the steps of
[`MIGRATIONS`][medinv.adapters.postgres.MIGRATIONS] it lacks. Each table is written
once, in the step that made it as it is now, and ``SCHEMA`` is those tables; a
test checks that both ways end in the same catalog (tables, columns, types,
constraints, indexes). ``{s}`` stands for the quoted schema name.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import psycopg
from psycopg import sql

from medinv.adapters._base import Migration
from medinv.adapters._catalogue_sql import SET_CHAIN, SET_HEAD, TO_CHAIN, chained
from medinv.adapters._checkpoints_sql import CREATE as CHECKPOINTS_TABLE
from medinv.adapters._tags import block_tags
from medinv.adapters.postgres._sql import SQL
from medinv.chain import GENESIS_HASH, MovementDecoder
from medinv.errors import StorageError
from medinv.movements import Movement

__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "VERSION_TABLE", "create_or_migrate"]

_LEDGER: Final = (
    """CREATE TABLE {s}.movements (
            position bigint NOT NULL,
            id text NOT NULL,
            kind text NOT NULL,
            gtin text NOT NULL,
            lot text NOT NULL,
            serial text NOT NULL,
            quantity bigint NOT NULL,
            occurred_at text NOT NULL,
            actor text NOT NULL,
            from_location text COLLATE "C",
            from_status text,
            to_location text COLLATE "C",
            to_status text,
            reason text,
            reference text,
            expiry date,
            reverses text,
            recorded_at text NOT NULL,
            prev_hash text NOT NULL,
            hash text NOT NULL,
            CONSTRAINT movements_position_key PRIMARY KEY (position),
            CONSTRAINT movements_id_key UNIQUE (id),
            CONSTRAINT movements_reverses_key UNIQUE (reverses)
        )""",
    "CREATE INDEX movements_item_idx ON {s}.movements (gtin, lot, serial, position)",
    "CREATE INDEX movements_lot_idx ON {s}.movements (lot, position) WHERE lot <> ''",
    "CREATE INDEX movements_serial_idx ON {s}.movements (serial, position) WHERE serial <> ''",
    """CREATE TABLE {s}.balances (
            gtin text NOT NULL,
            lot text NOT NULL,
            serial text NOT NULL,
            location text COLLATE "C" NOT NULL,
            status text NOT NULL,
            quantity bigint NOT NULL CHECK (quantity >= 0),
            CONSTRAINT balances_key PRIMARY KEY (gtin, lot, serial, location, status)
        )""",
    "CREATE INDEX balances_lot_idx ON {s}.balances (lot) WHERE lot <> ''",
    "CREATE INDEX balances_serial_idx ON {s}.balances (serial) WHERE serial <> ''",
    "CREATE INDEX balances_location_idx ON {s}.balances (location)",
    """CREATE TABLE {s}.lots (
            gtin text NOT NULL,
            lot text NOT NULL,
            expiry date,
            CONSTRAINT lots_key PRIMARY KEY (gtin, lot)
        )""",
    """CREATE TABLE {s}.items (
            gtin text NOT NULL,
            lot text NOT NULL,
            serial text NOT NULL,
            first_received_at text NOT NULL,
            expiry date,
            CONSTRAINT items_key PRIMARY KEY (gtin, lot, serial)
        )""",
    """CREATE TABLE {s}.head (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            position bigint NOT NULL,
            hash text NOT NULL
        )""",
    # The genesis hash is a constant of 64 zeros, not input.
    "INSERT INTO {s}.head (position, hash) VALUES (0, '" + GENESIS_HASH + "')",  # noqa: S608
)
"""Movements, balances, lots, items and the head (unchanged since version 1)."""

# IF NOT EXISTS: the previous release's separate stocktake store may have created
# them in this schema already, with the same columns; its own version table gives
# way to the schema's one version.
_STOCKTAKES: Final = (
    """CREATE TABLE IF NOT EXISTS {s}.stocktakes (
            id text PRIMARY KEY,
            state text NOT NULL,
            version integer NOT NULL,
            data text NOT NULL
        )""",
    "CREATE INDEX IF NOT EXISTS stocktakes_state ON {s}.stocktakes (state, id)",
    """CREATE TABLE IF NOT EXISTS {s}.stocktake_lines (
            seq bigserial PRIMARY KEY,
            stocktake_id text NOT NULL REFERENCES {s}.stocktakes (id),
            line_id text NOT NULL,
            data text NOT NULL,
            UNIQUE (stocktake_id, line_id)
        )""",
    "DROP TABLE IF EXISTS {s}.stocktake_schema_version",
)
"""The stocktakes and their count lines (since version 2)."""

_CATALOGUE: Final = (
    """CREATE TABLE {s}.catalogue_versions (
            kind text NOT NULL,
            key text COLLATE "C" NOT NULL,
            valid_from text COLLATE "C" NOT NULL,
            data text NOT NULL,
            CONSTRAINT catalogue_versions_key PRIMARY KEY (kind, key, valid_from)
        )""",
    """CREATE TABLE {s}.catalogue_lookups (
            kind text NOT NULL,
            lookup text NOT NULL,
            key text COLLATE "C" NOT NULL,
            CONSTRAINT catalogue_lookups_key PRIMARY KEY (kind, lookup)
        )""",
)
"""The catalogue's versions and lookups (since version 3; see the SQLite schema 6)."""

_STRUCTURED: Final = (
    "ALTER TABLE {s}.movements ADD COLUMN counterparty text, ADD COLUMN business_references text",
    """CREATE TABLE {s}.movement_links (
            link text COLLATE "C" NOT NULL,
            position bigint NOT NULL,
            CONSTRAINT movement_links_key PRIMARY KEY (link, position)
        )""",
)
"""A movement's counterparty and business references (as
``medinv.chain.structured_fields`` gives them; NULL when absent) and their index,
one row per (link, position) (since version 4; see the SQLite schema 7)."""

_CATALOGUE_CHAIN: Final = (
    "ALTER TABLE {s}.catalogue_versions ADD COLUMN seq bigint",
    "ALTER TABLE {s}.catalogue_versions ADD COLUMN prev_hash text",
    "ALTER TABLE {s}.catalogue_versions ADD COLUMN hash text",
    "CREATE UNIQUE INDEX catalogue_versions_by_seq ON {s}.catalogue_versions (seq)",
    """CREATE TABLE {s}.catalogue_head (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            position bigint NOT NULL,
            hash text NOT NULL
        )""",
    # The genesis hash is a constant of 64 zeros, not input.
    "INSERT INTO {s}.catalogue_head (position, hash) VALUES (0, '" + GENESIS_HASH + "')",  # noqa: S608
)
"""The catalogue's versions chained, and its head (since version 5; see the SQLite schema 8).
Versions a schema already holds are chained in the order of their moments."""

_RESERVATIONS: Final = (
    """CREATE TABLE {s}.reservations (
            id text COLLATE "C" NOT NULL,
            expires_at text COLLATE "C" NOT NULL,
            data text NOT NULL,
            CONSTRAINT reservations_key PRIMARY KEY (id)
        )""",
    "CREATE INDEX reservations_expiry_idx ON {s}.reservations (expires_at)",
    """CREATE TABLE {s}.reservation_holds (
            gtin text NOT NULL,
            lot text NOT NULL,
            serial text NOT NULL,
            location text COLLATE "C" NOT NULL,
            reservation_id text COLLATE "C" NOT NULL,
            quantity bigint NOT NULL CHECK (quantity > 0),
            expires_at text COLLATE "C" NOT NULL,
            CONSTRAINT reservation_holds_key
                PRIMARY KEY (gtin, lot, serial, location, reservation_id)
        )""",
    "CREATE INDEX reservation_holds_reservation_idx ON {s}.reservation_holds (reservation_id)",
    "CREATE INDEX reservation_holds_expiry_idx ON {s}.reservation_holds (expires_at)",
)
"""FEFO reservations and their holds (since version 6; see the SQLite schema 9)."""

_TAGS: Final = (
    """CREATE TABLE {s}.movement_tags (
            tag text COLLATE "C" NOT NULL,
            block bigint NOT NULL,
            CONSTRAINT movement_tags_key PRIMARY KEY (tag, block)
        )""",
    "CREATE INDEX lots_expiry_idx ON {s}.lots (expiry)",
    "CREATE INDEX items_expiry_idx ON {s}.items (expiry)",
    # A product's history in position order straight from one index: with only the
    # (gtin, lot, serial, position) one, "gtin = ? ORDER BY position LIMIT n" must
    # either sort the product's movements or walk the whole ledger in position order.
    "CREATE INDEX movements_gtin_idx ON {s}.movements (gtin, position)",
)
"""The movement tags, the expiry indexes and a product's history index (since version 7;
see the SQLite schema 10).

``COLLATE "C"``: tags compare byte by byte, so that a location subtree and a time
window are ranges of the index whatever the database's collation."""
_TAGS_VERSION: Final = 7

_CHECKPOINTS: Final = (CHECKPOINTS_TABLE.replace("{t}", "{s}.feed_checkpoints"),)
"""The change feed's consumer checkpoints (since version 8; see the SQLite schema 11)."""

_RECALLS: Final = (
    """CREATE TABLE {s}.recall_events (
            campaign_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            kind text NOT NULL,
            data text NOT NULL,
            CONSTRAINT recall_events_key PRIMARY KEY (campaign_id, seq)
        )""",
)
"""Recall campaigns' events, append-only (since version 9; see the SQLite schema 12)."""

_SYNC: Final = (
    """CREATE TABLE {s}.sync_events (
            event_id text COLLATE "C" PRIMARY KEY,
            device_id text COLLATE "C" NOT NULL,
            seq bigint NOT NULL,
            outcome text NOT NULL,
            data text NOT NULL
        )""",
    "CREATE INDEX sync_events_seq_idx ON {s}.sync_events (device_id, seq)",
    "CREATE INDEX sync_events_held_idx ON {s}.sync_events (device_id, seq) WHERE outcome = 'held'",
    """CREATE TABLE {s}.sync_deliveries (
            no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            device_id text COLLATE "C" NOT NULL,
            event_id text COLLATE "C" NOT NULL,
            kind text NOT NULL
        )""",
    """CREATE TABLE {s}.sync_conflicts (
            no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text COLLATE "C" NOT NULL UNIQUE,
            device_id text COLLATE "C" NOT NULL,
            data text NOT NULL
        )""",
    """CREATE TABLE {s}.sync_resolutions (
            no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            conflict_id text COLLATE "C" NOT NULL UNIQUE,
            data text NOT NULL
        )""",
    """CREATE TABLE {s}.sync_gaps (
            no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            device_id text COLLATE "C" NOT NULL,
            data text NOT NULL
        )""",
    """CREATE TABLE {s}.sync_cursors (
            device_id text COLLATE "C" PRIMARY KEY,
            next_seq bigint NOT NULL
        )""",
)
"""The device sync inbox (since version 10; see the SQLite schema 13)."""

_COLDCHAIN: Final = (
    """CREATE TABLE {s}.coldchain_excursions (
            id text COLLATE "C" NOT NULL,
            sensor text NOT NULL,
            location text COLLATE "C" NOT NULL,
            start_at text COLLATE "C" NOT NULL,
            is_open integer NOT NULL,
            data text NOT NULL,
            CONSTRAINT coldchain_excursions_key PRIMARY KEY (id)
        )""",
    "CREATE INDEX coldchain_excursions_start_idx ON {s}.coldchain_excursions (start_at, id)",
    """CREATE TABLE {s}.coldchain_decisions (
            excursion_id text COLLATE "C" NOT NULL,
            data text NOT NULL,
            CONSTRAINT coldchain_decisions_key PRIMARY KEY (excursion_id)
        )""",
)
"""The cold chain's excursions and quality decisions (since version 11; see the SQLite
schema 14)."""

_PROJECTIONS: Final = (
    """CREATE TABLE {s}.projections (
            name text COLLATE "C" NOT NULL,
            position bigint NOT NULL,
            timezone text NOT NULL,
            CONSTRAINT projections_key PRIMARY KEY (name)
        )""",
    """CREATE TABLE {s}.projection_rows (
            name text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            data text NOT NULL,
            CONSTRAINT projection_rows_key PRIMARY KEY (name, key)
        )""",
)
"""Projections kept beside the ledger (since version 12; see the SQLite schema 15)."""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "movements, balances, lots, items, head", _LEDGER),
    Migration(
        2,
        "stocktakes and their count lines in the ledger's schema (one schema version)",
        _STOCKTAKES,
    ),
    Migration(
        3,
        "the catalogue: effective-dated products, location profiles and parties, and "
        "which product owns each DI and which party each GLN",
        _CATALOGUE,
    ),
    Migration(
        4,
        "movements' counterparty and business references, and the index of movements by either",
        _STRUCTURED,
    ),
    Migration(
        5,
        "catalogue versions chained: a sequence number, the previous hash and a hash "
        "per version, and the catalogue's head; existing versions chained by moment",
        _CATALOGUE_CHAIN,
    ),
    Migration(
        6,
        "FEFO reservations and the units each holds per item and location, shared by "
        "every process on the schema",
        _RESERVATIONS,
    ),
    Migration(
        _TAGS_VERSION,
        "movement tags (kind, actor, occurred-at, location, reference) in one index, and "
        "lots and items indexed by expiry, for the stock controller's queries",
        _TAGS,
    ),
    Migration(
        8,
        "the change feed's consumer checkpoints (position and hash of the last change "
        "each consumer applied)",
        _CHECKPOINTS,
    ),
    Migration(
        9,
        "recall campaigns: each campaign's events (opened, notified, responses, closed), "
        "append-only",
        _RECALLS,
    ),
    Migration(
        10,
        "the device sync inbox: events and their outcomes, the delivery log, conflicts, "
        "resolutions, released gaps and device cursors",
        _SYNC,
    ),
    Migration(
        11,
        "the cold chain: temperature excursions and the quality decisions on them",
        _COLDCHAIN,
    ),
    Migration(
        12,
        "projections kept beside the ledger (the daily demand of the analytics): the "
        "position each has folded in, and one JSON text per key",
        _PROJECTIONS,
    ),
)
"""The schema's history, oldest first; a schema is at the version of the last step applied."""

SCHEMA_VERSION: Final = MIGRATIONS[-1].version
"""The schema version this medinv writes; opening an older schema migrates it."""

SCHEMA: Final = (
    *_LEDGER,
    *_STOCKTAKES,
    *_CATALOGUE,
    *_STRUCTURED,
    *_CATALOGUE_CHAIN,
    *_RESERVATIONS,
    *_TAGS,
    *_CHECKPOINTS,
    *_RECALLS,
    *_SYNC,
    *_COLDCHAIN,
    *_PROJECTIONS,
)
"""The DDL of a new schema at ``SCHEMA_VERSION``."""

VERSION_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer PRIMARY KEY,"
    " description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
)
"""The table of applied migrations (every version of the schema has it)."""

_OLD_STOCKTAKE_VERSION: Final = 1
"""The last version of the previous release's separate stocktake tables."""


def create_or_migrate(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the schema, or migrate it to ``SCHEMA_VERSION``, in one transaction.

    Serialised between processes by an advisory lock on the schema's name, so
    many processes may open the same schema at once.

    Raises:
        StorageError: the schema is newer than this medinv, or holds stocktake
            tables a newer release of the former separate store wrote.
        psycopg.Error: the server refused (the caller translates it).
    """
    s = sql.Identifier(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"medinv.schema.{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
        conn.execute(sql.SQL(VERSION_TABLE).format(s=s))
        row = conn.execute(
            sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(s)
        ).fetchone()
        current = 0 if row is None else int(row[0])
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"schema {schema!r} is at version {current}, newer than the "
                f"version {SCHEMA_VERSION} this medinv supports; upgrade medinv"
            )
        if current == SCHEMA_VERSION:
            return
        _check_old_stocktake_version(conn, schema)
        statements = (
            SCHEMA
            if current == 0
            else [t for m in MIGRATIONS if m.version > current for t in m.statements]
        )
        for statement in statements:
            conn.execute(sql.SQL(statement).format(s=s))
        if current < _CHAINED_CATALOGUE:
            _chain_catalogue(conn, s)
        if 0 < current < _TAGS_VERSION:
            _tag_stored_movements(conn, s)
        for migration in MIGRATIONS:
            if migration.version > current:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {}.schema_version (version, description) VALUES (%s, %s)"
                    ).format(s),
                    (migration.version, migration.description),
                )


_CHAINED_CATALOGUE: Final = 5
"""The version from which catalogue versions are chained as they are written."""


def _chain_catalogue(conn: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """Chain the catalogue versions a schema kept before version 5 (none in a new one)."""

    def q(statement: str) -> sql.Composed:
        return sql.SQL(statement.format(p="{s}.").replace("?", "%s")).format(s=s)

    updates, (position, digest) = chained(conn.execute(q(TO_CHAIN)).fetchall())
    if updates:
        with conn.cursor() as cursor:
            cursor.executemany(q(SET_CHAIN), updates)
        conn.execute(q(SET_HEAD), (position, digest))


def _check_old_stocktake_version(conn: psycopg.Connection[Any], schema: str) -> None:
    """Refuse stocktake tables a newer release of the former separate store wrote."""
    found = conn.execute(
        "SELECT to_regclass(%s)", (f"{schema}.stocktake_schema_version",)
    ).fetchone()
    if found is None or found[0] is None:
        return
    row = conn.execute(
        sql.SQL("SELECT max(version) FROM {}.stocktake_schema_version").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    if row is not None and row[0] is not None and row[0] > _OLD_STOCKTAKE_VERSION:
        raise StorageError(
            f"the stocktake tables of {schema!r} are at stocktake schema version "
            f"{row[0]}, newer than this medinv knows ({_OLD_STOCKTAKE_VERSION}); "
            "upgrade medinv"
        )


def _tag_stored_movements(conn: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """Write the tags of every stored movement (migration to version 4), page by page."""
    decoder = MovementDecoder()
    select = sql.SQL(
        "SELECT position, id, kind, gtin, lot, serial, quantity, occurred_at, actor, "
        "from_location, from_status, to_location, to_status, reason, reference, expiry, "
        "reverses FROM {}.movements WHERE position > %s ORDER BY position LIMIT 4096"
    ).format(s)
    insert = sql.SQL(SQL["add_tags"]).format(s=s)
    after = 0
    while rows := conn.execute(select, (after,)).fetchall():
        stored = [_Stored(int(position), decoder.fields(*fields)) for position, *fields in rows]
        pairs = block_tags(stored)
        conn.execute(insert, ([tag for tag, _ in pairs], [block for _, block in pairs]))
        after = rows[-1][0]


class _Stored(NamedTuple):
    """What `block_tags` reads of a stored movement."""

    position: int
    movement: Movement
