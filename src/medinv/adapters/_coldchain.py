"""The cold-chain store's rules, written once: memory and SQL supply a few primitives.

[`ColdChainStore`][medinv.coldchain.ColdChainStore] keeps excursions by their
deterministic id (an open one replaced as it grows and closes, a closed one never
changed: [`merge_excursion`][medinv.coldchain.merge_excursion]) and one quality
decision per stored excursion. Every write is one transaction of the store.
The SQL tables are ``coldchain_excursions`` (id, sensor, location path, start as
UTC text, open flag, the excursion as JSON) and ``coldchain_decisions``
(excursion id, the decision as JSON); the statements are written once with ``?``
marks and ``{p}`` before table names, as the reservations' are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

from medinv.adapters._base import Closing
from medinv.adapters._sql_tables import SqlTables
from medinv.coldchain import (
    Excursion,
    QualityDecision,
    QualityDecisionError,
    decision_from_json,
    decision_to_json,
    excursion_from_json,
    excursion_to_json,
    merge_excursion,
)
from medinv.errors import InvalidValueError, MedinvError, StorageError
from medinv.locations import Location

__all__ = ["ColdChainBase", "SqlColdChain"]


def _start_key(excursion: Excursion) -> str:
    return excursion.start.in_tz("UTC").format("YYYY-MM-DDTHH:mm:ss.SSSSSS")


class ColdChainBase(Closing):
    """The rules over the primitives a store supplies (each read or write in a transaction)."""

    __slots__ = ()

    # ------------------------------------------------------------------ primitives

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError  # pragma: no cover

    def _get(self, excursion_id: str) -> Excursion | None:
        raise NotImplementedError  # pragma: no cover

    def _put(self, excursion: Excursion, *, new: bool) -> None:
        raise NotImplementedError  # pragma: no cover

    def _select(self, sensor: str | None, open_only: bool) -> Iterator[Excursion]:  # noqa: FBT001
        """Stored excursions (filtered by sensor and openness), by start then id."""
        raise NotImplementedError  # pragma: no cover

    def _get_decision(self, excursion_id: str) -> QualityDecision | None:
        raise NotImplementedError  # pragma: no cover

    def _put_decision(self, decision: QualityDecision) -> None:
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ the port

    def record_excursions(self, excursions: list[Excursion]) -> int:
        """Keep excursions by id in one transaction; how many were new or changed."""
        given = list(excursions)
        for e in given:
            if not isinstance(e, Excursion):
                raise InvalidValueError(f"expected an Excursion, not {type(e).__name__}")
        changed = 0
        with self._transaction():
            for excursion in given:
                stored = self._get(excursion.id)
                kept = merge_excursion(stored, excursion)
                if kept is not None:
                    self._put(kept, new=stored is None)
                    changed += 1
        return changed

    def excursion(self, excursion_id: str) -> Excursion | None:
        """The excursion with this id, or ``None``."""
        return self._get(excursion_id)

    def excursions(
        self,
        *,
        sensor: str | None = None,
        location: Location | None = None,
        open_only: bool = False,
    ) -> list[Excursion]:
        """Stored excursions (of a sensor, at a location or below it, still open), by start."""
        given: object = location
        if given is not None and not isinstance(given, Location):
            raise InvalidValueError(f"location is a Location, not {type(given).__name__}")
        return [
            e
            for e in self._select(sensor, open_only)
            if location is None or e.location.is_within(location)
        ]

    def record_decision(self, decision: QualityDecision) -> bool:
        """Keep the decision on its excursion; ``False`` when the same one is kept already."""
        given: object = decision
        if not isinstance(given, QualityDecision):
            raise InvalidValueError(f"expected a QualityDecision, not {type(given).__name__}")
        with self._transaction():
            if self._get(decision.excursion_id) is None:
                raise QualityDecisionError(f"no excursion {decision.excursion_id!r} is stored")
            stored = self._get_decision(decision.excursion_id)
            if stored == decision:
                return False
            if stored is not None:
                msg = (
                    f"excursion {decision.excursion_id!r} already has a decision "
                    f"({stored.verdict.value} by {stored.decided_by}); a decision is not replaced"
                )
                raise QualityDecisionError(msg)
            self._put_decision(decision)
        return True

    def decision(self, excursion_id: str) -> QualityDecision | None:
        """The decision on an excursion, or ``None``."""
        return self._get_decision(excursion_id)


GET: Final = "SELECT data FROM {p}coldchain_excursions WHERE id = ?"
INSERT: Final = (
    "INSERT INTO {p}coldchain_excursions (id, sensor, location, start_at, is_open, data)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
UPDATE: Final = "UPDATE {p}coldchain_excursions SET is_open = ?, data = ? WHERE id = ?"
SELECT: Final = "SELECT id, data FROM {p}coldchain_excursions"
ORDER: Final = " ORDER BY start_at, id"
GET_DECISION: Final = "SELECT data FROM {p}coldchain_decisions WHERE excursion_id = ?"
INSERT_DECISION: Final = "INSERT INTO {p}coldchain_decisions (excursion_id, data) VALUES (?, ?)"


class SqlColdChain(ColdChainBase, SqlTables):
    """The cold-chain primitives in SQL; a store supplies ``_rows``, ``_run`` and ``where``."""

    __slots__ = ()

    def _decode_excursion(self, text: str, what: str) -> Excursion:
        try:
            return excursion_from_json(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            raise StorageError(f"corrupt excursion {what!r} in {self.where}: {e}") from e

    def _get(self, excursion_id: str) -> Excursion | None:
        rows = self._rows(GET, (excursion_id,))
        return self._decode_excursion(rows[0][0], excursion_id) if rows else None

    def _put(self, excursion: Excursion, *, new: bool) -> None:
        data, is_open = excursion_to_json(excursion), int(excursion.is_open)
        if new:
            row = (excursion.id, excursion.sensor, str(excursion.location), _start_key(excursion))
            self._run(INSERT, (*row, is_open, data))
        else:
            self._run(UPDATE, (is_open, data, excursion.id))

    def _select(self, sensor: str | None, open_only: bool) -> Iterator[Excursion]:  # noqa: FBT001
        where: list[str] = []
        params: list[object] = []
        if sensor is not None:
            where.append("sensor = ?")
            params.append(sensor)
        if open_only:
            where.append("is_open = 1")
        statement = SELECT + (" WHERE " + " AND ".join(where) if where else "") + ORDER
        for eid, data in self._rows(statement, params):
            yield self._decode_excursion(data, eid)

    def _get_decision(self, excursion_id: str) -> QualityDecision | None:
        rows = self._rows(GET_DECISION, (excursion_id,))
        if not rows:
            return None
        try:
            return decision_from_json(rows[0][0])
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            msg = f"corrupt decision on excursion {excursion_id!r} in {self.where}: {e}"
            raise StorageError(msg) from e

    def _put_decision(self, decision: QualityDecision) -> None:
        self._run(INSERT_DECISION, (decision.excursion_id, decision_to_json(decision)))
