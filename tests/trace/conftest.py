"""Empty stores of each kind for the trace tests: memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.ports import LedgerStore

STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""The ``*_store`` fixtures below, by name (PostgreSQL carries its marker)."""


@pytest.fixture
def memory_store() -> LedgerStore:
    return MemoryStore()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[LedgerStore]:
    with SqliteStore(tmp_path / "ledger.db") as store:
        yield store


@pytest.fixture
def postgres_store(postgres_dsn: str, postgres_schema: str) -> Iterator[LedgerStore]:
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs the driver)

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        yield store
