"""``medinv verify``, ``stock`` and ``history`` on SQLite and PostgreSQL, in process.

Each test gets the same small ledger in both stores (``ledger_args``: the options
naming it) and compares what the command prints with what the library answers.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv import ItemKey, Location, Movement
from medinv.adapters.sqlite import SCHEMA_VERSION as SQLITE_VERSION
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.cli._progress import Progress
from medinv.cli._stock import position_as_of
from medinv.ledger import Ledger
from medinv.ports import LedgerStore

GTIN = "04006381333931"
OTHER = "09506000134352"
LOT = ItemKey(GTIN, lot="L1")
LOT2 = ItemKey(OTHER, lot="B7")
SERIAL = ItemKey(GTIN, serial="SN-7")
A, B = Location.parse("CHU/Store/A"), Location.parse("CHU/Ward")
AT = "2026-11-23T09:00:00+01:00"
LATER = "2026-11-24T15:30:00+01:00"
T0 = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
DATA = Path(__file__).parent.parent / "data"


def fill(store: LedgerStore) -> None:
    """Three batches, recorded an hour apart from ``T0``: receipts, a transfer and an issue."""
    clock = iter([T0, T0.add(hours=1), T0.add(hours=2)])
    ledger = Ledger(store, clock=lambda: next(clock))
    ledger.post(
        [
            Movement.receipt("R-1", item=LOT, quantity=10, to=A, occurred_at=AT, actor="Ann Lee",
                             expiry="2027-06-30", reference="PO-1"),
            Movement.receipt("R-2", item=SERIAL, quantity=1, to=A, occurred_at=AT, actor="bob",
                             expiry="2028-01-31", reference="PO-1"),
            Movement.receipt("R-3", item=LOT2, quantity=5, to=B, occurred_at=AT, actor="bob",
                             expiry="2026-12-31", reference="PO-2"),
        ]
    )  # fmt: skip
    ledger.post(
        [Movement.transfer("T-1", item=LOT, quantity=4, source=A, to=B, occurred_at=LATER, actor="ann lee")]
    )  # fmt: skip
    ledger.post(
        [Movement.issue("I-1", item=LOT2, quantity=2, source=B, occurred_at=LATER, actor="bob",
                        reference="WARD-9")]
    )  # fmt: skip


class Ledgers:
    """One filled ledger: the options naming it, a way to open it, a way to corrupt it."""

    def __init__(
        self,
        args: list[str],
        opener: Callable[[], LedgerStore],
        corrupt: Callable[[str], None],
    ) -> None:
        self.args = args
        self.open = opener
        self.corrupt = corrupt


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledgers]:
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        with SqliteStore(path) as store:
            fill(store)

        def corrupt_sqlite(statement: str) -> None:
            db = sqlite3.connect(path)
            try:
                done = db.execute(statement.format(s="main"))
                assert statement.startswith("PRAGMA") or done.rowcount >= 1
                db.commit()
            finally:
                db.close()

        yield Ledgers(["--db", str(path)], lambda: SqliteStore(path), corrupt_sqlite)
        return
    import psycopg  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    dsn = request.getfixturevalue("postgres_dsn")
    schema = request.getfixturevalue("postgres_schema")
    with PostgresStore(dsn, schema=schema) as pg_store:
        fill(pg_store)

    def corrupt_postgres(statement: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute(statement.format(s=schema)).rowcount >= 1

    yield Ledgers(
        ["--dsn", dsn, "--schema", schema],
        lambda: PostgresStore(dsn, schema=schema),
        corrupt_postgres,
    )


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(*argv: str, capsys: pytest.CaptureFixture[str]) -> Any:
    code, out, err = run(*argv, "--json", capsys=capsys)
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- verify


def test_verify_clean_ledger(ledger: Ledgers, capsys):
    code, out, err = run("verify", *ledger.args, capsys=capsys)
    assert (code, err) == (0, "")
    assert "checked: 5 movements" in out
    assert "OK: no findings" in out


def test_verify_json_shape(ledger: Ledgers, capsys):
    data = run_json("verify", *ledger.args, capsys=capsys)
    with ledger.open() as store:
        head = store.head()
    assert data == {
        "format": 1,
        "ok": True,
        "head": {"position": 5, "hash": head.hash},
        "movements_checked": 5,
        "balances_checked": data["balances_checked"],
        "catalogue_versions_checked": 0,
        "findings_by_kind": {},
        "findings": [],
    }
    assert data["balances_checked"] > 0


def test_verify_corrupted_ledger_exits_1_with_the_finding(ledger: Ledgers, capsys):
    ledger.corrupt("UPDATE {s}.movements SET id = 'R-1-old' WHERE position = 1")
    with ledger.open() as store:
        (expected,) = Ledger(store).verify().findings  # the kind depends on the store
    kind = type(expected).__name__
    code, out, _ = run("verify", *ledger.args, capsys=capsys)
    assert code == 1
    assert f"FINDINGS: 1\n  {kind}: 1\n- {kind}: {expected.description}\n" in out
    code, out, _ = run("verify", *ledger.args, "--json", capsys=capsys)
    data = json.loads(out)
    assert code == 1
    assert data["ok"] is False
    assert data["findings_by_kind"] == {kind: 1}
    (finding,) = data["findings"]
    assert finding["kind"] == kind
    assert finding["description"] == expected.description
    assert finding["fields"]["position"] == 1


def test_verify_anchor(ledger: Ledgers, capsys):
    with ledger.open() as store:
        head = store.head()
    assert run("verify", *ledger.args, "--anchor", f"5:{head.hash}", capsys=capsys)[0] == 0
    code, out, _ = run("verify", *ledger.args, "--anchor", "5:" + "0" * 64, capsys=capsys)
    assert code == 1
    assert "HeadMismatch" in out


# --------------------------------------------------------------------------- stock


def rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["gtin"], r["lot"], r["serial"], r["location"], r["status"], r["quantity"]) for r in data["rows"]]  # fmt: skip


def test_stock_lists_what_the_ledger_answers(ledger: Ledgers, capsys):
    data = run_json("stock", *ledger.args, capsys=capsys)
    with ledger.open() as store:
        expected = [
            (p.item.gtin.value, p.item.lot and p.item.lot.value, p.item.serial and p.item.serial.value,
             str(p.location), p.status.value, p.quantity)
            for p in Ledger(store).positions()
        ]  # fmt: skip
    assert rows(data) == expected
    assert data["as_of_position"] == 5
    assert data["total_quantity"] == 10 + 1 + 3
    assert data["rows"][0]["expiry"] is not None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--gtin", OTHER], [(OTHER, "B7", None, "CHU/Ward", "AVAILABLE", 3)]),
        (["--gtin", "4006381333931", "--lot", "L1", "--location", "CHU/Ward"],
         [(GTIN, "L1", None, "CHU/Ward", "AVAILABLE", 4)]),
        (["--serial", "SN-7"], [(GTIN, None, "SN-7", "CHU/Store/A", "AVAILABLE", 1)]),
        (["--location", "CHU/Store"], [(GTIN, None, "SN-7", "CHU/Store/A", "AVAILABLE", 1),
                                       (GTIN, "L1", None, "CHU/Store/A", "AVAILABLE", 6)]),
        (["--status", "quarantine"], []),
        (["--expiring-before", "2027-01-01"], [(OTHER, "B7", None, "CHU/Ward", "AVAILABLE", 3)]),
        (["--as-of", "3", "--location", "CHU/Ward"], [(OTHER, "B7", None, "CHU/Ward", "AVAILABLE", 5)]),
        (["--as-of", "0"], []),
    ],
)  # fmt: skip
def test_stock_filters(
    ledger: Ledgers, capsys, options: list[str], expected: list[tuple[Any, ...]]
):
    assert rows(run_json("stock", *ledger.args, *options, capsys=capsys)) == expected


def test_stock_as_of_an_instant_is_the_last_position_recorded_by_then(ledger: Ledgers, capsys):
    def as_of(instant: pendulum.DateTime) -> int:
        data = run_json("stock", *ledger.args, "--as-of", instant.isoformat(), capsys=capsys)
        return int(data["as_of_position"])

    assert as_of(T0.subtract(seconds=1)) == 0
    assert as_of(T0) == 3
    assert as_of(T0.add(minutes=90)) == 4
    assert as_of(T0.add(hours=2)) == 5
    assert as_of(T0.add(years=5)) == 5


def test_stock_by_product_and_location(ledger: Ledgers, capsys):
    data = run_json("stock", *ledger.args, "--by", "product,location", capsys=capsys)
    assert data["by"] == ["product", "location"]
    assert data["rows"] == [
        {"gtin": GTIN, "location": "CHU/Store/A", "quantity": 7, "positions": 2, "earliest_expiry": "2027-06-30"},
        {"gtin": GTIN, "location": "CHU/Ward", "quantity": 4, "positions": 1, "earliest_expiry": "2027-06-30"},
        {"gtin": OTHER, "location": "CHU/Ward", "quantity": 3, "positions": 1, "earliest_expiry": "2026-12-31"},
    ]  # fmt: skip


def test_stock_by_lot_and_by_status(ledger: Ledgers, capsys):
    data = run_json("stock", *ledger.args, "--by", "lot", capsys=capsys)
    assert [(r["gtin"], r["lot"], r["quantity"]) for r in data["rows"]] == [
        (GTIN, None, 1),
        (GTIN, "L1", 10),
        (OTHER, "B7", 3),
    ]
    data = run_json("stock", *ledger.args, "--by", "status", capsys=capsys)
    assert data["rows"] == [
        {"status": "AVAILABLE", "quantity": 14, "positions": 4, "earliest_expiry": "2026-12-31"}
    ]


def test_stock_table(ledger: Ledgers, capsys):
    code, out, _ = run("stock", *ledger.args, "--location", "CHU/Ward", capsys=capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["gtin", "lot", "serial", "location", "status", "quantity", "expiry", "received_at"]  # fmt: skip
    assert lines[1].split()[:6] == [GTIN, "L1", "-", "CHU/Ward", "AVAILABLE", "4"]
    assert len(lines) == 3
    code, out, _ = run("stock", *ledger.args, "--status", "hold", capsys=capsys)
    assert out == "no stock matches\n"


# --------------------------------------------------------------------------- history


def ids(*argv: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, err = run("history", *argv, "--json", capsys=capsys)
    assert code == 0, err
    return [json.loads(line)["id"] for line in out.splitlines()]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], ["R-1", "R-2", "R-3", "T-1", "I-1"]),
        (["--id", "T-1"], ["T-1"]),
        (["--id", "nope"], []),
        (["--id", "R-1", "--since", "1"], []),
        (["--gtin", GTIN], ["R-1", "R-2", "T-1"]),
        (["--lot", "B7"], ["R-3", "I-1"]),
        (["--serial", "SN-7"], ["R-2"]),
        (["--location", "CHU/Ward"], ["R-3", "T-1", "I-1"]),
        (["--location", "CHU/Store"], ["R-1", "R-2", "T-1"]),
        (["--kind", "receipt"], ["R-1", "R-2", "R-3"]),
        (["--actor", "ANN  LEE"], ["R-1", "T-1"]),
        (["--reference", "PO-1"], ["R-1", "R-2"]),
        (["--from", "2026-11-24T00:00:00+01:00"], ["T-1", "I-1"]),
        (["--to", "2026-11-24T00:00:00+01:00"], ["R-1", "R-2", "R-3"]),
        (["--since", "3"], ["T-1", "I-1"]),
        (["--limit", "2"], ["T-1", "I-1"]),
        (["--gtin", GTIN, "--kind", "transfer", "--limit", "5"], ["T-1"]),
    ],
)
def test_history_filters(ledger: Ledgers, capsys, options: list[str], expected: list[str]):
    assert ids(*ledger.args, *options, capsys=capsys) == expected


def test_history_json_lines_carry_every_field(ledger: Ledgers, capsys):
    code, out, _ = run("history", *ledger.args, "--id", "T-1", "--json", capsys=capsys)
    assert code == 0
    (line,) = out.splitlines()
    with ledger.open() as store:
        recorded = Ledger(store).movement("T-1")
    assert recorded is not None
    assert json.loads(line) == {
        "position": 4, "id": "T-1", "kind": "TRANSFER", "gtin": GTIN, "lot": "L1", "serial": None,
        "quantity": 4, "from_location": "CHU/Store/A", "from_status": "AVAILABLE",
        "to_location": "CHU/Ward", "to_status": "AVAILABLE", "occurred_at": "2026-11-24T15:30:00+01:00",
        "recorded_at": "2026-11-23T09:00:00+00:00", "actor": "ann lee", "reason": None,
        "reference": None, "expiry": None, "reverses": None,
        "hash": recorded.hash, "prev_hash": recorded.prev_hash,
        "counterparty": None, "business_references": [],
    }  # fmt: skip


def test_history_table(ledger: Ledgers, capsys):
    code, out, _ = run("history", *ledger.args, "--lot", "B7", capsys=capsys)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split()[:4] == ["position", "id", "kind", "item"]
    assert lines[2].split()[:3] == ["5", "I-1", "ISSUE"]
    assert "WARD-9" in lines[2]
    assert (
        run("history", *ledger.args, "--kind", "scrap", capsys=capsys)[1] == "no movement matches\n"
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["stock", "--gtin", "123"], "--gtin"),
        (["stock", "--status", "lost"], "--status"),
        (["stock", "--location", "a//b"], "--location"),
        (["stock", "--expiring-before", "soon"], "--expiring-before"),
        (["stock", "--as-of", "2026-11-23T09:00:00"], "--as-of"),
        (["stock", "--as-of", "-1"], "--as-of"),
        (["stock", "--by", "shelf"], "--by"),
        (["stock", "--by", "lot,lot"], "--by"),
        (["history", "--kind", "theft"], "--kind"),
        (["history", "--since", "x"], "--since"),
        (["history", "--limit", "0"], "--limit"),
        (["history", "--from", "yesterday"], "--from"),
        (["history", "--actor", "  "], "--actor"),
        (["verify", "--anchor", "12"], "--anchor"),
        (["verify", "--anchor", "x:abc"], "--anchor"),
    ],
)
def test_bad_argument_is_one_line_naming_the_option(
    ledger: Ledgers, capsys, argv: list[str], option: str
):
    with pytest.raises(SystemExit) as info:
        main([*argv, *ledger.args])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.count("\n") == 1, err
    assert err.startswith(f"medinv {argv[0]}: error: argument {option}")


def test_as_of_after_the_head_is_refused(ledger: Ledgers, capsys):
    code, _, err = run("stock", *ledger.args, "--as-of", "6", capsys=capsys)
    assert code == 2
    assert err == "medinv stock: error: --as-of: position 6 is after the head (5)\n"


def test_to_before_from_is_refused(ledger: Ledgers, capsys):
    code, _, err = run("history", *ledger.args, "--from", LATER, "--to", AT, capsys=capsys)
    assert (code, err) == (2, "medinv history: error: --to: must be after --from\n")


def test_db_and_dsn_together_are_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["verify", "--db", "x", "--dsn", "y"])
    assert info.value.code == 2
    assert "not allowed with argument --db" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["verify", "stock", "history"])
def test_missing_file_is_refused_not_created(tmp_path: Path, capsys, command: str):
    path = tmp_path / "nope.sqlite3"
    code, out, err = run(command, "--db", str(path), capsys=capsys)
    assert (code, out) == (2, "")
    assert err == f"medinv {command}: error: --db: no such file {str(path)!r} (commands never create a ledger)\n"  # fmt: skip
    assert not path.exists()


def test_directory_and_foreign_files_are_refused(tmp_path: Path, capsys):
    code, _, err = run("verify", "--db", str(tmp_path), capsys=capsys)
    assert code == 2
    assert "is not a file" in err
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    code, _, err = run("verify", "--db", str(garbage), capsys=capsys)
    assert code == 2
    assert "is not a medinv ledger" in err
    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()
    before = other.read_bytes()
    code, _, err = run("stock", "--db", str(other), capsys=capsys)
    assert code == 2
    assert "not a medinv ledger" in err
    assert other.read_bytes() == before
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    code, _, err = run("history", "--db", str(empty), capsys=capsys)
    assert (code, err) == (2, f"medinv history: error: --db: {str(empty)!r} holds no ledger\n")
    assert empty.read_bytes() == b""


def test_older_schema_is_refused_not_migrated(tmp_path: Path, capsys):
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "ledger-schema4.sqlite3", path)
    before = path.read_bytes()
    code, _, err = run("verify", "--db", str(path), capsys=capsys)
    assert code == 2
    assert "older than this medinv's" in err
    assert path.read_bytes() == before


def test_no_ledger_named(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.delenv("MEDINV_DSN", raising=False)
    code, _, err = run("stock", capsys=capsys)
    assert (code, err) == (2, "medinv stock: error: no ledger: give --db PATH or --dsn DSN (or set $MEDINV_DSN)\n")  # fmt: skip


# --------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        fill(store)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr("medinv.cli._progress._INTERVAL", 0.0)
    assert main(["verify", "--db", str(path)]) == 0
    drawn = terminal.getvalue()
    assert "\rverify: movements: 1 / 5 (20 %)" in drawn
    assert "\rverify: movements: 5 / 5 (100 %)" in drawn
    assert drawn.endswith("\r")  # erased at the end
    terminal.seek(0)
    terminal.truncate()
    assert main(["verify", "--db", str(path), "--no-progress"]) == 0
    assert terminal.getvalue() == ""
    capsys.readouterr()


def test_progress_counts_without_drawing_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress.for_terminal(stream, "work", 0, wanted=True)
    progress.advance(3)
    progress.finish()
    assert (progress.done, stream.getvalue(), progress.line()) == (3, "", "work: 3")


# --------------------------------------------------------------------------- as-of search


def test_position_as_of_agrees_with_a_scan(tmp_path: Path):
    clock_times = [T0.add(minutes=m) for m in (0, 0, 5, 5, 5, 9, 30)]
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        times = iter(clock_times)
        ledger = Ledger(store, clock=lambda: next(times))
        for n in range(len(clock_times)):
            ledger.post([Movement.receipt(f"R-{n}", item=LOT, quantity=1, to=A, occurred_at=AT, actor="a")])  # fmt: skip
        recorded = [m.recorded_at for m in ledger.history()]
        for minute in range(-1, 32):
            instant = T0.add(minutes=minute)
            expected = sum(1 for r in recorded if r <= instant)
            assert position_as_of(store, instant) == expected, minute


def test_history_table_shows_lots_and_serials(ledger: Ledgers, capsys):
    code, out, _ = run("history", *ledger.args, "--gtin", GTIN, capsys=capsys)
    lines = out.splitlines()
    assert code == 0
    assert [line.split()[1] for line in lines[1:]] == ["R-1", "R-2", "T-1"]
    assert f"{GTIN} serial SN-7" in lines[2]
    assert "CHU/Store/A (AVAILABLE)  CHU/Ward (AVAILABLE)" in lines[3]


@pytest.mark.parametrize(("change", "says"), [(-1, "older than this medinv's"), (+1, "newer than")])
def test_other_schema_versions_are_refused(ledger: Ledgers, capsys, change: int, says: str):
    if ledger.args[0] == "--db":
        ledger.corrupt(f"PRAGMA user_version = {SQLITE_VERSION + change}")
        run_and_check_refused(ledger, capsys, says)
        return
    from medinv.adapters.postgres import SCHEMA_VERSION as PG_VERSION  # noqa: PLC0415

    if change < 0:
        ledger.corrupt("DELETE FROM {s}.schema_version WHERE version = " + str(PG_VERSION))  # noqa: S608
    else:
        newer = PG_VERSION + 1
        insert = "INSERT INTO {s}.schema_version (version, description) VALUES (%d, 'x')"
        ledger.corrupt(insert % newer)
    run_and_check_refused(ledger, capsys, says)


def run_and_check_refused(ledger: Ledgers, capsys: pytest.CaptureFixture[str], says: str) -> None:
    code, out, err = run("verify", *ledger.args, capsys=capsys)
    assert (code, out) == (2, "")
    assert says in err
    assert err.startswith("medinv verify: error: ")


def test_json_value_of_each_kind_of_value():
    from medinv.cli._json import json_value  # noqa: PLC0415
    from medinv.ports import LedgerHead  # noqa: PLC0415

    assert json_value({"a": (1, LedgerHead(2, "h"))}) == {"a": [1, {"position": 2, "hash": "h"}]}
    assert json_value([pendulum.date(2027, 1, 31), A, None]) == ["2027-01-31", "CHU/Store/A", None]
    assert json_value(Path("a/b")) == "a/b"  # anything else: its text


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3), min_size=0, max_size=12),
    probe=st.integers(min_value=-2, max_value=40),
)
def test_position_as_of_is_the_count_recorded_by_then(gaps: list[int], probe: int):
    """Any non-decreasing recorded_at (ties included): the search agrees with counting."""
    from medinv.adapters.memory import MemoryStore  # noqa: PLC0415

    times = [T0.add(minutes=sum(gaps[: n + 1])) for n in range(len(gaps))]
    store = MemoryStore()
    clock = iter(times)
    ledger = Ledger(store, clock=lambda: next(clock))
    for n in range(len(times)):
        ledger.post([Movement.receipt(f"R-{n}", item=LOT, quantity=1, to=A, occurred_at=AT, actor="a")])  # fmt: skip
    instant = T0.add(minutes=probe)
    assert position_as_of(store, instant) == sum(1 for t in times if t <= instant)
