"""Shared test configuration: Hypothesis profiles and the PostgreSQL test server.

PostgreSQL: tests that need a server take the ``postgres_dsn`` fixture (and carry the
``postgres`` marker). It is the server named by ``MEDINV_TEST_POSTGRES_DSN`` when that
is set; otherwise, when the PostgreSQL server binaries are installed, a throwaway
cluster ([`medinv.testing.pgserver.ThrowawayPostgres`]) started once per test session
in a temporary directory and removed at the end of the session, also after failures.
Each test that takes ``postgres_schema`` gets a schema of its own, dropped afterwards,
so tests never see each other's data. Without either, the tests are skipped, except under ``CI=true``, where a missing
server fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from medinv.testing.pgserver import ThrowawayPostgres, find_bindir, no_server

settings.register_profile("default", deadline=None)
settings.register_profile(
    "ci", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

DSN_ENV = "MEDINV_TEST_POSTGRES_DSN"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The libpq DSN of a PostgreSQL database the tests may use freely (session-wide)."""
    configured = os.environ.get(DSN_ENV)
    if configured:
        yield configured
        return
    if find_bindir() is None:
        no_server(DSN_ENV, ci=os.environ.get("CI") == "true")
    with ThrowawayPostgres() as server:
        yield server.dsn


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A fresh schema name for one test (created by the store), dropped after the test."""
    import psycopg  # noqa: PLC0415  (only PostgreSQL tests need the driver)
    from psycopg import sql  # noqa: PLC0415

    name = f"t_{uuid.uuid4().hex[:20]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


class _StoreWithout:
    """A `MemoryStore` without one of its ports: an integrator's store that keeps less."""

    def __init__(self, missing: str) -> None:
        from medinv.adapters.memory import MemoryStore  # noqa: PLC0415  (only these tests)

        self._inner = MemoryStore()
        self._missing = missing

    def __getattr__(self, name: str) -> object:
        if name == self._missing:
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.fixture
def store_without() -> type[_StoreWithout]:
    """``store_without("catalogue")``: a ledger store (memory) that has no ``.catalogue``."""
    return _StoreWithout


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A new ledger that other processes open: ``(file path, "-")`` on SQLite, ``(DSN, schema)``."""
    if request.param == "sqlite":
        from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415  (only these tests)

        path = tmp_path / "ledger.sqlite3"
        SqliteStore(path).close()
        return str(path), "-"
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (only these tests)

    dsn = request.getfixturevalue("postgres_dsn")
    schema = request.getfixturevalue("postgres_schema")
    PostgresStore(dsn, schema=schema).close()
    return dsn, schema
