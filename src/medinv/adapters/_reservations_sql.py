"""The SQL of the reservation stores, shared by SQLite and PostgreSQL.

Two tables in the ledger's database: ``reservations`` (one row per reservation:
id, expiry moment as sortable UTC text, the JSON of
[`_reservations_json`][medinv.adapters._reservations_json]) and
``reservation_holds`` (the units each holds per item and location, with the
reservation's expiry beside them). What the reservations in force hold of an
item is one range seek of the holds' primary key, which leads with the item.
The statements are written once with ``?`` marks and ``{p}`` before table names;
each store turns them into its own dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from medinv.adapters._reservations_base import Holds, ReservationBase
from medinv.adapters._reservations_json import reservation_from_json, reservation_to_json
from medinv.adapters._sql_tables import SqlTables
from medinv.allocation import Reservation
from medinv.errors import MedinvError, StorageError
from medinv.identifiers import ItemKey
from medinv.locations import Location

__all__ = ["SqlReservations"]

GET: Final = "SELECT data FROM {p}reservations WHERE id = ?"
ACTIVE: Final = "SELECT id, data FROM {p}reservations WHERE expires_at > ? ORDER BY id"
HELD: Final = (
    "SELECT location, sum(quantity) FROM {p}reservation_holds"
    " WHERE gtin = ? AND lot = ? AND serial = ? AND expires_at > ? GROUP BY location"
)
INSERT: Final = "INSERT INTO {p}reservations (id, expires_at, data) VALUES (?, ?, ?)"
INSERT_HOLD: Final = (
    "INSERT INTO {p}reservation_holds"
    " (gtin, lot, serial, location, reservation_id, quantity, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
DELETE_HOLDS: Final = "DELETE FROM {p}reservation_holds WHERE reservation_id = ?"
DELETE: Final = "DELETE FROM {p}reservations WHERE id = ?"
EXPIRED: Final = "SELECT count(*) FROM {p}reservations WHERE expires_at <= ?"
PURGE_HOLDS: Final = "DELETE FROM {p}reservation_holds WHERE expires_at <= ?"
PURGE: Final = "DELETE FROM {p}reservations WHERE expires_at <= ?"


def _columns(item: ItemKey) -> tuple[str, str, str]:
    """The item's key columns (an absent lot or serial is '')."""
    return (
        item.device_text,
        "" if item.lot is None else item.lot.value,
        "" if item.serial is None else item.serial.value,
    )


class SqlReservations(ReservationBase, SqlTables):
    """The reservation primitives in SQL; a store supplies ``_rows``, ``_run`` and ``where``."""

    __slots__ = ()

    def _decode(self, text: str, what: str) -> Reservation:
        try:
            return reservation_from_json(text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            raise StorageError(f"corrupt reservation {what!r} in {self.where}: {e}") from e

    def _get(self, reservation_id: str) -> Reservation | None:
        rows = self._rows(GET, (reservation_id,))
        return self._decode(rows[0][0], reservation_id) if rows else None

    def _active(self, moment: str) -> list[Reservation]:
        return [self._decode(data, rid) for rid, data in self._rows(ACTIVE, (moment,))]

    def _held(self, items: Sequence[ItemKey], moment: str) -> Holds:
        held: Holds = {}
        for item in items:
            for path, quantity in self._rows(HELD, (*_columns(item), moment)):
                held[item, Location(tuple(path.split("/")))] = int(quantity)
        return held

    def _insert(self, reservation: Reservation, moment: str, holds: Holds) -> None:
        rid = reservation.id
        self._run(INSERT, (rid, moment, reservation_to_json(reservation)))
        for (item, location), quantity in holds.items():
            path = "/".join(location.path)
            self._run(INSERT_HOLD, (*_columns(item), path, rid, quantity, moment))

    def _delete(self, reservation_id: str) -> None:
        self._run(DELETE_HOLDS, (reservation_id,))
        self._run(DELETE, (reservation_id,))

    def _purge(self, moment: str) -> int:
        (count,) = self._rows(EXPIRED, (moment,))[0]
        self._run(PURGE_HOLDS, (moment,))
        self._run(PURGE, (moment,))
        return int(count)
