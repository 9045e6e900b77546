from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger


def test_demo_tells_the_stocktake_story(tmp_path: Path):
    for _run in range(2):  # a second run over the same --db starts its stocktake afresh
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["demo", "--db", str(tmp_path / "medinv.sqlite3")]) == 0
        text = out.getvalue()
        assert "book: hidden (blind count)" in text
        assert "ward 3 takes 5 boxes from A1 while the count is on" in text
        assert "ana scans the A1 label, keys in 35" in text
        assert "review: CHU-Nord/Store/A1 expected 35 counted 35 MATCH" in text
        assert "expected 10 counted 7 SHORTAGE  -> recount by another counter" in text
        assert "cyd recounts A2: 8 (expected 10, SHORTAGE -2" in text
        assert "'Cyd ' may not approve stocktake 'ST-1': they counted lines being approved" in text
        assert "approved by max" in text
        assert "-2 at CHU-Nord/Store/A2 reason DAMAGED-DISCARDED reference ST-1" in text
        assert "posting again: 0 new movements (1 replayed)" in text
        assert "book now: A1 35, A2 8; verify ok: True" in text
        assert "ledger and stocktakes in one file: medinv.sqlite3" in text
    # The whole demo (ledger, FEFO picks, stocktake) wrote one database file.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["medinv.sqlite3"]
    with SqliteStore(tmp_path / "medinv.sqlite3") as store:
        assert [st.id for st in store.stocktakes.stocktakes()] == ["ST-1"]
        ledger = Ledger(store)
        assert ledger.movement("DN-4711/1") is not None  # the ledger section's
        assert ledger.movement("PICK-CARDIO-1/1") is not None  # the FEFO section's
        assert ledger.movement("DN-7/1") is not None  # the stocktake section's
        assert ledger.verify().ok


def test_the_default_demo_file_is_one_temporary_file(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["demo"]) == 0
    assert "ledger and stocktakes in one file: medinv-demo.sqlite3" in out.getvalue()
    assert list(tmp_path.iterdir()) == []  # removed afterwards
