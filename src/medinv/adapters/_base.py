"""What every store shares: the context-manager protocol and the migration format."""

from __future__ import annotations

import types
from typing import Self

import attrs

__all__ = ["Closing", "Migration"]


@attrs.frozen
class Migration:
    """One step of a SQL schema's history: the SQL that takes a database to ``version``."""

    version: int
    """The schema version after this step (1, 2, 3 ...)."""
    description: str
    """What the step changes, for people reading the history."""
    statements: tuple[str, ...]
    """The DDL statements, run in order inside the migrating transaction."""


class Closing:
    """A store that is its own context manager: ``with Store(...) as store:`` closes it."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the store holds; further calls raise `StorageError`."""
        raise NotImplementedError  # pragma: no cover  (every store defines it)

    def __enter__(self) -> Self:
        """Return the store itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()
