"""A sorted list kept as short sorted runs: the FEFO index's free lists.

A product's free list must answer three things fast: where the first slot at or
after a key is (a bisection), the slots from there on in order (a walk), and the
insertion or removal of one slot. One plain sorted list bisects and walks well,
but every insertion or removal moves the rest of the list (a ``memmove`` of the
tail: microseconds at thousands of lots). `SortedRuns` keeps the values in runs
(plain sorted lists) of at most twice its ``load`` values each, and the last value
of every run in ``maxes``: a bisection of ``maxes`` finds the run, a bisection of
the run the place, and an insertion or removal moves at most one run.

The runs are its public state: the index's hot path walks ``runs`` itself (no
iterator set-up per request) and cuts a run of emptied slots out in one slice
(`drop_run`). ``runs`` and ``maxes`` are the same list objects for the life of the
`SortedRuns`, so a holder may keep a reference to them.

The layout follows the one of `sortedcontainers.SortedList` (whose public
behaviour the tests compare it with), written here so that nothing depends on
another library's private attributes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from itertools import chain, islice, pairwise
from typing import Any, Final, Generic, TypeVar

__all__ = ["DEFAULT_LOAD", "SortedRuns"]

DEFAULT_LOAD: Final = 1_000
"""Values per run the list aims at (a run holds at most twice as many)."""

MIN_LOAD: Final = 4
"""The smallest load that keeps the runs' invariants (the tests use it)."""

T = TypeVar("T", bound=tuple[Any, ...])


class SortedRuns(Generic[T]):
    """Values (tuples) in ascending order, as runs of at most ``2 * load`` values.

    Invariants (`check` verifies them): every run is sorted and non-empty, the
    runs one after the other are sorted, ``maxes[i]`` is the last value of
    ``runs[i]``, every run but the last holds at least ``load // 2`` values, and
    ``size`` is the number of values.
    """

    __slots__ = ("load", "maxes", "runs", "size")

    def __init__(self, values: Iterable[T] = (), *, load: int = DEFAULT_LOAD) -> None:
        if type(load) is not int or load < MIN_LOAD:
            msg = f"invalid load {load!r}: expected a whole number of at least {MIN_LOAD}"
            raise ValueError(msg)
        self.load = load
        self.runs: list[list[T]] = []
        """The runs, in order (this list object is kept for good)."""
        self.maxes: list[T] = []
        """The last value of each run (this list object is kept for good)."""
        self.size = 0
        """How many values the runs hold."""
        self.update(values)

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self.runs)

    def update(self, values: Iterable[T]) -> None:
        """Add ``values``: one sort when they are many, one `add` each when they are few."""
        new = list(values)
        if not new:
            return
        if len(new) * 4 < self.size:
            for value in new:
                self.add(value)
            return
        new.extend(chain.from_iterable(self.runs))
        new.sort()
        load = self.load
        self.runs[:] = [new[start : start + load] for start in range(0, len(new), load)]
        self.maxes[:] = [run[-1] for run in self.runs]
        self.size = len(new)

    def add(self, value: T) -> None:
        """Insert ``value`` in order."""
        runs, maxes = self.runs, self.maxes
        if not maxes:
            runs.append([value])
            maxes.append(value)
        else:
            pos = bisect_right(maxes, value)
            if pos == len(maxes):  # after every value: append to the last run
                pos -= 1
                runs[pos].append(value)
                maxes[pos] = value
            else:
                insort(runs[pos], value)
            self._split(pos)
        self.size += 1

    def remove(self, value: T) -> None:
        """Remove ``value`` (equal values: one of them).

        Raises:
            ValueError: ``value`` is not in the list.
        """
        maxes = self.maxes
        pos = bisect_left(maxes, value)
        if pos < len(maxes):
            run = self.runs[pos]
            idx = bisect_left(run, value)
            if run[idx] == value:
                self._delete(pos, idx)
                return
        msg = f"{value!r:.80} is not in the list"
        raise ValueError(msg)

    def first(self, low: tuple[Any, ...]) -> tuple[int, int]:
        """Where the first value not below ``low`` is: ``(run, index in the run)``.

        ``(len(runs), 0)`` when every value is below ``low``; the index may also be
        the length of its run (the place is then the start of the next run).
        """
        maxes = self.maxes
        pos = bisect_left(maxes, low) if len(maxes) > 1 else 0
        runs = self.runs
        idx = bisect_left(runs[pos], low) if pos < len(runs) else 0
        return pos, idx

    def irange(self, low: tuple[Any, ...]) -> Iterator[T]:
        """The values not below ``low``, in order."""
        pos, idx = self.first(low)
        runs = self.runs
        if pos == len(runs):
            return iter(())
        return chain(islice(runs[pos], idx, None), *runs[pos + 1 :])

    def drop_run(self, pos: int, idx: int, values: list[T]) -> bool:
        """Remove ``values`` (at least one), which are consecutive from ``(pos, idx)`` on.

        ``(pos, idx)`` is the place of the first of them (``idx`` inside run ``pos``).

        Within one run that keeps more than half the load (or is the only run), the
        values are cut out in one slice and every place before ``(pos, idx)`` stays
        where it was (returns ``True``); otherwise each is removed on its own and
        places may move (returns ``False``).
        """
        runs = self.runs
        run = runs[pos]
        count = len(values)
        end = idx + count
        size = len(run)
        if end <= size and (len(runs) == 1 or size - count > self.load >> 1):
            del run[idx:end]
            self.size -= count
            if end == size:  # the run's last value went
                if run:
                    self.maxes[pos] = run[-1]
                else:  # the only run is empty
                    del runs[pos]
                    del self.maxes[pos]
            return True
        for value in values:
            self.remove(value)
        return False

    def _split(self, pos: int) -> None:
        """Split run ``pos`` in two if it holds more than twice the load."""
        runs, maxes = self.runs, self.maxes
        run = runs[pos]
        load = self.load
        if len(run) > load << 1:
            tail = run[load:]
            del run[load:]
            maxes[pos] = run[-1]
            runs.insert(pos + 1, tail)
            maxes.insert(pos + 1, tail[-1])

    def _delete(self, pos: int, idx: int) -> None:
        """Delete the value at ``(pos, idx)``; join a run that gets too short to a neighbour."""
        runs, maxes = self.runs, self.maxes
        run = runs[pos]
        del run[idx]
        self.size -= 1
        if len(run) > self.load >> 1:
            maxes[pos] = run[-1]
        elif len(runs) > 1:
            if not pos:
                pos += 1
            prev = pos - 1
            runs[prev].extend(runs[pos])
            maxes[prev] = runs[prev][-1]
            del runs[pos]
            del maxes[pos]
            self._split(prev)
        elif run:
            maxes[pos] = run[-1]
        else:
            del runs[pos]
            del maxes[pos]

    def check(self) -> None:
        """Raise `AssertionError` naming the first broken invariant."""
        runs, maxes = self.runs, self.maxes
        _ensure(len(runs) == len(maxes), "one max per run")
        _ensure(self.size == sum(len(run) for run in runs), "the size is the values held")
        _ensure(all(runs), "runs are not empty")
        _ensure(all(run[-1] == top for run, top in zip(runs, maxes, strict=True)), "maxes")
        _ensure(all(len(run) <= self.load << 1 for run in runs), "runs hold at most 2 x load")
        _ensure(all(len(run) >= self.load >> 1 for run in runs[:-1]), "runs hold load / 2")
        values = list(self)
        _ensure(all(a <= b for a, b in pairwise(values)), "the values are sorted")


def _ensure(condition: bool, what: str) -> None:  # noqa: FBT001  (a predicate, positional)
    if not condition:
        msg = f"sorted runs broken: {what}"
        raise AssertionError(msg)
