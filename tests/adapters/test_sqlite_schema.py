"""The current SQLite schema is written once, and every older file migrates to exactly it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medinv.adapters.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore
from medinv.adapters.sqlite._schema import SCHEMA

from ._sqlite_files import replayed, schema_of

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("created") / "new.sqlite3"
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    return schema_of(path)


def test_a_new_file_is_created_from_the_current_schema_not_by_replaying(
    created: dict[str, object],
) -> None:
    # Every object the current schema writes, and nothing a migration left behind.
    names = {name for _, name, _, _ in created["objects"]}  # type: ignore[attr-defined]
    assert not names & {"movements_v3", "movements_v4", "balances_v3", "medinv_stocktake_schema"}
    assert {"catalogue_versions", "catalogue_lookups", "catalogue_head"} <= names
    assert "movement_links" in names
    assert {"reservations", "reservation_holds"} <= names
    assert "recall_events" in names
    assert {"sync_events", "sync_deliveries", "sync_cursors", "sync_conflicts"} <= names
    assert {"projections", "projection_rows"} <= names
    assert created["user_version"] == SCHEMA_VERSION == MIGRATIONS[-1].version
    assert len(SCHEMA) < sum(len(m.statements) for m in MIGRATIONS)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_file_built_by_replaying_old_migrations_ends_in_the_current_schema(
    tmp_path: Path, created: dict[str, object], version: int
) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    replayed(path, version).close()
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    assert schema_of(path) == created


@pytest.mark.parametrize(
    "name",
    ["ledger-schema4.sqlite3", "stocktakes-schema1.sqlite3", "ledger4-and-stocktakes1.sqlite3"],
)
def test_a_file_of_the_previous_release_migrates_to_the_current_schema(
    tmp_path: Path, created: dict[str, object], name: str
) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    with SqliteStore(path):
        pass
    migrated = schema_of(path)
    # The head moved in files that hold movements; the schema is what must agree.
    assert {k: v for k, v in migrated.items() if k != "head"} == {
        k: v for k, v in created.items() if k != "head"
    }


def test_the_comparison_sees_a_missing_index(tmp_path: Path, created: dict[str, object]) -> None:
    path = tmp_path / "edited.sqlite3"
    with SqliteStore(path) as store:
        store._db.execute("DROP INDEX balances_emptied")
    assert schema_of(path) != created
