"""Movement tags: the one index every store keeps for the movement filters beyond items.

A stored movement gets a few **tags**, texts ``<facet>=<value>``: its kind and the
UTC hour it occurred in (``k=RECEIPT:`` and 8 digits of hours, so that text order
is time order), its actor's normalised name (``a=lea``), the path of each location
it comes from or goes to (``l=CHU/Store/A1``), its reference (``r=DN-1001``). The
SQL stores keep which blocks of 64 consecutive positions hold each tag (see
[`block_tags`][medinv.adapters._tags.block_tags]): PostgreSQL in one table
``movement_tags`` whose primary key is ``(tag, block)``; SQLite as one text of
tags per block and which eras of 16 blocks hold each tag (see
[`packed_tags`][medinv.adapters._tags.packed_tags]), so that a commit writes few
rows. The memory store keeps the movements of each tag in a dictionary. Every filter of a
[`MovementQuery`][medinv.ports.MovementQuery] beyond the item ones is a set of
**spans** of tags: one tag (``tag = ?``) or a half-open range (``? <= tag < ?``):

- a kind filter is the range of that kind's tags (``k=ISSUE:`` to ``k=ISSUE;``);
- an occurred-at window is one range of hours per kind (the kinds asked for, or
  all nine): the kind and the time filters share one tag per movement;
- an actor or reference filter is one tag;
- a location subtree is the location's own tag and the range of the tags below it
  (``l=A/B/`` to ``l=A/B0``: segments never hold ``/`` and ``0`` follows ``/``).

Why one tag table and not an index per column: the filters need values SQL cannot
compute the way medinv does (an actor compared as a person, an instant in UTC
whatever offset it was given), the SQLite store keeps a movement as its hashed
content rather than columns, and a movement's locations are two columns that one
subtree filter reads as one. One composite key answers all of them with a range
scan of one B-tree (on SQLite, of the eras' index, then of the eras' blocks, whose
texts are checked with [`holds`][medinv.adapters._tags.holds]); a new filter is one more entry in
[`FACETS`][medinv.adapters._tags.FACETS] and needs no new column or index.

A query reads its candidates through **one** filter, the first of ``FACETS`` it
sets (the item filters, when set, come right after the reference), and checks the
others on each candidate ([`MovementQuery.matches`][medinv.ports.MovementQuery.matches]):
its cost grows with the movements matching that filter, never with the ledger.
Values are cut to ``VALUE_LIMIT`` characters in a tag (a PostgreSQL index entry
must stay under about 2,700 bytes); the check on each candidate keeps the answer
exact.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Protocol

import attrs

from medinv.actors import actor_key
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import MovementQuery, PositionQuery

__all__ = [
    "BLOCK_BITS",
    "FACETS",
    "SEPARATOR",
    "VALUE_LIMIT",
    "Facet",
    "Positioned",
    "Span",
    "block_tags",
    "driving_facet",
    "expiry_terms",
    "holds",
    "hour_key",
    "movement_tags",
    "packed_tags",
    "span_terms",
]

VALUE_LIMIT: Final = 500
"""The characters of a value kept in a tag (at most 2,000 bytes of UTF-8)."""

Span = tuple[str, str | None]
"""``(tag, None)``: exactly this tag; ``(low, high)``: the tags ``low <= tag < high``."""

# Seconds from 0001-01-01T00:00 UTC minus a day (no aware instant is earlier) to
# 1970: hour keys are never negative, and 8 digits hold every one up to year 9999.
_ORIGIN_S: Final = 62_135_596_800 + 86_400
_timestamp: Final = dt.datetime.timestamp
_CACHE_LIMIT: Final = 4096

BLOCK_BITS: Final = 6
"""The SQL stores tag blocks of 2**6 = 64 consecutive positions, not single movements."""


def hour_key(moment: dt.datetime) -> str:
    """The UTC hour of an aware date-time as 8 digits: text order is time order.

    Whatever offset the instant was given with; no instant overflows (``astimezone``
    would, near year 1 and year 9999). A window reads the hours of its bounds
    inclusively and the check on each candidate keeps the answer exact.
    """
    global _last_instant  # noqa: PLW0603  (a one-entry cache, replaced as one tuple)
    last = _last_instant
    if last[0] is moment:  # the movements of a batch often share their instant
        return last[1]
    key = f"{(math.floor(_timestamp(moment)) + _ORIGIN_S) // 3600:08d}"
    _last_instant = (moment, key)
    return key


_last_instant: tuple[object, str] = (None, "")


def _cut(value: str) -> str:
    return value[:VALUE_LIMIT]


class _Cache(dict[Any, str]):
    """Tags of values that repeat (actors, locations), computed once; starts again when full."""

    def __init__(self, make: Callable[[Any], str]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[key] = self.make(key)
        return value


_ACTOR_TAGS: Final = _Cache(lambda actor: "a=" + _cut(actor_key(actor)))
_LOCATION_TAGS: Final = _Cache(lambda location: "l=" + _cut("/".join(location.path)))
_REFERENCE_TAGS: Final = _Cache(lambda reference: "r=" + _cut(reference))
_KIND_PREFIX: Final = {kind: f"k={kind.value}:" for kind in MovementKind}


def _location_tags(m: Movement) -> Iterable[str]:
    source, target = m.from_location, m.to_location
    if source is None:
        return () if target is None else (_LOCATION_TAGS[target],)
    if target is None or target == source:
        return (_LOCATION_TAGS[source],)
    return (_LOCATION_TAGS[source], _LOCATION_TAGS[target])


def _subtree(location: Location) -> list[Span]:
    path = "/".join(location.path)
    if len(path) >= VALUE_LIMIT:  # every tag below it is cut to the same text
        return [("l=" + _cut(path), None)]
    return [("l=" + path, None), ("l=" + path + "/", "l=" + path + "0")]


def _occurred(query: MovementQuery) -> tuple[Any, ...] | None:
    if query.occurred_from is None and query.occurred_to is None:
        return None
    return query.kind, query.occurred_from, query.occurred_to


def _window(value: tuple[Any, ...]) -> list[Span]:
    """One range of instant keys per kind asked for (every kind if none is)."""
    kinds, start, end = value
    low = "" if start is None else hour_key(start)
    high = "~" if end is None else hour_key(end) + "~"  # '~' follows every digit
    return [
        (_KIND_PREFIX[kind] + low, _KIND_PREFIX[kind] + high)
        for kind in sorted(kinds or MovementKind, key=_KINDS_ORDER.index)
    ]


_KINDS_ORDER: Final = list(MovementKind)


def _kinds(kinds: frozenset[MovementKind]) -> list[Span]:
    """Every instant key of each kind: the range from ``k=KIND:`` to ``k=KIND;``."""
    return [
        (_KIND_PREFIX[kind], _KIND_PREFIX[kind][:-1] + ";")
        for kind in sorted(kinds, key=_KINDS_ORDER.index)
    ]


@attrs.frozen
class Facet:
    """One filter read through the tags: how a movement is tagged, how the filter reads them."""

    name: str
    """The letter its tags start with (before ``=``)."""
    tags: Callable[[Movement], Iterable[str]]
    """A movement's tags of this facet (whole tags)."""
    spans: Callable[[Any], list[Span]]
    """The spans of tags that the filter's value selects."""
    read: Callable[[MovementQuery], Any]
    """The filter's value in a query; ``None``: not set."""
    before_items: bool = False
    """Whether this filter drives a query rather than its item filters."""
    ordered: bool = False
    """Whether the filter reads ranges of tags (the memory store keeps them sorted)."""


def _no_tags(_movement: Movement) -> tuple[str, ...]:
    return ()


def _reference_tags(m: Movement) -> tuple[str, ...]:
    return () if m.reference is None else (_REFERENCE_TAGS[m.reference],)


def _kind_tag(kind: MovementKind, moment: dt.datetime) -> str:
    return _KIND_PREFIX[kind] + hour_key(moment)


def _kind_tags(m: Movement) -> tuple[str, ...]:
    return (_kind_tag(m.kind, m.occurred_at),)


def _actor_tags(m: Movement) -> tuple[str, ...]:
    return (_ACTOR_TAGS[m.actor],)


FACETS: Final[tuple[Facet, ...]] = (
    # In the order a query picks the one that drives it: the most selective first.
    Facet(
        "r",
        _reference_tags,
        lambda value: [(_REFERENCE_TAGS.make(value), None)],
        lambda q: q.reference,
        before_items=True,
    ),
    Facet("l", _location_tags, _subtree, lambda q: q.location, ordered=True),
    # One tag per movement serves the kind and the time filters: its kind, then the
    # instant it occurred at. A window reads one range per kind (the kinds asked
    # for, or all nine), a kind alone the whole range of its tags.
    Facet(
        "k",
        _kind_tags,
        _window,
        _occurred,
        ordered=True,
    ),
    Facet(
        "a",
        _actor_tags,
        lambda value: [("a=" + _cut(value), None)],
        lambda q: q.actor,
    ),
    Facet("k", _no_tags, _kinds, lambda q: q.kind, ordered=True),  # tags written above
)
"""Every tag facet, in the order a query picks the filter that drives it."""


_TAGGERS: Final = tuple(facet.tags for facet in FACETS if facet.tags is not _no_tags)


def movement_tags(movement: Movement) -> list[str]:
    """Every tag of a movement, each once."""
    return [tag for tagger in _TAGGERS for tag in tagger(movement)]


class Positioned(Protocol):
    """A movement at its ledger position (a `RecordedMovement`, or what a migration reads)."""

    @property
    def position(self) -> int:
        """Its ledger position."""
        ...

    @property
    def movement(self) -> Movement:
        """The movement."""
        ...


def span_terms(spans: Iterable[Span], mark: str) -> tuple[str, list[str]]:
    """The SQL condition on the column ``tag`` for ``spans``, and its parameters.

    ``mark`` is the driver's placeholder (``?``, ``%s``).
    """
    terms = [
        f"tag = {mark}" if high is None else f"(tag >= {mark} AND tag < {mark})"
        for _, high in spans
    ]
    params = [bound for span in spans for bound in span if bound is not None]
    return " OR ".join(terms), params


def block_tags(movements: Iterable[Positioned]) -> list[tuple[str, int]]:
    """``(tag, block)`` for every tag of every movement, each pair once, sorted.

    A block is ``position >> BLOCK_BITS``: the SQL stores index which blocks of 64
    positions hold a tag, not which movements. A busy ledger repeats its kinds,
    actors, hours, locations and references within a block, so a batch writes a
    fraction of the 4 or 5 tags of each movement (1.23 rows per movement in the
    query benchmark's million-movement ledger: 40 people in turn, 20 places, a new
    hour every 120 movements); a query reads the movements of the blocks its
    driving filter finds, and checks each (at most 63 more per block than match).

    The pairs are those of [`movement_tags`][medinv.adapters._tags.movement_tags]
    (a test compares them), computed once per distinct value in a block instead
    of once per movement: each facet's values are collected first (objects by
    identity, without hashing them), only the distinct ones are made into tags,
    and the pairs come out sorted by tag, then block, without sorting them all.
    On the ledger benchmark's commits (`benchmarks/bench_ledger.py`, 1,000
    movements each) this costs about a third of tagging every movement.
    """
    blocks_of: dict[str, list[int]] = {}
    for block, _, tags in _tags_by_block(movements):
        for tag in tags:
            blocks = blocks_of.get(tag)
            if blocks is None:
                blocks_of[tag] = [block]
            else:
                blocks.append(block)
    return [
        (tag, block)
        for tag, blocks in sorted(blocks_of.items())
        for block in (blocks if len(blocks) == 1 else sorted(set(blocks)))
    ]


def _tags_by_block(movements: Iterable[Positioned]) -> Iterator[tuple[int, int, set[str]]]:
    """``(block, first position, distinct tags)`` of each run of ``movements`` in one block."""
    block = first = -1
    references: set[str | None] = set()
    actors: set[str] = set()
    # Keyed by id(): each value object stays referenced here, so no id is reused.
    places: dict[int, Location] = {}
    moments: dict[tuple[MovementKind, int], dt.datetime] = {}
    for recorded in movements:
        position = recorded.position
        here = position >> BLOCK_BITS
        if here != block:
            if block >= 0:
                yield block, first, _block_tags(references, actors, places, moments)
            block, first = here, position
            references, actors, places, moments = set(), set(), {}, {}
        m = recorded.movement
        references.add(m.reference)
        actors.add(m.actor)
        occurred_at = m.occurred_at
        moments[m.kind, id(occurred_at)] = occurred_at
        source, target = m.from_location, m.to_location
        if source is not None:
            places[id(source)] = source
        if target is not None:
            places[id(target)] = target
    if block >= 0:
        yield block, first, _block_tags(references, actors, places, moments)


def _block_tags(
    references: set[str | None],
    actors: set[str],
    places: dict[int, Location],
    moments: dict[tuple[MovementKind, int], dt.datetime],
) -> set[str]:
    """The tags of one block's distinct values."""
    references.discard(None)
    tags = {_REFERENCE_TAGS[reference] for reference in references}
    tags.update([_ACTOR_TAGS[actor] for actor in actors])
    tags.update([_LOCATION_TAGS[place] for place in places.values()])
    tags.update([_kind_tag(kind, moment) for (kind, _), moment in moments.items()])
    return tags


def _has_item_filter(query: MovementQuery) -> bool:
    return any(v is not None for v in (query.item, query.gtin, query.lot, query.serial))


def driving_facet(query: MovementQuery) -> tuple[Facet, list[Span]] | None:
    """The facet whose filter drives ``query``, with its spans.

    ``None``: the item filters drive it, or no filter does.
    """
    items = _has_item_filter(query)
    for facet in FACETS:
        value = facet.read(query)
        if value is None:
            continue
        if items and not facet.before_items:
            return None
        return facet, facet.spans(value)
    return None


def expiry_terms(query: PositionQuery, mark: str) -> tuple[str, str, list[object]]:
    """The SQL conditions on ``l2.expiry`` (lots) and ``i2.expiry`` (items), and parameters.

    For the expiry filters of ``query``; ``mark`` is the driver's placeholder. The
    parameters are those of the lots' condition, then the items'. Positions without
    an expiry have ``NULL`` there; the stores check each position's own expiry (the
    lot's when the lot is on record) on what the indexes found.
    """
    if query.has_expiry is False:
        return "l2.expiry IS NULL", "i2.expiry IS NULL", []
    bounds = ((query.expires_from, ">="), (query.expires_before, "<"))
    given = [(value, op) for value, op in bounds if value is not None]
    lots, items = (
        " AND ".join(f"{column} {op} {mark}" for _, op in given) or f"{column} IS NOT NULL"
        for column in ("l2.expiry", "i2.expiry")
    )
    params: list[object] = [value for value, _ in given]
    return lots, items, params * 2


SEPARATOR: Final = "\x00"
"""Between the tags of a block in one text (no tag holds NUL: no medinv text does)."""


def packed_tags(
    movements: Iterable[Positioned], era_bits: int
) -> tuple[list[tuple[int, str]], list[tuple[str, int]]]:
    """The tags of a commit as the SQLite store keeps them: per block, and per era of blocks.

    Returns ``(start, tags)`` for each block the movements touch (``start``: the first
    of their positions in it; ``tags``: its distinct tags joined by `SEPARATOR`), and
    each distinct ``(tag, era)``, sorted, an era being ``block >> era_bits``. The same
    tags as [`block_tags`][medinv.adapters._tags.block_tags] (a test compares them),
    laid out so that a commit writes few rows: one per block, appended at the end of
    the store's table, and one per tag and era, most of them written already by the
    commits before it in the same era. Measured by `benchmarks/bench_ledger.py`
    (commits of 1,000 movements): 17 block rows and 97 era rows (55 of them new)
    instead of 615 rows per commit, the tags' statements about a fifth of their
    CPU and the commit's pages 172 instead of 243.
    """
    parts: list[tuple[int, str]] = []
    eras: set[tuple[str, int]] = set()
    join = SEPARATOR.join
    for block, first, tags in _tags_by_block(movements):
        parts.append((first, join(tags)))
        era = block >> era_bits
        eras.update([(tag, era) for tag in tags])
    return parts, sorted(eras)


def holds(packed: str, spans: Sequence[Span]) -> bool:
    """Whether a block whose tags are ``packed`` (see `packed_tags`) holds a tag of ``spans``."""
    tags = packed.split(SEPARATOR)
    for low, high in spans:
        if high is None:
            if low in tags:
                return True
        elif any(low <= tag < high for tag in tags):
            return True
    return False
