"""The free lists' `SortedRuns` against `sortedcontainers.SortedList` (public API only).

The FEFO index once kept its free lists in a `SortedList` and walked its private
sublists; it now keeps them in its own `SortedRuns`. Every operation the index uses
must leave both holding the same values, and every place `first` reports must be
where `SortedList.irange` starts.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

from medinv.allocation._runs import MIN_LOAD, SortedRuns

values = st.tuples(st.integers(0, 40), st.integers(0, 3))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), values),
        st.tuples(st.just("remove"), st.integers(0, 10**6)),
        st.tuples(st.just("update"), st.lists(values, max_size=30)),
        st.tuples(st.just("drop_run"), values, st.integers(1, 6)),
    ),
    max_size=80,
)


def place(runs: SortedRuns[Any], pos: int, idx: int) -> int:
    """The flat index of ``(pos, idx)``."""
    return sum(len(run) for run in runs.runs[:pos]) + idx


@settings(max_examples=150, deadline=None)
@given(st.lists(values, max_size=60), operations, st.sampled_from([MIN_LOAD, 5, 1000]))
def test_sorted_runs_hold_what_a_sorted_list_holds(initial, ops, load):  # noqa: C901
    runs: SortedRuns[tuple[int, int]] = SortedRuns(initial, load=load)
    model: SortedList[tuple[int, int]] = SortedList(initial)
    for op in ops:
        if op[0] == "add":
            runs.add(op[1])
            model.add(op[1])
        elif op[0] == "remove" and model:
            value = model[op[1] % len(model)]
            runs.remove(value)
            model.remove(value)
        elif op[0] == "update":
            runs.update(op[1])
            model.update(op[1])
        elif op[0] == "drop_run":
            _, low, count = op
            gone = list(model.irange(low))[:count]
            if not gone:
                continue
            pos, idx = runs.first(low)
            if idx == len(runs.runs[pos]):  # the end of a run: the place is the next run's start
                pos, idx = pos + 1, 0
            start = place(runs, pos, idx)
            before = list(runs)[:start]
            kept = runs.drop_run(pos, idx, gone)
            for value in gone:
                model.remove(value)
            if kept and pos < len(runs.runs):  # the places before the run did not move
                assert list(runs)[:start] == before
                assert place(runs, pos, idx) == start
        runs.check()
        assert list(runs) == list(model)
        assert len(runs) == len(model)
        assert bool(runs) == bool(model)
        for low in [(n, 0) for n in range(-1, 43, 3)] + [(n,) for n in range(0, 42, 5)]:
            pos, idx = runs.first(low)
            expected = list(model.irange(cast("Any", low)))
            assert list(runs)[place(runs, pos, idx) :] == expected
            assert list(runs.irange(low)) == expected


def test_remove_refuses_a_value_that_is_not_there():
    runs = SortedRuns([(1, 0), (3, 0)], load=MIN_LOAD)
    for missing in [(2, 0), (0, 0), (9, 9)]:
        with pytest.raises(ValueError, match="not in the list"):
            runs.remove(missing)
    runs.check()
    assert list(runs) == [(1, 0), (3, 0)]


@pytest.mark.parametrize("load", [3, 0, 2.5, True])
def test_a_load_too_small_to_keep_the_invariants_is_refused(load):
    with pytest.raises(ValueError, match="invalid load"):
        SortedRuns(load=load)


def test_check_names_the_broken_invariant():
    runs = SortedRuns([(n, 0) for n in range(20)], load=MIN_LOAD)
    runs.runs[1].reverse()
    with pytest.raises(AssertionError, match=r"maxes|sorted"):
        runs.check()
    runs = SortedRuns([(n, 0) for n in range(20)], load=MIN_LOAD)
    runs.size += 1
    with pytest.raises(AssertionError, match="size"):
        runs.check()
