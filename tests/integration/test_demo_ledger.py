from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger


def run_demo(db: Path) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["demo", "--db", str(db)]) == 0
    return out.getvalue()


def test_the_ledger_section_posts_refuses_and_verifies_on_the_sqlite_file(tmp_path: Path):
    db = tmp_path / "demo.sqlite3"
    text = run_demo(db)
    assert "== Ledger: movements on the SQLite default file ==" in text
    assert "ledger file demo.sqlite3 (WAL, schema 5)" in text
    assert "receive delivery DN-4711: 3 movement(s) posted, 0 replayed; head at position 3" in text
    assert "head at position 5" in text
    assert "issue 45 gloves from the ward: refused: insufficient stock" in text
    assert "requested 45, available 30" in text
    assert "CHU-Nord/Ward-3/Cabinet-1    AVAILABLE    30  expires 2026-12-31" in text
    assert "gloves (04006381333931): 100 in all, 70 in the pharmacy" in text
    assert "verify(): clean (5 movements re-hashed, 4 balances rebuilt)" in text
    with SqliteStore(db) as store:
        ledger = Ledger(store)
        assert ledger.head().position == 5
        assert ledger.movement("IS-0099") is None
        assert ledger.verify().ok


def test_running_the_demo_again_on_the_same_file_replays_instead_of_doubling(tmp_path: Path):
    db = tmp_path / "demo.sqlite3"
    run_demo(db)
    again = run_demo(db)
    assert "receive delivery DN-4711: 0 movement(s) posted, 3 replayed; head at position 5" in again
    assert "gloves (04006381333931): 100 in all, 70 in the pharmacy" in again
    assert "verify(): clean (5 movements re-hashed, 4 balances rebuilt)" in again
