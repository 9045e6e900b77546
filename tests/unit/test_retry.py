"""The back-off between retries: capped, exponential, full jitter; the policy of ``retries=``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv import _retry
from medinv.adapters.memory import MemoryStore
from medinv.errors import ConcurrencyError, InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, retry
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import Commit

NOW = pendulum.datetime(2026, 11, 23, 8, 30, tz="UTC")
ITEM = ItemKey("04006381333931", lot="L1")


def _lose(times: int) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise ConcurrencyError("moved", expected=1, actual=2)
        return "done"

    return calls, fn


def _draws(*values: float) -> Iterator[float]:
    yield from values


def test_waits_double_up_to_the_cap_scaled_by_the_random_draw() -> None:
    calls, fn = _lose(7)
    sleeps: list[float] = []
    draws = _draws(0.5, 0.0, 1.0, 0.25, 0.5, 0.999, 0.5)
    result = retry(
        fn,
        attempts=8,
        wait=0.001,
        cap=0.01,
        sleep=sleeps.append,
        jitter=lambda: next(draws),
    )
    assert result == "done" and len(calls) == 8
    bounds = [0.001, 0.002, 0.004, 0.008, 0.01, 0.01, 0.01]
    scales = [0.5, 0.0, 1.0, 0.25, 0.5, 0.999, 0.5]
    assert sleeps == pytest.approx([b * s for b, s in zip(bounds, scales, strict=True)])


def test_without_jitter_each_wait_is_its_whole_bound_and_the_last_failure_propagates() -> None:
    calls, fn = _lose(10)
    sleeps: list[float] = []
    with pytest.raises(ConcurrencyError):
        retry(fn, attempts=5, wait=0.02, cap=0.05, sleep=sleeps.append, jitter=None)
    assert len(calls) == 5 and sleeps == [0.02, 0.04, 0.05, 0.05]  # no wait after the last


def test_no_wait_without_a_base_and_no_cap_by_default() -> None:
    sleeps: list[float] = []
    calls, fn = _lose(3)
    retry(fn, attempts=4, sleep=sleeps.append)
    assert sleeps == [] and len(calls) == 4
    calls, fn = _lose(3)
    retry(fn, attempts=4, wait=1000.0, sleep=sleeps.append, jitter=None)
    assert sleeps == [1000.0, 2000.0, 4000.0]


def test_a_long_run_of_lost_races_stays_at_the_cap() -> None:
    sleeps: list[float] = []
    _, fn = _lose(2000)
    retry(fn, attempts=2001, wait=0.001, cap=0.05, sleep=sleeps.append, jitter=None)
    assert len(sleeps) == 2000 and max(sleeps) == 0.05 and sleeps[-1] == 0.05


@given(
    draws=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=40),
    wait=st.floats(0.0001, 1.0),
    cap=st.floats(0.0001, 10.0),
)
def test_every_wait_is_within_zero_and_its_capped_bound(
    draws: list[float], wait: float, cap: float
) -> None:
    _, fn = _lose(len(draws))
    sleeps: list[float] = []
    source = iter(draws)
    retry(
        fn,
        attempts=len(draws) + 1,
        wait=wait,
        cap=cap,
        sleep=sleeps.append,
        jitter=lambda: next(source),
    )
    assert len(sleeps) == len(draws)
    for n, (slept, draw) in enumerate(zip(sleeps, draws, strict=True)):
        bound = min(cap, wait * 2**n)
        assert 0 <= slept <= bound
        assert slept == pytest.approx(bound * draw)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wait": -1}, "wait must be a number of seconds"),
        ({"wait": True}, "wait must be a number of seconds"),
        ({"cap": -0.5}, "cap must be a number of seconds"),
        ({"cap": "1"}, "cap must be a number of seconds"),
        ({"cap": float("nan")}, "cap must be a number of seconds"),
        ({"jitter": 0.5}, "jitter must be a function or None"),
        ({"sleep": None}, "sleep must be a function"),
        ({"attempts": 0}, "at least 1 attempt"),
    ],
)
def test_bad_policies_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        retry(lambda: 1, **options)  # type: ignore[arg-type]


class AlwaysMoved(MemoryStore):
    """A store whose head always moved on before the append: every post loses."""

    def __init__(self) -> None:
        super().__init__()
        self.appends = 0

    def append(self, commit: Commit) -> None:
        self.appends += 1
        raise ConcurrencyError("moved", expected=commit.expected_position, actual=99)


def test_ledger_post_retries_back_off_with_full_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    monkeypatch.setattr(random, "random", lambda: 0.5)
    store = AlwaysMoved()
    receipt = Movement.receipt(
        "R1", item=ITEM, quantity=1, to=Location.parse("H/A"), occurred_at=NOW, actor="jm"
    )
    with pytest.raises(ConcurrencyError):
        Ledger(store, clock=lambda: NOW).post([receipt], retries=9)
    assert store.appends == 10
    bounds = [min(_retry.POSTING_CAP, _retry.POSTING_WAIT * 2**n) for n in range(9)]
    assert sleeps == pytest.approx([b / 2 for b in bounds])
    assert (_retry.POSTING_WAIT, _retry.POSTING_CAP) == (0.001, 0.05)


def test_a_post_that_wins_at_once_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    receipt = Movement.receipt(
        "R1", item=ITEM, quantity=1, to=Location.parse("H/A"), occurred_at=NOW, actor="jm"
    )
    assert Ledger(MemoryStore(), clock=lambda: NOW).post([receipt], retries=5).head.position == 1
    assert sleeps == []
