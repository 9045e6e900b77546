"""The SQL of the catalogue, shared by the SQLite and PostgreSQL catalogue stores.

Two tables in the ledger's database: ``catalogue_versions`` (one row per version:
kind, key, moment as sortable UTC text, the JSON of
[`_catalogue_json`][medinv.adapters._catalogue_json]) and ``catalogue_lookups``
(which entry owns each DI and each party GLN). Every lookup is a primary-key seek.
The statements are written once with ``?`` marks and ``{p}`` before table names;
each store turns them into its own dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from medinv.adapters._catalogue_base import LOCATION, PRODUCT, CatalogueBase, Kind, NewVersion
from medinv.adapters._catalogue_json import (
    location_from_json,
    party_from_json,
    product_from_json,
    version_to_json,
)
from medinv.adapters._sql_tables import SqlTables
from medinv.catalogue import Effective
from medinv.errors import MedinvError, StorageError

__all__ = ["SqlCatalogue"]

VERSION: Final = (
    "SELECT data FROM {p}catalogue_versions WHERE kind = ? AND key = ? AND valid_from = ?"
)
AT: Final = (
    "SELECT data FROM {p}catalogue_versions WHERE kind = ? AND key = ? AND valid_from <= ?"
    " ORDER BY valid_from DESC LIMIT 1"
)
HISTORY: Final = (
    "SELECT data FROM {p}catalogue_versions WHERE kind = ? AND key = ? ORDER BY valid_from"
)
LISTING: Final = (
    "SELECT v.key, v.data FROM {p}catalogue_versions AS v WHERE v.kind = ? AND v.valid_from ="
    " (SELECT max(w.valid_from) FROM {p}catalogue_versions AS w"
    " WHERE w.kind = v.kind AND w.key = v.key AND w.valid_from <= ?) ORDER BY v.key"
)
OWNER: Final = "SELECT key FROM {p}catalogue_lookups WHERE kind = ? AND lookup = ?"
INSERT_VERSION: Final = (
    "INSERT INTO {p}catalogue_versions (kind, key, valid_from, data) VALUES (?, ?, ?, ?)"
)
INSERT_LOOKUP: Final = "INSERT INTO {p}catalogue_lookups (kind, lookup, key) VALUES (?, ?, ?)"

_DECODERS: Final[dict[Kind, Callable[[str], Effective[Any]]]] = {
    PRODUCT: product_from_json,
    LOCATION: location_from_json,
}


class SqlCatalogue(CatalogueBase, SqlTables):
    """The catalogue primitives in SQL; a store supplies ``_rows``, ``_run`` and ``where``."""

    __slots__ = ()

    def _decode(self, kind: Kind, key: str, text: str) -> Effective[Any]:
        try:
            return _DECODERS.get(kind, party_from_json)(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            raise StorageError(f"corrupt {kind} {key!r} in {self.where}: {e}") from e

    def _version(self, kind: Kind, key: str, moment: str) -> Effective[Any] | None:
        rows = self._rows(VERSION, (kind, key, moment))
        return self._decode(kind, key, rows[0][0]) if rows else None

    def _latest(self, kind: Kind, keys: Sequence[str], moment: str) -> dict[str, Effective[Any]]:
        found: dict[str, Effective[Any]] = {}
        for key in keys:
            rows = self._rows(AT, (kind, key, moment))
            if rows:
                found[key] = self._decode(kind, key, rows[0][0])
        return found

    def _history(self, kind: Kind, key: str) -> list[Effective[Any]]:
        return [self._decode(kind, key, data) for (data,) in self._rows(HISTORY, (kind, key))]

    def _listing(self, kind: Kind, moment: str) -> list[Effective[Any]]:
        return [self._decode(kind, key, data) for key, data in self._rows(LISTING, (kind, moment))]

    def _owners(self, kind: Kind, names: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in names:
            rows = self._rows(OWNER, (kind, name))
            if rows:
                found[name] = rows[0][0]
        return found

    def _insert(self, entry: NewVersion) -> None:
        version = entry.version
        data = version_to_json(version.value, version.valid_from)
        self._run(INSERT_VERSION, (entry.kind, entry.key, entry.moment, data))
        for lookup_kind, name in entry.lookups:
            self._run(INSERT_LOOKUP, (lookup_kind, name, entry.key))
