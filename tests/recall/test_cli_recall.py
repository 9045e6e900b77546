"""``medinv recall open|status|reconcile|close`` on an SQLite ledger; no raw patient data out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medinv import Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger
from medinv.recall import Response, affected_parties, reconcile
from medinv.status import StockStatus

from ._scenario import GTIN, LOT, OPENED, PHARMACY, RAW_NAME, stocked


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        stocked(store)  # type: ignore[arg-type]
    return path


def _run(capsys: pytest.CaptureFixture[str], outputs: list[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    outputs.extend([captured.out, captured.err])
    return code, captured.out


def test_a_recall_from_the_command_line(ledger_file: Path, capsys) -> None:
    outputs: list[str] = []
    db = ["--db", str(ledger_file)]
    opening = [
        "recall", "open", "FSCA-7", *db, "--device", GTIN, "--lot", "L7", "--class", "i",
        "--depth", "user", "--at", OPENED.isoformat(), "--by", "qa-lead",
        "--reason", "sterile barrier", "--quarantine",
    ]  # fmt: skip
    code, out = _run(capsys, outputs, *opening, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["campaign"]["class"] == "I"
    assert data["quarantine"]["quantity"] == 12
    code, out = _run(capsys, outputs, *opening)  # again: nothing more moves
    assert "quarantined: 0 unit(s)" in out

    code, out = _run(capsys, outputs, "recall", "status", *db)
    assert code == 0
    assert "FSCA-7" in out
    code, out = _run(capsys, outputs, "recall", "status", "FSCA-7", *db, "--json")
    keys = {(a["kind"], a["key"]) for a in json.loads(out)["affected"]}
    assert ("PATIENT", "PATIENT:P-00042") in keys
    assert ("CUSTOMER", "CUSTOMER:CLINIC-9") in keys
    code, out = _run(capsys, outputs, "recall", "status", "FSCA-7", *db)
    assert "CUSTOMER:CLINIC-9" in out

    code, out = _run(capsys, outputs, "recall", "reconcile", "FSCA-7", *db, "--json")
    data = json.loads(out)
    assert (code, data["unaccounted"], data["effectiveness"]) == (1, 5, 0.0)
    (lot,) = data["lots"]
    assert lot["consumed"] == {"(no patient reference)": 1, "P-00042": 2}
    assert lot["on_hand"] == {"RECALLED": 12}

    # The clinic sends 5 back; every unit is accounted for.
    with SqliteStore(ledger_file) as store:
        ledger = Ledger(store)
        ledger.post(
            [Movement.return_("RT-1", item=LOT, quantity=5, to=PHARMACY,
                              occurred_at=OPENED.add(days=1), actor="dock",
                              status=StockStatus.RECALLED, counterparty="CUSTOMER:CLINIC-9")]
        )  # fmt: skip
        store.recalls.respond(
            "FSCA-7",
            Response(party="CUSTOMER:CLINIC-9", responded_at=OPENED.add(days=1), by="qa",
                     item=LOT, returned=5),
        )  # fmt: skip
        outputs.append(repr(reconcile(ledger, store.recalls, "FSCA-7")))
        outputs.append(repr(affected_parties(ledger, store.recalls, "FSCA-7")))
        outputs.append(repr(store.recalls.get("FSCA-7")))
    code, out = _run(capsys, outputs, "recall", "reconcile", "FSCA-7", *db)
    assert code == 0
    assert "effectiveness: 100.0%" in out
    closing = ["recall", "close", "FSCA-7", *db, "--by", "qa-lead", "--at"]
    code, out = _run(capsys, outputs, *closing, OPENED.add(days=3).isoformat(), "--json")
    assert code == 0
    assert json.loads(out)["campaign"]["closing"]["unaccounted"] == 0
    code, out = _run(capsys, outputs, "recall", "status", *db, "--json")
    assert json.loads(out)["campaigns"][0]["open"] is False

    # Raw patient data typed into a free-text reference never leaves the library.
    assert outputs
    for text in outputs:
        assert RAW_NAME not in text
        assert "Jane" not in text


def test_refusals_are_one_line_with_exit_code_2(ledger_file: Path, capsys) -> None:
    outputs: list[str] = []
    db = ["--db", str(ledger_file)]
    code, _ = _run(capsys, outputs, "recall", "reconcile", "nope", *db)
    assert code == 2
    assert "no recall campaign 'nope'" in outputs[-1]
    code, _ = _run(capsys, outputs, "recall", "status", "nope", *db)
    assert code == 2
    opening = [
        "recall", "open", "R", *db, "--device", GTIN, "--produced", "2026-01-01", "2026-02-01",
        "--production-date", "L7=2026-01-15", "--class", "II", "--depth", "retail",
        "--at", OPENED.isoformat(), "--by", "qa", "--reason", "r", "--quarantine",
    ]  # fmt: skip
    code, out = _run(capsys, outputs, *opening)
    assert code == 0
    assert "undetermined (production date unknown): (01)09501101530003(10)L8" in out
    code, _ = _run(capsys, outputs, "recall", "close", "R", *db, "--by", "qa", "--at",
                   OPENED.isoformat())  # fmt: skip
    assert code == 2
    assert "signed reason" in outputs[-1]
    code, out = _run(capsys, outputs, "recall", "reconcile", "R", *db)
    assert code == 1
    assert "undetermined" in out
