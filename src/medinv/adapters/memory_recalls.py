"""In-memory [`RecallStore`][medinv.recall.RecallStore]: the reference recall campaigns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from medinv.adapters._memory_tables import MemoryTables
from medinv.adapters._recalls_base import Event, RecallBase

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryRecalls"]


class MemoryRecalls(MemoryTables, RecallBase):
    """Recall campaigns in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().recalls`][medinv.adapters.memory.MemoryStore.recalls];
    closing the store closes it. Thread-safe: each write holds the campaigns' lock.
    """

    __slots__ = ("_events_by_id",)

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._events_by_id: dict[str, list[Event]] = {}

    @property
    def where(self) -> str:
        """The database, for messages."""
        return "the memory store"

    def _events(self, campaign_id: str | None, kinds: Sequence[str] | None) -> list[Event]:
        with self._transaction():
            if campaign_id is None:
                found = [e for cid in sorted(self._events_by_id) for e in self._events_by_id[cid]]
            else:
                found = list(self._events_by_id.get(campaign_id, ()))
        return found if kinds is None else [e for e in found if e[2] in kinds]

    def _append(self, event: Event) -> None:
        self._append_to(self._events_by_id, event[0], event)
