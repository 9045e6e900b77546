"""The operations commands as a user runs them: a subprocess, and PostgreSQL specifics."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.cli._store import CommandError, open_store
from medinv.errors import StorageError
from medinv.ledger import Ledger

AT = "2026-11-23T09:00:00+01:00"
ITEM = ItemKey("04006381333931", lot="L1")
A = Location.parse("CHU/Store/A")


def medinv(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medinv", *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "ledger.sqlite3"
    with SqliteStore(file) as store:
        Ledger(store).post(
            [Movement.receipt("R-1", item=ITEM, quantity=3, to=A, occurred_at=AT, actor="a")]
        )
    return file


def test_subprocess_exit_codes_and_output(path: Path):
    done = medinv("verify", "--db", str(path))
    assert (done.returncode, done.stderr) == (0, "")
    assert "OK: no findings" in done.stdout
    done = medinv("stock", "--db", str(path), "--json")
    assert json.loads(done.stdout)["total_quantity"] == 3
    done = medinv("history", "--db", str(path), "--json")
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["R-1"]


def test_subprocess_corrupted_file_exits_1(path: Path):
    import sqlite3  # noqa: PLC0415

    db = sqlite3.connect(path)
    db.execute("UPDATE balances SET quantity = quantity + 1")
    db.commit()
    db.close()
    done = medinv("verify", "--db", str(path), "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert data["findings_by_kind"] == {"ProjectionMismatch": 1}


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--db", "/nonexistent/ledger.sqlite3"],
        ["stock", "--gtin", "12"],
        ["history", "--limit", "x"],
    ],
)
def test_subprocess_errors_are_one_line_without_traceback(argv: list[str]):
    done = medinv(*argv, env={"MEDINV_DSN": ""})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"medinv {argv[0]}: error: ")
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- PostgreSQL


def namespace(dsn: str | None, schema: str) -> argparse.Namespace:
    return argparse.Namespace(db=None, dsn=dsn, schema=schema)


@pytest.mark.postgres
def test_missing_schema_is_refused_not_created(postgres_dsn: str, postgres_schema: str, capsys):
    import psycopg  # noqa: PLC0415

    code = main(["verify", "--dsn", postgres_dsn, "--schema", postgres_schema])
    assert code == 2
    assert capsys.readouterr().err == (
        f"medinv verify: error: --schema: no medinv ledger in schema {postgres_schema!r} "
        "(commands never create a ledger)\n"
    )
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (postgres_schema,)
        ).fetchone()
    assert row == (0,)


@pytest.mark.postgres
def test_postgres_session_is_read_only(postgres_dsn: str, postgres_schema: str):
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        Ledger(store).post(
            [Movement.receipt("R-1", item=ITEM, quantity=3, to=A, occurred_at=AT, actor="a")]
        )
    with open_store(namespace(postgres_dsn, postgres_schema)) as opened:
        ledger = Ledger(opened)
        assert ledger.balance(ITEM) == 3
        with pytest.raises(StorageError, match="read-only"):
            ledger.post(
                [Movement.receipt("R-2", item=ITEM, quantity=1, to=A, occurred_at=AT, actor="a")]
            )


@pytest.mark.postgres
def test_dsn_from_the_environment(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch, capsys
):
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        Ledger(store).post(
            [Movement.receipt("R-1", item=ITEM, quantity=3, to=A, occurred_at=AT, actor="a")]
        )
    monkeypatch.setenv("MEDINV_DSN", postgres_dsn)
    assert main(["stock", "--schema", postgres_schema, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_quantity"] == 3


@pytest.mark.postgres
def test_unreachable_server_and_bad_schema_name(postgres_dsn: str, capsys):
    unreachable = namespace("host=/nonexistent-socket-dir dbname=x", "medinv")
    with pytest.raises(CommandError, match=r"^--dsn: cannot connect"), open_store(unreachable):
        pass  # pragma: no cover
    code = main(["stock", "--dsn", postgres_dsn, "--schema", "Bad-Name"])
    assert code == 2
    assert capsys.readouterr().err.startswith("medinv stock: error: ")


def test_output_piped_into_head_ends_quietly(tmp_path: Path):
    file = tmp_path / "long.sqlite3"
    with SqliteStore(file) as store:
        Ledger(store).post(
            [
                Movement.receipt(f"R-{n}", item=ITEM, quantity=1, to=A, occurred_at=AT, actor="a")
                for n in range(3000)
            ]
        )
    done = subprocess.run(  # noqa: S602  (the point is a real pipe into head)
        f"{shlex.quote(sys.executable)} -m medinv history --db {shlex.quote(str(file))} --json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert json.loads(done.stdout)["id"] == "R-0"
    assert done.stderr == ""


def test_interrupt_is_one_line(path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("medinv.cli._verify.verify_store", interrupted)
    assert main(["verify", "--db", str(path), "--no-progress"]) == 130
    assert capsys.readouterr().err == "medinv verify: interrupted\n"
