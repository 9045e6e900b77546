"""Editing a stored catalogue behind the store's back, as a tamperer (or a bad migration) would.

`SqlTamper` edits the SQLite or PostgreSQL tables directly; `MemoryTamper` the
memory catalogue's structures. Both offer the operations the catalogue contract's
verification tests use; ``rehash=True`` also rewrites the hash chain from the edited
version on (a tamperer who knows the hash function), so that only what the content
means can give the edit away.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from medinv.adapters._catalogue_json import version_to_json
from medinv.adapters.memory_catalogue import MemoryCatalogue
from medinv.catalogue import Effective, PackageLevel
from medinv.chain import GENESIS_HASH
from medinv.verification import catalogue_hash

Execute = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


class SqlTamper:
    """Edits the catalogue tables through ``execute`` (``?`` marks, ``{p}`` before table names)."""

    def __init__(self, execute: Execute) -> None:
        self._execute = execute

    def _data(self, seq: int) -> dict[str, Any]:
        [(data,)] = self._execute("SELECT data FROM {p}catalogue_versions WHERE seq = ?", (seq,))
        found: dict[str, Any] = json.loads(data)
        return found

    def _set_data(self, seq: int, data: dict[str, Any], *, rehash: bool) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        self._execute("UPDATE {p}catalogue_versions SET data = ? WHERE seq = ?", (text, seq))
        if rehash:
            self.rehash(seq)

    def edit_name(self, seq: int, name: str, *, rehash: bool = False) -> None:
        data = self._data(seq)
        data["value"]["name"] = name
        self._set_data(seq, data, rehash=rehash)

    def drop_package(self, seq: int, di: str, *, rehash: bool = False) -> None:
        data = self._data(seq)
        data["value"]["packages"] = [p for p in data["value"]["packages"] if p["di"] != di]
        self._set_data(seq, data, rehash=rehash)

    def add_package(
        self, seq: int, di: str, contains: str, quantity: int, *, rehash: bool = False
    ) -> None:
        data = self._data(seq)
        data["value"]["packages"].append({"di": di, "contains": contains, "quantity": quantity})
        self._set_data(seq, data, rehash=rehash)

    def delete(self, seq: int) -> None:
        self._execute("DELETE FROM {p}catalogue_versions WHERE seq = ?", (seq,))

    def swap(self, a: int, b: int) -> None:
        self._execute("UPDATE {p}catalogue_versions SET seq = -1 WHERE seq = ?", (a,))
        self._execute("UPDATE {p}catalogue_versions SET seq = ? WHERE seq = ?", (a, b))
        self._execute("UPDATE {p}catalogue_versions SET seq = ? WHERE seq = -1", (b,))

    def refile(self, seq: int, moment: str) -> None:
        self._execute(
            "UPDATE {p}catalogue_versions SET valid_from = ? WHERE seq = ?", (moment, seq)
        )

    def set_lookup(self, kind: str, name: str, key: str) -> None:
        self._execute(
            "UPDATE {p}catalogue_lookups SET key = ? WHERE kind = ? AND lookup = ?",
            (key, kind, name),
        )

    def rehash(self, start: int) -> None:
        rows = self._execute(
            "SELECT seq, kind, data, prev_hash, hash FROM {p}catalogue_versions ORDER BY seq", ()
        )
        prev = GENESIS_HASH
        for seq, kind, data, _, stored in rows:
            digest = stored
            if seq >= start:
                digest = catalogue_hash(prev, kind, data)
                self._execute(
                    "UPDATE {p}catalogue_versions SET prev_hash = ?, hash = ? WHERE seq = ?",
                    (prev, digest, seq),
                )
            prev = digest
        self._execute("UPDATE {p}catalogue_head SET hash = ?", (prev,))


class MemoryTamper:
    """Edits a `MemoryCatalogue`'s structures (its versions, chain records and lookups)."""

    def __init__(self, catalogue: MemoryCatalogue) -> None:
        self._c = catalogue

    def _where(self, seq: int) -> tuple[Any, str, str]:
        return next(k for k, (s, _, _) in self._c._chain.items() if s == seq)

    def _replace(self, seq: int, change: Callable[[Any], Any], *, rehash: bool) -> None:
        kind, key, moment = self._where(seq)
        by_moment = self._c._versions[kind, key][1]
        old = by_moment[moment]
        by_moment[moment] = Effective(value=change(old.value), valid_from=old.valid_from)
        if rehash:
            self.rehash(seq)

    def edit_name(self, seq: int, name: str, *, rehash: bool = False) -> None:
        self._replace(seq, lambda p: attrs.evolve(p, name=name), rehash=rehash)

    def drop_package(self, seq: int, di: str, *, rehash: bool = False) -> None:
        def change(product: Any) -> Any:
            copy = attrs.evolve(product)
            kept = tuple(lv for lv in product.packages if str(lv.di) != di)
            object.__setattr__(copy, "packages", kept)  # past the checks, as a tamperer
            return copy

        self._replace(seq, change, rehash=rehash)

    def add_package(
        self, seq: int, di: str, contains: str, quantity: int, *, rehash: bool = False
    ) -> None:
        level = PackageLevel(di=di, contains=contains, quantity=quantity)
        self._replace(seq, lambda p: attrs.evolve(p, packages=(*p.packages, level)), rehash=rehash)

    def delete(self, seq: int) -> None:
        kind, key, moment = self._where(seq)
        moments, by_moment = self._c._versions[kind, key]
        moments.remove(moment)
        del by_moment[moment]
        del self._c._chain[kind, key, moment]

    def swap(self, a: int, b: int) -> None:
        ka, kb = self._where(a), self._where(b)
        chain = self._c._chain
        (_, pa, ha), (_, pb, hb) = chain[ka], chain[kb]
        chain[ka], chain[kb] = (b, pa, ha), (a, pb, hb)

    def refile(self, seq: int, moment: str) -> None:
        kind, key, old = self._where(seq)
        moments, by_moment = self._c._versions[kind, key]
        moments.remove(old)
        moments.append(moment)
        moments.sort()
        by_moment[moment] = by_moment.pop(old)
        self._c._chain[kind, key, moment] = self._c._chain.pop((kind, key, old))

    def set_lookup(self, kind: str, name: str, key: str) -> None:
        self._c._lookups[kind, name] = key

    def rehash(self, start: int) -> None:
        chain = self._c._chain
        prev = GENESIS_HASH
        for where, (seq, _, stored) in sorted(chain.items(), key=lambda kv: kv[1][0]):
            digest = stored
            if seq >= start:
                kind, key, moment = where
                version = self._c._versions[kind, key][1][moment]
                data = version_to_json(version.value, version.valid_from)
                digest = catalogue_hash(prev, kind, data)
                chain[where] = (seq, prev, digest)
            prev = digest
        self._c._head = (self._c._head[0], prev)
