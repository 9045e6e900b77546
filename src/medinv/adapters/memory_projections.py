"""In-memory [`ProjectionStore`][medinv.ports.ProjectionStore]: beside a `MemoryStore`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medinv.adapters._memory_tables import MemoryTables
from medinv.adapters._projections_base import ProjectionBase
from medinv.ports import StoredProjection

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryProjections"]


class MemoryProjections(MemoryTables, ProjectionBase):
    """Projections in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().projections`][medinv.adapters.memory.MemoryStore.projections];
    closing the store closes it. Thread-safe: each call holds the projections' lock.
    """

    __slots__ = ("_by_name",)

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._by_name: dict[str, tuple[int, str, dict[str, str]]] = {}

    def _load(self, name: str) -> StoredProjection | None:
        found = self._by_name.get(name)
        if found is None:
            return None
        position, timezone, rows = found
        return StoredProjection(position=position, timezone=timezone, rows=dict(rows))

    def _stored_position(self, name: str) -> int | None:
        found = self._by_name.get(name)
        return None if found is None else found[0]

    def _write(self, name: str, position: int, timezone: str, rows: dict[str, str]) -> None:
        # The rows change in place, each write undone on rollback: a day's save costs
        # the rows it writes, not a copy of every row kept (benchmarks/bench_analytics.py).
        found = self._by_name.get(name)
        kept: dict[str, str] = {} if found is None else found[2]
        for key, text in rows.items():
            if text:
                self._set(kept, key, text)
            elif key in kept:
                self._remove(kept, key)
        self._set(self._by_name, name, (position, timezone, kept))

    def _drop(self, name: str) -> None:
        self._remove(self._by_name, name)
