"""The reservation store's rules, written once for every store: stores supply a few primitives.

A reservation store keeps each [`Reservation`][medinv.allocation.Reservation] with
its **holds**: the units of each (item, location) its plan picks, summed, and its
expiry moment as UTC text that sorts in time order
([`moment_key`][medinv.adapters._catalogue_json.moment_key]). Everything the
[`ReservationStore`][medinv.ports.ReservationStore] port promises (in force until
``expires_at``, idempotent reserve, no more reserved than the AVAILABLE balance,
expired ids given back) is decided here from those primitives and the ledger
store's own balances, inside the store's write transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from typing import Final

import pendulum

from medinv.adapters._base import Closing
from medinv.adapters._catalogue_json import moment_key
from medinv.allocation import Plan, Reservation
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.ports import LedgerStore, ReservationConflictError
from medinv.status import StockStatus

__all__ = ["Held", "Holds", "ReservationBase", "holds_of"]

Held = tuple[ItemKey, Location]
"""Where a reservation holds units: (item, location)."""
Holds = dict[Held, int]
"""Units held per (item, location)."""

_AVAILABLE: Final = StockStatus.AVAILABLE


def holds_of(plan: Plan) -> Holds:
    """The units ``plan``'s picks take, summed per (item, location)."""
    holds: Holds = {}
    for pick in plan.picks:
        key = (pick.item, pick.location)
        holds[key] = holds.get(key, 0) + pick.quantity
    return holds


def _moment(as_of: object) -> pendulum.DateTime:
    return pendulum.now("UTC") if as_of is None else to_datetime(as_of)


def _id(reservation_id: object) -> str:
    if not isinstance(reservation_id, str) or not reservation_id.strip():
        msg = f"invalid reservation id {reservation_id!r:.60}: expected non-blank text"
        raise InvalidValueError(msg)
    return reservation_id


class ReservationBase(Closing):
    """The [`ReservationStore`][medinv.ports.ReservationStore] methods over a store's primitives."""

    __slots__ = ()

    # ------------------------------------------------------------------ primitives

    @property
    def _ledger(self) -> LedgerStore:
        """The ledger store whose balances the reservations hold units of."""
        raise NotImplementedError  # pragma: no cover

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction holding the reservations' write lock until it ends."""
        raise NotImplementedError  # pragma: no cover

    def _get(self, reservation_id: str) -> Reservation | None:
        """The reservation stored with this id (in force or not)."""
        raise NotImplementedError  # pragma: no cover

    def _active(self, moment: str) -> list[Reservation]:
        """The reservations expiring after ``moment``, by id."""
        raise NotImplementedError  # pragma: no cover

    def _held(self, items: Sequence[ItemKey], moment: str) -> Holds:
        """What the reservations expiring after ``moment`` hold of ``items``."""
        raise NotImplementedError  # pragma: no cover

    def _insert(self, reservation: Reservation, moment: str, holds: Holds) -> None:
        """Store a reservation expiring at ``moment`` with its holds, inside the transaction."""
        raise NotImplementedError  # pragma: no cover

    def _delete(self, reservation_id: str) -> None:
        """Remove a reservation and its holds, inside the transaction."""
        raise NotImplementedError  # pragma: no cover

    def _purge(self, moment: str) -> int:
        """Remove the reservations expiring at or before ``moment``, inside the transaction."""
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ the port

    def reserve(self, reservation: Reservation, *, as_of: object = None) -> bool:
        """See [`ReservationStore.reserve`][medinv.ports.ReservationStore.reserve]."""
        given: object = reservation  # checked at run time, whatever the annotations say
        if not isinstance(given, Reservation):
            msg = f"reserve takes a Reservation, not {given!r:.80}"
            raise InvalidValueError(msg)
        rid = _id(reservation.id)
        now = _moment(as_of)
        if reservation.expires_at is None:
            msg = f"reservation {rid!r} needs expires_at to be kept in a store"
            raise InvalidValueError(msg)
        if reservation.expires_at <= now:
            msg = (
                f"reservation {rid!r} expires at {reservation.expires_at.isoformat()}, "
                f"not after {now.isoformat()}"
            )
            raise InvalidValueError(msg)
        holds = holds_of(reservation.plan)
        now_key = moment_key(now)
        with self._transaction():
            stored = self._get(rid)
            if stored is not None:
                assert stored.expires_at is not None  # noqa: S101  (stored ones have one)
                if stored.expires_at > now:
                    if stored == reservation:
                        return False
                    msg = f"reservation id {rid!r} is already in use"
                    raise InvalidValueError(msg)
            # Checked before anything is written, so a refusal needs no rollback.
            self._check_free(reservation, holds, now_key)
            if stored is not None:
                self._delete(rid)  # an expired reservation gives its id back
            self._insert(reservation, moment_key(reservation.expires_at), holds)
        return True

    def _check_free(self, reservation: Reservation, holds: Holds, now: str) -> None:
        """Refuse ``reservation`` if any of its holds exceeds the units still free."""
        items = sorted({item for item, _ in holds}, key=ItemKey.sort_key)
        balances = self._ledger.balances_of(items)
        held = self._held(items, now)
        for (item, location), quantity in holds.items():
            free = balances.get((item, location, _AVAILABLE), 0) - held.get((item, location), 0)
            if free < quantity:
                raise ReservationConflictError(
                    reservation.id,
                    planned_at=reservation.plan.position,
                    current=self._ledger.head().position,
                    reason=(
                        f"{item} at {location}: it takes {quantity}, only {max(free, 0)} "
                        "AVAILABLE and not reserved"
                    ),
                )

    def get(self, reservation_id: str, *, as_of: object = None) -> Reservation | None:
        """See [`ReservationStore.get`][medinv.ports.ReservationStore.get]."""
        rid, now = _id(reservation_id), _moment(as_of)
        found = self._get(rid)
        if found is None or found.expires_at is None or found.expires_at <= now:
            return None
        return found

    def active(self, *, as_of: object = None) -> list[Reservation]:
        """See [`ReservationStore.active`][medinv.ports.ReservationStore.active]."""
        return self._active(moment_key(_moment(as_of)))

    def held(
        self, items: Collection[ItemKey], *, as_of: object = None
    ) -> Mapping[tuple[ItemKey, Location], int]:
        """See [`ReservationStore.held`][medinv.ports.ReservationStore.held]."""
        wanted: list[ItemKey] = []
        given: Collection[object] = items  # checked at run time, whatever the annotations say
        for item in given:
            if not isinstance(item, ItemKey):
                msg = f"held takes ItemKeys, not {item!r:.80}"
                raise InvalidValueError(msg)
            wanted.append(item)
        return self._held(sorted(set(wanted), key=ItemKey.sort_key), moment_key(_moment(as_of)))

    def release(self, reservation_id: str) -> Reservation | None:
        """See [`ReservationStore.release`][medinv.ports.ReservationStore.release]."""
        rid = _id(reservation_id)
        with self._transaction():
            found = self._get(rid)
            if found is not None:
                self._delete(rid)
        return found

    def purge(self, *, as_of: object = None) -> int:
        """See [`ReservationStore.purge`][medinv.ports.ReservationStore.purge]."""
        moment = moment_key(_moment(as_of))
        with self._transaction():
            return self._purge(moment)
