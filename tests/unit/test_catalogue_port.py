"""The catalogue port's values, and what only the SQL catalogues can meet (corruption, races)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from medinv.adapters._catalogue_json import location_from_json, moment_key, version_to_json
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import LocationKind, LocationProfile, Product
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError, StorageError
from medinv.ports import MovementQuery, ProductMatch
from medinv.testing.catalogue_contract import sample_product

AT = "2026-01-01T00:00:00+00:00"


def test_a_match_needs_a_di_of_the_product() -> None:
    with pytest.raises(InvalidValueError, match="is not a DI of product GS1:00614141000418"):
        ProductMatch(product=sample_product(), di=Product(primary_di="04006381333931").primary_di)


def test_moment_keys_sort_in_time_order_whatever_the_offset() -> None:
    moments = [
        "2026-01-01T00:30:00+01:00",
        "2025-12-31T23:45:00+00:00",
        "2026-01-01T00:00:00-01:00",
    ]
    keys = [moment_key(to_datetime(m)) for m in moments]
    assert sorted(keys) == [keys[0], keys[1], keys[2]]
    assert keys[0] == "2025-12-31T23:30:00.000000+00:00"


def test_an_unknown_encoding_format_is_not_read() -> None:
    profile = LocationProfile(path="A", kind=LocationKind.STORE)
    text = version_to_json(profile, to_datetime(AT)).replace('"format":1', '"format":2')
    with pytest.raises(ValueError, match="unknown catalogue encoding format 2"):
        location_from_json(text)


def test_the_sqlite_catalogue_names_its_file(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.sqlite3") as store:
        assert store.catalogue.path == str(tmp_path / "a.sqlite3")
        assert repr(store.catalogue).endswith(".catalogue")


def test_a_corrupt_location_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    with SqliteStore(path) as store:
        store.catalogue.put_location(
            LocationProfile(path="A/B", kind=LocationKind.STORE), valid_from=AT
        )
    db = sqlite3.connect(path)
    db.execute("UPDATE catalogue_versions SET data = 'not json'")
    db.commit()
    db.close()
    with SqliteStore(path) as store, pytest.raises(StorageError, match="corrupt location 'A/B'"):
        list(store.catalogue.locations())


@pytest.mark.parametrize("name", ["ledger-schema4.sqlite3", "ledger4-and-stocktakes1.sqlite3"])
def test_a_file_of_the_previous_release_gets_a_catalogue_and_keeps_its_ledger(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    shutil.copy(Path(__file__).parent.parent / "data" / name, path)
    with SqliteStore(path) as store:
        before = list(store.movements(MovementQuery()))
        assert before  # the file holds movements
        assert store.catalogue.put_product(sample_product(), valid_from=AT) is True
    with SqliteStore(path) as store:
        assert list(store.movements(MovementQuery())) == before
        match = store.catalogue.product("20614141000412")
        assert match is not None
        assert match.base_units == 200
