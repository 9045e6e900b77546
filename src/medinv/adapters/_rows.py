"""Reading movements as light rows (`MovementRow`), shared by the SQL stores.

A trace reads a lot's movements through the item index and needs a few of their
fields; decoding each row into a validated `Movement` (and reading the previous
row's hash the chain needs) cost most of its time in `benchmarks/bench_trace.py`
(docs/benchmarks/trace.md). A query on the item keys and positions, and at most
an occurred-at window, is answered from the stored text without building
movements; any other filter needs the whole movement and is read the usual way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, TypeVar

from medinv.chain import light_fields
from medinv.errors import StorageError
from medinv.ports import MovementQuery, MovementRow

__all__ = [
    "FIRST_WINDOW",
    "content_rows",
    "corrupt",
    "light",
    "next_window",
    "occurred_inside",
    "occurred_window",
    "window_pages",
]

_fromisoformat = dt.datetime.fromisoformat
_new_row = MovementRow._make
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


def light(query: MovementQuery) -> bool:
    """Whether the item keys and positions (and an occurred-at window) answer ``query``."""
    return (
        (query.item, query.gtin, query.lot, query.serial, query.device) != (None,) * 5
        and query.kind is None
        and query.actor is None
        and query.location is None
        and query.reference is None
        and query.counterparty is None
        and query.business_reference is None
    )


def occurred_window(query: MovementQuery) -> Callable[[str], bool] | None:
    """A check of a stored occurred-at text against the query's window; ``None``: no window."""
    if query.occurred_from is None and query.occurred_to is None:
        return None
    # Plain date-times: comparing with pendulum's subclass runs its Python-level operators.
    start, end = (
        None if bound is None else _fromisoformat(bound.isoformat())
        for bound in (query.occurred_from, query.occurred_to)
    )

    def inside(text: str) -> bool:
        at = _fromisoformat(text)
        return (start is None or at >= start) and (end is None or at < end)

    return inside


def content_rows(rows: Iterable[tuple[Any, ...]], query: MovementQuery) -> Iterator[MovementRow]:
    """Stored ``(position, content, recorded_at)`` rows as movement rows, in the query's window.

    Raises:
        StorageError: a row's content is not the text of a movement, naming its position.
    """
    inside = occurred_window(query)
    for position, content, recorded_at in rows:
        try:
            row = _new_row(light_fields(position, content, recorded_at))
            if inside is not None and not inside(row.occurred_at):
                continue
        except (ValueError, TypeError, AttributeError) as e:
            raise corrupt(position, e) from e
        yield row


def corrupt(position: object, error: Exception) -> StorageError:
    """The error for a stored movement row that no valid movement could have stored."""
    msg = (
        f"the stored movement at position {position!r} is corrupt (edited outside medinv?): {error}"
    )
    return StorageError(msg)


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


def occurred_inside(
    rows: Iterable[MovementRow], inside: Callable[[str], bool]
) -> Iterator[MovementRow]:
    """The ``rows`` whose occurred-at text ``inside`` accepts (`occurred_window`).

    Raises:
        StorageError: a row's occurred-at is not a date-time, naming its position.
    """
    for row in rows:
        try:
            if not inside(row.occurred_at):
                continue
        except (ValueError, TypeError) as e:
            raise corrupt(row.position, e) from e
        yield row
