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
from typing import Any

from medinv.chain import light_fields
from medinv.errors import StorageError
from medinv.ports import MovementQuery, MovementRow

__all__ = [
    "content_rows",
    "corrupt",
    "light",
    "occurred_inside",
    "occurred_window",
]

_fromisoformat = dt.datetime.fromisoformat
_new_row = MovementRow._make


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
