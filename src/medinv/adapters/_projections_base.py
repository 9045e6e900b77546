"""The rules of every projection store, over a few primitives each store supplies.

[`ProjectionBase`][medinv.adapters._projections_base.ProjectionBase] checks what it
is given, then calls the store's ``_load``, ``_stored_position``, ``_write`` and
``_drop`` inside the store's ``_transaction`` (one transaction, serialised with the
other writers of the database). The store compares the stored position with the
expected one inside that transaction, so a save that lost a race writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Final

from medinv.adapters._base import Closing
from medinv.dates import facility_timezone
from medinv.errors import InvalidValueError
from medinv.ports import ProjectionConflictError, StoredProjection

__all__ = ["ProjectionBase"]

_MAX_NAME: Final = 100
_MAX_KEY: Final = 1000


def _check_name(name: object) -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > _MAX_NAME
        or not _storable(name)
    ):
        msg = (
            f"a projection name is a non-empty text of at most {_MAX_NAME} characters, "
            f"not {name!r:.60}"
        )
        raise InvalidValueError(msg)
    return name


def _check_position(what: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{what} must be a whole number of at least 0, not {value!r:.40}"
        raise InvalidValueError(msg)


def _storable(text: str) -> bool:
    """Whether every store keeps ``text`` exactly: valid UTF-8, no NUL character."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _check_rows(rows: object) -> dict[str, str]:
    if not isinstance(rows, Mapping):
        msg = f"projection rows must be a mapping of key to text, not {type(rows).__name__}"
        raise InvalidValueError(msg)
    for key, text in rows.items():
        if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
            msg = (
                f"a projection row key is a non-empty text of at most {_MAX_KEY} characters, "
                f"not {key!r:.60}"
            )
            raise InvalidValueError(msg)
        if not isinstance(text, str):
            msg = f"projection row {key!r:.60} must be text, not {type(text).__name__}"
            raise InvalidValueError(msg)
        if not _storable(key) or not _storable(text):
            msg = f"projection row {key!r:.60} holds a NUL character or is not valid UTF-8"
            raise InvalidValueError(msg)
    return dict(rows)


class ProjectionBase(Closing):
    """Checks, then the store's primitives in one transaction."""

    __slots__ = ()

    def load(self, name: str) -> StoredProjection | None:
        """The projection stored under ``name``, or ``None``."""
        _check_name(name)
        with self._transaction():
            return self._load(name)

    def save(
        self,
        name: str,
        *,
        position: int,
        timezone: str,
        rows: Mapping[str, str],
        expected: int | None,
    ) -> None:
        """Store ``rows`` (an empty text deletes its key) and the checkpoint, atomically."""
        _check_name(name)
        _check_position("position", position)
        _check_position("expected", expected, optional=True)
        zone = facility_timezone(timezone).name
        checked = _check_rows(rows)
        with self._transaction():
            stored = self._stored_position(name)
            if stored != expected:
                raise ProjectionConflictError(name, expected=expected, stored=stored)
            self._write(name, position, zone, checked)

    def drop(self, name: str) -> bool:
        """Remove the projection; ``False`` if there was none."""
        _check_name(name)
        with self._transaction():
            if self._stored_position(name) is None:
                return False
            self._drop(name)
            return True

    # ------------------------------------------------------------------ primitives

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError  # pragma: no cover

    def _load(self, name: str) -> StoredProjection | None:
        raise NotImplementedError  # pragma: no cover

    def _stored_position(self, name: str) -> int | None:
        raise NotImplementedError  # pragma: no cover

    def _write(self, name: str, position: int, timezone: str, rows: dict[str, str]) -> None:
        raise NotImplementedError  # pragma: no cover

    def _drop(self, name: str) -> None:
        raise NotImplementedError  # pragma: no cover
