"""Movement tags: the one index every store keeps for the movement filters beyond items.

A stored movement gets a few **tags**, texts ``<facet>=<value>``: its kind
(``k=RECEIPT``), its actor's normalised name (``a=lea``), the UTC instant it occurred
at (``t=`` and a fixed-width count of microseconds, so that text order is time
order), the path of each location it comes from or goes to (``l=CHU/Store/A1``),
its reference (``r=DN-1001``). The SQL stores keep them in one table
``movement_tags (tag, position)`` whose primary key is ``(tag, position)``; the
memory store in a dictionary. Every filter of a
[`MovementQuery`][medinv.ports.MovementQuery] beyond the item ones is a set of
**spans** of tags: one tag (``tag = ?``) or a half-open range (``? <= tag < ?``):

- a kind filter is one tag per kind;
- an actor or reference filter is one tag;
- an occurred-at window is one range of ``t=`` tags;
- a location subtree is the location's own tag and the range of the tags below it
  (``l=A/B/`` to ``l=A/B0``: segments never hold ``/`` and ``0`` follows ``/``).

Why one tag table and not an index per column: the filters need values SQL cannot
compute the way medinv does (an actor compared as a person, an instant in UTC
whatever offset it was given), the SQLite store keeps a movement as its hashed
content rather than columns, and a movement's locations are two columns that one
subtree filter reads as one. One composite key answers all of them, on SQLite and
PostgreSQL alike, with a range scan of one B-tree; a new filter is one more entry in
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

from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from medinv.actors import actor_key
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import MovementQuery, PositionQuery

__all__ = [
    "FACETS",
    "VALUE_LIMIT",
    "Facet",
    "Span",
    "driving_facet",
    "expiry_terms",
    "instant_key",
    "movement_tags",
    "tag_spans",
]

VALUE_LIMIT: Final = 500
"""The characters of a value kept in a tag (at most 2,000 bytes of UTF-8)."""

Span = tuple[str, str | None]
"""``(tag, None)``: exactly this tag; ``(low, high)``: the tags ``low <= tag < high``."""

_EPOCH_DAYS: Final = 1  # date(1, 1, 1).toordinal()


def instant_key(moment: Any) -> str:
    """An aware date-time as 18 digits of microseconds since 0001-01-01 UTC (minus a day).

    Text order is time order, whatever offset the instant was given with, and no
    instant overflows (``astimezone`` would, near year 1 and year 9999).
    """
    offset = moment.utcoffset()
    local = moment.replace(tzinfo=None)
    seconds = (local.toordinal() - _EPOCH_DAYS + 1) * 86_400 + (
        local.hour * 3600 + local.minute * 60 + local.second
    )
    micros = (seconds - int(offset.total_seconds())) * 1_000_000 + local.microsecond
    return f"{micros:018d}"


def _path(location: Location) -> str:
    return "/".join(location.path)


def _cut(value: str) -> str:
    return value[:VALUE_LIMIT]


def _exact(values: Iterable[str]) -> list[Span]:
    return [(_cut(v), None) for v in values]


def _locations(movement: Movement) -> list[str]:
    paths = {_cut(_path(loc)) for loc in (movement.from_location, movement.to_location) if loc}
    return sorted(paths)


def _subtree(location: Location) -> list[Span]:
    path = _path(location)
    if len(path) >= VALUE_LIMIT:  # every tag below it is cut to the same text
        return [(_cut(path), None)]
    return [(path, None), (path + "/", path + "0")]


def _window(window: tuple[Any, Any]) -> list[Span]:
    start, end = window
    return [
        (
            "" if start is None else instant_key(start),
            "~" if end is None else instant_key(end),  # '~' sorts after every digit
        )
    ]


@attrs.frozen
class Facet:
    """One kind of tag: how a movement is tagged and how a query's filter reads the tags."""

    name: str
    """The letter before ``=`` in its tags."""
    tags: Callable[[Movement], Iterable[str]]
    """The values of a movement's tags of this facet (without the prefix)."""
    spans: Callable[[Any], list[Span]]
    """The spans of values that the filter's value selects (without the prefix)."""
    read: Callable[[MovementQuery], Any]
    """The filter's value in a query; ``None``: not set."""
    before_items: bool = False
    """Whether this filter drives a query rather than its item filters."""
    ordered: bool = False
    """Whether the filter reads ranges of tags (the memory store keeps them sorted)."""


def _kinds(kinds: frozenset[MovementKind]) -> list[Span]:
    return _exact(sorted(k.value for k in kinds))


def _occurred(query: MovementQuery) -> tuple[Any, Any] | None:
    if query.occurred_from is None and query.occurred_to is None:
        return None
    return query.occurred_from, query.occurred_to


def _one(value: str) -> list[Span]:
    return _exact([value])


FACETS: Final[tuple[Facet, ...]] = (
    # In the order a query picks the one that drives it: the most selective first.
    Facet(
        "r",
        lambda m: () if m.reference is None else (_cut(m.reference),),
        _one,
        lambda q: q.reference,
        before_items=True,
    ),
    Facet("l", _locations, _subtree, lambda q: q.location, ordered=True),
    Facet("t", lambda m: (instant_key(m.occurred_at),), _window, _occurred, ordered=True),
    Facet("a", lambda m: (_cut(actor_key(m.actor)),), _one, lambda q: q.actor),
    Facet("k", lambda m: (m.kind.value,), _kinds, lambda q: q.kind),
)
"""Every tag facet, in the order a query picks the filter that drives it."""


def movement_tags(movement: Movement) -> list[str]:
    """Every tag of a movement, each once."""
    return list(
        dict.fromkeys(f"{facet.name}={value}" for facet in FACETS for value in facet.tags(movement))
    )


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
        return facet, tag_spans(facet, value)
    return None


def tag_spans(facet: Facet, value: Any) -> list[Span]:
    """The spans of full tags (prefix included) that ``value`` selects in ``facet``."""
    prefix = facet.name + "="
    return [
        (prefix + low, None if high is None else prefix + high) for low, high in facet.spans(value)
    ]


def expiry_terms(query: PositionQuery, column: str, mark: str) -> tuple[str, list[object]]:
    """The SQL condition on an expiry ``column`` for the expiry filters of ``query``.

    ``mark`` is the driver's placeholder. Positions without an expiry have ``NULL``
    there; the stores check each position's own expiry on what the index found.
    """
    if query.has_expiry is False:
        return f"{column} IS NULL", []
    bounds = ((query.expires_from, ">="), (query.expires_before, "<"))
    terms = [f"{column} {op} {mark}" for value, op in bounds if value is not None]
    params: list[object] = [value for value, _ in bounds if value is not None]
    return (" AND ".join(terms) or f"{column} IS NOT NULL"), params
