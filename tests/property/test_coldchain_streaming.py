"""Excursion detection on a stream in any chunks equals detection on the whole series,
and both equal a plain reading-by-reading model of the rules."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.catalogue import TemperatureRange
from medinv.coldchain import (
    Excursion,
    ExcursionDetector,
    ExcursionRule,
    Reading,
    detect_excursions,
    excursion_from_json,
    excursion_to_json,
)
from medinv.locations import Location

PLACE = Location.parse("H/Fridge")
T0 = 1_795_000_000
LOW, HIGH = 2.0, 8.0
TEMPS = st.sampled_from([-1.0, 1.9, 2.0, 5.0, 8.0, 8.1, 12.0])


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[float], list[float], ExcursionRule, list[int]]:
    steps = draw(st.lists(st.integers(0, 900), min_size=0, max_size=300))
    times, t = [], float(T0)
    for step in steps:
        t += step
        times.append(t)
    temps = [draw(TEMPS) for _ in times]
    rule = ExcursionRule(
        temperature=draw(
            st.sampled_from(
                [
                    TemperatureRange(low=2, high=8),
                    TemperatureRange(high=8),
                    TemperatureRange(low=2),
                ]
            )
        ),
        max_consecutive=dt.timedelta(seconds=draw(st.integers(0, 3600))),
        max_cumulative=draw(
            st.none() | st.integers(0, 7200).map(lambda s: dt.timedelta(seconds=s))
        ),
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(times)), max_size=8)))
    return times, temps, rule, cuts


def _key(e: Excursion) -> tuple[object, ...]:
    return (
        e.kind.value,
        e.direction.value,
        tuple(
            (i.start.timestamp(), None if i.end is None else i.end.timestamp()) for i in e.intervals
        ),
        e.observed_to.timestamp(),
        e.out_of_range.total_seconds(),
        e.min_celsius,
        e.max_celsius,
    )


def _model(  # noqa: C901  (the rules, literally)
    times: list[float], temps: list[float], rule: ExcursionRule
) -> list[tuple[Any, ...]]:
    """The rules read literally, one reading at a time (no blocks, no state carried over)."""
    lo, hi = rule.bounds
    closed: list[list[object]] = []  # [side, start, end, low, high]
    current: list[object] | None = None
    for t, v in zip(times, temps, strict=True):
        side = "HIGH" if v > hi else "LOW" if v < lo else None
        if current is not None and current[0] != side:
            current[2] = t
            closed.append(current)
            current = None
        if side is not None and current is None:
            current = [side, t, None, v, v]
        elif current is not None:
            current[3], current[4] = min(current[3], v), max(current[4], v)  # type: ignore[call-overload]
    found: list[tuple[object, ...]] = []

    def make(kind: str, side: str, group: list[list[object]], upto: float) -> tuple[object, ...]:
        total = sum((upto if g[2] is None else g[2]) - g[1] for g in group)  # type: ignore[operator]
        return (
            kind,
            side,
            tuple((g[1], g[2]) for g in group),
            upto,
            dt.timedelta(seconds=total).total_seconds(),
            min(g[3] for g in group),  # type: ignore[type-var]
            max(g[4] for g in group),  # type: ignore[type-var]
        )

    cons = rule.max_consecutive.total_seconds()
    cum = None if rule.max_cumulative is None else rule.max_cumulative.total_seconds()
    tallies: dict[str, list[list[object]]] = {"HIGH": [], "LOW": []}
    for run in closed:
        length = run[2] - run[1]  # type: ignore[operator]
        if length > cons:
            found.append(make("CONSECUTIVE", run[0], [run], run[2]))  # type: ignore[arg-type]
        if cum is not None:
            tally = tallies[run[0]]  # type: ignore[index]
            tally.append(run)
            if sum(g[2] - g[1] for g in tally) > cum:  # type: ignore[operator]
                found.append(make("CUMULATIVE", run[0], tally, run[2]))  # type: ignore[arg-type]
                tallies[run[0]] = []  # type: ignore[index]
    if current is not None:
        last = times[-1]
        if last - current[1] > cons:  # type: ignore[operator]
            found.append(make("CONSECUTIVE", current[0], [current], last))  # type: ignore[arg-type]
        if cum is not None:
            group = [*tallies[current[0]], current]  # type: ignore[index]
            if sum((last if g[2] is None else g[2]) - g[1] for g in group) > cum:  # type: ignore[operator]
                found.append(make("CUMULATIVE", current[0], group, last))  # type: ignore[arg-type]
    return sorted(found, key=repr)


def _readings(times: list[float], temps: list[float]) -> list[Reading]:
    import pendulum  # noqa: PLC0415

    return [
        Reading(sensor="F1", location=PLACE, at=pendulum.from_timestamp(t, tz="UTC"), celsius=v)
        for t, v in zip(times, temps, strict=True)
    ]


@settings(max_examples=300, deadline=None)
@given(runs())
def test_streamed_detection_equals_batch_detection_and_the_model(case) -> None:
    times, temps, rule, cuts = case
    batch = detect_excursions(_readings(times, temps), rule)
    detector = ExcursionDetector(rule)
    streamed: list[Excursion] = []
    bounds = [0, *cuts, len(times)]
    for a, b in itertools.pairwise(bounds):
        streamed.extend(detector.feed_columns("F1", PLACE, times[a:b], temps[a:b]))
    streamed.extend(detector.open())
    assert sorted(map(_key, streamed), key=repr) == sorted(map(_key, batch), key=repr)
    assert {e.id for e in streamed} == {e.id for e in batch}
    model = [
        (k, s, tuple((a, b) for a, b in spans), upto, total, lo, hi)
        for k, s, spans, upto, total, lo, hi in _model(times, temps, rule)
    ]
    assert sorted(map(_key, batch), key=repr) == model
    for e in batch:
        assert excursion_from_json(excursion_to_json(e)) == e


@settings(max_examples=200, deadline=None)
@given(runs())
def test_a_detector_resumed_from_its_state_at_every_cut_equals_batch_detection(case) -> None:
    """A new process per chunk (state kept between them, e.g. a day's logger file each)."""
    times, temps, rule, cuts = case
    batch = detect_excursions(_readings(times, temps), rule)
    found: list[Excursion] = []
    state = ExcursionDetector(rule).state()
    bounds = [0, *cuts, len(times)]
    for a, b in itertools.pairwise(bounds):
        detector = ExcursionDetector.resume(rule, state)
        found.extend(detector.feed_columns("F1", PLACE, times[a:b], temps[a:b]))
        state = detector.state()
    found.extend(ExcursionDetector.resume(rule, state).open())
    assert sorted(map(_key, found), key=repr) == sorted(map(_key, batch), key=repr)
    assert {e.id for e in found} == {e.id for e in batch}
