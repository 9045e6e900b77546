"""``medinv recall notify|respond``: notifications and responses recorded from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medinv import Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger
from medinv.status import StockStatus

from ._scenario import GTIN, LOT, OPENED, PHARMACY, RAW_NAME, stocked


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        stocked(store)  # type: ignore[arg-type]
    code = main([
        "recall", "open", "FSCA-7", "--db", str(path), "--device", GTIN, "--lot", "L7",
        "--class", "I", "--depth", "user", "--at", OPENED.isoformat(), "--by", "qa-lead",
        "--reason", "sterile barrier", "--quarantine",
    ])  # fmt: skip
    assert code == 0
    return ["--db", str(path)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as e:  # a malformed option: argparse's exit, in one line
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_notify_and_respond_bring_the_campaign_to_reconciliation(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    when = OPENED.add(hours=2).isoformat()
    notify = ["recall", "notify", "FSCA-7", *db, "--party", "CUSTOMER:CLINIC-9", "--at", when,
              "--by", "qa", "--channel", "e-mail"]  # fmt: skip
    code, out, _ = run(capsys, *notify)
    assert code == 0
    assert "notification of CUSTOMER:CLINIC-9 recorded" in out
    assert "e-mail" in out
    code, out, _ = run(capsys, *notify, "--json")  # the very same one: nothing added
    data = json.loads(out)
    assert (code, data["recorded"]) == (0, False)
    assert data["campaign"]["notifications"] == [
        {
            "party": {"kind": "CUSTOMER", "id": "CLINIC-9"},
            "notified_at": when,
            "by": "qa",
            "channel": "e-mail",
        }
    ]

    # The clinic sends 5 back and says so; the ward acknowledges without figures.
    with SqliteStore(db[1]) as store:
        Ledger(store).post(
            [Movement.return_("RT-1", item=LOT, quantity=5, to=PHARMACY,
                              occurred_at=OPENED.add(days=1), actor="dock",
                              status=StockStatus.RECALLED, counterparty="CUSTOMER:CLINIC-9")]
        )  # fmt: skip
    answered = OPENED.add(days=1).isoformat()
    code, out, _ = run(capsys, "recall", "respond", "FSCA-7", *db, "--party", "CUSTOMER:CLINIC-9",
                       "--at", answered, "--by", "qa", "--lot", "L7", "--returned", "5",
                       "--json")  # fmt: skip
    data = json.loads(out)
    assert (code, data["recorded"]) == (0, True)
    (response,) = data["campaign"]["responses"]
    assert response["returned"] == 5
    assert response["acknowledged"] is True
    assert "L7" in json.dumps(response["item"])
    code, out, _ = run(capsys, "recall", "respond", "FSCA-7", *db, "--party", "DEPARTMENT:CARDIO",
                       "--at", answered, "--by", "qa", "--not-acknowledged")  # fmt: skip
    assert code == 0
    assert "response of DEPARTMENT:CARDIO recorded" in out

    code, out, _ = run(capsys, "recall", "status", "FSCA-7", *db)
    assert code == 0
    assert "notifications: 1" in out and "responses: 2" in out
    assert any(line.startswith("DEPARTMENT:CARDIO") and " no " in line for line in out.splitlines())
    code, out, _ = run(capsys, "recall", "reconcile", "FSCA-7", *db)
    assert code == 0
    assert "effectiveness: 100.0%" in out
    assert RAW_NAME not in out


def test_refusals_are_one_line_with_exit_code_2(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    at = ["--at", OPENED.add(hours=1).isoformat(), "--by", "qa"]
    party = ["--party", "CUSTOMER:CLINIC-9"]
    cases = [
        (["recall", "notify", "nope", *db, *party, *at], "no recall campaign 'nope'"),
        (["recall", "respond", "nope", *db, *party, *at], "no recall campaign 'nope'"),
        (["recall", "notify", "FSCA-7", *db, "--party", "CLINIC-9", *at], "CLINIC-9"),
        (["recall", "respond", "FSCA-7", *db, *party, *at, "--returned", "-1"], "--returned"),
        (["recall", "respond", "FSCA-7", *db, *party, *at, "--returned", "2"], "names the item"),
        (["recall", "notify", "FSCA-7", *db, *party, "--at", "tuesday", "--by", "qa"], "--at"),
    ]
    for args, message in cases:
        code, out, err = run(capsys, *args)
        assert code == 2, args
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1
        assert out == ""
    code, _, _ = run(capsys, "recall", "status", "FSCA-7", *db, "--json")
    assert code == 0


def test_a_closed_campaign_takes_no_more_answers(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "recall", "close", "FSCA-7", *db, "--by", "director", "--at",
                     OPENED.add(days=2).isoformat(), "--reason", "clinic closed")  # fmt: skip
    assert code == 0
    code, _, err = run(capsys, "recall", "notify", "FSCA-7", *db, "--party", "CUSTOMER:CLINIC-9",
                       "--at", OPENED.add(days=3).isoformat(), "--by", "qa")  # fmt: skip
    assert code == 2
    assert "is closed" in err
