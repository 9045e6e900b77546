"""Translation of `sqlite3` exceptions into medinv's storage errors."""

from __future__ import annotations

import sqlite3
import types
from typing import TYPE_CHECKING, Final

from medinv.errors import ConcurrencyError, StorageError
from medinv.ports import Commit

if TYPE_CHECKING:
    from medinv.adapters.sqlite._store import SqliteStore

__all__ = ["BUSY_CODES", "Translate"]


class Translate:
    """Context manager: translate `sqlite3` exceptions into medinv's storage errors."""

    def __init__(self, store: SqliteStore, action: str, *, commit: Commit | None = None) -> None:
        self._store = store
        self._action = action
        self._commit = commit

    def __enter__(self) -> None:
        if self._store._closed:  # noqa: SLF001  (the store's own helper)
            raise StorageError(f"the SQLite ledger {self._store.path!r} is closed")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return
        raise _translate(
            exc, f"cannot {self._action} the SQLite ledger {self._store.path!r}", self._commit
        ) from exc


BUSY_CODES: Final = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})
_UNIQUE_COLUMNS: Final = {
    "movements.id": "a movement id of the batch is already stored",
    "movements.position": "a position of the batch is already taken",
    "movements.reverses": "a movement the batch reverses is already reversed",
}


def _translate(error: sqlite3.Error, message: str, commit: Commit | None) -> StorageError:
    """The medinv error for a `sqlite3` error (the caller raises it ``from error``).

    - a UNIQUE violation on a movement's id, position or reversed id while
      appending: another writer stored it first, `ConcurrencyError`;
    - ``SQLITE_BUSY`` / ``SQLITE_LOCKED``: another connection held the lock for
      longer than the timeout, `ConcurrencyError` (retrying is the remedy);
    - anything else: `StorageError` naming the action, the file and the cause.
    """
    expected = None if commit is None else commit.expected_position
    name = getattr(error, "sqlite_errorname", "")
    if isinstance(error, sqlite3.IntegrityError) and commit is not None:
        text = str(error)
        for column, reason in _UNIQUE_COLUMNS.items():
            if text == f"UNIQUE constraint failed: {column}":
                return ConcurrencyError(f"{message}: {reason}", expected=expected)
    if name in BUSY_CODES:
        return ConcurrencyError(
            f"{message}: another writer held the database lock too long ({error})",
            expected=expected,
        )
    return StorageError(f"{message}: {error} [{name or type(error).__name__}]")
