"""Reading a trace's movements: in windows of positions, each read through the store's indexes.

A store answers a keyed query at once (the SQL stores fetch every matching row
before decoding the first), so a hot lot read in one query holds all its rows in
memory together. The trace reads in windows of ledger positions instead: a
window of ``w`` positions holds at most ``w`` movements, and each next window is
sized from the density of the last (aiming at about ``_TARGET_ROWS`` movements,
growing at most ``_GROWTH`` times), so memory stays flat however many movements
the subject has, and a sparse subject still needs only a handful of queries over
a large ledger. Movements are decoded one at a time as the store yields them and
handed on in chunks of ``_CHUNK``, each chunk's reversals resolved in one read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from medinv.errors import StorageError
from medinv.journal import RecordedMovement
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery
from medinv.trace._model import TraceStep

__all__ = ["movements", "steps"]

_TARGET_ROWS: Final = 2048
"""About how many movements one window should hold."""
_MIN_WINDOW: Final = 2048
"""The first window, and the smallest: at most this many movements in it."""
_MAX_WINDOW: Final = 1 << 20
"""The largest window (positions); a burst after a sparse stretch holds at most this many."""
_GROWTH: Final = 4
"""A window is at most this many times the previous one."""
_CHUNK: Final = 256
"""Movements decoded and handed on together (their reversals resolved in one read)."""


def movements(
    store: LedgerStore, query: MovementQuery, *, up_to: int
) -> Iterator[RecordedMovement]:
    """The movements matching ``query`` after its ``after_position`` up to ``up_to``, streamed."""
    after = query.after_position
    window = _MIN_WINDOW
    while after < up_to:
        last = min(after + window, up_to)
        rows = 0
        for recorded in store.movements(
            attrs.evolve(query, after_position=after, up_to_position=last)
        ):
            rows += 1
            yield recorded
        after = last
        grown = min(window * _GROWTH, _MAX_WINDOW)
        window = grown if rows == 0 else max(_MIN_WINDOW, min(grown, window * _TARGET_ROWS // rows))


def _reversed_kinds(
    store: LedgerStore, chunk: Iterable[RecordedMovement]
) -> dict[str, MovementKind]:
    """The kind of every movement a reversal in ``chunk`` undoes, read by id in one call."""
    wanted = {r.movement.reverses for r in chunk if r.movement.reverses is not None}
    if not wanted:
        return {}
    found = store.movements_by_id(wanted)
    missing = wanted - found.keys()
    if missing:
        first = min(missing)
        msg = f"the ledger holds a reversal of movement {first!r}, which it does not hold"
        raise StorageError(msg)
    return {movement_id: recorded.movement.kind for movement_id, recorded in found.items()}


def steps(store: LedgerStore, query: MovementQuery, *, up_to: int) -> Iterator[TraceStep]:
    """The matching movements as trace steps (a reversal knowing the kind it undoes)."""
    stream = movements(store, query, up_to=up_to)
    while chunk := list(itertools.islice(stream, _CHUNK)):
        originals = _reversed_kinds(store, chunk)
        for recorded in chunk:
            m = recorded.movement
            yield TraceStep(
                position=recorded.position,
                movement_id=m.id,
                kind=m.kind,
                effective_kind=m.kind if m.reverses is None else originals[m.reverses],
                undoes=m.reverses is not None,
                reverses=m.reverses,
                item=m.item,
                quantity=m.quantity,
                occurred_at=m.occurred_at,
                recorded_at=recorded.recorded_at,
                from_location=m.from_location,
                from_status=m.from_status,
                to_location=m.to_location,
                to_status=m.to_status,
                counterparty=m.counterparty,
            )
