"""``medinv alerts`` and ``medinv replenish`` over a SQLite ledger (and the same JSON from the library)."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.analytics import StockHistory, expiry_risk, replenishment
from medinv.catalogue import PackageLevel, Product, ReorderPolicy, UnitValue
from medinv.cli import main
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ZONE = "Europe/Paris"
EACH, BOX, OTHER = "04006381333931", "14006381333938", "09501101530003"
STORE = Location.parse("Main/Store")
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)
AS_OF = DAY0.add(days=200).isoformat()


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "ledger.db"
    with SqliteStore(path) as store:
        store.catalogue.put_product(
            Product(primary_di=EACH, unit_value=UnitValue(amount="2", currency="EUR"),
                    packages=(PackageLevel(di=BOX, contains=EACH, quantity=10),),
                    reorder=ReorderPolicy(minimum=50, maximum=300)),
            valid_from=DAY0.subtract(days=1),
        )  # fmt: skip
        a, old = ItemKey(EACH, lot="A"), ItemKey(OTHER, lot="OLD")
        moves = [
            Movement.receipt("R1", item=a, quantity=240, to=STORE, occurred_at=DAY0, actor="x",
                             expiry="2026-08-01"),
            Movement.receipt("R2", item=old, quantity=7, to=STORE, occurred_at=DAY0, actor="x"),
        ]  # fmt: skip
        moves += [
            Movement.issue(f"I{d}", item=a, quantity=1, source=STORE,
                           occurred_at=DAY0.add(days=d, hours=1), actor="x")
            for d in range(200)
        ]  # fmt: skip
        Ledger(store, timezone=ZONE).post(moves)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_alerts_report_expiring_low_and_dead_stock(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["alerts", "--db", str(ledger_file), "--as-of", AS_OF, "--timezone", ZONE]
    code, out, _ = run(capsys, *base, "--json")
    assert code == 1
    data = json.loads(out)
    # 40 left, expiring on the 13th day from as_of (the expiry day included), consumed at
    # 200 units in 201 days: floor(13 x 200 / 201) = 12 used, 28 at risk.
    assert data["expiring"] == [
        {"gtin": EACH, "lot": "A", "serial": None, "location": "Main/Store",
         "expiry": "2026-08-01", "on_hand": 40, "at_risk": 28, "risk": "at-risk",
         "value_at_risk": {"amount": "56", "currency": "EUR"}},
    ]  # fmt: skip
    assert data["low_stock"] == [
        {"product": EACH, "location": "Main/Store", "usable": 12, "reserved": 0,
         "reorder_level": 50},
    ]  # fmt: skip
    assert [(r["gtin"], r["idle_days"], r["class"]) for r in data["idle_stock"]] == [
        (OTHER, 200, "dead")
    ]
    # The same figures as the library's.
    with SqliteStore(ledger_file) as store:
        history = StockHistory.read(store, as_of=AS_OF, timezone=ZONE)
        [risk, _] = expiry_risk(history, catalogue=store.catalogue)
        assert risk.at_risk == data["expiring"][0]["at_risk"]
    code, out, _ = run(capsys, *base)
    assert code == 1
    assert "Expiring within the window (1):" in out
    assert "Slow and dead stock (1):" in out
    code, out, _ = run(capsys, *base, "--within", "5", "--dead-after", "500", "--json")
    assert (code, json.loads(out)["expiring"], json.loads(out)["idle_stock"]) == (1, [], [])


def test_replenish_proposes_whole_packages_and_counts_what_is_on_order(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["replenish", "--db", str(ledger_file), "--as-of", AS_OF, "--timezone", ZONE]
    code, out, _ = run(capsys, *base, "--json")
    assert code == 0
    [line] = json.loads(out)["lines"]
    assert (line["position"], line["quantity"], line["order_di"], line["packages"]) == (
        12, 290, BOX, 29,
    )  # fmt: skip
    code, out, _ = run(capsys, *base, "--json", "--on-order", f"{EACH}@Main/Store=290")
    assert json.loads(out)["lines"] == []
    code, out, _ = run(capsys, *base, "--json", "--on-order", f"{EACH}@Main/Store=290", "--all")
    assert json.loads(out)["lines"][0]["position"] == 302
    with SqliteStore(ledger_file) as store:
        history = StockHistory.read(store, as_of=AS_OF, timezone=ZONE)
        [lib] = replenishment(history, store.catalogue)
        assert lib.quantity == line["quantity"]
    code, out, _ = run(
        capsys, *base, "--reserved", f"{EACH}@Main/Store=3", "--service-level", "0.9"
    )
    assert code == 0
    assert out.splitlines()[0].split() == [
        "product", "location", "position", "level", "target", "order", "packages", "of",
    ]  # fmt: skip
    assert out.splitlines()[1].split() == [EACH, "Main/Store", "9", "50", "300", "300", "30", BOX]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", ZONE], "--as-of"),
        (["--as-of", AS_OF], "--timezone"),
        (["--as-of", "2026-01-01T10:00", "--timezone", ZONE], "--as-of"),
        (["--as-of", AS_OF, "--timezone", "Mars/Base"], "--timezone"),
        (["--as-of", AS_OF, "--timezone", ZONE, "--window", "0"], "--window"),
        (["--as-of", AS_OF, "--timezone", ZONE, "--method", "median"], "--method"),
        (["--as-of", AS_OF, "--timezone", ZONE, "--on-order", "x=1"], "--on-order"),
        (
            ["--as-of", AS_OF, "--timezone", ZONE, "--reserved", f"{EACH}@Main/Store=-1"],
            "--reserved",
        ),
        (["--as-of", AS_OF, "--timezone", ZONE, "--on-order", "123@Main/Store=1"], "--on-order"),
        (["--as-of", AS_OF, "--timezone", ZONE, "--service-level", "1"], "--service-level"),
    ],
)
def test_bad_options_are_one_line_errors(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replenish", "--db", str(ledger_file), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_alerts_on_a_quiet_ledger_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.db"
    SqliteStore(path).close()
    code, out, _ = run(capsys, "alerts", "--db", str(path), "--as-of", AS_OF, "--timezone", ZONE)
    assert code == 0
    assert "Low stock (0):" in out
