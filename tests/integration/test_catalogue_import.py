"""import_gudid and ``medinv catalog import-gudid``: GUDID files into every store's catalogue."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import GudidFormatError, PackageLevel, Product
from medinv.cli import main
from medinv.errors import InvalidValueError, StorageError
from medinv.services.catalogue import import_gudid
from medinv.testing.catalogue_contract import sample_product

DATA = Path(__file__).parent.parent / "data"
XML, JSON = DATA / "gudid-sample.xml", DATA / "gudid-sample.json"
AT = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize("source", [XML, JSON])
def test_an_import_stores_the_products_and_reports_the_rest(source: Path) -> None:
    seen: list[int] = []
    with MemoryStore() as store:
        report = import_gudid(store.catalogue, source, valid_from=AT, progress=seen.append)
        assert (report.records, report.imported, report.unchanged) == (8, 6, 0)
        assert report.without_product == 2
        assert report.refused == ()
        assert {f.kind.name for f in report.findings} >= {"UNKNOWN_CONTAINED_DI", "PACKAGE_CYCLE"}
        assert seen == [8]
        products = list(store.catalogue.products())
        assert len(products) == 6
        # A package pointing at an unknown DI is left out, not invented.
        assert store.catalogue.product("10844868017261") is None
        assert store.catalogue.product("00844868017288") is None
        again = import_gudid(store.catalogue, source, valid_from="2026-02-01T00:00:00+00:00")
        assert (again.imported, again.unchanged) == (0, 6)
        assert all(len(store.catalogue.product_history(p.primary_di).versions) == 1
                   for p in products)  # fmt: skip


def test_both_formats_give_the_same_catalogue() -> None:
    with MemoryStore() as xml_store, MemoryStore() as json_store:
        import_gudid(xml_store.catalogue, XML, valid_from=AT)
        with JSON.open("rb") as stream:
            import_gudid(json_store.catalogue, stream, format="json", valid_from=AT)
        assert list(xml_store.catalogue.products()) == list(json_store.catalogue.products())


def test_a_product_that_contradicts_the_catalogue_is_refused_and_the_import_goes_on() -> None:
    with MemoryStore() as store:
        import_gudid(store.catalogue, XML, valid_from=AT)
        taken = next(p for p in store.catalogue.products() if p.packages)
        store2 = MemoryStore()
        # Another product already owns one of the package DIs of the file.
        owner = Product(
            primary_di="04006381333931",
            packages=(
                PackageLevel(di=taken.packages[0].di, contains="04006381333931", quantity=3),
            ),
        )
        store2.catalogue.put_product(owner, valid_from=AT)
        report = import_gudid(store2.catalogue, XML, valid_from=AT)
        assert [r.primary_di for r in report.refused] == [str(taken.primary_di)]
        assert "already belongs to product GS1:04006381333931" in report.refused[0].reason
        assert report.imported == 5
        assert store2.catalogue.product(taken.primary_di) is None


def test_bad_arguments_are_refused_clearly() -> None:
    with MemoryStore() as store:
        with pytest.raises(InvalidValueError, match="unknown GUDID format"):
            import_gudid(store.catalogue, XML, format="csv")  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="needs a file name"):
            import_gudid(store.catalogue, io.BytesIO(b"<x/>"))
        with pytest.raises(InvalidValueError):
            import_gudid(store.catalogue, XML, valid_from="2026-01-01T00:00:00")
        with pytest.raises(GudidFormatError):
            import_gudid(store.catalogue, io.BytesIO(b"<devices><device>"), format="xml")
        assert list(store.catalogue.products()) == []


# ---------------------------------------------------------------------- the command line


def test_the_command_imports_into_a_sqlite_file(tmp_path: Path, capsys) -> None:
    db = tmp_path / "stock.sqlite3"
    args = ["catalog", "import-gudid", str(XML), "--db", str(db), "--valid-from", AT]
    assert main(args) == 0
    assert "8 records: 6 imported, 0 unchanged" in capsys.readouterr().out
    assert main([*args, "--json", "--format", "xml"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["imported"], report["unchanged"], report["refused"]) == (0, 6, [])
    assert report["findings"][0]["kind"] == "UNKNOWN_CONTAINED_DI"
    with SqliteStore(db) as store:
        assert len(list(store.catalogue.products())) == 6


def test_the_command_reports_refusals_and_errors(tmp_path: Path, capsys) -> None:
    db = tmp_path / "stock.sqlite3"
    with SqliteStore(db) as store:
        owner = Product(
            primary_di="04006381333931",
            packages=(PackageLevel(di="10614141000019", contains="04006381333931", quantity=3),),
        )
        store.catalogue.put_product(owner, valid_from=AT)
    assert main(["catalog", "import-gudid", str(JSON), "--db", str(db)]) == 1
    assert "refused: device identifier GS1:10614141000019" in capsys.readouterr().out
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<devices><device>")
    assert main(["catalog", "import-gudid", str(bad), "--db", str(db)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["catalog", "import-gudid", str(tmp_path / "none.xml"), "--db", str(db)]) == 2


@pytest.mark.postgres
def test_the_command_imports_into_a_postgresql_schema(
    postgres_dsn: str, postgres_schema: str, capsys
) -> None:
    args = ["catalog", "import-gudid", str(JSON), "--dsn", postgres_dsn]
    assert main([*args, "--schema", postgres_schema, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 6
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        match = store.catalogue.product("HIBCC:H123BS45401")
        assert match is not None
        assert str(match.product.primary_di) == "HIBCC:H123BS45400"


# ---------------------------------------------------------------------- SQLite specifics


def test_backup_copies_the_catalogue(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.sqlite3") as store:
        store.catalogue.put_product(sample_product(), valid_from=AT)
        store.backup(tmp_path / "copy.sqlite3")
    with SqliteStore(tmp_path / "copy.sqlite3") as copy:
        assert copy.catalogue.product_history(sample_product().primary_di).as_of(AT) == (
            sample_product()
        )


def test_a_corrupt_row_is_reported_as_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    with SqliteStore(path) as store:
        store.catalogue.put_product(sample_product(), valid_from=AT)
    db = sqlite3.connect(path)
    db.execute("UPDATE catalogue_versions SET data = '{\"format\": 1}'")
    db.commit()
    db.close()
    with SqliteStore(path) as store, pytest.raises(StorageError, match="corrupt product"):
        store.catalogue.product(sample_product().primary_di)
