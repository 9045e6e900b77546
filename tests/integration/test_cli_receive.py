"""``medinv receive``: scan lines from standard input booked on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import Controls, PackageLevel, Product
from medinv.cli import main
from medinv.ledger import Ledger
from medinv.ports import LedgerStore
from medinv.status import StockStatus

EACH, BOX = "09501101530003", "19501101530000"
PRODUCT = Product(
    primary_di=EACH,
    packages=(PackageLevel(di=BOX, contains=EACH, quantity=12),),
    controls=Controls(lot=True, expiry=True),
    min_shelf_life_at_receipt=90,
)
AT = "2026-12-01T09:00:00+01:00"
SCANS = "(01)19501101530000(17)280131(10)L42(30)3\n\n]d2010950110153000317270131\x1d10L-SHORT\r\n"


class Target:
    """A ledger database with the product in its catalogue: its options and an opener."""

    def __init__(self, args: list[str], opener: Callable[[], LedgerStore]) -> None:
        self.args = args
        self.open = opener


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        path = tmp_path / "stock.sqlite3"
        made = Target(["--db", str(path)], lambda: SqliteStore(path))
    else:
        from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        made = Target(["--dsn", dsn, "--schema", schema], lambda: PostgresStore(dsn, schema=schema))
    with made.open() as store:
        store.catalogue.put_product(PRODUCT, valid_from="2026-01-01T00:00:00+00:00")  # type: ignore[attr-defined]
    return made


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    *args: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["receive", *args])
    out, err = capsys.readouterr()
    return code, out, err


def options(target: Target, *more: str) -> list[str]:
    return [*target.args, "--to", "CHU/Dock", "--actor", "dock", "--batch", "DN-7",
            "--at", AT, *more]  # fmt: skip


def test_lines_are_booked_with_their_outcome_and_a_rerun_books_nothing(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    code, out, err = run(monkeypatch, capsys, SCANS, *options(target))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        (
            "line 1: booked 36 x (01)09501101530003(10)L42, expires 2028-01-31, AVAILABLE at "
            "CHU/Dock (movement DN-7/1)"
        ),
        (
            "line 3: booked 1 x (01)09501101530003(10)L-SHORT, expires 2027-01-31, QUARANTINE at "
            "CHU/Dock (movement DN-7/3)"
        ),
        "batch DN-7: 2 scan(s), 2 booked, 0 replayed, 37 base unit(s); ledger head at position 2",
    ]
    with target.open() as store:
        ledger = Ledger(store)
        assert ledger.balance(gtin=EACH, status=StockStatus.AVAILABLE) == 36
        assert ledger.balance(gtin=EACH, status=StockStatus.QUARANTINE) == 1
    code, out, _ = run(monkeypatch, capsys, SCANS, *options(target, "--json"))
    data = json.loads(out)
    assert (code, data["ok"], data["booked"], data["replayed"]) == (0, True, 0, 2)
    assert [line["outcome"] for line in data["lines"]] == ["replayed", "replayed"]
    assert data["head"]["position"] == 2
    assert data["lines"][1]["reason"].startswith("61 day(s) of shelf life left")


def test_refused_lines_are_each_reported_and_nothing_is_booked(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    stdin = "(01)09501101530003(17)280131(10)L1\n(01)09501101530003(10)L1\nnonsense\n"
    code, out, _ = run(monkeypatch, capsys, stdin, *options(target))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("line 2: refused: cannot receive scan ")
    assert "carries an expiry date on its label" in lines[0]
    assert lines[1].startswith("line 3: refused: ")
    assert lines[2] == "batch DN-7: 2 of 3 scan(s) refused, nothing booked"
    code, out, _ = run(monkeypatch, capsys, stdin, *options(target, "--json"))
    data = json.loads(out)
    assert (code, data["ok"], data["refused"]) == (1, False, 2)
    assert [line["outcome"] for line in data["lines"]] == ["not booked", "refused", "refused"]
    assert data["lines"][1]["rule"] == "EXPIRY_REQUIRED"
    assert data["lines"][2]["error"] == "InvalidBarcodeError"
    with target.open() as store:
        assert Ledger(store).head().position == 0


def test_unknown_devices_are_refused_unless_uncatalogued(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    stdin = "(01)00614141000418(30)4\n"
    code, out, _ = run(monkeypatch, capsys, stdin, *options(target))
    assert code == 1
    assert "no product of the catalogue has the DI GS1:00614141000418" in out
    code, out, _ = run(monkeypatch, capsys, stdin, *options(target, "--uncatalogued"))
    assert code == 0
    assert "booked 4 x (01)00614141000418, AVAILABLE" in out


def test_the_receipt_date_is_judged_in_the_facility_time_zone(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # 2027-03-01 is 90 days after 2026-12-01 (Paris), 91 after 2026-11-30 (UTC).
    stdin = "(01)09501101530003(17)270301(10)L1\n"
    args = [*target.args, "--to", "CHU/Dock", "--actor", "dock", "--batch", "TZ", "--json"]
    late = "2026-11-30T23:30:00+00:00"
    code, out, _ = run(monkeypatch, capsys, stdin, *args, "--at", late,
                       "--timezone", "Europe/Paris")  # fmt: skip
    assert code == 0
    assert json.loads(out)["lines"][0]["status"] == "AVAILABLE"


def test_bad_input_and_options_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    missing = tmp_path / "none.sqlite3"
    base = ["--to", "CHU/Dock", "--actor", "dock", "--batch", "B"]
    code, _, err = run(monkeypatch, capsys, "(01)09501101530003\n", "--db", str(missing), *base)
    assert (code, err) == (2, f"medinv receive: error: --db: no such file {str(missing)!r}\n")
    assert not missing.exists()
    code, _, err = run(monkeypatch, capsys, "\n \n", "--db", str(missing), *base)
    assert code == 2
    assert "no scans on standard input" in err
    code, _, err = run(monkeypatch, capsys, "x\n", "--db", str(tmp_path), *base)
    assert (code, err) == (2, f"medinv receive: error: --db: {str(tmp_path)!r} is not a file\n")
    monkeypatch.delenv("MEDINV_DSN", raising=False)
    code, _, err = run(monkeypatch, capsys, "x\n", *base)
    assert code == 2
    assert "no ledger: give --db PATH or --dsn DSN" in err
    with pytest.raises(SystemExit) as exited:
        run(monkeypatch, capsys, "x\n", "--db", "x", "--to", "/", "--actor", "a", "--batch", "B")
    assert exited.value.code == 2
    assert "argument --to" in capsys.readouterr().err
    code, _, err = run(monkeypatch, capsys, "x\n", "--dsn", "host=/nonexistent dbname=x", *base)
    assert code == 2
    assert err.startswith("medinv receive: error: --dsn: ")


def test_a_progress_line_is_drawn_on_a_terminal_and_erased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "stock.sqlite3"
    with SqliteStore(path) as store:
        store.catalogue.put_product(PRODUCT, valid_from="2026-01-01T00:00:00+00:00")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    stdin = "(01)09501101530003(17)280131(10)L42\n" * 1500
    target = Target(["--db", str(path)], lambda: SqliteStore(path))
    code, out, _ = run(monkeypatch, capsys, stdin, *options(target))
    assert code == 0
    assert "receive: scans: 1,000 / 1,500 (66 %)" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r")
    assert out.endswith(
        "1500 scan(s), 1500 booked, 0 replayed, 1500 base unit(s); ledger head at position 1500\n"
    )
