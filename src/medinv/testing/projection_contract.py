"""The contract every [`ProjectionStore`][medinv.ports.ProjectionStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.projection_contract import ProjectionStoreContract

class TestMyProjections(ProjectionStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability, one database
        return lambda: MyStore(tmp_path / "medinv.db")
```

``store`` gives a fresh, empty store per test: a ledger store with
``.projections``. ``open_database``, when overridden, returns a callable that
opens the whole store over the same database each time it is called (another
process, or a restart); the tests of durability and of two savers racing run with
it, and are skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.analytics import DemandProjection, StockHistory, demand
from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import ProjectionConflictError, ProjectionStore, StoredProjection

__all__ = ["ProjectionStoreContract"]

ZONE = "Europe/Paris"
DAY0 = pendulum.datetime(2026, 3, 1, 9, tz=ZONE)
ITEMS = [ItemKey("04006381333931", lot="A"), ItemKey("09501101530003", lot="B")]
PLACES = [Location.parse("H/Store"), Location.parse("H/Ward")]

_STORABLE = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
"""Any character but NUL and surrogates (which no store keeps: refused on save)."""

_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def _day(ledger: Ledger, day: int) -> None:
    """One day of postings: a receipt on the first, issues every day at each place."""
    moves = []
    for n, item in enumerate(ITEMS):
        for p, place in enumerate(PLACES):
            at = DAY0.add(days=day, hours=n + p)
            if day == 0:
                moves.append(Movement.receipt(f"R{n}{p}", item=item, quantity=200, to=place,
                                              occurred_at=at, actor="a",
                                              expiry="2027-01-01"))  # fmt: skip
            if (day + n + p) % 3:
                moves.append(Movement.issue(f"I{day}-{n}{p}", item=item, quantity=1 + day % 4,
                                            source=place, occurred_at=at.add(minutes=30),
                                            actor="a"))  # fmt: skip
    ledger.post(moves)


class ProjectionStoreContract:
    """Mix into a test class; provide ``store`` (and optionally ``open_database``)."""

    @pytest.fixture
    def store(self) -> Any:
        raise NotImplementedError  # pragma: no cover  (the subclass gives its store)

    @pytest.fixture
    def open_database(self) -> Callable[[], Any] | None:
        return None

    def projections(self, store: Any) -> ProjectionStore:
        found = store.projections
        assert isinstance(found, ProjectionStore)
        return found

    # ------------------------------------------------------------------ the rows

    def test_nothing_is_stored_at_first(self, store: Any) -> None:
        assert self.projections(store).load("daily-demand") is None
        assert self.projections(store).drop("daily-demand") is False

    def test_a_saved_projection_loads_back(self, store: Any) -> None:
        p = self.projections(store)
        p.save("x", position=7, timezone=ZONE, rows={"a": "1", "b": "é\n2"}, expected=None)
        assert p.load("x") == StoredProjection(
            position=7, timezone=ZONE, rows={"a": "1", "b": "é\n2"}
        )
        assert p.load("y") is None

    def test_a_save_rewrites_only_its_rows_and_an_empty_text_deletes(self, store: Any) -> None:
        p = self.projections(store)
        p.save("x", position=3, timezone=ZONE, rows={"a": "1", "b": "2", "c": "3"}, expected=None)
        p.save("x", position=5, timezone=ZONE, rows={"a": "10", "b": "", "d": "4"}, expected=3)
        assert p.load("x") == StoredProjection(
            position=5, timezone=ZONE, rows={"a": "10", "c": "3", "d": "4"}
        )

    def test_a_save_from_a_stale_position_writes_nothing(self, store: Any) -> None:
        p = self.projections(store)
        p.save("x", position=3, timezone=ZONE, rows={"a": "1"}, expected=None)
        with pytest.raises(ProjectionConflictError, match="saved by another writer") as caught:
            p.save("x", position=9, timezone=ZONE, rows={"a": "2"}, expected=2)
        assert (caught.value.expected, caught.value.stored) == (2, 3)
        assert isinstance(caught.value, StorageError)
        with pytest.raises(ProjectionConflictError, match="a new projection"):
            p.save("x", position=9, timezone=ZONE, rows={"b": "2"}, expected=None)
        with pytest.raises(ProjectionConflictError, match="holds none"):
            p.save("y", position=9, timezone=ZONE, rows={"b": "2"}, expected=4)
        assert p.load("x") == StoredProjection(position=3, timezone=ZONE, rows={"a": "1"})
        assert p.load("y") is None

    def test_drop_removes_the_projection_and_its_rows(self, store: Any) -> None:
        p = self.projections(store)
        p.save("x", position=3, timezone=ZONE, rows={"a": "1"}, expected=None)
        p.save("y", position=4, timezone=ZONE, rows={"a": "2"}, expected=None)
        assert p.drop("x") is True
        assert p.load("x") is None
        assert p.load("y") == StoredProjection(position=4, timezone=ZONE, rows={"a": "2"})
        p.save("x", position=1, timezone=ZONE, rows={"b": "3"}, expected=None)
        assert p.load("x") == StoredProjection(position=1, timezone=ZONE, rows={"b": "3"})

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            ({"name": ""}, "projection name"),
            ({"name": "n" * 101}, "projection name"),
            ({"position": -1}, "position must be"),
            ({"position": True}, "position must be"),
            ({"expected": -2}, "expected must be"),
            ({"timezone": "Mars/Base"}, "time zone"),
            ({"rows": [("a", "b")]}, "must be a mapping"),
            ({"rows": {"": "b"}}, "row key"),
            ({"rows": {"a": 3}}, "must be text"),
            ({"rows": {"a": "x\x00"}}, "NUL character"),
            ({"rows": {"a\ud800": "x"}}, "not valid UTF-8"),
            ({"name": "a\x00"}, "projection name"),
        ],
    )
    def test_malformed_saves_are_refused(
        self, store: Any, call: dict[str, Any], message: str
    ) -> None:
        p = self.projections(store)
        given = {"name": "x", "position": 1, "timezone": ZONE, "rows": {"a": "1"},
                 "expected": None, **call}  # fmt: skip
        with pytest.raises(InvalidValueError, match=message):
            p.save(given.pop("name"), **given)
        assert p.load("x") is None
        with pytest.raises(InvalidValueError, match="projection name"):
            p.load(3)  # type: ignore[arg-type]

    @_SETTINGS
    @given(rows=st.dictionaries(st.text(_STORABLE, min_size=1, max_size=40),
                                st.text(_STORABLE, min_size=1, max_size=200),
                                max_size=8))  # fmt: skip
    def test_any_text_round_trips(self, store: Any, rows: dict[str, str]) -> None:
        p = self.projections(store)
        p.drop("any")
        p.save("any", position=2, timezone=ZONE, rows=rows, expected=None)
        loaded = p.load("any")
        assert loaded is not None
        assert dict(loaded.rows) == rows

    # ------------------------------------------------------------------ the demand projection

    def test_the_demand_projection_refreshed_from_the_store_equals_a_full_recompute(
        self, store: Any
    ) -> None:
        ledger = Ledger(store, clock=lambda: DAY0.add(years=1), timezone=ZONE)
        for day in range(5):
            _day(ledger, day)
        first = DemandProjection.refresh(ledger, store.projections)
        assert first.position == store.head().position
        _day(ledger, 5)
        # A fresh process: loads what was saved, reads the one new day only.
        again = DemandProjection.load(store.projections)
        assert again is not None
        assert again.position == first.position
        issues = 2  # on day 5, each at its own place
        assert again.catch_up(ledger) == issues
        # The places they touched, saved as one journal row beside the places' rows.
        before = set(store.projections.load("daily-demand").rows)
        assert again.save(store.projections) == issues
        assert len(set(store.projections.load("daily-demand").rows) - before) == 1
        as_of = DAY0.add(days=6)
        history = StockHistory.read(ledger, as_of=as_of)
        loaded = DemandProjection.load(store.projections)
        assert loaded is not None
        assert loaded.position == store.head().position
        for gtin, place in history.places():
            assert loaded.demand(gtin, place, as_of=as_of) == demand(history, gtin, place)
        assert loaded.verify(ledger, as_of=as_of) == []
        assert DemandProjection.refresh(ledger, store.projections).position == loaded.position

    def test_a_stored_projection_of_another_time_zone_is_refused(self, store: Any) -> None:
        ledger = Ledger(store, clock=lambda: DAY0.add(years=1), timezone=ZONE)
        _day(ledger, 0)
        DemandProjection.refresh(ledger, store.projections, name="paris")
        with pytest.raises(InvalidValueError, match="dates days in Europe/Paris"):
            DemandProjection.refresh(ledger, store.projections, name="paris", timezone="UTC")

    def test_a_tampered_stored_projection_is_found(self, store: Any) -> None:
        ledger = Ledger(store, clock=lambda: DAY0.add(years=1), timezone=ZONE)
        for day in range(3):
            _day(ledger, day)
        projection = DemandProjection.refresh(ledger, store.projections)
        stored = store.projections.load("daily-demand")
        key = next(k for k in stored.rows if "\t" in k)  # a row of days
        data = json.loads(stored.rows[key])
        data["closing"][-1] += 5
        position = projection.position
        store.projections.save("daily-demand", position=position, timezone=ZONE,
                               rows={key: json.dumps(data)}, expected=position)  # fmt: skip
        loaded = DemandProjection.load(store.projections)
        assert loaded is not None
        [mismatch] = loaded.verify(ledger, as_of=DAY0.add(days=3))
        assert f"{mismatch.gtin} {mismatch.location}" == key.partition("\t")[0]

    # ------------------------------------------------------------------ one database

    def test_a_saved_projection_survives_reopening(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("the store keeps nothing across instances")
        with open_database() as first:
            first.projections.save("x", position=2, timezone=ZONE, rows={"k": "v"}, expected=None)
        with open_database() as second:
            assert second.projections.load("x") == StoredProjection(
                position=2, timezone=ZONE, rows={"k": "v"}
            )
            second.projections.drop("x")

    def test_of_two_savers_from_one_position_the_second_is_refused(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("the store keeps nothing across instances")
        with open_database() as one, open_database() as two:
            one.projections.save("race", position=1, timezone=ZONE, rows={"a": "0"}, expected=None)
            one.projections.save("race", position=2, timezone=ZONE, rows={"a": "1"}, expected=1)
            with pytest.raises(ProjectionConflictError):
                two.projections.save("race", position=2, timezone=ZONE, rows={"b": "2"},
                                     expected=1)  # fmt: skip
            assert two.projections.load("race") == StoredProjection(
                position=2, timezone=ZONE, rows={"a": "1"}
            )
            two.projections.drop("race")
