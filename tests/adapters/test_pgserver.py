"""The throwaway PostgreSQL server used by the tests and benchmarks (medinv.testing.pgserver)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from medinv.errors import StorageError
from medinv.testing import pgserver
from medinv.testing.pgserver import ThrowawayPostgres, find_bindir, server_version


@pytest.mark.postgres
def test_the_session_server_answers(postgres_dsn):
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    assert row[0] >= 150000


@pytest.fixture
def fake_bindir() -> Iterator[Path]:
    """A world-readable directory (the server may run as another account) to fake binaries in."""
    root = Path(tempfile.mkdtemp(prefix="medinv-fakebin-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def _script(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IROTH)


def test_the_environment_variable_names_the_binaries_first(fake_bindir):
    for name in ("initdb", "pg_ctl", "postgres", "createdb"):
        _script(fake_bindir, name, "exit 0")
    found = find_bindir({pgserver.BIN_ENV: str(fake_bindir), "PATH": ""})
    assert found == fake_bindir


def test_an_incomplete_directory_is_not_taken(fake_bindir, monkeypatch):
    _script(fake_bindir, "initdb", "exit 0")  # no pg_ctl, postgres, createdb
    monkeypatch.setattr(pgserver, "_BIN_GLOBS", ())
    assert find_bindir({pgserver.BIN_ENV: str(fake_bindir), "PATH": str(fake_bindir)}) is None
    with pytest.raises(StorageError, match="no PostgreSQL server binaries"):
        ThrowawayPostgres(environ={"PATH": str(fake_bindir)})


def test_a_failing_initdb_is_reported_and_cleaned_up(fake_bindir):
    for name in ("pg_ctl", "postgres", "createdb"):
        _script(fake_bindir, name, "exit 0")
    _script(fake_bindir, "initdb", "echo 'initdb: disk on fire' >&2; exit 3")
    server = ThrowawayPostgres(bindir=fake_bindir)
    before = set(Path(tempfile.gettempdir()).glob("medinv-pg-*"))
    with pytest.raises(StorageError, match=r"initdb exited with 3: initdb: disk on fire"):
        server.start()
    assert set(Path(tempfile.gettempdir()).glob("medinv-pg-*")) <= before
    with pytest.raises(StorageError, match="not started"):
        _ = server.dsn
    server.stop()  # stopping a stopped server is a no-op


def test_server_version_reads_the_binary(fake_bindir):
    _script(fake_bindir, "postgres", "echo 'postgres (PostgreSQL) 15.18 (Debian)'")
    assert server_version(fake_bindir) == "15.18"
    _script(fake_bindir, "postgres", "echo 'no digits here'")
    with pytest.raises(StorageError, match="unexpected output"):
        server_version(fake_bindir)
    with pytest.raises(StorageError, match="cannot run"):
        server_version(fake_bindir / "missing")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another account")
def test_root_needs_an_existing_unprivileged_account():
    with pytest.raises(StorageError, match="refuses to run as root"):
        pgserver._unprivileged_account({pgserver.USER_ENV: "medinv-no-such-account"})
    assert pgserver._unprivileged_account({}).pw_uid != 0


@pytest.mark.skipif(find_bindir() is None, reason="needs the PostgreSQL server binaries")
def test_a_second_private_server_starts_and_is_removed():
    with ThrowawayPostgres(database="other") as server:
        directory = server.directory
        assert server.start() == server.dsn  # already started: same server
        with psycopg.connect(server.dsn_for("other"), autocommit=True) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("other",)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
    assert not directory.exists()


def test_a_missing_server_skips_locally_and_fails_under_ci():
    with pytest.raises(pytest.skip.Exception, match="MEDINV_TEST_POSTGRES_DSN is not set"):
        pgserver.no_server("MEDINV_TEST_POSTGRES_DSN", ci=False)
    with pytest.raises(pytest.fail.Exception, match="under CI=true PostgreSQL is required"):
        pgserver.no_server("MEDINV_TEST_POSTGRES_DSN", ci=True)
