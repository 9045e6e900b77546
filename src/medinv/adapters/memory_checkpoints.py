"""In-memory [`CheckpointStore`][medinv.feed.CheckpointStore]: a `MemoryStore`'s checkpoints."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from medinv.adapters._checkpoints_base import CheckpointBase
from medinv.journal import LedgerHead

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryCheckpoints"]


class MemoryCheckpoints(CheckpointBase):
    """Consumers' checkpoints in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as ``MemoryStore().checkpoints``; thread-safe (each save holds its lock).
    ``transaction()`` does nothing: delivery through it is at least once.
    """

    __slots__ = ("_by_consumer", "_lock", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._by_consumer: dict[str, LedgerHead] = {}

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    def __repr__(self) -> str:
        return f"{self._store!r}.checkpoints"

    @contextlib.contextmanager
    def _write_scope(self) -> Iterator[None]:
        self._store._open()  # noqa: SLF001  (the store's own check)
        with self._lock:
            yield

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Nothing: the page's effects and the save are not one unit (at least once)."""
        return contextlib.nullcontext()

    def _read(self, consumer: str, *, for_update: bool) -> LedgerHead | None:  # noqa: ARG002
        self._store._open()  # noqa: SLF001
        return self._by_consumer.get(consumer)

    def _write(self, consumer: str, checkpoint: LedgerHead, moment: str, *, new: bool) -> None:  # noqa: ARG002
        self._by_consumer[consumer] = checkpoint

    def _delete(self, consumer: str) -> bool:
        return self._by_consumer.pop(consumer, None) is not None

    def _all(self) -> list[tuple[str, LedgerHead]]:
        self._store._open()  # noqa: SLF001
        with self._lock:
            return list(self._by_consumer.items())
