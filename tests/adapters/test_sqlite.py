"""SqliteStore against the shipped contract suite and the stateful comparison, on real files."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from medinv.adapters.sqlite import SqliteStore
from medinv.ports import LedgerStore
from medinv.testing.catalogue_stateful import catalogue_machine
from medinv.testing.contract import LedgerStoreContract
from medinv.testing.stateful import ledger_machine


class TestSqliteStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path):
        with SqliteStore(tmp_path / "ledger.sqlite3") as store:
            yield store

    @pytest.fixture
    def reopen(self, tmp_path: Path):
        opened: list[SqliteStore] = []

        def reopen(store: LedgerStore) -> LedgerStore:
            store.close()
            opened.append(SqliteStore(tmp_path / "ledger.sqlite3"))
            return opened[-1]

        yield reopen
        for store in opened:
            store.close()


_FILES = tempfile.TemporaryDirectory(prefix="medinv-sqlite-machine-")
_NUMBERS = itertools.count()


def _fresh_file_store() -> SqliteStore:
    return SqliteStore(Path(_FILES.name) / f"case-{next(_NUMBERS)}.sqlite3")


TestSqliteStoreMachine = ledger_machine(_fresh_file_store, name="SqliteComparison").TestCase
TestSqliteStoreMachine.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestSqliteCatalogueMachine = catalogue_machine(
    _fresh_file_store, name="SqliteCatalogueComparison"
).TestCase
TestSqliteCatalogueMachine.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
