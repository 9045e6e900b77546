"""Ledgers written before item keys took other agencies read back unchanged and verify clean.

``ledger-schema6-gs1.sqlite3`` was written by the previous release (SQLite schema 6,
GS1 keys only) with ``tests/data/make_ledger_schema6.py``, which also wrote what that
release read back (``ledger-schema6-gs1.json``). The older schema-4 files migrate first.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.devices import IssuingAgency
from medinv.ledger import Ledger

DATA = Path(__file__).parent.parent / "data"


def test_the_previous_release_file_reads_back_exactly_as_it_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(DATA / "ledger-schema6-gs1.sqlite3", path)
    expected = json.loads((DATA / "ledger-schema6-gs1.json").read_text(encoding="utf-8"))
    with SqliteStore(path) as store:
        ledger = Ledger(store)
        movements = [
            [r.position, r.movement.id, str(r.movement.item), r.hash, r.prev_hash]
            for r in ledger.history()
        ]
        positions = [
            [str(p.item), str(p.location), p.status.value, p.quantity, str(p.expiry)]
            for p in ledger.positions()
        ]
        assert movements == expected["movements"]
        assert positions == expected["positions"]
        assert all(r.movement.item.device.agency is IssuingAgency.GS1 for r in ledger.history())
        report = ledger.verify()
        assert report.ok, report
        assert ledger.balance(device="04006381333931") == 40
    # Nothing was rewritten: the DI column still holds the fourteen digits.
    db = sqlite3.connect(path)
    try:
        stored = sorted(row[0] for row in db.execute("SELECT DISTINCT gtin FROM item_keys"))
    finally:
        db.close()
    assert stored == ["00000096385074", "04006381333931", "09501101530003"]


@pytest.mark.parametrize("name", ["ledger-schema4.sqlite3", "ledger4-and-stocktakes1.sqlite3"])
def test_older_files_migrate_and_verify_with_gs1_keys(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    with SqliteStore(path) as store:
        ledger = Ledger(store)
        history = ledger.history()
        assert history
        for recorded in history:
            item = recorded.movement.item
            assert item.device.agency is IssuingAgency.GS1
            assert item.device_text == item.gtin.value
        assert ledger.verify().ok
