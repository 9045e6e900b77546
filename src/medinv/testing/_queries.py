"""What the contract suite's query tests share: a varied ledger, query strategies, plain filters.

The ledger is built by a seeded generator (the same for every store) and written
with hand-made commits, so that it holds every kind of movement, actors written
in several ways, instants at several UTC offsets (equal instants among them),
nested and look-alike locations (``CHU/Store``, ``CHU/Storeroom``) and references
long enough to be cut in a tag. The queries are drawn by Hypothesis; each answer
is compared with a plain Python filter over every stored movement (or position)
that shares no code with the stores' query path.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import pendulum
from hypothesis import strategies as st

from medinv.actors import actor_key
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.ports import Commit, LedgerStore, MovementQuery, RecordedMovement
from medinv.status import StockStatus

__all__ = [
    "QUERY_ACTORS",
    "QUERY_LOCATIONS",
    "QUERY_REFERENCES",
    "expected_movements",
    "expected_positions",
    "movement_filters",
    "position_filters",
    "position_key",
    "store_query_ledger",
]

_GTIN: Final = "04006381333931"
_GTIN_2: Final = "09501101530003"
_ITEMS: Final = (
    (ItemKey(_GTIN, lot="L1"), "2027-01-31"),
    (ItemKey(_GTIN, lot="L2"), "2026-12-15"),
    (ItemKey(_GTIN_2), "2027-06-30"),
    (ItemKey(_GTIN_2, lot="L9"), None),
    (ItemKey(_GTIN, lot="L3", serial="S1"), "2026-12-01"),
)
_PLACES: Final = ("CHU/Store", "CHU/Store/A1", "CHU/Store/A2", "CHU/Storeroom", "CHU/Ward 3")
_ACTORS: Final = ("j.martin", "J.Martin ", "Lea", "LEA", "bob", "  Ünïcødé Ærø ✓  ")
_REFERENCES: Final = (
    None,
    "DN-1",
    "DN-2",
    "PAT-7",
    "'; DROP TABLE movements; --",
    "R" * 600,
    "R" * 10_000,
    "",
)
_OFFSETS: Final = ("+01:00", "-05:00", "Z", "+05:45")
_START: Final = pendulum.datetime(2026, 11, 20, 6, 0, tz="UTC")

QUERY_ACTORS: Final = (*_ACTORS, " lea", "J.MARTIN", "nobody")
"""Actor filters the query tests draw: the ledger's actors, other spellings, a stranger."""
QUERY_LOCATIONS: Final = (*_PLACES, "CHU", "CHU/Sto", "Other", "CHU/Store/A1/x")
"""Location filters: the ledger's places, their parent, a look-alike prefix, strangers."""
QUERY_REFERENCES: Final = (*(r for r in _REFERENCES if r is not None), "R" * 601, "DN")
"""Reference filters: the ledger's, one sharing a long prefix with them, a prefix."""


def _instant(rng: random.Random) -> str:
    moment = _START.add(minutes=rng.randrange(0, 6 * 24 * 60, 15))
    offset = rng.choice(_OFFSETS)
    if offset == "Z":
        return moment.isoformat().replace("+00:00", "Z")
    return moment.in_timezone(pendulum.FixedTimezone(_minutes(offset) * 60)).isoformat()


def _minutes(offset: str) -> int:
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = offset[1:].split(":")
    return sign * (int(hours) * 60 + int(minutes))


class _Builder:
    """Movements that keep every balance non-negative (the stores check no rule)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (test data, not security)
        self.stock: dict[tuple[ItemKey, str], int] = {}
        self.returns: list[Movement] = []
        self.count = 0

    def _common(self) -> dict[str, Any]:
        self.count += 1
        return {"occurred_at": _instant(self.rng), "actor": self.rng.choice(_ACTORS)}

    def _id(self) -> str:
        return f"Q-{self.count}"

    def receipts(self) -> Iterator[Movement]:
        for item, expiry in _ITEMS:
            for place in _PLACES:
                kw = self._common()
                quantity = 1 if item.serial is not None else 50  # a serial is one unit
                self.stock[item, place] = quantity
                yield Movement.receipt(
                    self._id(),
                    item=item,
                    quantity=quantity,
                    to=Location.parse(place),
                    expiry=expiry,
                    reference=self.rng.choice(_REFERENCES),
                    **kw,
                )

    def one(self) -> Movement:  # noqa: PLR0911  (one branch per kind)
        rng = self.rng
        item, _ = rng.choice(_ITEMS)
        place = rng.choice(_PLACES)
        kw = self._common()
        mid, at = self._id(), Location.parse(place)
        reference = rng.choice(_REFERENCES)
        if self.stock[item, place] < 1:
            return Movement.receipt(mid, item=item, quantity=1, to=at, **kw)
        self.stock[item, place] -= 1
        match rng.randrange(8):
            case 0:
                return Movement.issue(
                    mid, item=item, quantity=1, source=at, reference=reference, **kw
                )
            case 1:
                return Movement.consumption(
                    mid, item=item, quantity=1, source=at, reference=reference or "PAT-7", **kw
                )
            case 2:
                target = rng.choice([p for p in _PLACES if p != place])
                self.stock[item, target] += 1
                return Movement.transfer(
                    mid, item=item, quantity=1, source=at, to=Location.parse(target), **kw
                )
            case 3:
                return Movement.status_change(
                    mid,
                    item=item,
                    quantity=1,
                    at=at,
                    from_status=StockStatus.AVAILABLE,
                    to_status=StockStatus.HOLD,
                    reference=reference,
                    **kw,
                )
            case 4:
                return Movement.adjustment(mid, item=item, change=-1, at=at, reason="count", **kw)
            case 5:
                return Movement.scrap(mid, item=item, quantity=1, source=at, **kw)
            case 6 if self.returns:
                self.stock[item, place] += 1
                return Movement.reversal(mid, of=self.returns.pop(), **kw)
            case _:
                self.stock[item, place] += 1
                returned = Movement.return_(
                    mid, item=item, quantity=1, to=at, reference=reference, **kw
                )
                self.returns.append(returned)
                return returned


def store_query_ledger(
    store: LedgerStore,
    commit_of: Callable[[LedgerStore, list[Movement]], Commit],
    *,
    size: int = 150,
) -> list[RecordedMovement]:
    """Write the query tests' ledger (about ``size`` movements, in batches); return it all."""
    builder = _Builder(seed=20261204)
    batches = [list(builder.receipts())]
    moves = [builder.one() for _ in range(size - len(batches[0]))]
    batches += [moves[i : i + 23] for i in range(0, len(moves), 23)]
    for batch in batches:
        store.append(commit_of(store, batch))
    return list(store.movements(MovementQuery()))


_KINDS: Final = st.sampled_from(list(MovementKind))
_MOMENTS: Final = st.builds(
    lambda minutes, offset: _START.add(minutes=minutes).in_timezone(
        pendulum.FixedTimezone(_minutes(offset) * 60)
    ),
    st.integers(-60, 6 * 24 * 60 + 60),
    st.sampled_from(("+01:00", "-05:00", "+00:00", "+05:45", "-11:00")),
)


@st.composite
def movement_filters(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of a `MovementQuery`: any combination of every filter."""
    filters: dict[str, Any] = {}
    options: dict[str, st.SearchStrategy[Any]] = {
        "kind": st.one_of(
            _KINDS, _KINDS.map(lambda k: k.value.lower()), st.sets(_KINDS, min_size=1, max_size=3)
        ),
        "actor": st.sampled_from(QUERY_ACTORS),
        "occurred_from": _MOMENTS,
        "occurred_to": _MOMENTS,
        "location": st.sampled_from(QUERY_LOCATIONS),
        "reference": st.sampled_from(QUERY_REFERENCES),
        "gtin": st.sampled_from((_GTIN, _GTIN_2)),
        "lot": st.sampled_from(("L1", "L2", "L3", "L9")),
        "serial": st.just("S1"),
        "item": st.sampled_from([item for item, _ in _ITEMS]),
        "after_position": st.integers(0, 160),
        "up_to_position": st.integers(0, 160),
    }
    for name in draw(st.sets(st.sampled_from(sorted(options)), max_size=4)):
        filters[name] = draw(options[name])
    start, end = filters.get("occurred_from"), filters.get("occurred_to")
    if start is not None and end is not None and not start < end:
        filters["occurred_from"], filters["occurred_to"] = min(start, end), max(start, end)
        if start == end:
            del filters["occurred_to"]
    return filters


def _kinds(value: Any) -> set[str]:
    values = value if isinstance(value, (set, frozenset)) else {value}
    return {(v.value if isinstance(v, MovementKind) else v.upper()) for v in values}


def _within(location: Location | None, path: str | Location) -> bool:
    if location is None:
        return False
    wanted = path.path if isinstance(path, Location) else tuple(path.split("/"))
    return location.path[: len(wanted)] == wanted


def expected_movements(stored: Sequence[RecordedMovement], filters: dict[str, Any]) -> list[str]:
    """The ids of the movements that match ``filters``, by a plain scan of ``stored``."""
    out = []
    for r in stored:
        m, f = r.movement, filters
        checks = (
            "kind" not in f or m.kind.value in _kinds(f["kind"]),
            "actor" not in f or actor_key(m.actor) == actor_key(f["actor"]),
            "occurred_from" not in f or m.occurred_at >= f["occurred_from"],
            "occurred_to" not in f or m.occurred_at < f["occurred_to"],
            "location" not in f
            or _within(m.from_location, f["location"])
            or _within(m.to_location, f["location"]),
            "reference" not in f or m.reference == f["reference"],
            "gtin" not in f or m.item.device_text == f["gtin"],
            "lot" not in f or (m.item.lot is not None and m.item.lot.value == f["lot"]),
            "serial" not in f or (m.item.serial is not None and m.item.serial.value == f["serial"]),
            "item" not in f or m.item == f["item"],
            r.position > f.get("after_position", 0),
            "up_to_position" not in f or r.position <= f["up_to_position"],
        )
        if all(checks):
            out.append(m.id)
    return out


@st.composite
def position_filters(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of a `PositionQuery`: expiry window, status, location, item filters."""
    dates = st.dates(dt.date(2026, 11, 1), dt.date(2027, 8, 1))
    options: dict[str, st.SearchStrategy[Any]] = {
        "expires_from": dates,
        "expires_before": dates,
        "has_expiry": st.booleans(),
        "status": st.sampled_from(list(StockStatus)),
        "location": st.sampled_from(QUERY_LOCATIONS),
        "gtin": st.sampled_from((_GTIN, _GTIN_2)),
        "lot": st.sampled_from(("L1", "L2", "L9")),
    }
    filters = {
        name: draw(options[name])
        for name in draw(st.sets(st.sampled_from(sorted(options)), max_size=3))
    }
    start, end = filters.get("expires_from"), filters.get("expires_before")
    if start is not None and end is not None and not start < end:
        del filters["expires_before"]
    if filters.get("has_expiry") is False and (
        "expires_from" in filters or "expires_before" in filters
    ):
        del filters["has_expiry"]
    return filters


def expected_positions(
    positions: Sequence[StockPosition], filters: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The positions of ``positions`` that match ``filters``, by a plain scan, sorted."""
    out = []
    for p in positions:
        f, expiry = filters, p.expiry
        checks = (
            "expires_from" not in f or (expiry is not None and expiry >= f["expires_from"]),
            "expires_before" not in f or (expiry is not None and expiry < f["expires_before"]),
            "has_expiry" not in f or (expiry is not None) == f["has_expiry"],
            "status" not in f or p.status is f["status"],
            "location" not in f or _within(p.location, f["location"]),
            "gtin" not in f or p.item.device_text == f["gtin"],
            "lot" not in f or (p.item.lot is not None and p.item.lot.value == f["lot"]),
        )
        if all(checks):
            out.append(position_key(p))
    return sorted(out)


def position_key(p: StockPosition) -> tuple[Any, ...]:
    """A position as a sortable tuple (for comparing answers in any order)."""
    return (repr(p.item), p.location.path, p.status.value, p.quantity, str(p.expiry))
