from __future__ import annotations

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_stocktake import MemoryStocktakes, MemoryStocktakeStore
from medinv.errors import StorageError
from medinv.testing.stocktake_contract import StocktakeStoreContract, sample_stocktake


class TestMemoryStocktakeStore(StocktakeStoreContract):
    @pytest.fixture
    def store(self):
        with pytest.warns(DeprecationWarning, match=r"MemoryStore\(\)\.stocktakes"):
            made = MemoryStocktakeStore()
        with made as store:
            yield store


class TestMemoryStocktakes(StocktakeStoreContract):
    @pytest.fixture
    def store(self):
        with MemoryStocktakes() as store:
            yield store


class TestMemoryStoreStocktakes(StocktakeStoreContract):
    @pytest.fixture
    def store(self):
        with MemoryStore() as store:
            yield store.stocktakes


def test_the_stocktakes_of_a_memory_store_close_with_it():
    store = MemoryStore()
    stocktakes = store.stocktakes
    assert isinstance(stocktakes, MemoryStocktakes)
    assert store.stocktakes is stocktakes
    stocktakes.create(sample_stocktake())
    with stocktakes:
        pass
    with pytest.raises(StorageError, match="closed"):
        store.head()
    with pytest.raises(StorageError, match="closed"):
        stocktakes.get("ST-1")


def test_a_stocktake_store_of_its_own_has_nothing_to_close():
    with MemoryStocktakes() as store:
        store.create(sample_stocktake())
    assert store.get("ST-1") == sample_stocktake()
