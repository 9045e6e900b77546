"""In-memory [`CatalogueStore`][medinv.ports.CatalogueStore]: the reference catalogue."""

from __future__ import annotations

import bisect
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from medinv.adapters._catalogue_base import CatalogueBase, Kind, NewVersion
from medinv.adapters._catalogue_json import version_to_json
from medinv.catalogue import Effective
from medinv.chain import GENESIS_HASH
from medinv.verification import CatalogueRow, CatalogueVerificationSource, LookupRow

if TYPE_CHECKING:
    from medinv.adapters.memory import MemoryStore

__all__ = ["MemoryCatalogue"]


class MemoryCatalogue(CatalogueBase):
    """Products, location profiles and parties in process memory (thread-safe; lost at exit).

    [`MemoryStore().catalogue`][medinv.adapters.memory.MemoryStore.catalogue] is one,
    kept with that store's ledger (closing the store closes it).

    ```pycon
    >>> from medinv.catalogue import Party, PartyKind
    >>> catalogue = MemoryCatalogue()
    >>> catalogue.put_party(Party(kind=PartyKind.SUPPLIER, id="ACME", gln="0614141000012"),
    ...                     valid_from="2026-01-01T00:00:00+00:00")
    True
    >>> catalogue.party_by_gln("0614141000012").id
    'ACME'

    ```
    """

    __slots__ = ("_chain", "_head", "_lock", "_lookups", "_store", "_versions")

    def __init__(self, store: MemoryStore | None = None) -> None:
        self._store = store
        """The store this catalogue belongs to (``None``: a catalogue on its own)."""
        self._lock = threading.RLock()
        # (kind, key) -> moment keys in order, and the versions by moment key
        self._versions: dict[tuple[Kind, str], tuple[list[str], dict[str, Effective[Any]]]] = {}
        self._lookups: dict[tuple[Kind, str], str] = {}
        # (kind, key, moment key) -> (sequence number, previous hash, hash), and the head
        self._chain: dict[tuple[Kind, str, str], tuple[int, str, str]] = {}
        self._head: tuple[int, str] = (0, GENESIS_HASH)

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        if self._store is not None:
            self._store.close()

    def _open(self) -> None:
        if self._store is not None:
            self._store._open()  # noqa: SLF001  (the store's own check)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._open()
        with self._lock:
            yield

    def _versions_at(
        self, kind: Kind, keys: Sequence[str], moment: str
    ) -> dict[str, Effective[Any]]:
        result = {}
        for key in keys:
            found = self._versions.get((kind, key))
            version = None if found is None else found[1].get(moment)
            if version is not None:
                result[key] = version
        return result

    def _at(self, kind: Kind, key: str, moment: str) -> Effective[Any] | None:
        found = self._versions.get((kind, key))
        if found is None:
            return None
        moments, by_moment = found
        index = bisect.bisect_right(moments, moment)
        return by_moment[moments[index - 1]] if index else None

    def _latest(self, kind: Kind, keys: Sequence[str], moment: str) -> dict[str, Effective[Any]]:
        self._open()
        with self._lock:
            result = {key: self._at(kind, key, moment) for key in keys}
        return {key: version for key, version in result.items() if version is not None}

    def _history(self, kind: Kind, key: str) -> list[Effective[Any]]:
        self._open()
        with self._lock:
            found = self._versions.get((kind, key))
            return [] if found is None else [found[1][m] for m in found[0]]

    def _listing(self, kind: Kind, moment: str) -> list[Effective[Any]]:
        self._open()
        with self._lock:
            keys = sorted(key for k, key in self._versions if k == kind)
            found = [self._at(kind, key, moment) for key in keys]
        return [version for version in found if version is not None]

    def _owners(self, kind: Kind, names: Sequence[str]) -> dict[str, str]:
        self._open()
        with self._lock:
            return {n: self._lookups[kind, n] for n in names if (kind, n) in self._lookups}

    def _chain_head(self) -> tuple[int, str]:
        return self._head

    def _append(self, entries: Sequence[NewVersion]) -> None:
        for entry in entries:
            moments, by_moment = self._versions.setdefault((entry.kind, entry.key), ([], {}))
            bisect.insort(moments, entry.moment)
            by_moment[entry.moment] = entry.version
            for lookup in entry.lookups:
                self._lookups[lookup] = entry.key
            self._chain[entry.kind, entry.key, entry.moment] = (
                entry.seq,
                entry.prev_hash,
                entry.hash,
            )
            self._head = (entry.seq, entry.hash)

    def verification_source(self) -> CatalogueVerificationSource:
        """What [`verify_catalogue`][medinv.verification.verify_catalogue] reads.

        The versions as this catalogue answers with them, encoded as the SQL stores
        keep them, with the sequence numbers and hashes recorded when each was put.
        """
        return _MemorySource(self)


class _MemorySource:
    """The rows of a memory catalogue, read under its lock."""

    def __init__(self, catalogue: MemoryCatalogue) -> None:
        self._catalogue = catalogue

    def catalogue_head(self) -> tuple[int, str]:
        self._catalogue._open()  # noqa: SLF001  (its own module)
        return self._catalogue._head  # noqa: SLF001

    def catalogue_rows(self) -> Iterator[CatalogueRow]:
        catalogue = self._catalogue
        catalogue._open()  # noqa: SLF001
        rows: list[CatalogueRow] = []
        with catalogue._lock:  # noqa: SLF001
            chain = catalogue._chain  # noqa: SLF001
            for (kind, key), (moments, by_moment) in catalogue._versions.items():  # noqa: SLF001
                for moment in moments:
                    version = by_moment[moment]
                    seq, prev, digest = chain.get((kind, key, moment), (None, "", ""))
                    data = version_to_json(version.value, version.valid_from)
                    rows.append((seq, kind, key, moment, data, prev, digest))
        rows.sort(key=lambda row: (row[0] is None, row[0] or 0))
        return iter(rows)

    def lookup_rows(self) -> Iterator[LookupRow]:
        catalogue = self._catalogue
        catalogue._open()  # noqa: SLF001
        with catalogue._lock:  # noqa: SLF001
            found = [(kind, name, key) for (kind, name), key in catalogue._lookups.items()]  # noqa: SLF001
        return iter(found)
