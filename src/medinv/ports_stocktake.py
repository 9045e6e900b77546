"""The stocktake store port: where stocktakes and their count lines persist.

A count survives process restarts because every line is stored as it arrives.
Stores are persistence only: the rules live in
[`medinv.stocktake`][medinv.stocktake]; a store keeps what it is given, atomically,
with optimistic concurrency on the stocktake's ``version``.

Every implementation is proven by the contract suite
[`medinv.testing.stocktake_contract`][medinv.testing.stocktake_contract].
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol, runtime_checkable

from medinv.stocktake import CountLine, Stocktake, StocktakeState

__all__ = ["LineLookup", "StocktakeStore"]


@runtime_checkable
class StocktakeStore(Protocol):
    """Persistence of stocktakes (header) and their count lines (append-only)."""

    def create(self, stocktake: Stocktake) -> None:
        """Store a new stocktake.

        Raises:
            ConcurrencyError: a stocktake with that id exists.
            StorageError: the store failed.
        """
        ...

    def get(self, stocktake_id: str) -> Stocktake:
        """The stocktake as last stored.

        Raises:
            UnknownStocktakeError: no such stocktake.
        """
        ...

    def update(self, stocktake: Stocktake, *, lines_seen: int | None = None) -> None:
        """Replace the stored stocktake by ``stocktake`` (a transition of it).

        Args:
            stocktake: the new value; its ``version`` is one more than the stored one.
            lines_seen: when given, the number of lines the caller based the
                transition on (an approval); refused if more lines were stored since.

        Raises:
            UnknownStocktakeError: no such stocktake.
            ConcurrencyError: the stored version is not ``stocktake.version - 1``, or
                lines were added since ``lines_seen``. Nothing is written.
        """
        ...

    def add_lines(
        self, stocktake_id: str, lines: Sequence[CountLine], *, expected_version: int
    ) -> None:
        """Append count lines atomically (all or none).

        A line whose id is already stored with the same content is skipped (a device
        re-sending it).

        Raises:
            UnknownStocktakeError: no such stocktake.
            ConcurrencyError: the stored stocktake's version is not ``expected_version``
                (it changed state since the caller checked the lines).
            CountLineError: a line id is already stored with different content.
        """
        ...

    def lines(self, stocktake_id: str) -> list[CountLine]:
        """All lines of the stocktake, in the order they were stored.

        Raises:
            UnknownStocktakeError: no such stocktake.
        """
        ...

    def stocktakes(self, *, state: StocktakeState | None = None) -> list[Stocktake]:
        """All stocktakes (or those in ``state``), by id."""
        ...

    def close(self) -> None:
        """Release resources; the store is not used afterwards."""
        ...


@runtime_checkable
class LineLookup(Protocol):
    """An optional capability of a stocktake store: reading some lines by id.

    The shipped stores have it. With it,
    [`StocktakeService.add_lines`][medinv.services.StocktakeService.add_lines]
    reads only the lines it is given the ids of, so adding a line costs the same
    whatever the number of lines stored; a store without it is read in full on
    every call.
    """

    def lines_by_id(self, stocktake_id: str, line_ids: Collection[str]) -> Mapping[str, CountLine]:
        """The stored lines among ``line_ids`` (ids not stored are left out).

        Raises:
            UnknownStocktakeError: no such stocktake.
        """
        ...
