"""The memory store's side tables roll back a failed transaction as a database does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from medinv.adapters._memory_tables import MemoryTables
from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_reservations import MemoryReservations


class Tables(MemoryTables):
    __slots__ = ("lists", "log", "rows")

    def __init__(self) -> None:
        super().__init__(MemoryStore())
        self.rows: dict[str, int] = {"kept": 1, "gone": 2}
        self.lists: dict[str, list[int]] = {"a": [1]}
        self.log: list[int] = [0]

    def state(self) -> tuple[dict[str, int], dict[str, list[int]], list[int]]:
        return dict(self.rows), {k: list(v) for k, v in self.lists.items()}, list(self.log)

    def write_everything(self) -> None:
        self._set(self.rows, "kept", 10)
        self._set(self.rows, "new", 3)
        self._remove(self.rows, "gone")
        self._append_to(self.lists, "a", 2)
        self._append_to(self.lists, "b", 1)
        self._extend(self.log, [1, 2])


class BoomError(Exception):
    pass


def fail_after(tables: MemoryTables, work: Callable[[], object]) -> None:
    """Run ``work`` in a transaction that then fails."""
    with tables._transaction():
        work()
        raise BoomError


@pytest.fixture
def tables() -> Iterator[Tables]:
    made = Tables()
    yield made
    made.close()


def test_a_failed_transaction_leaves_every_table_as_it_was(tables: Tables) -> None:
    before = tables.state()
    with pytest.raises(BoomError):
        fail_after(tables, tables.write_everything)
    assert tables.state() == before
    assert tables._undo == []


def test_a_committed_transaction_keeps_its_writes_and_forgets_how_to_undo(tables: Tables) -> None:
    with tables._transaction():
        tables.write_everything()
    assert tables.state() == ({"kept": 10, "new": 3}, {"a": [1, 2], "b": [1]}, [0, 1, 2])
    assert tables._undo == []


def test_a_nested_failure_caught_inside_undoes_only_the_inner_writes(tables: Tables) -> None:
    with tables._transaction():
        tables._set(tables.rows, "outer", 7)
        with pytest.raises(BoomError):
            fail_after(tables, tables.write_everything)
        tables._set(tables.rows, "after", 8)
    assert tables.state() == ({"kept": 1, "gone": 2, "outer": 7, "after": 8}, {"a": [1]}, [0])


def test_an_outer_failure_undoes_what_an_inner_transaction_committed(tables: Tables) -> None:
    before = tables.state()

    def inner_committed() -> None:
        with tables._transaction():
            tables.write_everything()

    with pytest.raises(BoomError):
        fail_after(tables, inner_committed)
    assert tables.state() == before


def test_writes_outside_a_transaction_keep_no_undo_log(tables: Tables) -> None:
    tables.write_everything()
    assert tables._undo == []


def test_a_reserve_that_fails_while_writing_leaves_the_expired_reservation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SQL stores roll the delete of the expired reservation back when the
    # insert fails; the memory store now does the same.
    store = MemoryStore()
    table = store.reservations
    assert isinstance(table, MemoryReservations)
    table._by_id["r1"] = ("old", "2000", {})  # type: ignore[assignment]
    before = dict(table._by_id)

    def refuse(*_: object) -> None:
        raise BoomError

    def replace() -> None:
        table._delete("r1")
        table._insert(None, "", {})  # type: ignore[arg-type]

    monkeypatch.setattr(MemoryReservations, "_insert", refuse)
    with pytest.raises(BoomError):
        fail_after(table, replace)
    assert table._by_id == before
    store.close()


def test_a_projection_save_that_fails_later_in_its_transaction_is_undone() -> None:
    # The rows change in place (a save costs its rows, not a copy of all), so the
    # undo log is what brings the projection back.
    store = MemoryStore()
    projections = store.projections
    projections.save("p", position=1, timezone="UTC", rows={"a": "1", "b": "2"}, expected=None)
    before = projections.load("p")

    def save_again() -> None:
        projections.save("p", position=2, timezone="UTC", rows={"a": "9", "b": "", "c": "3"},
                         expected=1)  # fmt: skip

    assert isinstance(projections, MemoryTables)
    with pytest.raises(BoomError):
        fail_after(projections, save_again)
    assert projections.load("p") == before
    save_again()
    after = projections.load("p")
    assert after is not None
    assert (after.position, after.rows) == (2, {"a": "9", "c": "3"})
    assert before is not None
    assert before.rows == {"a": "1", "b": "2"}  # what a load returned is its own copy
    store.close()
