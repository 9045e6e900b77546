"""The one movement mapper: content and fields encode and decode every movement exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.chain import (
    CONTENT_FIELDS,
    MovementDecoder,
    format_instant,
    movement_content,
    movement_fields,
)
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.testing.strategies import item_keys, locations, statuses

_TEXT = st.from_regex(r"[A-Za-z0-9\u00e9\u4e2d][A-Za-z0-9\u00e9\u4e2d /.-]{0,10}", fullmatch=True)
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@st.composite
def _instants(draw: st.DrawFn) -> pendulum.DateTime:
    naive = draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1)))  # noqa: DTZ001
    return pendulum.instance(naive.replace(tzinfo=draw(_OFFSETS)))


@st.composite
def movements(draw: st.DrawFn) -> Movement:
    common: dict[str, Any] = {
        "id": draw(_TEXT),
        "item": draw(item_keys()),
        "occurred_at": draw(_instants()),
        "actor": draw(_TEXT),
        "reference": draw(st.none() | _TEXT),
        "reason": draw(st.none() | _TEXT),
    }
    serialised = common["item"].serial is not None
    quantity = 1 if serialised else draw(st.integers(1, 10**9))
    kind = draw(st.sampled_from(["receipt", "issue", "transfer", "status", "adjustment"]))
    if kind == "receipt":
        return Movement.receipt(
            **common,
            quantity=quantity,
            to=draw(locations()),
            status=draw(statuses()),
            expiry=draw(st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))),
        )
    if kind == "issue":
        return Movement.issue(**common, quantity=quantity, source=draw(locations()))
    if kind == "transfer":
        source, to = draw(st.lists(locations(), min_size=2, max_size=2, unique_by=lambda x: x.path))
        return Movement.transfer(**common, quantity=quantity, source=source, to=to)
    if kind == "status":
        before, after = draw(st.lists(statuses(), min_size=2, max_size=2, unique=True))
        return Movement.status_change(
            **common,
            quantity=quantity,
            at=draw(locations()),
            from_status=before,
            to_status=after,
        )
    common["reason"] = draw(_TEXT)
    return Movement.adjustment(
        **common,
        change=draw(
            st.sampled_from([-1, 1]) if serialised else st.integers(-(10**9), 10**9).filter(bool)
        ),
        at=draw(locations()),
    )


@given(movements())
def test_content_and_fields_decode_back_to_the_same_movement(m: Movement) -> None:
    decoder = MovementDecoder()
    from_content = decoder.content(movement_content(m))
    from_fields = decoder.fields(*movement_fields(m))
    assert from_content == m
    assert from_fields == m
    # The same content, offset included: the hash of a decoded movement is unchanged.
    assert movement_content(from_content) == movement_content(m)
    assert from_content.occurred_at.utcoffset() == m.occurred_at.utcoffset()


@given(movements())
def test_fields_are_the_content_without_its_marks(m: Movement) -> None:
    fields = movement_fields(m)
    assert len(fields) == len(CONTENT_FIELDS)
    content = movement_content(m).split("\x00")
    for name, field, text in zip(CONTENT_FIELDS, fields, content, strict=True):
        if name in {"id", "kind", "gtin", "quantity", "occurred_at", "actor"}:
            assert field == text
        else:
            assert text == ("-" if field is None else "+" + field)


def _content(**changes: str) -> str:
    m = Movement.receipt(
        "r1",
        item=ItemKey("04006381333931", lot="L1"),
        quantity=5,
        to=Location.parse("Main/A1"),
        occurred_at="2026-11-23T09:00:00+01:00",
        actor="jm",
    )
    fields = dict(zip(CONTENT_FIELDS, movement_content(m).split("\x00"), strict=True))
    fields.update(changes)
    return "\x00".join(fields.values())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"kind": "TELEPORT"}, "MovementKind"),
        ({"lot": "L1"}, "must be '-' or start with"),
        ({"quantity": "05"}, "canonical decimal"),
        ({"quantity": "five"}, "invalid literal"),
        ({"occurred_at": "yesterday"}, "isoformat"),
        ({"to_status": "+LOST"}, "StockStatus"),
        ({"gtin": "+04006381333932"}, "GTIN"),
        ({"expiry": "+2026-02-30"}, "day is out of range"),
    ],
)
def test_content_no_movement_encodes_to_is_a_value_error(changes, error) -> None:
    with pytest.raises(ValueError, match=error):
        MovementDecoder().content(_content(**changes))


def test_a_truncated_content_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="has 3 fields, not 16"):
        MovementDecoder().content("a\x00b\x00c")


def test_fields_from_typed_columns() -> None:
    m = Movement.receipt(
        "r1",
        item=ItemKey("04006381333931"),
        quantity=5,
        to=Location.parse("Main/A1"),
        occurred_at="2026-11-23T09:00:00+01:00",
        actor="jm",
        expiry="2027-01-31",
    )
    fields: list[Any] = list(movement_fields(m))
    fields[3], fields[4], fields[5], fields[14] = "", "", 5, dt.date(2027, 1, 31)
    assert MovementDecoder().fields(*fields) == m
    fields[14] = dt.datetime(2027, 1, 31, tzinfo=dt.UTC)
    with pytest.raises(TypeError, match="must be a date"):
        MovementDecoder().fields(*fields)


def test_invalid_values_are_invalid_value_errors() -> None:
    fields: list[Any] = list(
        movement_fields(
            Movement.issue(
                "i1",
                item=ItemKey("04006381333931"),
                quantity=2,
                source=Location.parse("S/A"),
                occurred_at="2026-01-05T10:00:00+01:00",
                actor="x",
            )
        )
    )
    fields[8] = "S//A"
    with pytest.raises(InvalidValueError):
        MovementDecoder().fields(*fields)


def test_instants_keep_their_offset_and_repeat_as_one_object() -> None:
    decoder = MovementDecoder()
    text = "2026-11-23T09:00:00.000123+05:45"
    first = decoder.instant(text)
    assert format_instant(first) == text
    assert decoder.instant(text) is first
    assert decoder.instant("2026-11-24T09:00:00+05:45").tzinfo is first.tzinfo


def test_the_caches_are_bounded() -> None:
    decoder = MovementDecoder()
    for n in range(50_002):
        decoder.location(f"L{n}")
    assert len(decoder._locations) <= 50_001
    assert decoder.location("A/B") == Location.parse("A/B")
    assert decoder.item("04006381333931", "", None) == ItemKey("04006381333931")
    assert decoder.date(None) is None
    assert decoder.date("2026-01-31") == pendulum.date(2026, 1, 31)
    assert decoder.date("2026-01-31") is decoder.date("2026-01-31")
    assert StockStatus.AVAILABLE.value == "AVAILABLE"
