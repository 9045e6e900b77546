"""Catalogue versions written before they were chained get chained when the file is migrated.

SQLite schema 6 and PostgreSQL schema 3 kept catalogue versions without sequence
numbers or hashes; opening such a database chains them in the order of their moments,
so that verification finds nothing, and later puts continue the chain.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from medinv.adapters._catalogue_json import moment_key, version_to_json
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import LocationKind, LocationProfile, Party, PartyKind, Product
from medinv.dates import to_datetime
from medinv.testing.catalogue_contract import sample_product
from medinv.verification import verify_catalogue

from ._pg_schemas import replay_migrations
from ._sqlite_files import replayed

JAN, JUN = "2026-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"

# What release 6 / 3 stored: (kind, key, moment, value), and the lookups.
_VERSIONS: list[tuple[str, str, str, Product | LocationProfile | Party]] = [
    ("product", "GS1:00614141000418", JUN, sample_product("v2")),
    ("product", "GS1:00614141000418", JAN, sample_product()),
    ("location", "Main/A", JAN, LocationProfile(path="Main/A", kind=LocationKind.STORE)),
    ("party", "SUPPLIER:ACME", JAN, Party(kind=PartyKind.SUPPLIER, id="ACME", gln="0614141000012")),
]
_LOOKUPS = [
    ("di", "GS1:00614141000418", "GS1:00614141000418"),
    ("di", "GS1:10614141000415", "GS1:00614141000418"),
    ("di", "GS1:20614141000412", "GS1:00614141000418"),
    ("gln", "0614141000012", "SUPPLIER:ACME"),
]


def _old_rows() -> list[tuple[str, str, str, str]]:
    return [
        (kind, key, moment_key(to_datetime(at)), version_to_json(value, to_datetime(at)))
        for kind, key, at, value in _VERSIONS
    ]


def _check(catalogue) -> None:
    report = verify_catalogue(catalogue)
    assert report.findings == ()
    assert report.versions_checked == 4
    assert report.head.position == 4
    assert catalogue.product("20614141000412", as_of=JAN).product == sample_product()
    assert catalogue.put_product(sample_product("v3"), valid_from="2026-09-01T00:00:00+00:00")
    after = verify_catalogue(catalogue)
    assert after.ok
    assert after.head.position == 5


def test_a_sqlite_file_of_schema_6_gets_its_catalogue_chained(tmp_path: Path) -> None:
    path = tmp_path / "v6.sqlite3"
    db = replayed(path, 6)
    db.executemany(
        "INSERT INTO catalogue_versions (kind, key, valid_from, data) VALUES (?, ?, ?, ?)",
        _old_rows(),
    )
    db.executemany("INSERT INTO catalogue_lookups (kind, lookup, key) VALUES (?, ?, ?)", _LOOKUPS)
    db.close()
    with SqliteStore(path) as store:
        # Chained by moment: both January versions (by kind and key) before June's.
        keys = store._db.execute(
            "SELECT seq, kind, valid_from FROM catalogue_versions ORDER BY seq"
        ).fetchall()
        assert [(kind, at[:7]) for _, kind, at in keys] == [
            ("location", "2026-01"),
            ("party", "2026-01"),
            ("product", "2026-01"),
            ("product", "2026-06"),
        ]
        _check(store.catalogue)


@pytest.mark.postgres
def test_a_postgresql_schema_3_gets_its_catalogue_chained(
    postgres_dsn: str, postgres_schema: str
) -> None:
    replay_migrations(postgres_dsn, postgres_schema, 3)
    s = sql.Identifier(postgres_schema)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(
            sql.SQL(
                "INSERT INTO {}.catalogue_versions (kind, key, valid_from, data)"
                " VALUES (%s, %s, %s, %s)"
            ).format(s),
            _old_rows(),
        )
        cursor.executemany(
            sql.SQL(
                "INSERT INTO {}.catalogue_lookups (kind, lookup, key) VALUES (%s, %s, %s)"
            ).format(s),
            _LOOKUPS,
        )
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        _check(store.catalogue)
