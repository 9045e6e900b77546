"""`MemoryTables`: what the side tables kept in memory beside a `MemoryStore` share."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from medinv.adapters._base import Closing

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryTables"]


class MemoryTables(Closing):
    """Tables kept in process memory beside a `MemoryStore`: its lifetime, one lock for writes."""

    __slots__ = ("_lock", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._store._open()  # noqa: SLF001  (the store's own check)
        with self._lock:
            yield
