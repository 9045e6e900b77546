"""The same ledger on SQLite and PostgreSQL gives the same figures as in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.analytics import (
    StockHistory,
    consumption_values,
    demand,
    expiry_risk,
    replenishment,
    stock_ageing,
    stock_cover,
)
from medinv.catalogue import Product, ReorderPolicy, UnitValue
from medinv.ports import CatalogueStore, LedgerStore

from ._ledgers import GTINS, START, random_ledger


def figures(store: LedgerStore, catalogue: CatalogueStore) -> list[Any]:
    for n, gtin in enumerate(GTINS):
        product = Product(
            primary_di=gtin,
            unit_value=UnitValue(amount=f"{n + 1}.25", currency="EUR"),
            reorder=ReorderPolicy(minimum=10, maximum=80, lead_time_days=3 + n),
        )
        catalogue.put_product(product, valid_from=START.subtract(days=1))
    ledger = random_ledger(store, seed=7, steps=150)
    out: list[Any] = []
    for days in (10, 45, 90):
        history = StockHistory.read(ledger, as_of=START.add(days=days, hours=3))
        out.append([demand(history, g, loc) for g, loc in history.places()])
        out.append(expiry_risk(history, catalogue=catalogue))
        out.append(replenishment(history, catalogue, on_order={(GTINS[0], "H/Store"): 5}))
        out.append(stock_ageing(history))
        out.append(stock_cover(history))
        out.append(consumption_values(history, catalogue))
    return out


@pytest.fixture(scope="module")
def in_memory() -> list[Any]:
    store = MemoryStore()
    return figures(store, store.catalogue)


def test_sqlite_gives_the_same_figures(tmp_path: Path, in_memory: list[Any]) -> None:
    with SqliteStore(tmp_path / "ledger.db") as store:
        assert figures(store, store.catalogue) == in_memory
    assert any(line.quantity for line in in_memory[2])  # the ledger does propose something


@pytest.mark.postgres
def test_postgresql_gives_the_same_figures(
    postgres_dsn: str, postgres_schema: str, in_memory: list[Any]
) -> None:
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs the driver)

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert figures(store, store.catalogue) == in_memory
