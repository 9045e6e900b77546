"""Blind counting: what a counter may see."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from medinv.actors import actor_key
from medinv.stocktake._model import CountLine, StockKey, Stocktake, StocktakeScope, StocktakeState

__all__ = ["CounterView", "counter_view"]

_BOOK_VISIBLE: Final = frozenset(
    {StocktakeState.APPROVED, StocktakeState.POSTED, StocktakeState.CANCELLED}
)


@attrs.frozen(kw_only=True)
class CounterView:
    """What a counter's device shows: where to count, and the counter's own lines.

    In a blind stocktake ``book`` is ``None`` until the stocktake no longer takes
    lines (recounts in review are blind too).
    """

    stocktake_id: str
    """The stocktake."""
    state: StocktakeState
    """Its state."""
    counter: str
    """Whose view this is."""
    scope: StocktakeScope
    """Where (and what) to count."""
    lines: tuple[CountLine, ...]
    """The counter's own lines, in counting order."""
    book: Mapping[StockKey, int] | None
    """Book quantities in scope, or ``None`` while counting is blind."""


def counter_view(
    stocktake: Stocktake,
    *,
    counter: str,
    lines: Iterable[CountLine],
    book: Mapping[StockKey, int],
) -> CounterView:
    """The view for ``counter``: ``book`` is withheld while a blind stocktake takes lines.

    The counter's own lines are those whose counter is the same person (compared
    by [`actor_key`][medinv.actors.actor_key]: ``Ana`` sees the lines of ``ana``).

    ```pycon
    >>> import pendulum
    >>> from medinv.stocktake import Stocktake, StocktakeScope
    >>> at = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
    >>> st = Stocktake.plan("ST-9", scope=StocktakeScope(["Main"]), created_by="lea",
    ...                     created_at=at).begin(start_position=0, at=at)
    >>> counter_view(st, counter="ana", lines=[], book={}).book is None
    True

    ```
    """
    person = actor_key(counter, field="counter")
    own = sorted(
        (line for line in lines if actor_key(line.counter, field="counter") == person),
        key=lambda line: (line.counted_at, line.id),
    )
    visible = not stocktake.blind or stocktake.state in _BOOK_VISIBLE
    return CounterView(
        stocktake_id=stocktake.id,
        state=stocktake.state,
        counter=counter,
        scope=stocktake.scope,
        lines=tuple(own),
        book=MappingProxyType({k: q for k, q in book.items() if stocktake.scope.covers(k[0], k[1])})
        if visible
        else None,
    )
