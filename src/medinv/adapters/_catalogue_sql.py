"""The SQL of the catalogue, shared by the SQLite and PostgreSQL catalogue stores.

Two tables in the ledger's database: ``catalogue_versions`` (one row per version:
kind, key, moment as sortable UTC text, the JSON of
[`_catalogue_json`][medinv.adapters._catalogue_json]) and ``catalogue_lookups``
(which entry owns each DI and each party GLN). Every lookup is a primary-key seek.
The statements are written once with ``?`` marks and ``{p}`` before table names;
each store turns them into its own dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, cast

from medinv.adapters._catalogue_base import LOCATION, PRODUCT, CatalogueBase, Kind, NewVersion
from medinv.adapters._catalogue_json import (
    location_from_json,
    party_from_json,
    product_from_json,
)
from medinv.adapters._sql_tables import SqlTables
from medinv.catalogue import Effective
from medinv.chain import GENESIS_HASH
from medinv.errors import MedinvError, StorageError
from medinv.verification import (
    CatalogueRow,
    CatalogueVerificationSource,
    LookupRow,
    catalogue_hash,
)

__all__ = ["SqlCatalogue", "chained"]

_CHUNK: Final = 500
"""Keys per ``IN (...)`` list: well under every driver's limit of parameters."""

VERSIONS_AT: Final = (
    "SELECT key, data FROM {p}catalogue_versions WHERE kind = ? AND valid_from = ?"
    " AND key IN ({marks})"
)
AT: Final = (
    "SELECT v.key, v.data FROM {p}catalogue_versions AS v WHERE v.kind = ? AND v.key IN"
    " ({marks}) AND v.valid_from = (SELECT max(w.valid_from) FROM {p}catalogue_versions AS w"
    " WHERE w.kind = v.kind AND w.key = v.key AND w.valid_from <= ?)"
)
HISTORY: Final = (
    "SELECT data FROM {p}catalogue_versions WHERE kind = ? AND key = ? ORDER BY valid_from"
)
LISTING: Final = (
    "SELECT v.key, v.data FROM {p}catalogue_versions AS v WHERE v.kind = ? AND v.valid_from ="
    " (SELECT max(w.valid_from) FROM {p}catalogue_versions AS w"
    " WHERE w.kind = v.kind AND w.key = v.key AND w.valid_from <= ?) ORDER BY v.key"
)
OWNERS: Final = (
    "SELECT lookup, key FROM {p}catalogue_lookups WHERE kind = ? AND lookup IN ({marks})"
)
INSERT_VERSION: Final = (
    "INSERT INTO {p}catalogue_versions (kind, key, valid_from, data, seq, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_LOOKUP: Final = "INSERT INTO {p}catalogue_lookups (kind, lookup, key) VALUES (?, ?, ?)"
HEAD: Final = "SELECT position, hash FROM {p}catalogue_head"
SET_HEAD: Final = "UPDATE {p}catalogue_head SET position = ?, hash = ?"
_PAGE: Final = 2000
"""Versions read per query when verifying (the LIMIT of ``CHAIN_PAGE``)."""
CHAIN_PAGE: Final = (
    "SELECT seq, kind, key, valid_from, data, prev_hash, hash FROM {p}catalogue_versions"
    " WHERE seq > ? ORDER BY seq LIMIT 2000"
)
UNCHAINED: Final = (
    "SELECT seq, kind, key, valid_from, data, prev_hash, hash FROM {p}catalogue_versions"
    " WHERE seq IS NULL ORDER BY kind, key, valid_from"
)
LOOKUPS: Final = "SELECT kind, lookup, key FROM {p}catalogue_lookups ORDER BY kind, lookup"

# Chaining the versions a store kept before versions were chained (the migration).
TO_CHAIN: Final = (
    "SELECT kind, key, valid_from, data FROM {p}catalogue_versions ORDER BY valid_from, kind, key"
)
SET_CHAIN: Final = (
    "UPDATE {p}catalogue_versions SET seq = ?, prev_hash = ?, hash = ?"
    " WHERE kind = ? AND key = ? AND valid_from = ?"
)


def chained(rows: Sequence[Sequence[Any]]) -> tuple[list[tuple[Any, ...]], tuple[int, str]]:
    """The ``SET_CHAIN`` parameters that chain ``rows`` (``TO_CHAIN``'s), and the head.

    Versions kept before they were chained are chained in the order of their moments
    (then kind and key): the order they were written in is not known.
    """
    prev, seq = GENESIS_HASH, 0
    updates: list[tuple[Any, ...]] = []
    for kind, key, valid_from, data in rows:
        seq += 1
        digest = catalogue_hash(prev, kind, data)
        updates.append((seq, prev, digest, kind, key, valid_from))
        prev = digest
    return updates, (seq, prev)


def _marks(statement: str, count: int) -> str:
    return statement.replace("{marks}", ", ".join("?" * count))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


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

    def _versions_at(
        self, kind: Kind, keys: Sequence[str], moment: str
    ) -> dict[str, Effective[Any]]:
        found: dict[str, Effective[Any]] = {}
        for chunk in _chunks(keys):
            for key, data in self._rows(_marks(VERSIONS_AT, len(chunk)), (kind, moment, *chunk)):
                found[key] = self._decode(kind, key, data)
        return found

    def _latest(self, kind: Kind, keys: Sequence[str], moment: str) -> dict[str, Effective[Any]]:
        found: dict[str, Effective[Any]] = {}
        for chunk in _chunks(keys):
            for key, data in self._rows(_marks(AT, len(chunk)), (kind, *chunk, moment)):
                found[key] = self._decode(kind, key, data)
        return found

    def _history(self, kind: Kind, key: str) -> list[Effective[Any]]:
        return [self._decode(kind, key, data) for (data,) in self._rows(HISTORY, (kind, key))]

    def _listing(self, kind: Kind, moment: str) -> list[Effective[Any]]:
        return [self._decode(kind, key, data) for key, data in self._rows(LISTING, (kind, moment))]

    def _owners(self, kind: Kind, names: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(names):
            found.update(self._rows(_marks(OWNERS, len(chunk)), (kind, *chunk)))
        return found

    def _chain_head(self) -> tuple[int, str]:
        ((position, digest),) = self._rows(HEAD, ())
        return int(position), str(digest)

    def _append(self, entries: Sequence[NewVersion]) -> None:
        self._run_many(
            INSERT_VERSION,
            [(e.kind, e.key, e.moment, e.data, e.seq, e.prev_hash, e.hash) for e in entries],
        )
        lookups = [(kind, name, e.key) for e in entries for kind, name in e.lookups]
        if lookups:
            self._run_many(INSERT_LOOKUP, lookups)
        last = entries[-1]
        self._run(SET_HEAD, (last.seq, last.hash))

    def verification_source(self) -> CatalogueVerificationSource:
        """What [`verify_catalogue`][medinv.verification.verify_catalogue] reads: rows as stored."""
        return _SqlSource(self)


class _SqlSource:
    """The stored rows of a SQL catalogue, read a page at a time."""

    def __init__(self, catalogue: SqlCatalogue) -> None:
        self._catalogue = catalogue

    def catalogue_head(self) -> tuple[int, str]:
        rows = self._catalogue._rows(HEAD, ())  # noqa: SLF001  (its own module)
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS_HASH)

    def catalogue_rows(self) -> Iterator[CatalogueRow]:
        read = self._catalogue._rows  # noqa: SLF001
        last: Any = 0
        while True:
            page = read(CHAIN_PAGE, (last,))
            for row in page:
                yield cast("CatalogueRow", tuple(row))
            if len(page) < _PAGE:
                break
            last = page[-1][0]
        for row in read(UNCHAINED, ()):
            yield cast("CatalogueRow", tuple(row))

    def lookup_rows(self) -> Iterator[LookupRow]:
        for row in self._catalogue._rows(LOOKUPS, ()):  # noqa: SLF001
            yield cast("LookupRow", tuple(row))
