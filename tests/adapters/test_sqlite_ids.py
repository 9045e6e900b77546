"""`SqliteStore.movements_by_id`: ids after every stored one are answered by one seek.

The store asks SQLite for the greatest stored id first; when the least id asked
for sorts after it, none is stored and no id is probed. The answer must be the
one the probes give, whatever the ids (text orders by code point in Python and by
UTF-8 bytes in SQLite: the same order, including characters past U+FFFF).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv import ItemKey, Location, Movement
from medinv.adapters.sqlite import SqliteStore
from medinv.ledger import Ledger

ITEM = ItemKey("04006381333931", lot="L1")
SHELF = Location.parse("CHU/Store/A1")
AT = "2026-12-04T09:00:00+01:00"
# Letters on both sides of U+FFFF: UTF-16 would order the last two the other way.
IDS = st.text(alphabet="0Aaé€中\ue000\uffff\U00010348", min_size=1, max_size=4)


def receipt(mid: str) -> Movement:
    return Movement.receipt(mid, item=ITEM, quantity=1, to=SHELF, occurred_at=AT, actor="jm")


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with SqliteStore(":memory:") as opened:
        yield opened


def statements(store: SqliteStore) -> list[str]:
    """Every statement the store's connection runs from now on."""
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


@settings(max_examples=60, deadline=None)
@given(stored=st.lists(IDS, unique=True, max_size=8), asked=st.lists(IDS, max_size=8))
def test_the_answer_is_every_stored_id_asked_for(stored: list[str], asked: list[str]) -> None:
    with SqliteStore(":memory:") as store:
        if stored:
            Ledger(store).post([receipt(mid) for mid in stored])
        found = store.movements_by_id(asked)
        assert sorted(found) == sorted(set(asked) & set(stored))
        assert all(found[mid].movement.id == mid for mid in found)


def test_ids_after_the_last_stored_one_are_not_probed(store: SqliteStore) -> None:
    Ledger(store).post([receipt(f"M-{n:04d}") for n in range(1, 11)])
    seen = statements(store)
    assert store.movements_by_id({f"M-{n:04d}" for n in range(11, 21)}) == {}
    assert not [sql for sql in seen if "WHERE id IN" in sql]
    # One of them stored, or one before the last: probed, and found.
    assert list(store.movements_by_id(["M-0010", "M-0011"])) == ["M-0010"]
    assert store.movements_by_id(["M-0000", "M-0099"]) == {}
    assert [sql for sql in seen if "WHERE id IN" in sql]


def test_an_empty_ledger_probes_nothing(store: SqliteStore) -> None:
    seen = statements(store)
    assert store.movements_by_id(["A"]) == {}
    assert store.movements_by_id([]) == {}
    assert not [sql for sql in seen if "WHERE id IN" in sql]


def test_a_stored_id_that_is_not_text_means_probing(store: SqliteStore) -> None:
    Ledger(store).post([receipt("A-1"), receipt("A-2")])
    # Written outside medinv: SQLite orders a blob after every text, so it is the max.
    store._db.execute("UPDATE movements SET id = X'00' WHERE id = 'A-1'")
    assert list(store.movements_by_id(["A-2", "Z-9"])) == ["A-2"]


def test_ids_that_are_not_text_are_probed_as_before(store: SqliteStore) -> None:
    Ledger(store).post([receipt("A-1")])
    assert store.movements_by_id([7]) == {}  # type: ignore[list-item]
    assert list(store.movements_by_id(["A-1", 7])) == ["A-1"]  # type: ignore[list-item]
