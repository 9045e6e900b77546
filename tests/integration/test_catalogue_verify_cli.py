"""`medinv verify` and `Ledger.verify` check the catalogue beside the ledger (``--no-catalogue``: not)."""

# ruff: noqa: F811  (the ledger fixture, imported)
from __future__ import annotations

import json

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.ledger import Ledger
from medinv.testing.catalogue_contract import sample_product
from medinv.verification import CatalogueHeadMismatch, CatalogueVersionEdited, verify_store

from .test_cli_ops import Ledgers, ledger, run, run_json  # noqa: F401  (the fixture)

JAN, JUN = "2026-01-01T00:00:00+00:00", "2026-06-01T00:00:00+00:00"


def _with_catalogue(ledger: Ledgers) -> None:
    with ledger.open() as store:
        store.catalogue.put_product(sample_product(), valid_from=JAN)  # type: ignore[attr-defined]
        store.catalogue.put_product(sample_product("v2"), valid_from=JUN)  # type: ignore[attr-defined]


def test_verify_counts_the_catalogue_versions(ledger: Ledgers, capsys) -> None:
    _with_catalogue(ledger)
    code, out, err = run("verify", *ledger.args, capsys=capsys)
    assert (code, err) == (0, "")
    assert "checked: 5 movements" in out
    assert "2 catalogue versions" in out
    data = run_json("verify", *ledger.args, capsys=capsys)
    assert data["ok"] is True
    assert data["catalogue_versions_checked"] == 2


def test_an_edited_catalogue_version_exits_1_unless_the_catalogue_is_skipped(
    ledger: Ledgers, capsys
) -> None:
    _with_catalogue(ledger)
    ledger.corrupt(
        "UPDATE {s}.catalogue_versions SET data = replace(data, 'Suture 3-0', 'Forged')"
        " WHERE seq = 1"
    )
    code, out, _ = run("verify", *ledger.args, capsys=capsys)
    assert code == 1
    assert "CatalogueVersionEdited: catalogue version 1 (product GS1:00614141000418)" in out
    code, out, _ = run("verify", *ledger.args, "--json", capsys=capsys)
    data = json.loads(out)
    assert code == 1
    assert data["findings_by_kind"] == {"CatalogueVersionEdited": 1}
    assert data["findings"][0]["fields"]["seq"] == 1
    code, out, _ = run("verify", *ledger.args, "--no-catalogue", capsys=capsys)
    assert code == 0
    assert "0 catalogue versions" in out


def test_ledger_verify_covers_the_catalogue_of_its_store() -> None:
    with MemoryStore() as store:
        store.catalogue.put_product(sample_product(), valid_from=JAN)
        store.catalogue._chain[
            ("product", "GS1:00614141000418", "2026-01-01T00:00:00.000000+00:00")
        ] = (
            1,
            "0" * 64,
            "f" * 64,
        )
        report = Ledger(store).verify()
        assert report.catalogue_versions_checked == 1
        # The hash no longer matches the content, nor the head.
        assert [type(f) for f in report.findings] == [
            CatalogueVersionEdited,
            CatalogueHeadMismatch,
        ]
        skipped = verify_store(store, catalogue=False)
        assert skipped.ok
        assert skipped.catalogue_versions_checked == 0


@pytest.mark.parametrize("value", [None, object()])
def test_a_store_without_a_verifiable_catalogue_is_verified_without_it(value) -> None:
    class Bare:
        catalogue = value

        def __init__(self, inner: MemoryStore) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

    with MemoryStore() as store:
        report = verify_store(Bare(store))  # type: ignore[arg-type]
        assert report.ok
        assert report.catalogue_versions_checked == 0
