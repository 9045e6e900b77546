"""Reservations: plans held in a FEFO index so that later plans do not count their units.

A [`Book`][medinv.allocation._reserve.Book] keeps the reservations an index holds,
each with its holds (the entries it holds units of, and how many), the reservations
waiting for units that left (keeping from other plans what is left of their units,
as a store counts them, and taken again when stock comes back), and the
reservations that lapse by themselves in order of their deadline. Holding or
releasing units changes the index's entries through the index's own ``settle``,
which files each entry where it then belongs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import pendulum
from sortedcontainers import SortedList

from medinv.allocation._entries import Entry, Hold, Product, ensure
from medinv.allocation._order import received_micros
from medinv.allocation._plan import Pick, Plan, Reservation
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError, StalePlanError

__all__ = ["Book", "Settle"]

Settle = Callable[[Product, Entry, bool], None]
"""``settle(product, entry, was_free)``: file ``entry`` where it belongs after a change."""

_LAST_ID = "\U0010ffff"
"""Above every reservation id (for the range of deadlines up to an instant)."""


class Book:
    """The reservations of one index: what each holds, and when the timed ones lapse."""

    __slots__ = ("claims", "expiring", "held", "products", "settle", "waiting")

    def __init__(self, products: Mapping[str, Product], settle: Settle) -> None:
        self.products = products
        """The index's products by GTIN text (the index's own mapping, read only)."""
        self.settle = settle
        self.held: dict[str, tuple[Reservation, tuple[Hold, ...]]] = {}
        """Each reservation by id, with its holds."""
        self.waiting: dict[str, Reservation] = {}
        """Reservations still in force whose units left AVAILABLE: they wait until
        `rebook` finds all their units again (as an index rebuilt from the kept
        reservations would)."""
        self.claims: dict[str, tuple[Hold, ...]] = {}
        """What each waiting reservation keeps of its units meanwhile: of each entry its
        plan takes, as many units as were free when it began to wait (at most what it
        takes). A store counts every reservation in force against the free units,
        waiting or not, so units left beside a waiting reservation are not free for
        another plan."""
        self.expiring: SortedList[tuple[int, str]] = SortedList()
        """(deadline in microseconds, id) of each reservation, held or waiting, that
        lapses by itself."""

    def reserve(
        self, plan: Plan, reservation_id: str, deadline: pendulum.DateTime | None, position: int
    ) -> Reservation:
        """Hold ``plan``'s picks (arguments checked by the index; ``position``: the index's)."""
        if reservation_id in self.held or reservation_id in self.waiting:
            msg = f"reservation id {reservation_id!r} is already in use"
            raise InvalidValueError(msg)
        holds = self.resolve(plan, position)
        for _, entry, quantity in holds:
            if entry.free < quantity:
                raise _stale(plan, position, entry, quantity, entry.free)
        for product, entry, quantity in holds:
            was_free = entry.quantity > entry.reserved
            entry.reserved += quantity
            self.settle(product, entry, was_free)
        reservation = Reservation(id=reservation_id, plan=plan, expires_at=deadline)
        self.held[reservation_id] = (reservation, tuple(holds))
        if reservation.expires_at is not None:
            self.expiring.add((received_micros(reservation.expires_at), reservation_id))
        return reservation

    def resolve(self, plan: Plan, position: int) -> list[Hold]:
        """Find each pick's entry (picks of one entry summed); refuse picks of vanished stock."""
        holds, vanished = self._entries(plan)
        if vanished is not None:
            raise StalePlanError(
                planned_at=plan.position,
                current=position,
                reason=f"no AVAILABLE {vanished.item} is left at {vanished.location}",
            )
        return holds

    def _entries(self, plan: Plan) -> tuple[list[Hold], Pick | None]:
        """Each pick's entry still there (picks of one entry summed); the first pick gone."""
        found: dict[int, Hold] = {}
        vanished: Pick | None = None
        for pick in plan.picks:
            product = self.products.get(pick.item.device.value)
            entry = None if product is None else product.entries.get((pick.item, pick.location))
            if product is None or entry is None:
                vanished = vanished or pick
                continue
            before = found.get(id(entry), (product, entry, 0))[2]
            found[id(entry)] = (product, entry, before + pick.quantity)
        return list(found.values()), vanished

    def release(self, reservation_id: str) -> Reservation | None:
        """Release a reservation, held or waiting; ``None`` if there is none by that id."""
        held = self.held.pop(reservation_id, None)
        if held is None:
            waiting = self.waiting.pop(reservation_id, None)
            if waiting is not None and waiting.expires_at is not None:
                self.expiring.discard((received_micros(waiting.expires_at), reservation_id))
            self._let_go(self.claims.pop(reservation_id, ()))
            return waiting
        reservation, holds = held
        if reservation.expires_at is not None:
            self.expiring.discard((received_micros(reservation.expires_at), reservation_id))
        self._let_go(holds)
        return reservation

    def _let_go(self, holds: tuple[Hold, ...]) -> None:
        for product, entry, quantity in holds:
            was_free = entry.quantity > entry.reserved
            entry.reserved -= quantity
            self.settle(product, entry, was_free)

    def due(self, as_of: dt.datetime | None, before_position: int | None) -> list[str]:
        """The ids of the reservations lapsed at ``as_of`` or made before ``before_position``."""
        due: list[str] = []
        if as_of is not None:
            limit = received_micros(to_datetime(as_of))
            due.extend(rid for _, rid in self.expiring.irange(maximum=(limit, _LAST_ID)))
        if before_position is not None:
            due.extend(
                rid
                for rid, reservation in sorted(self.in_force().items())
                if reservation.plan.position < before_position and rid not in due
            )
        return due

    def in_force(self) -> dict[str, Reservation]:
        """Every reservation by id, held or waiting."""
        every = {rid: reservation for rid, (reservation, _) in self.held.items()}
        every.update(self.waiting)
        return every

    def needs(self, gtin: str) -> bool:
        """Whether a waiting reservation holds a plan of the product ``gtin``."""
        return any(
            pick.item.device.value == gtin
            for reservation in self.waiting.values()
            for pick in reservation.plan.picks
        )

    def replace(self, reservations: list[Reservation], position: int) -> int:
        """Hold exactly ``reservations`` (waiting where they do not fit); how many changed."""
        before = {rid: reservation for rid, (reservation, _) in self.held.items()}
        self._take_in_order({r.id: r for r in reservations}, position)
        after = {rid: reservation for rid, (reservation, _) in self.held.items()}
        return sum(1 for rid in before.keys() | after.keys() if before.get(rid) != after.get(rid))

    def _wait(self, reservation: Reservation) -> None:
        """Let ``reservation`` wait, keeping what is free of its units (see ``claims``)."""
        self.waiting[reservation.id] = reservation
        kept: list[Hold] = []
        for product, entry, quantity in self._entries(reservation.plan)[0]:
            take = min(quantity, entry.free)
            if take > 0:
                entry.reserved += take
                self.settle(product, entry, True)  # noqa: FBT003  (it had free units)
                kept.append((product, entry, take))
        if kept:
            self.claims[reservation.id] = tuple(kept)
        if reservation.expires_at is not None:
            self.expiring.add((received_micros(reservation.expires_at), reservation.id))

    def rebook(self, position: int) -> None:
        """Take every reservation in force again, held or waiting, in id order.

        A reservation whose units are no longer all free waits (keeping what is
        left of them from later plans) until a later ``rebook``. The result depends
        only on the stock and the reservations, never on their history: what an
        index rebuilt after a restart takes from the kept reservations.
        """
        self._take_in_order(self.in_force(), position)

    def _take_in_order(self, every: dict[str, Reservation], position: int) -> None:
        """Release every reservation in force, then take ``every`` in id order (or let wait)."""
        for rid in list(self.in_force()):
            self.release(rid)
        for _, reservation in sorted(every.items()):
            try:
                self.reserve(reservation.plan, reservation.id, reservation.expires_at, position)
            except StalePlanError:
                self._wait(reservation)

    def reservations(self) -> tuple[Reservation, ...]:
        """The reservations held, by id."""
        return tuple(self.held[rid][0] for rid in sorted(self.held))

    def commit(self, plan: Plan, reservation_id: str | None, position: int) -> None:
        """Take ``plan``'s picks out, releasing its reservation first; nothing changed if stale."""
        held = None if reservation_id is None else self.held.get(reservation_id)
        if reservation_id is not None and held is None:
            msg = f"no reservation {reservation_id!r} is held"
            raise InvalidValueError(msg)
        own: dict[int, int] = {}
        if held is not None:
            if held[0].plan != plan:
                msg = f"reservation {reservation_id!r} holds another plan"
                raise InvalidValueError(msg)
            own = {id(entry): quantity for _, entry, quantity in held[1]}
        holds = self.resolve(plan, position)
        for _, entry, quantity in holds:  # check everything before changing anything
            have = entry.quantity - entry.reserved + own.get(id(entry), 0)
            if have < quantity:
                raise _stale(plan, position, entry, quantity, max(have, 0))
        if held is not None:
            self.release(held[0].id)
        for product, entry, quantity in holds:
            was_free = entry.quantity > entry.reserved
            entry.quantity -= quantity
            self.settle(product, entry, was_free)

    def check(self) -> dict[int, int]:
        """Check the book's invariants; return the units held per entry (by id)."""
        reserved: dict[int, int] = {}
        ensure(self.claims.keys() <= self.waiting.keys(), "only waiting reservations keep units")
        for holds in [h for _, h in self.held.values()] + list(self.claims.values()):
            for product, entry, quantity in holds:
                ensure(quantity > 0, "reservation holds are positive")
                ensure(
                    product.entries.get((entry.item, entry.location)) is entry,
                    "reservations hold entries that are in the index",
                )
                reserved[id(entry)] = reserved.get(id(entry), 0) + quantity
        ensure(not self.waiting.keys() & self.held.keys(), "a reservation is held or waits")
        expiring = [
            (received_micros(r.expires_at), rid)
            for rid, r in self.in_force().items()
            if r.expires_at is not None
        ]
        ensure(list(self.expiring) == sorted(expiring), "expiring reservations are listed")
        return reserved


def _stale(plan: Plan, position: int, entry: Entry, wanted: int, have: int) -> StalePlanError:
    return StalePlanError(
        planned_at=plan.position,
        current=position,
        reason=(
            f"{entry.item} at {entry.location}: the plan takes {wanted}, "
            f"only {have} unreserved left"
        ),
    )
