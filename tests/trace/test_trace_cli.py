"""``medinv trace``: the scenario's answers as text and JSON, and no patient data in any output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ports import MovementQuery

from ._scenario import GTIN, PATIENT_NAME, PATIENT_RAW_ID, build


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "ledger.db"
    with SqliteStore(path) as store:
        build(store)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


LOT_ARGS = ("--device", GTIN, "--lot", "L-777")
SCAN = f"(01){GTIN}(10)L-777"
EVERY_OUTPUT = (
    ("--json", *LOT_ARGS),
    LOT_ARGS,
    (SCAN,),
    ("--summary", SCAN),
    ("--json", "--at", "2026-05-06", "--known-at", "22", *LOT_ARGS),
    ("--at", "2026-05-06", "--known-at", "22", *LOT_ARGS),
    ("--at", "2026-05-04T23:59:00+00:00", *LOT_ARGS),
    ("--json", "--device", GTIN, "--serial", "L-777"),
    ("--device", GTIN, "--serial", "L-777"),
)


@pytest.mark.parametrize("args", EVERY_OUTPUT)
def test_no_output_holds_the_patients_name_or_raw_id(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    """The ledger stores them in free text (reason, reference), the catalogue in a name."""
    code, out, err = run(capsys, "trace", "--db", str(ledger_file), *args)
    assert code == 0, err
    for secret in (PATIENT_NAME, PATIENT_RAW_ID, "Curie", "4471"):
        assert secret.lower() not in out.lower()
    assert "DN-1" not in out and "OP-77" not in out  # no free text, no business reference
    if "--at" not in args and "--serial" not in args:
        assert "PATIENT:P-10001" in out  # the pseudonym is what traces a patient


def test_the_secret_is_in_the_store(ledger_file: Path) -> None:
    """The privacy test above would be empty if the name were not stored anywhere."""
    with SqliteStore(ledger_file) as store:
        reasons = [r.movement.reason or "" for r in store.movements(MovementQuery())]
        assert any(PATIENT_NAME in r and PATIENT_RAW_ID in r for r in reasons)
        party = store.catalogue.party(kind="SUPPLIER", party_id="ACME")  # type: ignore[arg-type]
        assert party is not None and party.name is not None and PATIENT_NAME in party.name


def test_forward_as_json(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trace", "--db", str(ledger_file), "--json", *LOT_ARGS)
    assert code == 0
    data = json.loads(out)
    assert data["subject"] == f"{GTIN} lot L-777"
    assert data["balance"] == {
        "received": 100, "returned": 3, "adjusted": 0, "on_hand": 81, "consumed": 13,
        "distributed": 7, "scrapped": 2, "balances": True,
    }  # fmt: skip
    assert len(data["movements"]) == data["movement_count"] == 22
    reversal = next(m for m in data["movements"] if m["kind"] == "REVERSAL")
    assert (reversal["counts_as"], reversal["signed_quantity"]) == ("CONSUMPTION", -1)
    patients = [p for p in data["parties"] if p["kind"] == "PATIENT"]
    assert len(patients) == 7
    assert {s["place"]: s["net"] for s in data["sites"]} == {"East": 9, "North": 48, "South": 24}


def test_forward_as_text(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trace", "--db", str(ledger_file), SCAN)
    assert code == 0
    assert out.startswith(f"{GTIN} lot L-777: 22 movements, as known at position 23\n")
    assert "on hand 81" in out and ": balances" in out
    assert "REVERSAL of CONSUMPTION" in out
    assert "CUSTOMER:CLINIC-9" in out


def test_where_on_a_date_as_known_at_a_position(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("trace", "--db", str(ledger_file), "--json", *LOT_ARGS, "--at", "2026-05-06")
    _, out, _ = run(capsys, *args, "--known-at", "22")
    data = json.loads(out)
    assert data["at"] == "2026-05-07T00:00:00+00:00"  # the end of 6 May
    assert [m["id"] for m in data["late"]] == ["C-LATE"]
    cardio = [h for h in data["holdings"] if h["location"] == "North/Ward/Cardio"]
    assert [h["quantity"] for h in cardio] == [10]
    _, out, _ = run(capsys, *args)
    data = json.loads(out)
    assert data["late"] == []
    assert [h["quantity"] for h in data["holdings"] if h["location"] == "North/Ward/Cardio"] == [9]
    _, out, _ = run(capsys, "trace", "--db", str(ledger_file), *LOT_ARGS, "--at", "2026-05-04")
    assert "North/Store/Bin-3  AVAILABLE  100" in out


def test_a_date_in_the_facility_time_zone(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("trace", "--db", str(ledger_file), "--json", *LOT_ARGS, "--at", "2026-05-03")
    _, out, _ = run(capsys, *args, "--timezone", "Pacific/Kiritimati")  # UTC+14
    assert json.loads(out)["holdings"] == []
    _, out, _ = run(capsys, *args, "--timezone", "America/Los_Angeles")  # UTC-7: 4 May 07:00 UTC
    assert json.loads(out)["holdings"] == []
    _, out, _ = run(capsys, *args[:-1], "2026-05-04", "--timezone", "America/Los_Angeles")
    assert [h["quantity"] for h in json.loads(out)["holdings"]] == [100]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a scan, or --device with exactly one of --lot, --serial"),
        (("--device", GTIN), "exactly one of --lot, --serial"),
        (("--device", GTIN, "--lot", "A", "--serial", "B"), "exactly one of --lot, --serial"),
        ((SCAN, "--lot", "A"), "not both"),
        (("--known-at", "99", *LOT_ARGS), "outside the ledger (0..23)"),
        ((f"(01){GTIN}",), "neither a lot nor a serial"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "trace", "--db", str(ledger_file), *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args", [("--known-at", "x"), ("--at", "06/05/2026"), ("--timezone", "Mars/Olympus")]
)
def test_bad_option_values_are_refused(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["trace", "--db", str(ledger_file), *LOT_ARGS, *args])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
