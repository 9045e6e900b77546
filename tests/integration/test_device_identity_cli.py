"""``medinv stock`` and ``history`` select and print devices of every agency (``--device``)."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger

HIBC = "HIBCC:A123BJC5D6E71"
MA = "MA:MA.156.M0.100350.01004YA10017"
GTIN = "04006381333931"
STORE = Location.parse("CHU/Store/A")


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "ledger.sqlite3"
    items = [ItemKey(GTIN, lot="L1"), ItemKey(HIBC, lot="L1"), ItemKey(MA, serial="S1")]
    with SqliteStore(path) as store:
        Ledger(store, clock=lambda: pendulum.datetime(2026, 11, 23, 8, tz="UTC")).post(
            [
                Movement.receipt(
                    f"R-{n}",
                    item=item,
                    quantity=1 if item.serial else 5,
                    to=STORE,
                    occurred_at="2026-11-23T09:00:00+01:00",
                    actor="dock",
                )
                for n, item in enumerate(items, start=1)
            ]
        )
    return str(path)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--json"]) == 0
    return capsys.readouterr().out


def test_stock_selects_a_device_of_any_agency(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run_json(capsys, "stock", "--db", db, "--device", HIBC))["rows"]
    assert [(r["gtin"], r["lot"], r["quantity"]) for r in rows] == [(HIBC, "L1", 5)]
    rows = json.loads(run_json(capsys, "stock", "--db", db, "--device", GTIN))["rows"]
    assert [r["gtin"] for r in rows] == [GTIN]
    rows = json.loads(run_json(capsys, "stock", "--db", db, "--by", "product"))["rows"]
    assert [r["gtin"] for r in rows] == [GTIN, HIBC, MA]


def test_history_selects_a_device_of_any_agency(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_json(capsys, "history", "--db", db, "--device", MA).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["R-3"]
    assert main(["history", "--db", db, "--device", HIBC, "--lot", "L1"]) == 0
    table = capsys.readouterr().out
    assert "R-2" in table and "R-1" not in table and f"{HIBC} lot L1" in table


def test_a_malformed_device_is_one_line_naming_the_option(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stock", "--db", db, "--device", "HIBCC:a1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--device" in err and "HIBCC" in err
