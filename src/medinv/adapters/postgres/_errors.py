"""Translation of psycopg exceptions into medinv's storage errors."""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import errors as pg_errors

from medinv.errors import ConcurrencyError, StorageError

__all__ = ["translate_error"]

_CONCURRENCY_ERRORS: Final = (
    pg_errors.UniqueViolation,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)

_CONSTRAINT_MEANING: Final = {
    "movements_id_key": "a movement with this id is already stored",
    "movements_reverses_key": "the movement this reversal undoes is already reversed",
    "movements_position_key": "a movement is already stored at this position",
}


def translate_error(
    error: psycopg.Error, doing: str, *, expected: int | None = None, actual: int | None = None
) -> StorageError:
    """The medinv error for a psycopg exception raised while ``doing`` something.

    Unique violations, serialisation failures, deadlocks and lock time-outs mean that
    another writer got there first: [`ConcurrencyError`][medinv.errors.ConcurrencyError].
    Every other psycopg error (connection lost, server shut down, permission denied,
    disk full ...) is a [`StorageError`][medinv.errors.StorageError]. The message
    names the operation, the error class and its SQLSTATE.

    ```pycon
    >>> from psycopg import errors as pg_errors
    >>> err = translate_error(pg_errors.DeadlockDetected("deadlock"), "appending")
    >>> type(err).__name__, str(err)
    ('ConcurrencyError', 'PostgreSQL refused appending: DeadlockDetected [40P01]: deadlock')

    ```
    """
    state = error.sqlstate or type(error).__name__
    detail = str(error).strip() or "no detail"
    constraint = getattr(error.diag, "constraint_name", None)
    if constraint in _CONSTRAINT_MEANING:
        detail = f"{_CONSTRAINT_MEANING[constraint]} ({detail})"
    what = f"{type(error).__name__} [{state}]: {detail}"
    if isinstance(error, _CONCURRENCY_ERRORS):
        return ConcurrencyError(
            f"PostgreSQL refused {doing}: {what}", expected=expected, actual=actual
        )
    return StorageError(f"PostgreSQL failed {doing}: {what}")
