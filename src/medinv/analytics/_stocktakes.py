"""Stocktake variance rates, read from the adjustments the stocktakes posted to the ledger.

A posted stocktake leaves one ``ADJUSTMENT`` per corrected stock key (item,
location, status), referencing the stocktake and identified as
``<stocktake id>/adj/...``. Its **variance rate** is the units it corrected (found
plus missing) per unit the books held at those keys when they were counted.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import attrs
import pendulum

from medinv.analytics._history import _store_and_zone
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.ledger import Ledger
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery

__all__ = ["StocktakeVariance", "stocktake_variances"]


@attrs.frozen(kw_only=True)
class StocktakeVariance:
    """What one posted stocktake corrected, against what the books held."""

    stocktake: str
    """The stocktake's id (the reference of its adjustments)."""
    counted_at: pendulum.DateTime
    """The latest count time of its adjustments."""
    lines: int
    """Stock keys it corrected."""
    found: int
    """Units counted above the books."""
    missing: int
    """Units counted below the books."""
    book: int
    """Units the books held at the corrected keys at their count times."""

    @property
    def rate(self) -> Fraction | None:
        """``(found + missing) / book``; ``None`` when the books held nothing there."""
        return Fraction(self.found + self.missing, self.book) if self.book > 0 else None


def stocktake_variances(
    source: Ledger | LedgerStore, *, as_of: object, last: int = 12
) -> list[StocktakeVariance]:
    """The last ``last`` stocktakes posted with a count time at or before ``as_of``, oldest first.

    Raises:
        InvalidValueError: ``as_of`` is not an aware moment, ``last`` is not a whole
            number of at least 1, or ``source`` is neither a ledger nor a store.
    """
    moment = to_datetime(as_of)
    given: object = last
    if isinstance(given, bool) or not isinstance(given, int) or given < 1:
        msg = f"last must be a whole number of at least 1, not {last!r:.40}"
        raise InvalidValueError(msg)
    store, _ = _store_and_zone(source, "UTC")
    query = MovementQuery(kind=MovementKind.ADJUSTMENT, occurred_to=moment.add(microseconds=1))
    found: dict[str, list[tuple[int, int, int, pendulum.DateTime]]] = defaultdict(list)
    for recorded in store.movements(query):
        m = recorded.movement
        if m.reference is None or not m.id.startswith(f"{m.reference}/adj/"):
            continue
        [(location, status, change)] = m.deltas()
        before = MovementQuery(
            item=m.item, up_to_position=recorded.position - 1, occurred_to=m.occurred_at
        )
        book = sum(
            delta
            for earlier in store.movements(before)
            for place, state, delta in earlier.movement.deltas()
            if place == location and state is status
        )
        found[m.reference].append((change, max(book, 0), recorded.position, m.occurred_at))
    out = [
        StocktakeVariance(
            stocktake=reference,
            counted_at=max(at for *_, at in rows),
            lines=len(rows),
            found=sum(change for change, *_ in rows if change > 0),
            missing=-sum(change for change, *_ in rows if change < 0),
            book=sum(book for _, book, *_ in rows),
        )
        for reference, rows in found.items()
    ]
    out.sort(key=lambda v: (v.counted_at, v.stocktake))
    return out[-last:]
