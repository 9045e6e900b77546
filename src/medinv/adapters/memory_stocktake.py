"""In-memory [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore]: the reference store."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Collection, Sequence

from medinv.adapters._base import Closing
from medinv.errors import ConcurrencyError, CountLineError, UnknownStocktakeError
from medinv.stocktake import CountLine, Stocktake, StocktakeState

__all__ = ["MemoryStocktakeStore", "MemoryStocktakes"]


class MemoryStocktakes(Closing):
    """Stocktakes and count lines in process memory (thread-safe; lost at exit).

    [`MemoryStore().stocktakes`][medinv.adapters.memory.MemoryStore.stocktakes] is
    one, kept with that store's ledger (closing the store closes it);
    [`MemoryStocktakeStore`][medinv.adapters.memory_stocktake.MemoryStocktakeStore]
    is one on its own.

    ```pycon
    >>> import pendulum
    >>> from medinv.stocktake import Stocktake, StocktakeScope
    >>> store = MemoryStocktakes()
    >>> at = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
    >>> store.create(Stocktake.plan("ST-1", scope=StocktakeScope(["Main"]), created_by="lea",
    ...                             created_at=at))
    >>> store.get("ST-1").state.value
    'PLANNED'

    ```
    """

    def __init__(
        self,
        check_open: Callable[[], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._check_open = check_open
        self._on_close = on_close
        self._lock = threading.Lock()
        self._stocktakes: dict[str, Stocktake] = {}
        self._lines: dict[str, dict[str, CountLine]] = {}

    def create(self, stocktake: Stocktake) -> None:
        """See [`StocktakeStore.create`][medinv.ports_stocktake.StocktakeStore.create]."""
        self._open()
        with self._lock:
            known = self._stocktakes.get(stocktake.id)
            if known is not None:
                msg = f"stocktake {stocktake.id!r} already exists"
                raise ConcurrencyError(msg, expected=0, actual=known.version)
            self._stocktakes[stocktake.id] = stocktake
            self._lines[stocktake.id] = {}

    def get(self, stocktake_id: str) -> Stocktake:
        """See [`StocktakeStore.get`][medinv.ports_stocktake.StocktakeStore.get]."""
        self._open()
        with self._lock:
            return self._get(stocktake_id)

    def _get(self, stocktake_id: str) -> Stocktake:
        try:
            return self._stocktakes[stocktake_id]
        except KeyError:
            raise UnknownStocktakeError(stocktake_id) from None

    def update(self, stocktake: Stocktake, *, lines_seen: int | None = None) -> None:
        """See [`StocktakeStore.update`][medinv.ports_stocktake.StocktakeStore.update]."""
        self._open()
        with self._lock:
            stored = self._get(stocktake.id)
            if stored.version != stocktake.version - 1:
                msg = (
                    f"stocktake {stocktake.id!r} is at version {stored.version}; "
                    f"this update expects {stocktake.version - 1}"
                )
                raise ConcurrencyError(msg, expected=stocktake.version - 1, actual=stored.version)
            count = len(self._lines[stocktake.id])
            if lines_seen is not None and lines_seen != count:
                msg = f"stocktake {stocktake.id!r} has {count} lines, not the {lines_seen} seen"
                raise ConcurrencyError(msg, expected=lines_seen, actual=count)
            self._stocktakes[stocktake.id] = stocktake

    def add_lines(
        self, stocktake_id: str, lines: Sequence[CountLine], *, expected_version: int
    ) -> None:
        """See [`StocktakeStore.add_lines`][medinv.ports_stocktake.StocktakeStore.add_lines]."""
        self._open()
        with self._lock:
            stored = self._get(stocktake_id)
            if stored.version != expected_version:
                msg = (
                    f"stocktake {stocktake_id!r} is at version {stored.version}, "
                    f"not {expected_version}"
                )
                raise ConcurrencyError(msg, expected=expected_version, actual=stored.version)
            held = self._lines[stocktake_id]
            fresh: dict[str, CountLine] = {}
            for line in lines:
                known = held.get(line.id) or fresh.get(line.id)
                if known is None:
                    fresh[line.id] = line
                elif known != line:
                    raise CountLineError(line.id, "the id was already used for another count")
            held.update(fresh)

    def lines_by_id(self, stocktake_id: str, line_ids: Collection[str]) -> dict[str, CountLine]:
        """See [`LineLookup.lines_by_id`][medinv.ports_stocktake.LineLookup.lines_by_id]."""
        self._open()
        with self._lock:
            self._get(stocktake_id)
            held = self._lines[stocktake_id]
            return {i: held[i] for i in line_ids if i in held}

    def lines(self, stocktake_id: str) -> list[CountLine]:
        """See [`StocktakeStore.lines`][medinv.ports_stocktake.StocktakeStore.lines]."""
        self._open()
        with self._lock:
            self._get(stocktake_id)
            return list(self._lines[stocktake_id].values())

    def stocktakes(self, *, state: StocktakeState | None = None) -> list[Stocktake]:
        """See [`StocktakeStore.stocktakes`][medinv.ports_stocktake.StocktakeStore.stocktakes]."""
        self._open()
        with self._lock:
            found = [s for s in self._stocktakes.values() if state is None or s.state is state]
        return sorted(found, key=lambda s: s.id)

    def _open(self) -> None:
        if self._check_open is not None:
            self._check_open()

    def close(self) -> None:
        """Close the `MemoryStore` these stocktakes belong to, if any (twice is harmless)."""
        if self._on_close is not None:
            self._on_close()


class MemoryStocktakeStore(MemoryStocktakes):
    """Deprecated: use ``MemoryStore().stocktakes`` (or ``MemoryStocktakes()``).

    Stocktakes and count lines in process memory, in a store of their own: the
    same as ``MemoryStore().stocktakes`` without a ledger beside it; closing it
    releases nothing. It warns with a `DeprecationWarning` and will be removed in
    the next minor release, as the SQLite and PostgreSQL stocktake stores of their
    own are.
    """

    def __init__(self) -> None:
        warnings.warn(
            "medinv.adapters.memory_stocktake.MemoryStocktakeStore is deprecated and will be "
            "removed in the next minor release; use MemoryStore().stocktakes (stocktakes kept "
            "beside the ledger) or MemoryStocktakes()",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__()  # no store to check or close
