"""In-memory [`CatalogueStore`][medinv.ports.CatalogueStore]: the reference catalogue."""

from __future__ import annotations

import bisect
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from medinv.adapters._catalogue_base import CatalogueBase, Kind, NewVersion
from medinv.catalogue import Effective

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

    __slots__ = ("_lock", "_lookups", "_store", "_versions")

    def __init__(self, store: MemoryStore | None = None) -> None:
        self._store = store
        """The store this catalogue belongs to (``None``: a catalogue on its own)."""
        self._lock = threading.RLock()
        # (kind, key) -> moment keys in order, and the versions by moment key
        self._versions: dict[tuple[Kind, str], tuple[list[str], dict[str, Effective[Any]]]] = {}
        self._lookups: dict[tuple[Kind, str], str] = {}

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

    def _version(self, kind: Kind, key: str, moment: str) -> Effective[Any] | None:
        found = self._versions.get((kind, key))
        return None if found is None else found[1].get(moment)

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

    def _insert(self, entry: NewVersion) -> None:
        moments, by_moment = self._versions.setdefault((entry.kind, entry.key), ([], {}))
        bisect.insort(moments, entry.moment)
        by_moment[entry.moment] = entry.version
        for lookup in entry.lookups:
            self._lookups[lookup] = entry.key
