"""Reading a trace's movements: light rows, in windows of positions, through the store's indexes.

The trace reads each movement as a [`MovementRow`][medinv.ports.MovementRow] (the
few fields it needs, as stored text) through
[`movement_rows`][medinv.ports.movement_rows]: a store that has the method answers
a lot's history without decoding every row into a validated `Movement`, which was
most of a trace's time in ``benchmarks/bench_trace.py`` (docs/benchmarks/trace.md);
a store without it is read through ``movements``.

A store's ``movements`` answers a keyed query at once (the SQL stores fetch every
matching row of a query before handing out the first), so a hot lot read in one
query would hold all its rows in memory together. A store's ``movement_rows``
streams them itself (the SQLite store in windows of positions, PostgreSQL in
pages); a store without it is read here in windows of ledger positions
([`window_pages`][medinv._windows.window_pages], each next window at most
``_GROWTH`` times the last), so memory stays flat however many movements the
subject has, and a sparse subject still needs only a handful of queries over a
large ledger. Rows are handed on in chunks of
``_CHUNK``, each chunk's reversals resolved in one read. Whatever is
decoded into objects is decoded with caches that live for one chunk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from medinv._windows import window_pages
from medinv.catalogue import PartyRef
from medinv.chain import MovementDecoder
from medinv.errors import InvalidValueError, StorageError
from medinv.movements import MovementKind
from medinv.ports import (
    LedgerStore,
    MovementQuery,
    MovementRow,
    MovementRowReader,
    movement_rows,
)
from medinv.status import StockStatus
from medinv.trace._account import unreadable
from medinv.trace._model import TraceStep

__all__ = ["Kinded", "chunks", "kinded", "rows", "steps", "steps_of"]

_GROWTH: Final = 4
"""A window is at most this many times the previous one."""
_CHUNK: Final = 256
"""Rows handed on together (their reversals resolved in one read)."""


Kinded = tuple[MovementRow, str]
"""A row and its effective kind's value: its own kind, or the kind of the movement it reverses."""


def rows(store: LedgerStore, query: MovementQuery, *, up_to: int) -> Iterator[MovementRow]:
    """The rows matching ``query`` after its ``after_position`` up to ``up_to``, streamed.

    A [`MovementRowReader`][medinv.ports.MovementRowReader] streams its rows itself
    (the SQL stores read in windows or pages), in one call: on PostgreSQL, one
    round trip where windows would take one each. Other stores are read here in
    windows of positions.
    """
    if isinstance(store, MovementRowReader):
        return iter(store.movement_rows(attrs.evolve(query, up_to_position=up_to)))
    return _windows(store, query, up_to)  # no generator of its own per row (bench_trace.py)


def _windows(store: LedgerStore, query: MovementQuery, up_to: int) -> Iterator[MovementRow]:
    """The rows of a store without ``movement_rows``, read in windows of positions."""

    def window(after: int, last: int) -> tuple[list[MovementRow]]:
        part = attrs.evolve(query, after_position=after, up_to_position=last)
        return (list(movement_rows(store, part)),)

    return itertools.chain.from_iterable(window_pages(query.after_position, up_to, window, _GROWTH))


def _reversed_kinds(store: LedgerStore, chunk: Iterable[MovementRow]) -> dict[str, str]:
    """The kind of every movement a reversal in ``chunk`` undoes, read by id in one call."""
    wanted = {row.reverses for row in chunk if row.reverses is not None}
    if not wanted:
        return {}
    found = store.movements_by_id(wanted)
    missing = wanted - found.keys()
    if missing:
        first = min(missing)
        msg = f"the ledger holds a reversal of movement {first!r}, which it does not hold"
        raise StorageError(msg)
    return {movement_id: recorded.movement.kind.value for movement_id, recorded in found.items()}


def chunks(
    store: LedgerStore, query: MovementQuery, *, up_to: int
) -> Iterator[tuple[list[MovementRow], dict[str, str]]]:
    """The matching rows in chunks, each with the kind of every movement its reversals undo."""
    return _chunked(store, rows(store, query, up_to=up_to))


def _chunked(
    store: LedgerStore, stream: Iterator[MovementRow]
) -> Iterator[tuple[list[MovementRow], dict[str, str]]]:
    while chunk := list(itertools.islice(stream, _CHUNK)):
        yield chunk, _reversed_kinds(store, chunk)


def kinded(store: LedgerStore, query: MovementQuery, *, up_to: int) -> Iterator[Kinded]:
    """The matching rows, each with its effective kind."""
    for chunk, originals in chunks(store, query, up_to=up_to):
        for row in chunk:
            yield row, row.kind if row.reverses is None else originals[row.reverses]


def _step(row: MovementRow, effective: str, decoder: MovementDecoder) -> TraceStep:
    location, instant = decoder.location, decoder.instant
    source, target, party = row.from_location, row.to_location, row.counterparty
    return TraceStep(
        position=row.position,
        movement_id=row.id,
        kind=MovementKind(row.kind),
        effective_kind=MovementKind(effective),
        undoes=row.reverses is not None,
        reverses=row.reverses,
        item=decoder.item(row.device, row.lot, row.serial),
        quantity=row.quantity,
        occurred_at=instant(row.occurred_at),
        recorded_at=instant(row.recorded_at),
        from_location=None if source is None else location(source),
        from_status=None if row.from_status is None else StockStatus(row.from_status),
        to_location=None if target is None else location(target),
        to_status=None if row.to_status is None else StockStatus(row.to_status),
        counterparty=None if party is None else PartyRef.coerce(party),
    )


def _as_step(row: MovementRow, effective: str, decoder: MovementDecoder) -> TraceStep:
    """A row as a trace step, its texts decoded.

    Raises:
        StorageError: a stored text no movement has, naming the row's position.
    """
    try:
        return _step(row, effective, decoder)
    except (InvalidValueError, ValueError, TypeError, AttributeError) as e:
        raise unreadable(row.position, e) from e


def steps(store: LedgerStore, query: MovementQuery, *, up_to: int) -> Iterator[TraceStep]:
    """The matching movements as trace steps (a reversal knowing the kind it undoes)."""
    return steps_of(store, rows(store, query, up_to=up_to))


def steps_of(store: LedgerStore, found: Iterable[MovementRow]) -> Iterator[TraceStep]:
    """Rows of ``store`` as trace steps (a reversal knowing the kind it undoes)."""
    for chunk, originals in _chunked(store, iter(found)):
        decoder = MovementDecoder()  # its caches live for one chunk
        for row in chunk:
            effective = row.kind if row.reverses is None else originals[row.reverses]
            yield _as_step(row, effective, decoder)
