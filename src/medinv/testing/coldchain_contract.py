"""The contract every [`ColdChainStore`][medinv.coldchain.ColdChainStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.coldchain_contract import ColdChainStoreContract

class TestMyColdChain(ColdChainStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability
        return lambda: MyStore(tmp_path / "medinv.db")
```

``store`` gives a fresh, empty store per test with ``.coldchain``.
``open_database``, when overridden, returns a callable that opens the whole store
over the same database each time; the durability test runs with it and is
skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from medinv.catalogue import TemperatureRange
from medinv.coldchain import (
    ColdChainStore,
    Excursion,
    ExcursionConflictError,
    ExcursionDetector,
    ExcursionRule,
    QualityDecision,
    QualityDecisionError,
    Verdict,
)
from medinv.errors import InvalidValueError
from medinv.locations import Location

__all__ = ["ColdChainStoreContract"]

T0 = 1_795_000_000.0
FRIDGE = Location.parse("H/Pharmacy/Fridge-1")
RULE = ExcursionRule(
    temperature=TemperatureRange(low=2, high=8),
    max_consecutive=dt.timedelta(minutes=10),
    max_cumulative=dt.timedelta(minutes=30),
)


def _excursions(
    temps: list[float], *, sensor: str = "F1", location: Location = FRIDGE, step: float = 300
) -> tuple[list[Excursion], list[Excursion]]:
    """The closed and the open excursions of readings every ``step`` seconds from T0."""
    detector = ExcursionDetector(RULE)
    times = [T0 + step * i for i in range(len(temps))]
    closed = detector.feed_columns(sensor, location, times, temps)
    return closed, detector.open()


def _decision(excursion_id: str, **changes: Any) -> QualityDecision:
    fields: dict[str, Any] = {
        "excursion_id": excursion_id,
        "verdict": Verdict.RELEASE,
        "decided_by": "qa-anne",
        "approved_by": "pharm-bob",
        "reason": "stability data allows 1 h at 12 °C",
        "decided_at": "2026-11-24T10:00:00+00:00",
    }
    fields.update(changes)
    return QualityDecision(**fields)


class ColdChainStoreContract:
    """Pytest mixin: a store's ``.coldchain`` must pass every test here."""

    @pytest.fixture
    def store(self) -> Any:
        raise NotImplementedError  # pragma: no cover  (the subclass provides it)

    @pytest.fixture
    def open_database(self) -> Callable[[], Any] | None:
        return None

    def records(self, store: Any) -> ColdChainStore:
        found = store.coldchain
        assert isinstance(found, ColdChainStore)
        return found

    def test_an_excursion_is_kept_and_read_back(self, store: Any) -> None:
        closed, _ = _excursions([5, 9, 9, 9, 9, 5])
        records = self.records(store)
        assert records.record_excursions(closed) == 1
        assert records.excursion(closed[0].id) == closed[0]
        assert records.excursion("exc-unknown") is None
        assert records.record_excursions(closed) == 0

    def test_an_open_excursion_grows_and_closes(self, store: Any) -> None:
        temps = [5.0, 9, 9, 9, 9]
        _, early = _excursions(temps)
        _, later = _excursions([*temps, 9.5])
        closed, _ = _excursions([*temps, 9.5, 5])
        records = self.records(store)
        assert records.record_excursions(later) == 1
        assert records.record_excursions(early) == 0  # an older view changes nothing
        assert records.excursion(later[0].id) == later[0]
        assert [e.id for e in records.excursions(open_only=True)] == [later[0].id]
        assert records.record_excursions(closed) == 1
        assert records.excursion(closed[0].id) == closed[0]
        assert records.excursions(open_only=True) == []

    def test_a_closed_excursion_never_changes(self, store: Any) -> None:
        closed, _ = _excursions([5, 9, 9, 9, 9, 5])
        other, _ = _excursions([5, 9, 9, 9, 9, 9, 5])
        records = self.records(store)
        records.record_excursions(closed)
        assert other[0].id == closed[0].id
        with pytest.raises(ExcursionConflictError, match="closed"):
            records.record_excursions(other)
        assert records.excursion(closed[0].id) == closed[0]

    def test_a_refused_batch_keeps_nothing(self, store: Any) -> None:
        closed, _ = _excursions([5, 9, 9, 9, 9, 5])
        other, _ = _excursions([5, 9, 9, 9, 9, 9, 5])
        fresh, _ = _excursions([5, 9, 9, 9, 9, 5], sensor="F2")
        records = self.records(store)
        records.record_excursions(closed)
        with pytest.raises(ExcursionConflictError):
            records.record_excursions([*fresh, *other])
        assert records.excursion(fresh[0].id) is None

    def test_excursions_filter_by_sensor_place_and_openness(self, store: Any) -> None:
        first, _ = _excursions([5, 9, 9, 9, 9, 5], sensor="F1")
        _, second = _excursions([5, 1, 1, 1, 1, 1], sensor="F2", location=FRIDGE.child("Shelf"))
        third, _ = _excursions([5, 9, 9, 9, 9, 5], sensor="R1", location=Location.parse("H/Ward"))
        records = self.records(store)
        records.record_excursions([*third, *second, *first])
        assert {e.sensor for e in records.excursions()} == {"F1", "F2", "R1"}
        assert [e.sensor for e in records.excursions(sensor="F2")] == ["F2"]
        assert {e.sensor for e in records.excursions(location=FRIDGE)} == {"F1", "F2"}
        assert [e.sensor for e in records.excursions(open_only=True)] == ["F2"]
        starts = [e.start for e in records.excursions()]
        assert starts == sorted(starts)
        with pytest.raises(InvalidValueError):
            records.excursions(location="H/Ward")  # type: ignore[arg-type]

    def test_a_decision_is_kept_once(self, store: Any) -> None:
        closed, _ = _excursions([5, 9, 9, 9, 9, 5])
        records = self.records(store)
        eid = closed[0].id
        with pytest.raises(QualityDecisionError, match="no excursion"):
            records.record_decision(_decision(eid))
        records.record_excursions(closed)
        assert records.decision(eid) is None
        assert records.record_decision(_decision(eid)) is True
        assert records.record_decision(_decision(eid)) is False
        assert records.decision(eid) == _decision(eid)
        with pytest.raises(QualityDecisionError, match="already has a decision"):
            records.record_decision(_decision(eid, verdict=Verdict.REJECT))
        assert records.decision(eid) == _decision(eid)

    def test_wrong_types_are_refused(self, store: Any) -> None:
        records = self.records(store)
        with pytest.raises(InvalidValueError):
            records.record_excursions(["exc-1"])  # type: ignore[list-item]
        with pytest.raises(InvalidValueError):
            records.record_decision("exc-1")  # type: ignore[arg-type]

    def test_records_survive_reopening(self, open_database: Callable[[], Any] | None) -> None:
        if open_database is None:
            pytest.skip("the store has no database to reopen")
        closed, opened = _excursions([5, 9, 9, 9, 9, 5, 1, 1, 1, 1, 1])
        with open_database() as first:
            records = self.records(first)
            records.record_excursions([*closed, *opened])
            records.record_decision(_decision(closed[0].id))
        with open_database() as again:
            records = self.records(again)
            assert records.excursion(closed[0].id) == closed[0]
            assert records.excursion(opened[0].id) == opened[0]
            assert records.decision(closed[0].id) == _decision(closed[0].id)
