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
from typing import Any, Final

from medinv.errors import StorageError
from medinv.ports import MovementQuery, MovementRow

__all__ = ["FIRST_WINDOW", "content_rows", "corrupt", "light", "next_window", "occurred_window"]

_fromisoformat = dt.datetime.fromisoformat
_new_row = MovementRow._make
_PLAIN: Final = 16
"""Fields of a movement's content without its counterparty and business references."""


FIRST_WINDOW: Final = 2048
"""The first window of positions a store reads a history in, and the smallest."""
_TARGET_ROWS: Final = 2048
"""About how many rows a window should hold."""
_MAX_WINDOW: Final = 1 << 18
"""The largest window (positions): a burst after a sparse stretch holds at most this many."""


def next_window(window: int, found: int) -> int:
    """The next window of positions, from the rows the last one held (at most 4 times it)."""
    grown = min(window * 4, _MAX_WINDOW)
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


def _content_row(position: int, content: str, recorded_at: str) -> MovementRow:
    f = content.split("\x00")
    count = len(f)
    if count not in {_PLAIN, _PLAIN + 2}:
        raise ValueError(f"movement content has {count} fields, not 16")
    quantity = int(f[5])
    if str(quantity) != f[5]:
        raise ValueError(f"a stored quantity must be canonical decimal, not {f[5]!r:.60}")
    # The optional fields: "-" when absent, "+" and the value when present.
    lot, serial, source, source_status, target, target_status, reverses = (
        f[3],
        f[4],
        f[8],
        f[9],
        f[10],
        f[11],
        f[15],
    )
    party = f[16] if count > _PLAIN else "-"
    for optional in (lot, serial, source, source_status, target, target_status, reverses, party):
        if optional != "-" and optional[:1] != "+":
            raise ValueError(
                f"an optional field must be '-' or start with '+', not {optional!r:.60}"
            )
    return _new_row((
        position, f[0], f[1], f[2], None if lot == "-" else lot[1:],
        None if serial == "-" else serial[1:], quantity, f[6], recorded_at,
        None if source == "-" else source[1:], None if source_status == "-" else source_status[1:],
        None if target == "-" else target[1:], None if target_status == "-" else target_status[1:],
        None if reverses == "-" else reverses[1:], None if party == "-" else party[1:],
    ))  # fmt: skip


def content_rows(rows: Iterable[tuple[Any, ...]], query: MovementQuery) -> Iterator[MovementRow]:
    """Stored ``(position, content, recorded_at)`` rows as movement rows, in the query's window.

    Raises:
        StorageError: a row's content is not the text of a movement, naming its position.
    """
    inside = occurred_window(query)
    for position, content, recorded_at in rows:
        try:
            row = _content_row(position, content, recorded_at)
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
