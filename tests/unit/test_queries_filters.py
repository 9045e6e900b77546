"""The new query filters: conversions, refusals, and the tag index's edges."""

from __future__ import annotations

import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters import _tags
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import InvalidValueError
from medinv.ledger import Ledger
from medinv.movements import MovementKind
from medinv.ports import MovementQuery, PositionQuery

AT = "2026-11-23T09:00:00+01:00"


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"kind": 3}, "expected a MovementKind or several"),
        ({"kind": ["RECEIPT", 7]}, "invalid movement kind 7"),
        ({"reference": 12}, "invalid reference filter"),
        ({"reference": "a\x00b"}, "without NUL"),
        ({"actor": "lea\u200b"}, "invisible"),
        ({"occurred_from": "yesterday"}, "ISO 8601"),
    ],
)
def test_bad_movement_filters_are_refused(filters: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        MovementQuery(**filters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"has_expiry": "no"}, "expected True, False or None"),
        ({"expires_before": "soon"}, "ISO date"),
        ({"expires_from": "2027-01-01", "expires_before": "2027-01-01"}, "empty expiry window"),
    ],
)
def test_bad_position_filters_are_refused(filters: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        PositionQuery(**filters)  # type: ignore[arg-type]


def test_filters_are_converted() -> None:
    query = MovementQuery(kind=(" issue", MovementKind.SCRAP), actor="  LÉA   Martin ")
    assert query.kind == frozenset({MovementKind.ISSUE, MovementKind.SCRAP})
    assert query.actor == "léa martin"
    assert MovementQuery(kind="RETURN").kind == frozenset({MovementKind.RETURN})


@pytest.mark.parametrize("make", [MemoryStore, lambda: SqliteStore(":memory:")])
def test_a_path_longer_than_a_tag_still_finds_its_subtree(make) -> None:
    segments = [f"{i:02d}" + "x" * 60 for i in range(9)]  # 9 x 62 characters, past the cut
    deep, deeper = Location(tuple(segments[:8])), Location(tuple(segments))
    sibling = Location((*segments[:7], segments[7][:-1] + "y"))
    assert len("/".join(deep.path)) >= _tags.VALUE_LIMIT
    with make() as store:
        item = ItemKey("04006381333931", lot="L1")
        Ledger(store).post([
            Movement.receipt(f"R-{i}", item=item, quantity=1, to=place, occurred_at=AT, actor="a")
            for i, place in enumerate((deep, deeper, sibling))
        ])  # fmt: skip
        found = [r.movement.id for r in store.movements(MovementQuery(location=deep))]
        assert found == ["R-0", "R-1"]
        assert [r.movement.id for r in store.movements(MovementQuery(location=deeper))] == ["R-1"]


def test_the_tag_caches_start_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tags, "_CACHE_LIMIT", 2)
    cache = _tags._Cache(str.upper)
    assert [cache[v] for v in ("a", "b", "c", "a")] == ["A", "B", "C", "A"]
    assert len(cache) <= 2


def test_instants_keep_their_order_whatever_their_offset() -> None:
    import datetime as dt  # noqa: PLC0415

    moments = [
        dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=23))),
        dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-23))),
    ]
    keys = [_tags.hour_key(m) for m in moments]
    assert keys == sorted(keys)
    assert all(len(k) == 8 and k.isdigit() for k in keys)
