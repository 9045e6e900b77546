"""The SQL text of the PostgreSQL store; ``{s}`` stands for the quoted schema name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from medinv.adapters._tags import BLOCK_BITS, Span, expiry_terms, span_terms
from medinv.ports import PositionQuery

__all__ = ["MOVEMENT_COLUMNS", "PAGE", "SQL"]

MAX_POSITION: Final = 2**63 - 1
PAGE: Final = 5000
"""Rows per page when streaming movements or balances."""

MOVEMENT_COLUMNS: Final = (
    "position, id, kind, gtin, lot, serial, quantity, occurred_at, actor, from_location,"
    " from_status, to_location, to_status, reason, reference, expiry, reverses,"
    " counterparty, business_references, recorded_at, prev_hash, hash"
)

SQL: Final = {
    "head": "SELECT position, hash FROM {s}.head",
    "lock_head": "SELECT position, hash FROM {s}.head FOR UPDATE",
    "set_head": "UPDATE {s}.head SET position = %s, hash = %s",
    "add_links": """INSERT INTO {s}.movement_links (link, position)
        SELECT * FROM unnest(%s::text[], %s::bigint[])""",
    "linked": (
        "SELECT l.position FROM {s}.movement_links AS l WHERE l.link = %s AND l.position > %s"
    ),
    "copy_movements": f"COPY {{s}}.movements ({MOVEMENT_COLUMNS}) FROM STDIN",
    "add_tags": """INSERT INTO {s}.movement_tags (tag, block)
        SELECT * FROM unnest(%s::text[], %s::bigint[]) ON CONFLICT DO NOTHING""",
    "add_balances": """INSERT INTO {s}.balances AS b (gtin, lot, serial, location, status, quantity)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                             %s::bigint[])
        ON CONFLICT ON CONSTRAINT balances_key
        DO UPDATE SET quantity = b.quantity + excluded.quantity""",
    "take_balances": """UPDATE {s}.balances AS b SET quantity = b.quantity + d.delta
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[])
            AS d(gtin, lot, serial, location, status, delta)
        WHERE b.gtin = d.gtin AND b.lot = d.lot AND b.serial = d.serial
          AND b.location = d.location AND b.status = d.status
        RETURNING b.gtin, b.lot, b.serial, b.location, b.status, b.quantity""",
    "drop_zero_balances": """DELETE FROM {s}.balances AS b
        USING unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
            AS z(gtin, lot, serial, location, status)
        WHERE b.gtin = z.gtin AND b.lot = z.lot AND b.serial = z.serial
          AND b.location = z.location AND b.status = z.status AND b.quantity = 0""",
    "add_lots": """INSERT INTO {s}.lots (gtin, lot, expiry)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::date[])
        ON CONFLICT DO NOTHING""",
    "add_items": """INSERT INTO {s}.items (gtin, lot, serial, first_received_at, expiry)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[])
        ON CONFLICT DO NOTHING""",
    # Column lists are constants; values are always bound parameters.
    "by_id": f"SELECT {MOVEMENT_COLUMNS} FROM {{s}}.movements WHERE id = ANY(%s::text[])",  # noqa: S608
    "reversals": "SELECT reverses, id FROM {s}.movements WHERE reverses = ANY(%s::text[])",
    "lot_expiries": """SELECT l.gtin, l.lot, l.expiry
        FROM unnest(%s::text[], %s::text[]) AS k(gtin, lot)
        JOIN {s}.lots AS l ON l.gtin = k.gtin AND l.lot = k.lot""",
    "item_records": """SELECT i.gtin, i.lot, i.serial, i.first_received_at, i.expiry
        FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(gtin, lot, serial)
        JOIN {s}.items AS i ON i.gtin = k.gtin AND i.lot = k.lot AND i.serial = k.serial""",
    "balances_of": """SELECT b.gtin, b.lot, b.serial, b.location, b.status, b.quantity
        FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(gtin, lot, serial)
        JOIN {s}.balances AS b ON b.gtin = k.gtin AND b.lot = k.lot AND b.serial = k.serial
        WHERE b.quantity <> 0""",
    "positions": """SELECT b.gtin, b.lot, b.serial, b.location, b.status, b.quantity,
               CASE WHEN l.gtin IS NOT NULL THEN l.expiry ELSE i.expiry END,
               i.first_received_at
        FROM {s}.balances AS b
        LEFT JOIN {s}.lots AS l ON l.gtin = b.gtin AND l.lot = b.lot AND b.lot <> ''
        LEFT JOIN {s}.items AS i ON i.gtin = b.gtin AND i.lot = b.lot AND i.serial = b.serial
        WHERE b.quantity <> 0""",
    "movements": f"SELECT {MOVEMENT_COLUMNS} FROM {{s}}.movements WHERE position > %s",  # noqa: S608
    "snapshot_first": """SELECT gtin, lot, serial, location, status, quantity FROM {s}.balances
        ORDER BY gtin, lot, serial, location, status LIMIT %s""",
    "snapshot_next": """SELECT gtin, lot, serial, location, status, quantity FROM {s}.balances
        WHERE (gtin, lot, serial, location, status) > (%s, %s, %s, %s, %s)
        ORDER BY gtin, lot, serial, location, status LIMIT %s""",
}


def tagged_movements(spans: Sequence[Span]) -> tuple[str, list[str]]:
    """The movements of the blocks holding a tag in one of ``spans`` (`medinv.adapters._tags`).

    Parameters: the tags of the spans (the second list returned), then
    ``after_position`` and the last position wanted, for the blocks, then the same
    two for the movements. Each span is one seek or one range of the tag index
    (``COLLATE "C"``: byte order); each block found, one range scan of the
    movements' key (``LATERAL`` and ``OFFSET 0``: the planner may not turn it into
    a scan of the movements filtered by a join, which it did on a ledger whose
    statistics were out of date).
    """
    clauses, params = span_terms(spans, "%s")
    size = 1 << BLOCK_BITS
    return (
        "SELECT m.* FROM (SELECT DISTINCT block FROM {s}.movement_tags "  # noqa: S608  (placeholders only)
        f"WHERE ({clauses}) AND block >= %s::bigint / {size} AND block <= %s::bigint / {size}) "
        f"AS blocks CROSS JOIN LATERAL (SELECT {MOVEMENT_COLUMNS} FROM {{s}}.movements "
        f"WHERE position >= blocks.block * {size} AND position < blocks.block * {size} + {size} "
        "AND position > %s AND position <= %s OFFSET 0) AS m ORDER BY m.position"
    ), params


def expiring_items(query: PositionQuery) -> tuple[str, list[object]]:
    """The condition: a balance's item has a lot or item record with an expiry in the window.

    Read through the expiry indexes of ``lots`` and ``items``; the caller checks the
    position's own expiry (the lot's when the lot is on record) on what is found.
    """
    lots, items, params = expiry_terms(query, "%s")
    return (
        "(b.gtin, b.lot, b.serial) IN (SELECT i3.gtin, i3.lot, i3.serial FROM {s}.lots AS l2 "  # noqa: S608  (constant fragments)
        "JOIN {s}.items AS i3 ON i3.gtin = l2.gtin AND i3.lot = l2.lot "
        f"WHERE l2.lot <> '' AND {lots} UNION "
        f"SELECT i2.gtin, i2.lot, i2.serial FROM {{s}}.items AS i2 WHERE {items})"
    ), params
