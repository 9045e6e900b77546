"""In-memory [`RecallStore`][medinv.recall.RecallStore]: the reference recall campaigns."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from medinv.adapters._recalls_base import Event, RecallBase

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryRecalls"]


class MemoryRecalls(RecallBase):
    """Recall campaigns in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().recalls`][medinv.adapters.memory.MemoryStore.recalls];
    closing the store closes it. Thread-safe: each write holds the campaigns' lock.
    """

    __slots__ = ("_events_by_id", "_lock", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._events_by_id: dict[str, list[Event]] = {}

    @property
    def where(self) -> str:
        """The database, for messages."""
        return "the memory store"

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._store._open()  # noqa: SLF001  (the store's own check)
        with self._lock:
            yield

    def _events(self, campaign_id: str | None, kinds: Sequence[str] | None) -> list[Event]:
        with self._transaction():
            if campaign_id is None:
                found = [e for cid in sorted(self._events_by_id) for e in self._events_by_id[cid]]
            else:
                found = list(self._events_by_id.get(campaign_id, ()))
        return found if kinds is None else [e for e in found if e[2] in kinds]

    def _append(self, event: Event) -> None:
        self._events_by_id.setdefault(event[0], []).append(event)
