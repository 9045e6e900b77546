"""ledger.py holds the service; retry and the posting cache have their own homes."""

from __future__ import annotations

import medinv
import medinv.ledger
from medinv._cache import PostingCache, put_back
from medinv._retry import retry
from medinv.adapters.memory import MemoryStore


def test_retry_keeps_its_public_paths() -> None:
    assert medinv.ledger.retry is retry
    assert medinv.retry is retry
    assert "retry" in medinv.ledger.__all__


def test_a_ledger_keeps_its_posting_cache() -> None:
    ledger = medinv.ledger.Ledger(MemoryStore())
    assert isinstance(ledger._known, PostingCache)


def test_put_back_restores_quantities_and_drops_zeros() -> None:
    quantities = {"a": 5, "b": 2}
    put_back(quantities, {"a": 3, "b": 0, "c": 4})
    assert quantities == {"a": 3, "c": 4}
