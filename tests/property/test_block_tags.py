"""`block_tags` (the fast path of the SQL stores' tag index) gives exactly the pairs of `movement_tags`.

`block_tags` collects each facet's distinct values per block (objects by
identity) and makes tags of those only; the reference is the plain definition:
every tag of every movement (`movement_tags`, from `FACETS`) with its block.
"""

from __future__ import annotations

from typing import Any

import attrs
import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv import ItemKey, Location, Movement
from medinv.adapters import _tags
from medinv.status import StockStatus

ITEM = ItemKey("04006381333931", lot="L1")
# The last path is longer than a tag keeps (cut to VALUE_LIMIT characters).
PATHS = ("CHU/Store/A1", "CHU/Store/A1/B2", "CHU/Ward-3", "/".join(["x" * 60] * 9))
SHARED_PLACES = tuple(Location.parse(p) for p in PATHS)
INSTANTS = (
    pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris"),
    pendulum.datetime(2026, 11, 23, 8, 59, 59, tz="UTC"),
    pendulum.datetime(2026, 11, 23, 10, 30, tz="Asia/Kolkata"),
    pendulum.datetime(2026, 11, 24, 0, 0, tz="UTC"),
)
ACTORS = ("jm", "JM", "Léa Martin", "lea  martin", "bench")
REFERENCES = (None, "DN-1", "DN-2", "WARD-3", "R" * 700)


@attrs.frozen
class Stored:
    """A movement at a position: what `block_tags` reads."""

    position: int
    movement: Movement


@st.composite
def places(draw: st.DrawFn) -> Location:
    """A location: a shared object, or an equal copy (same tag, other identity)."""
    path = draw(st.sampled_from(PATHS))
    shared = SHARED_PLACES[PATHS.index(path)]
    return shared if draw(st.booleans()) else Location.parse(path)


@st.composite
def instants(draw: st.DrawFn) -> pendulum.DateTime:
    """An instant: a shared object, or an equal copy."""
    moment = draw(st.sampled_from(INSTANTS))
    return moment if draw(st.booleans()) else moment.add(seconds=0)


@st.composite
def movements(draw: st.DrawFn, number: int) -> Movement:
    """A receipt, issue, transfer (to another place or the same) or status change."""
    common: dict[str, Any] = {
        "item": ITEM,
        "quantity": 1,
        "occurred_at": draw(instants()),
        "actor": draw(st.sampled_from(ACTORS)),
        "reference": draw(st.sampled_from(REFERENCES)),
    }
    mid = f"M-{number}"
    match draw(st.sampled_from(("receipt", "issue", "transfer", "status"))):
        case "receipt":
            return Movement.receipt(mid, to=draw(places()), **common)
        case "issue":
            return Movement.issue(mid, source=draw(places()), **common)
        case "transfer":
            source, target = draw(places()), draw(places())
            if source == target:
                return Movement.status_change(
                    mid,
                    at=source,
                    from_status=StockStatus.AVAILABLE,
                    to_status=StockStatus.QUARANTINE,
                    **common,
                )
            return Movement.transfer(mid, source=source, to=target, **common)
        case _:
            return Movement.status_change(
                mid,
                at=draw(places()),
                from_status=StockStatus.QUARANTINE,
                to_status=StockStatus.AVAILABLE,
                **common,
            )


@st.composite
def stored_runs(draw: st.DrawFn) -> list[Stored]:
    """Movements at positions: consecutive from anywhere (a commit), or in any order."""
    count = draw(st.integers(0, 100))
    if draw(st.booleans()):
        first = draw(st.integers(1, 10_000))
        positions = list(range(first, first + count))
    else:
        positions = draw(st.lists(st.integers(1, 400), min_size=count, max_size=count))
    return [Stored(p, draw(movements(i))) for i, p in enumerate(positions)]


def every_tag(stored: list[Stored]) -> list[tuple[str, int]]:
    """The plain definition: each tag of each movement, with its block, once, sorted."""
    return sorted(
        {
            (tag, s.position >> _tags.BLOCK_BITS)
            for s in stored
            for tag in _tags.movement_tags(s.movement)
        }
    )


@settings(max_examples=100, deadline=None)
@given(stored_runs())
def test_block_tags_are_every_tag_of_every_movement(stored: list[Stored]) -> None:
    assert _tags.block_tags(stored) == every_tag(stored)


def test_block_tags_know_every_facet_that_tags() -> None:
    # block_tags collects the values of these facets itself: a new facet that tags
    # movements must be taught to it (the property above would then find it too).
    assert {facet.tags for facet in _tags.FACETS} == {
        _tags._reference_tags,
        _tags._location_tags,
        _tags._kind_tags,
        _tags._actor_tags,
        _tags._no_tags,
    }


def test_a_commit_of_one_block_and_the_next() -> None:
    at = INSTANTS[0]
    store, ward = SHARED_PLACES[0], SHARED_PLACES[2]
    stored = [
        Stored(
            63, Movement.receipt("A", item=ITEM, quantity=2, to=store, occurred_at=at, actor="jm")
        ),
        Stored(
            64,
            Movement.transfer(
                "B",
                item=ITEM,
                quantity=1,
                source=store,
                to=ward,
                occurred_at=at,
                actor="JM",
                reference="DN-1",
            ),
        ),
    ]
    hour = _tags.hour_key(at)
    assert _tags.block_tags(stored) == [
        ("a=jm", 0),
        ("a=jm", 1),
        (f"k=RECEIPT:{hour}", 0),
        (f"k=TRANSFER:{hour}", 1),
        ("l=CHU/Store/A1", 0),
        ("l=CHU/Store/A1", 1),
        ("l=CHU/Ward-3", 1),
        ("r=DN-1", 1),
    ]


@st.composite
def commits(draw: st.DrawFn) -> list[Stored]:
    """Movements at consecutive positions from anywhere: what a commit holds."""
    count = draw(st.integers(0, 150))
    first = draw(st.integers(1, 10_000))
    return [Stored(first + i, draw(movements(i))) for i in range(count)]


@settings(max_examples=100, deadline=None)
@given(commits(), st.integers(0, 6))
def test_packed_tags_are_the_same_tags_per_block_and_per_era(
    stored: list[Stored], era_bits: int
) -> None:
    # The SQLite store's layout holds exactly the pairs of block_tags: one text per
    # block, keyed by the first position of the commit in it, and each (tag, era).
    parts, eras = _tags.packed_tags(stored, era_bits)
    unpacked = {
        (tag, start >> _tags.BLOCK_BITS) for start, text in parts for tag in text.split("\x00")
    }
    assert sorted(unpacked) == _tags.block_tags(stored) == every_tag(stored)
    assert eras == sorted({(tag, block >> era_bits) for tag, block in every_tag(stored)})
    firsts: dict[int, int] = {}
    for s in stored:
        firsts.setdefault(s.position >> _tags.BLOCK_BITS, s.position)
    assert [start for start, _ in parts] == sorted(firsts.values())
    for _, text in parts:  # each tag once per block
        assert len(text.split("\x00")) == len(set(text.split("\x00")))


TAGS = ("a=jm", "k=ISSUE:00001000", "k=ISSUE:00001002", "l=A/B", "l=A/B/C", "l=A/B0", "r=")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(TAGS), min_size=1, unique=True),
    st.lists(
        st.tuples(st.sampled_from(TAGS), st.none() | st.sampled_from(TAGS)), min_size=1, max_size=4
    ),
)
def test_holds_is_a_tag_in_a_span(tags: list[str], spans: list[tuple[str, str | None]]) -> None:
    def within(tag: str, low: str, high: str | None) -> bool:
        return tag == low if high is None else low <= tag < high

    expected = any(within(tag, low, high) for tag in tags for low, high in spans)
    assert _tags.holds("\x00".join(tags), spans) is expected
