"""SQLite files of older schema versions, built the way older releases built them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from medinv.adapters.sqlite import MIGRATIONS

APPLICATION_ID = 0x4D444E56


def replayed(path: Path, version: int) -> sqlite3.Connection:
    """A file at schema ``version`` made by replaying migrations 1 to ``version`` (left open)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for migration in MIGRATIONS[:version]:
        for statement in migration.statements:
            db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("COMMIT")
    return db


def _normalised(sql: str | None) -> str | None:
    if sql is None:
        return None
    text = " ".join(sql.replace('"', "").split())
    return text.replace("( ", "(").replace(" )", ")")


def schema_of(path: Path) -> dict[str, object]:
    """Everything a file's schema is: ``sqlite_master`` rows (SQL normalised), version, id."""
    db = sqlite3.connect(path)
    try:
        rows = sorted(
            (kind, name, table, _normalised(sql))
            for kind, name, table, sql in db.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master"
            )
        )
        columns = {
            name: db.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall()
            for kind, name, _, _ in rows
            if kind == "table"
        }
        indexes = {
            name: db.execute("SELECT * FROM pragma_index_xinfo(?)", (name,)).fetchall()
            for kind, name, _, _ in rows
            if kind == "index"
        }
        return {
            "objects": rows,
            "columns": columns,
            "indexes": indexes,
            "user_version": db.execute("PRAGMA user_version").fetchone()[0],
            "application_id": db.execute("PRAGMA application_id").fetchone()[0],
            "head": db.execute("SELECT * FROM head").fetchall(),
        }
    finally:
        db.close()


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Apply the one migration step that takes the open file to ``version``."""
    db.execute("BEGIN")
    for statement in MIGRATIONS[version - 1].statements:
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("COMMIT")


BALANCES_OF_SCHEMA_16 = (
    """
    CREATE TABLE balances_v16 (
        item_no     INTEGER NOT NULL,
        location_no INTEGER NOT NULL,
        status      TEXT NOT NULL,
        quantity    INTEGER NOT NULL,
        PRIMARY KEY (item_no, location_no, status)
    ) WITHOUT ROWID
    """,
    (
        "INSERT INTO balances_v16 SELECT balance_key >> 32, location_no, CASE balance_key & 15 "
        "WHEN 0 THEN 'AVAILABLE' WHEN 1 THEN 'QUARANTINE' WHEN 2 THEN 'HOLD' "
        "WHEN 3 THEN 'RECALLED' WHEN 4 THEN 'DAMAGED' END, quantity FROM balances"
    ),
    "DROP TABLE balances",
    "ALTER TABLE balances_v16 RENAME TO balances",
    "CREATE INDEX balances_by_location ON balances (location_no)",
    "CREATE INDEX balances_emptied ON balances (item_no) WHERE quantity = 0",
)
"""Statements that put a current file's balance table back as schema 16 kept it."""


def balances_as_in_schema_16(db: sqlite3.Connection) -> None:
    """Give the open file the balance table of schema 16, rows and all (one transaction)."""
    db.execute("BEGIN")
    for statement in BALANCES_OF_SCHEMA_16:
        db.execute(statement)
    db.execute("COMMIT")
