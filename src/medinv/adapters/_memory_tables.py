"""`MemoryTables`: what the side tables kept in memory beside a `MemoryStore` share.

Their transactions roll back as a database's do: every write made inside
``_transaction`` through `_set`, `_remove`, `_extend` or `_append_to` records how to undo
itself, and an exception leaving the outermost (or any nested) transaction undoes
the writes made inside it, newest first, before it propagates. What a failed call
leaves behind is therefore the same on memory, SQLite and PostgreSQL. The undo
log costs one closure per write, never a copy of a table.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, TypeVar

from medinv.adapters._base import Closing

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryTables"]

K = TypeVar("K")
V = TypeVar("V")


class MemoryTables(Closing):
    """Tables kept in process memory beside a `MemoryStore`: its lifetime, one lock, rollback."""

    __slots__ = ("_depth", "_lock", "_store", "_undo")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._undo: list[Callable[[], object]] = []
        """How to undo each write of the open transaction, oldest first."""
        self._depth = 0
        """How many ``_transaction`` blocks are open (they nest under one lock)."""

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        self._store.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._store._open()  # noqa: SLF001  (the store's own check)
        with self._lock:
            mark = len(self._undo)
            self._depth += 1
            try:
                yield
            except BaseException:
                while len(self._undo) > mark:
                    self._undo.pop()()
                raise
            finally:
                self._depth -= 1
                if not self._depth:
                    self._undo.clear()

    def _remember(self, undo: Callable[[], object]) -> None:
        if self._depth:
            self._undo.append(undo)

    def _set(self, table: MutableMapping[K, V], key: K, value: V) -> None:
        """``table[key] = value``, undone on rollback."""
        if key in table:
            old = table[key]
            self._remember(lambda: table.__setitem__(key, old))
        else:
            self._remember(lambda: table.pop(key, None))
        table[key] = value

    def _remove(self, table: MutableMapping[K, V], key: K) -> None:
        """``del table[key]``, undone on rollback."""
        old = table.pop(key)
        self._remember(lambda: table.__setitem__(key, old))

    def _extend(self, table: list[V], values: Iterable[V]) -> None:
        """``table.extend(values)``, undone on rollback."""
        length = len(table)
        table.extend(values)
        if len(table) > length:
            self._remember(lambda: table.__delitem__(slice(length, None)))

    def _append_to(self, table: MutableMapping[K, list[V]], key: K, value: V) -> None:
        """Append ``value`` to the list ``table[key]`` (made when missing), undone on rollback."""
        found = table.get(key)
        if found is None:
            self._set(table, key, [value])
        else:
            found.append(value)
            self._remember(found.pop)
