"""In-memory [`ReservationStore`][medinv.ports.ReservationStore]: the reference reservations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from medinv.adapters._memory_tables import MemoryTables
from medinv.adapters._reservations_base import Holds, ReservationBase
from medinv.allocation import Reservation
from medinv.identifiers import ItemKey
from medinv.ports import LedgerStore

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryReservations"]


class MemoryReservations(MemoryTables, ReservationBase):
    """FEFO reservations in process memory, beside a `MemoryStore`'s ledger (lost at exit).

    Get it as [`MemoryStore().reservations`][medinv.adapters.memory.MemoryStore.reservations];
    closing the store closes it. Thread-safe: each write holds the reservations' lock.
    """

    __slots__ = ("_by_id",)

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._by_id: dict[str, tuple[Reservation, str, Holds]] = {}
        """Each reservation by id, with its expiry moment key and its holds."""

    @property
    def _ledger(self) -> LedgerStore:
        return self._store

    def _get(self, reservation_id: str) -> Reservation | None:
        with self._transaction():
            found = self._by_id.get(reservation_id)
        return None if found is None else found[0]

    def _active(self, moment: str) -> list[Reservation]:
        with self._transaction():
            found = [(rid, r) for rid, (r, expiry, _) in self._by_id.items() if expiry > moment]
        return [r for _, r in sorted(found, key=lambda pair: pair[0])]

    def _held(self, items: Sequence[ItemKey], moment: str) -> Holds:
        wanted = set(items)
        held: Holds = {}
        with self._transaction():
            for _, expiry, holds in self._by_id.values():
                if expiry <= moment:
                    continue
                for key, quantity in holds.items():
                    if key[0] in wanted:
                        held[key] = held.get(key, 0) + quantity
        return held

    def _insert(self, reservation: Reservation, moment: str, holds: Holds) -> None:
        self._set(self._by_id, reservation.id, (reservation, moment, holds))

    def _delete(self, reservation_id: str) -> None:
        self._remove(self._by_id, reservation_id)

    def _purge(self, moment: str) -> int:
        expired = [rid for rid, (_, expiry, _) in self._by_id.items() if expiry <= moment]
        for rid in expired:
            self._remove(self._by_id, rid)
        return len(expired)
