"""The count-versus-book diff engine: plain dictionaries, one pass per side.

[`diff_counts`][medinv.stocktake.diff_counts] is what
[`variance_report`][medinv.stocktake.variance_report] runs underneath, exposed for
callers who hold counts and book as plain tuples (a million lines diff in well
under a second; see the stocktake benchmark).

```pycon
>>> book = [("glove", "A1", 10), ("mask", "A1", 5), ("gown", "B2", 3)]
>>> counts = [("glove", "A1", 6), ("glove", "A1", 4), ("mask", "A1", 4), ("gown", "C9", 3),
...           ("probe", "A1", 1)]
>>> d = diff_counts(book, counts)
>>> d.matches, d.shortages, d.surpluses
(1, [('mask', 'A1', 5, 4), ('gown', 'B2', 3, 0)], [])
>>> d.found_elsewhere, d.unknown
([('gown', 'C9', 0, 3)], [('probe', 'A1', 0, 1)])

```
"""

from __future__ import annotations

from collections.abc import Collection, Container, Hashable, Iterable
from typing import Generic, TypeVar

import attrs

__all__ = ["CountDiff", "diff_counts"]

I = TypeVar("I", bound=Hashable)  # noqa: E741  (item, as in the docs)
P = TypeVar("P", bound=Hashable)

Row = tuple[I, P, int, int]


@attrs.frozen(kw_only=True)
class CountDiff(Generic[I, P]):
    """The differences between counts and book; each row is ``(item, place, expected, counted)``."""

    matches: int
    """How many keys were counted exactly as booked (including counted-empty, unbooked keys)."""
    shortages: list[tuple[I, P, int, int]]
    """Counted less than booked (uncounted booked keys are counted 0)."""
    surpluses: list[tuple[I, P, int, int]]
    """Counted more than booked, where the book knows the item at that place or elsewhere
    with no stock (booked 0 there, or ``known_items``)."""
    found_elsewhere: list[tuple[I, P, int, int]]
    """Counted at a place with no book, while the book holds the item at another place."""
    unknown: list[tuple[I, P, int, int]]
    """Counted an item the book does not know at all."""


def diff_counts(
    book: Collection[tuple[I, P, int]],
    counts: Iterable[tuple[I, P, int]],
    *,
    known_items: Container[I] = frozenset(),
) -> CountDiff[I, P]:
    """Diff counted quantities against the book.

    Args:
        book: ``(item, place, quantity)``, each ``(item, place)`` at most once; read
            twice (so a collection, not a generator).
        counts: ``(item, place, quantity)`` count lines; lines for one key add up.
        known_items: items that exist although the book holds none of them (master
            data); a count of such an item is a surplus, not an unknown item.

    Returns:
        The rows that differ, by class, and the number of matching keys. Rows keep the
        order of the book (shortages) and of the first count line (the others).
    """
    counted: dict[tuple[I, P], int] = {}
    get = counted.get
    for item, place, quantity in counts:
        key = (item, place)
        counted[key] = get(key, 0) + quantity
    pop = counted.pop
    shortages: list[tuple[I, P, int, int]] = []
    surpluses: list[tuple[I, P, int, int]] = []
    for item, place, expected in book:
        found = pop((item, place), 0)
        if found != expected:
            if found < expected:
                shortages.append((item, place, expected, found))
            else:
                surpluses.append((item, place, expected, found))
    # Every book key is a match, a shortage or a surplus: no count per row in the loop.
    matches = len(book) - len(shortages) - len(surpluses)
    # What is left was counted where the book has nothing (usually a few per cent).
    found_elsewhere, unknown, empty = _off_book(book, counted, known_items, surpluses)
    matches += empty
    return CountDiff(
        matches=matches,
        shortages=shortages,
        surpluses=surpluses,
        found_elsewhere=found_elsewhere,
        unknown=unknown,
    )


def _off_book(
    book: Collection[tuple[I, P, int]],
    counted: dict[tuple[I, P], int],
    known_items: Container[I],
    surpluses: list[tuple[I, P, int, int]],
) -> tuple[list[tuple[I, P, int, int]], list[tuple[I, P, int, int]], int]:
    """Classify counts at keys the book does not have; returns (elsewhere, unknown, empty)."""
    found_elsewhere: list[tuple[I, P, int, int]] = []
    unknown: list[tuple[I, P, int, int]] = []
    empty = 0
    if not counted:
        return found_elsewhere, unknown, empty
    wanted = {item for (item, _place), quantity in counted.items() if quantity}
    seen: set[I] = set()
    booked: set[I] = set()
    for item, _place, quantity in book:
        if item in wanted:
            seen.add(item)
            if quantity > 0:
                booked.add(item)
    for (item, place), found in counted.items():
        if not found:
            empty += 1
        elif item in booked:
            found_elsewhere.append((item, place, 0, found))
        elif item in seen or item in known_items:
            surpluses.append((item, place, 0, found))
        else:
            unknown.append((item, place, 0, found))
    return found_elsewhere, unknown, empty
