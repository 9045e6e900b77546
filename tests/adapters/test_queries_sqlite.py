"""SQLite: every stock-controller query is answered through an index; old files get their tags."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medinv.adapters._tags import BLOCK_BITS, block_tags
from medinv.adapters.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from medinv.ports import MovementQuery, PositionQuery
from medinv.testing import _queries
from medinv.testing.contract import _forged_commit

from ._sqlite_files import balances_as_in_schema_16

DATA = Path(__file__).parent.parent / "data"

MOVEMENT_FILTERS: list[dict[str, Any]] = [
    {"kind": "RECEIPT"},
    {"kind": ["ISSUE", "SCRAP"]},
    {"actor": "LEA"},
    {"occurred_from": "2026-11-21T00:00:00Z", "occurred_to": "2026-11-22T00:00:00Z"},
    {"occurred_from": "2026-11-21T00:00:00+01:00"},
    {"location": "CHU/Store"},
    {"reference": "DN-1"},
    {"reference": "DN-1", "gtin": "04006381333931"},
    {"kind": "TRANSFER", "lot": "L1"},
    {"actor": "bob", "kind": "ISSUE", "location": "CHU/Ward 3", "after_position": 10},
]
POSITION_FILTERS: list[dict[str, Any]] = [
    {"expires_before": "2027-01-01"},
    {"expires_from": "2027-01-01", "expires_before": "2027-02-01"},
    {"has_expiry": False},
    {"has_expiry": True, "location": "CHU/Store"},
    {"expires_from": "2026-12-01", "expires_before": "2027-01-01", "status": "HOLD"},
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "ledger.sqlite3") as opened:
        _queries.store_query_ledger(opened, _forged_commit)
        yield opened


def _plans(store: SqliteStore, run: Any) -> list[str]:
    """The query plan of every statement ``run`` makes the store execute."""
    statements: list[str] = []
    db: sqlite3.Connection = store._db
    db.set_trace_callback(statements.append)
    try:
        run()
    finally:
        db.set_trace_callback(None)
    plans = []
    for statement in statements:
        rows = db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
        plans.append("\n".join(row[-1] for row in rows))
    return plans


def _full_scans(plan: str) -> list[str]:
    """The lines of a plan that read a whole table (not through one of its indexes)."""
    return [
        line
        for line in plan.splitlines()
        if line.strip().startswith("SCAN ")
        and " USING " not in line
        and "CONSTANT ROW" not in line
        and "SCAN v" not in line
        and "SCAN periods" not in line
        and "SCAN eras" not in line  # the eras the tag index found
        and "SCAN b" not in line  # the blocks holding a tag
    ]


@pytest.mark.parametrize("filters", MOVEMENT_FILTERS, ids=repr)
def test_every_movement_filter_reads_an_index(store: SqliteStore, filters: dict[str, Any]) -> None:
    # Through the tags: the eras (tag_eras), their blocks (tag_blocks), the movements
    # of the blocks holding a tag; or through the item history index.
    plans = _plans(store, lambda: list(store.movements(MovementQuery(**filters))))
    plan = "\n".join(plans)
    assert plans and not _full_scans(plan), plan
    assert "tag_eras USING PRIMARY KEY" in plan or "movements_by_period_item" in plan, plan
    if "tag_eras" in plan:
        assert "SEARCH t USING INTEGER PRIMARY KEY" in plan, plan
    assert (
        "SEARCH movements USING INTEGER PRIMARY KEY" in plan or "movements_by_period_item" in plan
    )


@pytest.mark.parametrize("filters", POSITION_FILTERS, ids=repr)
def test_every_expiry_filter_reads_an_index(store: SqliteStore, filters: dict[str, Any]) -> None:
    [plan] = _plans(store, lambda: store.positions(PositionQuery(**filters)))
    assert not _full_scans(plan), plan
    if filters.get("has_expiry") is not True:  # "any expiry" reads no expiry index
        assert "lots_by_expiry" in plan and "items_by_expiry" in plan, plan


def test_the_plan_check_sees_a_full_scan(store: SqliteStore) -> None:
    store._db.execute("DROP INDEX lots_by_expiry")
    [plan] = _plans(store, lambda: store.positions(PositionQuery(expires_before="2027-01-01")))
    assert _full_scans(plan)


def test_a_previous_release_file_gets_its_movements_tagged(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "ledger-schema4.sqlite3", path)
    with SqliteStore(path) as store:
        stored = list(store.movements(MovementQuery()))
        assert stored
        for recorded in stored:
            m = recorded.movement
            for filters in (
                {"kind": m.kind},
                {"actor": m.actor},
                {"occurred_from": m.occurred_at, "occurred_to": m.occurred_at.add(microseconds=1)},
                {"location": m.to_location or m.from_location},
                {"reference": m.reference},
            ):
                if None in filters.values():
                    continue
                found = [r.movement.id for r in store.movements(MovementQuery(**filters))]
                assert m.id in found, filters
                assert found == _queries.expected_movements(stored, filters)


def later_tables(migrations: Any, after: int) -> list[str]:
    """The tables the migrations after version ``after`` create (newest last).

    A table a migration builds under a passing name (``balances_v17``) to take the
    place of an older one is not a new table.
    """
    return [
        found.group(1)
        for migration in migrations
        if migration.version > after
        for statement in migration.statements
        if (found := re.search(r"CREATE TABLE (?:IF NOT EXISTS )?(?:\{s\}\.)?(\w+)", statement))
        and not re.search(r"_v\d+$", found.group(1))
    ]


def _tag_pairs(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every ``(tag, block)`` the file's tag tables hold, each once, sorted."""
    return sorted(
        {
            (tag, start >> BLOCK_BITS)
            for start, tags in db.execute("SELECT start, tags FROM tag_blocks")
            for tag in tags.split("\x00")
        }
    )


def test_a_file_of_the_previous_version_gets_every_movement_tagged(store: SqliteStore) -> None:
    stored = list(store.movements(MovementQuery()))
    db = store._db
    tags = _tag_pairs(db)
    balances_as_in_schema_16(db)
    for statement in (
        "DROP INDEX lots_by_expiry",
        "DROP INDEX items_by_expiry",
        *(f"DROP TABLE {t}" for t in later_tables(MIGRATIONS, 10)),
        "PRAGMA user_version = 9",
    ):
        db.execute(statement)
    path = store.path
    store.close()
    with SqliteStore(path) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert _tag_pairs(migrated._db) == tags == block_tags(stored)
        found = [r.movement.id for r in migrated.movements(MovementQuery(actor="LEA"))]
        assert found == _queries.expected_movements(stored, {"actor": "LEA"}) != []


def _answers(store: SqliteStore) -> list[list[str]]:
    return [
        [r.movement.id for r in store.movements(MovementQuery(**filters))]
        for filters in MOVEMENT_FILTERS
    ]


def test_a_version_15_file_gets_its_tags_regrouped_with_the_same_answers(
    store: SqliteStore,
) -> None:
    # A file of schema 15 keeps its tags as (tag, block) rows; migration 16 regroups
    # them per block and per era, and every query answers as before.
    stored = list(store.movements(MovementQuery()))
    answers = _answers(store)
    eras = sorted(store._db.execute("SELECT tag, era FROM tag_eras"))
    db = store._db
    balances_as_in_schema_16(db)
    db.executescript(
        "BEGIN; DROP TABLE tag_blocks; DROP TABLE tag_eras; "
        "CREATE TABLE movement_tags (tag TEXT NOT NULL, block INTEGER NOT NULL, "
        "PRIMARY KEY (tag, block)) WITHOUT ROWID; PRAGMA user_version = 15; COMMIT;"
    )
    db.executemany("INSERT INTO movement_tags VALUES (?, ?)", block_tags(stored))
    path = store.path
    store.close()
    with SqliteStore(path) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert _tag_pairs(migrated._db) == block_tags(stored)
        assert sorted(migrated._db.execute("SELECT tag, era FROM tag_eras")) == eras
        assert _answers(migrated) == answers
        assert answers == [  # every movement that matches, none other
            [r.movement.id for r in stored if MovementQuery(**filters).matches(r)]
            for filters in MOVEMENT_FILTERS
        ]


def test_tag_queries_across_eras_match_a_plain_scan(tmp_path: Path) -> None:
    # 2,500 movements in commits of 23: blocks split between commits (several rows
    # of tag_blocks each), three eras of 16 blocks; any filter with any bounds
    # answers what a check of every stored movement finds.
    from hypothesis import HealthCheck, given, settings  # noqa: PLC0415
    from hypothesis import strategies as st  # noqa: PLC0415

    with SqliteStore(tmp_path / "eras.sqlite3") as store:
        stored = _queries.store_query_ledger(store, _forged_commit, size=2_500)
        assert len(stored) == 2_500
        parts = store._db.execute("SELECT count(*), count(DISTINCT start >> 6) FROM tag_blocks")
        rows, blocks = parts.fetchone()
        assert blocks == 40 < rows  # many blocks written by two commits or more
        head = stored[-1].position

        @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            filters=_queries.movement_filters(),
            after=st.integers(0, head),
            up_to=st.none() | st.integers(0, head + 5),
        )
        def check(filters: dict[str, Any], after: int, up_to: int | None) -> None:
            filters = {**filters, "after_position": after, "up_to_position": up_to}
            query = MovementQuery(**filters)
            found = [r.movement.id for r in store.movements(query)]
            assert found == [r.movement.id for r in stored if query.matches(r)], filters

        check()
