"""Optimistic concurrency: run a read-check-write again when another writer won the race.

The home of [`retry`][medinv.ledger.retry] (published as ``medinv.ledger.retry``)
and of its policy: how many attempts, how long to wait between them, and which
failure is worth another attempt (only a
[`ConcurrencyError`][medinv.errors.ConcurrencyError]).

The waits are a capped exponential back-off with full jitter: before retry
number *n* (from 0) the caller sleeps a random time between 0 and
``min(cap, wait * 2**n)``. Writers that lost the same race then come back at
different times instead of all at once, so they stop losing to each other.
Every ``retries=`` argument of the library (``Ledger.post``, the lot status
operations, the cold chain's release) uses ``retry_lost_races``: 1 ms doubling to
at most 50 ms (measured in ``benchmarks/bench_feed.py``: 8 writer processes posting one
movement at a time).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from medinv.errors import ConcurrencyError, InvalidValueError

__all__ = ["POSTING_CAP", "POSTING_WAIT", "retry", "retry_lost_races"]

T = TypeVar("T")

_MAX_WAIT: Final = 86_400.0  # seconds: a retry's base wait or cap beyond a day is a mistake

POSTING_WAIT: Final = 0.001
"""The base of the library's own back-off, in seconds (the first retry waits up to it)."""
POSTING_CAP: Final = 0.05
"""The longest wait of the library's own back-off, in seconds."""


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < _MAX_WAIT:
        raise InvalidValueError(f"retry's {name} must be a number of seconds from 0, not {value!r}")
    return float(value)


def retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    wait: float = 0.0,
    cap: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    jitter: Callable[[], float] | None = random.random,
) -> T:
    """Call ``fn`` until it does not raise [`ConcurrencyError`][medinv.errors.ConcurrencyError].

    Optimistic concurrency: a writer that lost the race re-reads and re-checks
    everything (``fn`` must be the whole read-check-write, e.g. a ``Ledger.post``
    call) and tries again. Before the ``n``-th retry (``n`` from 0) it waits a
    random time from 0 to ``min(cap, wait * 2**n)`` seconds ("full jitter": writers
    that lost one race come back at different times); no wait when ``wait`` is 0
    (the default). Any other exception propagates at once.

    ```pycon
    >>> from medinv.errors import ConcurrencyError
    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConcurrencyError("head moved", expected=1, actual=2)
    ...     return "posted"
    >>> from medinv.ledger import retry
    >>> retry(flaky), len(calls)
    ('posted', 3)
    >>> waits = []
    >>> calls.clear()
    >>> retry(flaky, wait=0.01, cap=0.015, sleep=waits.append, jitter=None), waits
    ('posted', [0.01, 0.015])

    ```

    Args:
        fn: the operation to run.
        attempts: how many times to call ``fn`` in all (at least 1).
        wait: base of the exponential back-off, in seconds.
        cap: the longest wait, in seconds (``None``: no cap).
        sleep: the function that waits (injectable for tests).
        jitter: returns a random number from 0 to 1 that scales each wait
            (injectable for tests); ``None`` waits the whole bound every time.

    Raises:
        ConcurrencyError: the last attempt lost the race too.
        InvalidValueError: ``attempts`` is less than 1, ``wait`` or ``cap`` is not a
            number of seconds from 0 to a day, or ``fn``, ``sleep`` or ``jitter`` is
            not a function.
    """
    if not callable(fn):
        raise InvalidValueError(f"retry needs a function to call, not {type(fn).__name__}")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidValueError(
            f"retry needs a whole number of at least 1 attempt, not {attempts!r}"
        )
    base = _seconds("wait", wait)
    longest = _MAX_WAIT if cap is None else _seconds("cap", cap)
    if not callable(sleep):
        raise InvalidValueError(f"retry's sleep must be a function, not {type(sleep).__name__}")
    if jitter is not None and not callable(jitter):
        raise InvalidValueError(
            f"retry's jitter must be a function or None, not {type(jitter).__name__}"
        )
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            if base > 0:
                bound = min(longest, base * 2.0 ** min(attempt, 64))
                sleep(bound if jitter is None else bound * jitter())
    raise AssertionError("unreachable")  # pragma: no cover


def retry_lost_races(fn: Callable[[], T], retries: int) -> T:
    """Run ``fn`` once and up to ``retries`` more times after a lost race, backing off.

    The policy of every ``retries=`` argument in medinv: full jitter between 0 and
    ``min(POSTING_CAP, POSTING_WAIT * 2**n)`` seconds before retry ``n``. The clock
    and the random source are looked up when called (tests replace them).
    """
    return retry(
        fn,
        attempts=retries + 1,
        wait=POSTING_WAIT,
        cap=POSTING_CAP,
        sleep=time.sleep,
        jitter=random.random,
    )
