from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus


def run_demo(db: Path) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["demo", "--db", str(db)]) == 0
    return out.getvalue()


def test_the_ledger_section_posts_refuses_and_verifies_on_the_sqlite_file(tmp_path: Path):
    db = tmp_path / "demo.sqlite3"
    text = run_demo(db)
    assert "== Ledger: movements on the SQLite default file ==" in text
    assert "ledger file demo.sqlite3 (WAL, schema 17)" in text
    assert "receive delivery DN-4711: 3 movement(s) posted, 0 replayed; head at position 3" in text
    assert "-> 40 x (01)04006381333931(10)L2026-11A AVAILABLE" in text  # 2 boxes of 20
    assert "-> 60 x (01)04006381333931(10)L2027-02B AVAILABLE" in text  # 3 boxes of 20
    assert "->  1 x (01)09501101530003(10)ST-88(21)SN-000417 QUARANTINE" in text  # short-dated
    assert (
        "a stent label read without its serial: refused: cannot receive scan "
        "'(01)09501101530003(17)270131(10)ST-88': GS1:09501101530003 is serial-controlled"
    ) in text
    assert "head at position 5" in text
    assert "issue 45 gloves from the ward: refused: insufficient stock" in text
    assert "requested 45, available 30" in text
    assert "CHU-Nord/Ward-3/Cabinet-1    AVAILABLE    30  expires 2026-12-31" in text
    assert "gloves (04006381333931): 100 in all, 70 in the pharmacy" in text
    assert "verify(): clean (5 movements re-hashed, 4 balances rebuilt)" in text
    with SqliteStore(db) as store:
        ledger = Ledger(store)
        # The section's five movements come first; the later sections share the file.
        assert [r.movement.id for r in ledger.history(up_to_position=5)] == [
            "DN-4711/1",
            "DN-4711/2",
            "DN-4711/3",
            "TR-0815",
            "QC-0417",
        ]
        assert ledger.movement("IS-0099") is None
        assert ledger.movement("DN-4711/4") is None
        assert ledger.verify().ok
        # The receipts came from the scans through the catalogue kept in the same file.
        stent = ledger.movement("DN-4711/3")
        assert stent is not None
        assert stent.movement.to_status is StockStatus.QUARANTINE
        assert stent.movement.reason == "69 day(s) of shelf life left; the minimum at receipt is 90"
        assert stent.movement.reference == "DN-4711"
        match = store.catalogue.product("14006381333938")
        assert match is not None
        assert match.base_units == 20


def test_a_delivery_sent_again_replays_instead_of_doubling(tmp_path: Path):
    text = run_demo(tmp_path / "demo.sqlite3")
    assert "the scanner sends DN-4711 again: 0 movement(s) posted, 3 replayed" in text


def test_running_the_demo_again_on_its_own_file_starts_afresh(tmp_path: Path):
    db = tmp_path / "demo.sqlite3"
    first = run_demo(db)
    again = run_demo(db)
    assert again == first
    assert "receive delivery DN-4711: 3 movement(s) posted, 0 replayed; head at position 3" in again
    assert "gloves (04006381333931): 100 in all, 70 in the pharmacy" in again


def test_the_demo_refuses_a_file_it_did_not_write(tmp_path: Path, capsys):
    db = tmp_path / "mine.sqlite3"
    with SqliteStore(db) as store:
        Ledger(store).post(
            [
                Movement.receipt(
                    "MY-1",
                    item=ItemKey("04006381333931"),
                    quantity=1,
                    to=Location.parse("Here"),
                    occurred_at="2026-11-23T09:00:00+01:00",
                    actor="me",
                )
            ]
        )
    assert main(["demo", "--db", str(db)]) == 2
    assert "holds data the demo did not write" in capsys.readouterr().err
    other = tmp_path / "notes.sqlite3"
    other.write_bytes(b"not a database at all, but the user's own file" * 100)
    assert main(["demo", "--db", str(other)]) == 2
    assert "is not a file the demo wrote" in capsys.readouterr().err
    assert other.read_bytes().startswith(b"not a database at all")
    with SqliteStore(db) as store:  # untouched
        assert Ledger(store).head().position == 1
