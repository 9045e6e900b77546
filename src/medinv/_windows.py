"""Reading a history in windows of ledger positions, whatever the subject's density.

A history read in one query would hold all its rows in memory at once; read in
windows of positions, a window of ``w`` positions holds at most ``w`` movements,
and each next window is sized from the density of the last (aiming at about
``_TARGET_ROWS`` rows, growing at most ``growth`` times, at most ``_MAX_WINDOW``
positions), so memory stays flat however many movements a subject has and a
sparse subject still takes only a handful of queries over a large ledger. The SQL
stores' light rows (`medinv.adapters._rows`) and the trace's reading of a store
without them (`medinv.trace._read`) share this loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Final, TypeVar

__all__ = ["FIRST_WINDOW", "next_window", "window_pages"]

T = TypeVar("T")


FIRST_WINDOW: Final = 2048
"""The first window of positions a store reads a history in, and the smallest."""
_TARGET_ROWS: Final = 2048
"""About how many rows a window should hold."""
_MAX_WINDOW: Final = 1 << 18
"""The largest window (positions): a burst after a sparse stretch holds at most this many."""


def next_window(window: int, found: int, growth: int = 4) -> int:
    """The next window of positions, from the rows the last one held (at most ``growth`` times)."""
    grown = min(window * growth, _MAX_WINDOW)
    return grown if found == 0 else max(FIRST_WINDOW, min(grown, window * _TARGET_ROWS // found))


def window_pages(
    after: int, up_to: int, read: Callable[[int, int], Iterable[list[T]]], growth: int = 4
) -> Iterator[list[T]]:
    """The pages ``read(after, last)`` gives for each window of positions up to ``up_to``.

    The first window holds ``FIRST_WINDOW`` positions; each next one is sized by
    `next_window` from the rows the last one held, so a store holds about a
    window's rows at a time whatever the lot. A window is read in pages (lists):
    the caller chains them in C rather than handing on each row through a
    generator, which a trace on PostgreSQL paid for every row of a hot lot
    (``benchmarks/bench_trace.py``, docs/benchmarks/trace.md). ``growth``: how many
    times the last window the next one may be (`next_window`).
    """
    window = FIRST_WINDOW
    while after < up_to:
        last = min(after + window, up_to)
        found = 0
        for page in read(after, last):
            found += len(page)
            yield page
        after, window = last, next_window(window, found, growth)
