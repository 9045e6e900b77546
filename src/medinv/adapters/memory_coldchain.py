"""In-memory [`ColdChainStore`][medinv.coldchain.ColdChainStore]: the reference records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from medinv.adapters._coldchain import ColdChainBase
from medinv.adapters._memory_tables import MemoryTables
from medinv.coldchain import Excursion, QualityDecision

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryColdChain"]


class MemoryColdChain(MemoryTables, ColdChainBase):
    """Excursions and quality decisions in process memory, beside a `MemoryStore` (lost at exit).

    Get it as ``MemoryStore().coldchain``; closing the store closes it. Thread-safe:
    each write holds the records' lock.
    """

    __slots__ = ("_decisions", "_excursions")

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._excursions: dict[str, Excursion] = {}
        self._decisions: dict[str, QualityDecision] = {}

    def _get(self, excursion_id: str) -> Excursion | None:
        with self._transaction():
            return self._excursions.get(excursion_id)

    def _put(self, excursion: Excursion, *, new: bool) -> None:  # noqa: ARG002  (one dict)
        self._set(self._excursions, excursion.id, excursion)

    def _select(self, sensor: str | None, open_only: bool) -> Iterator[Excursion]:  # noqa: FBT001
        with self._transaction():
            found = [
                e
                for e in self._excursions.values()
                if (sensor is None or e.sensor == sensor) and (not open_only or e.is_open)
            ]
        found.sort(key=lambda e: (e.spans[0][0], e.id))
        return iter(found)

    def _get_decision(self, excursion_id: str) -> QualityDecision | None:
        with self._transaction():
            return self._decisions.get(excursion_id)

    def _put_decision(self, decision: QualityDecision) -> None:
        self._set(self._decisions, decision.excursion_id, decision)
