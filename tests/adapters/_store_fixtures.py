"""The three stores as pytest fixtures, for the contract suites run on every store.

A contract suite's test class takes one of these mixins first, then the contract:
``class TestSqliteRecalls(SqliteStores, RecallStoreContract): pass``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore


class MemoryStores:
    """A fresh `MemoryStore` (not durable: no ``open_database``)."""

    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        with MemoryStore() as store:
            yield store


class SqliteStores:
    """A fresh SQLite file, and an opener of a second file shared by its opens."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteStore]:
        with SqliteStore(tmp_path / "medinv.sqlite3") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path: Path) -> Callable[[], SqliteStore]:
        return lambda: SqliteStore(tmp_path / "one.sqlite3")


@pytest.mark.postgres
class PostgresStores:
    """A fresh PostgreSQL schema, and an opener of it."""

    @pytest.fixture
    def store(self, postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            yield store

    @pytest.fixture
    def open_database(self, postgres_dsn: str, postgres_schema: str) -> Callable[[], PostgresStore]:
        return lambda: PostgresStore(postgres_dsn, schema=postgres_schema)
