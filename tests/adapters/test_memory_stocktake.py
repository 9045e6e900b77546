from __future__ import annotations

import pytest

from medinv.adapters.memory_stocktake import MemoryStocktakeStore
from medinv.ports_stocktake import StocktakeStore
from medinv.testing.stocktake_contract import StocktakeStoreContract


class TestMemoryStocktakeStore(StocktakeStoreContract):
    @pytest.fixture
    def store(self):
        with MemoryStocktakeStore() as store:
            yield store


def test_memory_store_satisfies_the_port():
    assert isinstance(MemoryStocktakeStore(), StocktakeStore)
