"""The row and column shapes the SQL stores share, over the one movement mapper.

A movement's fields are encoded and decoded by [`medinv.chain`][medinv.chain]
([`movement_content`][medinv.chain.movement_content],
[`movement_fields`][medinv.chain.movement_fields],
[`MovementDecoder`][medinv.chain.MovementDecoder]); this module holds what the
SQLite and PostgreSQL stores add around it: key columns (an absent lot or serial
is ``''``, so keys are plain equality), location paths, the item filters of a
query, a stored row turned into a [`RecordedMovement`][medinv.journal.RecordedMovement]
(or a [`StorageError`][medinv.errors.StorageError] saying which row is corrupt),
and the check that a commit chains from the head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, NoReturn

from medinv.chain import GENESIS_HASH, MovementDecoder, keys_of_links
from medinv.errors import MedinvError, StorageError
from medinv.identifiers import ItemKey, device_text
from medinv.locations import Location
from medinv.ports import Commit, MovementQuery, PositionQuery, RecordedMovement
from medinv.status import StockStatus

__all__ = [
    "STATUSES",
    "check_chained",
    "item_filters",
    "key_columns",
    "link_rows",
    "path_of",
    "query_links",
    "recorded_movement",
    "subtree_bounds",
]

STATUSES: Final = {status.value: status for status in StockStatus}
"""A stored status text -> the status."""

_NO_PREVIOUS: Final = {1: GENESIS_HASH}


def key_columns(item: ItemKey) -> tuple[str, str, str]:
    """``(gtin, lot, serial)`` as key columns: ``''`` for an absent lot or serial.

    The ``gtin`` column holds the item's device as
    [`ItemKey.device_text`][medinv.identifiers.ItemKey.device_text]: a GS1 DI's
    fourteen digits (as before other agencies were stored), ``AGENCY:DI`` otherwise.
    """
    lot, serial = item.lot, item.serial
    return (
        item.device_text,
        "" if lot is None else lot.value,
        "" if serial is None else serial.value,
    )


def path_of(location: Location) -> str:
    """A location as stored: its path joined with ``/`` (segments never contain ``/``)."""
    return "/".join(location.path)


def subtree_bounds(location: Location) -> tuple[str, str, str]:
    """``(path, low, high)``: the subtree of ``location`` is ``path`` and ``low <= x < high``.

    Segments never contain ``/`` and ``0`` is the character after ``/``, so every
    path below ``path`` lies in ``[path + '/', path + '0')`` and nothing else does.
    """
    path = path_of(location)
    return path, path + "/", path + "0"


def item_filters(
    query: PositionQuery | MovementQuery, mark: str, prefix: str = ""
) -> tuple[list[str], list[object]]:
    """SQL conditions and their parameters for the item, GTIN, lot, serial and device of ``query``.

    ``mark`` is the driver's placeholder (``?``, ``%s``); ``prefix`` goes before the
    key columns (``"k."``). The literal ``lot <> ''`` / ``serial <> ''`` terms let
    the planners use the partial indexes that leave the many absent ones out.
    """
    p = prefix
    conditions: list[str] = []
    params: list[object] = []
    if query.item is not None:
        conditions.append(f"{p}gtin = {mark} AND {p}lot = {mark} AND {p}serial = {mark}")
        params += key_columns(query.item)
    if query.gtin is not None:
        conditions.append(f"{p}gtin = {mark}")
        params.append(query.gtin.value)
    if query.lot is not None:
        conditions.append(f"{p}lot = {mark} AND {p}lot <> ''")
        params.append(query.lot.value)
    if query.serial is not None:
        conditions.append(f"{p}serial = {mark} AND {p}serial <> ''")
        params.append(query.serial.value)
    if query.device is not None:
        conditions.append(f"{p}gtin = {mark}")
        params.append(device_text(query.device))
    return conditions, params


def recorded_movement(  # noqa: PLR0917  (a stored row, in column order)
    decoder: MovementDecoder,
    position: int,
    stored: str | Sequence[Any],
    recorded_at: str,
    prev_hash: str | None,
    hash_: str,
) -> RecordedMovement:
    """A stored row as a recorded movement; a row no valid movement could have stored is corrupt.

    ``stored`` is the movement's content (one text) or its sixteen fields (one
    column each), both read back by ``decoder``. A missing ``prev_hash`` (the row
    before is gone) is the genesis hash before position 1 and ``''`` elsewhere
    (``Ledger.verify()`` reports it).

    Raises:
        StorageError: the row does not decode, naming its position.
    """
    try:
        movement = decoder.content(stored) if isinstance(stored, str) else decoder.fields(*stored)
        return RecordedMovement(
            movement=movement,
            position=position,
            recorded_at=decoder.instant(recorded_at),
            prev_hash=prev_hash if prev_hash is not None else _NO_PREVIOUS.get(position, ""),
            hash=hash_,
        )
    except (MedinvError, ValueError, TypeError, AttributeError, KeyError) as e:
        raise StorageError(
            f"the stored movement at position {position!r} is corrupt (edited outside medinv?): {e}"
        ) from e


def check_chained(commit: Commit, position: int, prev_hash: str) -> None:
    """Refuse a commit whose movements do not follow the head ``(position, prev_hash)``.

    Each movement must sit at the next position and carry the hash of the one
    before as its ``prev_hash``: a commit built against another ledger, or edited
    after it was built, would break the hash chain.

    Raises:
        StorageError: the first movement that does not follow.
    """
    for recorded in commit.movements:
        position += 1
        if recorded.position != position or recorded.prev_hash != prev_hash:
            _malformed(recorded, position)
        prev_hash = recorded.hash


def _malformed(recorded: RecordedMovement, expected: int) -> NoReturn:
    raise StorageError(
        f"malformed commit: movement {recorded.movement.id!r} at position "
        f"{recorded.position} does not follow position {expected - 1} and its hash"
    )


def query_links(query: MovementQuery) -> list[str]:
    """The link keys (see [`link_keys`][medinv.chain.link_keys]) a query asks for."""
    reference = query.business_reference
    return keys_of_links(query.counterparty, () if reference is None else (reference,))


def link_rows(movements: Iterable[RecordedMovement]) -> list[tuple[str, int]]:
    """The ``(link key, position)`` rows of the movement-links index for ``movements``."""
    # Most movements have no link: tested here rather than by a call of `link_keys`
    # per movement: 0.04 instead of 0.10 µs per movement in benchmarks/bench_ledger.py.
    rows: list[tuple[str, int]] = []
    for r in movements:
        m = r.movement
        party, references = m.counterparty, m.business_references
        if party is not None or references:
            position = r.position
            rows.extend([(link, position) for link in keys_of_links(party, references)])
    return rows
