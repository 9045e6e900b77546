"""Optimistic concurrency: run a read-check-write again when another writer won the race.

The home of [`retry`][medinv.ledger.retry] (published as ``medinv.ledger.retry``)
and of its policy: how many attempts, how long to wait between them, and which
failure is worth another attempt (only a
[`ConcurrencyError`][medinv.errors.ConcurrencyError]).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TypeVar

from medinv.errors import ConcurrencyError, InvalidValueError

__all__ = ["retry"]

T = TypeVar("T")

_MAX_WAIT: Final = 86_400.0  # seconds: a retry's base wait beyond a day is a mistake


def retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    wait: float = 0.0,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``fn`` until it does not raise [`ConcurrencyError`][medinv.errors.ConcurrencyError].

    Optimistic concurrency: a writer that lost the race re-reads and re-checks
    everything (``fn`` must be the whole read-check-write, e.g. a ``Ledger.post``
    call) and tries again. Waits ``wait * 2**n`` seconds before the ``n``-th retry
    (no wait by default). Any other exception propagates at once.

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

    ```

    Args:
        fn: the operation to run.
        attempts: how many times to call ``fn`` in all (at least 1).
        wait: base of the exponential back-off, in seconds.
        sleep: the function that waits (injectable for tests).

    Raises:
        ConcurrencyError: the last attempt lost the race too.
        InvalidValueError: ``attempts`` is less than 1.
    """
    if not callable(fn):
        raise InvalidValueError(f"retry needs a function to call, not {type(fn).__name__}")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidValueError(
            f"retry needs a whole number of at least 1 attempt, not {attempts!r}"
        )
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < _MAX_WAIT:
        raise InvalidValueError(f"retry's wait must be a number of seconds from 0, not {wait!r}")
    if not callable(sleep):
        raise InvalidValueError(f"retry's sleep must be a function, not {type(sleep).__name__}")
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            if wait > 0:
                sleep(wait * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
