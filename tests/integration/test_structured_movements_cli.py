"""``medinv history`` shows and filters counterparties and business references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ITEM = ItemKey("04006381333931", lot="L1")
OR1 = Location.parse("CHU/OR-1")
AT = "2026-11-23T09:00:00+01:00"


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        Ledger(store).post(
            [
                Movement.receipt("R-1", item=ITEM, quantity=9, to=OR1, occurred_at=AT, actor="d",
                                 counterparty="SUPPLIER:ACME",
                                 business_references=["po:PO-1", "desadv:DN 7"]),
                Movement.consumption("C-1", item=ITEM, quantity=2, source=OR1, occurred_at=AT,
                                     actor="rn", counterparty="PATIENT:P-000123",
                                     business_references=["procedure:OP-77"]),
                Movement.issue("I-1", item=ITEM, quantity=1, source=OR1, occurred_at=AT,
                               actor="st", counterparty="DEPARTMENT:ICU"),
            ]
        )  # fmt: skip
    return str(path)


def history(db: str, *options: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["history", "--db", db, *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--party", "PATIENT:P-000123"], ["C-1"]),
        (["--party", "department:ICU"], ["I-1"]),
        (["--party", "SUPPLIER:ACME", "--business-ref", "desadv:DN 7"], ["R-1"]),
        (["--business-ref", "po:PO-1"], ["R-1"]),
        (["--business-ref", "procedure:OP-77", "--kind", "consumption"], ["C-1"]),
        (["--business-ref", "po:PO-2"], []),
        (["--party", "PATIENT:P-000123", "--since", "2"], []),
        (["--id", "C-1", "--party", "DEPARTMENT:ICU"], []),
        (["--id", "C-1", "--business-ref", "procedure:OP-77"], ["C-1"]),
    ],
)
def test_history_filters_by_party_and_business_reference(
    db: str, capsys: pytest.CaptureFixture[str], options: list[str], expected: list[str]
) -> None:
    code, out, err = history(db, *options, "--json", capsys=capsys)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == expected


def test_history_json_and_table_show_them(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = history(db, "--id", "R-1", "--json", capsys=capsys)
    assert code == 0
    line = json.loads(out)
    assert line["counterparty"] == "SUPPLIER:ACME"
    assert line["business_references"] == [
        {"type": "desadv", "id": "DN 7", "issuer_gln": None},
        {"type": "po", "id": "PO-1", "issuer_gln": None},
    ]
    code, out, _ = history(db, capsys=capsys)
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["counterparty", "business_refs"]
    assert lines[1].split()[:2] == ["1", "R-1"]
    assert lines[1].rstrip().endswith("desadv:DN 7 po:PO-1") and "SUPPLIER:ACME" in lines[1]
    assert lines[3].split()[-2:] == ["DEPARTMENT:ICU", "-"]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--party", "PATIENT:Jane Doe"], "argument --party: invalid patient reference"),
        (["--party", "ICU"], "argument --party: invalid party reference"),
        (
            ["--business-ref", "surgery:1"],
            "argument --business-ref: unknown business transaction type",
        ),
    ],
)
def test_bad_filters_are_one_line_errors(
    db: str, capsys: pytest.CaptureFixture[str], options: list[str], says: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        history(db, *options, capsys=capsys)
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and captured.out == ""
    assert says in captured.err and len(captured.err.strip().splitlines()) == 1
