"""Posting plans through the ledger: one atomic batch per plan, stale plans refused.

The allocator's core (request, plan, index) does not need the ledger. This module
is the bridge: it turns a [`Plan`][medinv.allocation.Plan] into ISSUE,
CONSUMPTION or TRANSFER movements and posts them with
[`Ledger.post`][medinv.ledger.Ledger.post], and keeps a
[`FefoIndex`][medinv.allocation.FefoIndex] in step with the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Required, TypedDict, Unpack

import attrs
import pendulum

from medinv.allocation import AllocationRequest, FefoIndex, Plan, Reservation
from medinv.dates import to_datetime
from medinv.errors import (
    ConcurrencyError,
    InsufficientStockError,
    InvalidValueError,
    StalePlanError,
)
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import CatalogueStore, MovementQuery, ReservationStore
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.ledger import Ledger, PostResult

__all__ = [
    "PostingOptions",
    "allocate_and_post",
    "index_from_ledger",
    "pick_sequences_from",
    "plan_movements",
    "post_plan",
    "release_reservation",
    "reserve_plan",
    "sync_index",
    "sync_pick_sequences",
    "sync_reservations",
]

_MOVEMENTS: Final[dict[MovementKind, Callable[..., Movement]]] = {
    MovementKind.ISSUE: Movement.issue,
    MovementKind.CONSUMPTION: Movement.consumption,
    MovementKind.TRANSFER: Movement.transfer,
}
"""The kinds a plan is posted as, each with the movement's named constructor."""


class PostingOptions(TypedDict, total=False):
    """How a plan is posted: the keyword arguments the picking functions share.

    [`plan_movements`][medinv.services.plan_movements],
    [`post_plan`][medinv.services.post_plan] and
    [`allocate_and_post`][medinv.services.allocate_and_post] take these as keyword
    arguments (``kind``, ``movement_id``, ``occurred_at`` and ``actor`` required)
    and check them in one place.
    """

    kind: Required[MovementKind]
    """``ISSUE`` (stock leaves the ledger's locations), ``CONSUMPTION`` (used on a
    patient or in a procedure: ``reference`` required) or ``TRANSFER`` (to the
    location ``to``, e.g. a department's cabinet)."""
    movement_id: Required[str]
    """The base of the movement ids (the idempotency key of the posting)."""
    occurred_at: Required[dt.datetime | str]
    """When the picks physically happen."""
    actor: Required[str]
    """Who picks."""
    to: Location | None
    """The destination of a ``TRANSFER`` (only a transfer takes one)."""
    reference: str | None
    """Business reference (order, patient or procedure)."""
    reason: str | None
    """Optional reason code."""


@attrs.frozen
class _Posting:
    """The posting options of one call, checked (see `PostingOptions`)."""

    kind: MovementKind
    movement_id: str
    occurred_at: dt.datetime | str
    actor: str
    to: Location | None = None
    reference: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, function: str, options: Mapping[str, Any]) -> _Posting:
        """The options given to ``function``, as Python checks keyword arguments, then ours.

        Raises:
            TypeError: an option is missing or unknown (as for any keyword argument).
            InvalidValueError: the kind is not one of the three, or ``to`` or
                ``reference`` does not fit it.
        """
        fields = attrs.fields(cls)
        known = {field.name for field in fields}
        required = {field.name for field in fields if field.default is attrs.NOTHING}
        for name in sorted(options.keys() - known):
            msg = f"{function}() got an unexpected keyword argument {name!r}"
            raise TypeError(msg)
        for name in sorted(required - options.keys()):
            msg = f"{function}() missing required keyword argument: {name!r}"
            raise TypeError(msg)
        posting = cls(**options)
        if not isinstance(posting.kind, MovementKind) or posting.kind not in _MOVEMENTS:
            msg = (
                "a plan is posted as ISSUE, CONSUMPTION or TRANSFER movements, "
                f"not {getattr(posting.kind, 'value', posting.kind)}"
            )
            raise InvalidValueError(msg)
        if (posting.kind is MovementKind.TRANSFER) != (posting.to is not None):
            msg = "a TRANSFER needs the destination 'to', and only a TRANSFER takes one"
            raise InvalidValueError(msg)
        if posting.kind is MovementKind.CONSUMPTION and posting.reference is None:
            msg = "a CONSUMPTION needs the patient or procedure reference"
            raise InvalidValueError(msg)
        return posting

    def movements(self, plan: Plan) -> list[Movement]:
        """The movements that carry out ``plan``: one per pick."""
        make = _MOVEMENTS[self.kind]
        where = {} if self.to is None else {"to": self.to}  # a TRANSFER (checked in `of`)
        return [
            make(
                f"{self.movement_id}/{number}",
                item=pick.item,
                quantity=pick.quantity,
                source=pick.location,
                occurred_at=self.occurred_at,
                actor=self.actor,
                reference=self.reference,
                reason=self.reason,
                **where,
            )
            for number, pick in enumerate(plan.picks, start=1)
        ]


def plan_movements(plan: Plan, **options: Unpack[PostingOptions]) -> list[Movement]:
    """The movements that carry out ``plan``: one per pick, ids ``movement_id/1``, ``/2`` ...

    Args:
        plan: the plan to carry out.
        **options: how to post it ([`PostingOptions`][medinv.services.PostingOptions]):
            ``kind``, ``movement_id``, ``occurred_at``, ``actor`` and, as the kind
            needs, ``to``, ``reference``, ``reason``.

    Raises:
        InvalidValueError: the kind is not one of the three, or ``to`` does not fit it.
    """
    return _Posting.of("plan_movements", options).movements(plan)


def post_plan(
    ledger: Ledger,
    plan: Plan,
    *,
    index: FefoIndex | None = None,
    reservation_id: str | None = None,
    **options: Unpack[PostingOptions],
) -> PostResult:
    """Post ``plan`` as one atomic batch of movements, or refuse it as stale.

    The movements are those of [`plan_movements`][medinv.services.plan_movements]
    with the same ``options``
    ([`PostingOptions`][medinv.services.PostingOptions]).

    An unreserved plan is posted only if the ledger is still at the position the plan
    was made at (``plan.position``): any other movement since then may have taken the
    stock, so the plan is refused as stale. A plan reserved in ``index``
    (``reservation_id``) is protected from other plans by its reservation and is
    posted at any position; the ledger's own rules (no negative balance, only
    AVAILABLE, non-expired stock) still apply. With ``index``, the reservation is
    released and the posted movements are applied to the index.

    Returns:
        The ledger's result (the recorded movements and the new head).

    Raises:
        StalePlanError: the ledger moved since an unreserved plan was made; plan again
            ([`allocate_and_post`][medinv.services.allocate_and_post] does).
        StockError: the ledger refused the batch; nothing was posted.
        InvalidValueError: the arguments do not fit (see ``plan_movements``), or a
            ``reservation_id`` without its ``index``.
    """
    if reservation_id is not None and index is None:
        msg = "a reservation_id needs the index that holds the reservation"
        raise InvalidValueError(msg)
    return _post(ledger, plan, _Posting.of("post_plan", options), index, reservation_id)


def _post(
    ledger: Ledger,
    plan: Plan,
    posting: _Posting,
    index: FefoIndex | None,
    reservation_id: str | None,
) -> PostResult:
    """`post_plan` with its options checked."""
    movements = posting.movements(plan)
    expected = None if reservation_id is not None else plan.position
    stored = (
        None
        if index is None or reservation_id is None
        else _held(ledger, plan, index, reservation_id)
    )
    try:
        result = ledger.post(movements, expected_position=expected)
    except ConcurrencyError as e:
        raise StalePlanError(
            planned_at=plan.position,
            current=e.actual if isinstance(e.actual, int) else ledger.head().position,
            reason="the ledger has moved since the plan was made; plan again",
        ) from e
    if stored is not None and reservation_id is not None:
        stored.release(reservation_id)
    if index is not None:
        if reservation_id is not None:
            index.release(reservation_id)
        sync_index(index, ledger)
    return result


def sync_index(index: FefoIndex, ledger: Ledger) -> int:
    """Apply to ``index`` every movement the ledger recorded after ``index.position``.

    Returns:
        How many movements were applied.
    """
    before = index.position
    index.apply(ledger.store.movements(MovementQuery(after_position=before)))
    return index.position - before


def index_from_ledger(
    ledger: Ledger,
    *,
    attempts: int = 3,
    catalogue: CatalogueStore | None = None,
    as_of: object = None,
) -> FefoIndex:
    """A [`FefoIndex`][medinv.allocation.FefoIndex] over the ledger's current positions.

    The positions and the head are read consistently: if another writer posts in
    between, the read is repeated (up to ``attempts`` times), then the positions are
    read as of the head.

    Locations are walked in the pick sequence of their catalogue profile
    ([`pick_sequences_from`][medinv.services.pick_sequences_from]): ``catalogue``, or
    the catalogue of the ledger's store when it has one (``store.catalogue``), with
    the profiles in force at ``as_of`` (``None``: the latest versions).
    """
    sequences = _catalogue_sequences(ledger, catalogue, as_of)
    for _ in range(attempts):
        head = ledger.head()
        positions = ledger.positions()
        if ledger.head() == head:
            return FefoIndex.from_positions(
                positions, position=head.position, pick_sequences=sequences
            )
    head = ledger.head()
    positions = ledger.positions(as_of_position=head.position)
    return FefoIndex.from_positions(positions, position=head.position, pick_sequences=sequences)


def allocate_and_post(
    ledger: Ledger,
    index: FefoIndex,
    request: AllocationRequest,
    *,
    allow_partial: bool = False,
    attempts: int = 5,
    **options: Unpack[PostingOptions],
) -> tuple[Plan, PostResult]:
    """Plan ``request`` on a current index and post it; plan again if another writer won.

    Each attempt brings ``index`` up to the ledger head, plans, and posts the plan at
    that position with ``options``
    ([`PostingOptions`][medinv.services.PostingOptions], as for
    [`post_plan`][medinv.services.post_plan]). A
    [`StalePlanError`][medinv.errors.StalePlanError] (the ledger moved in between)
    starts a new attempt. Re-posting the same ``movement_id`` after a success is a
    replay in the ledger, so a retried call is safe.

    Returns:
        The plan that was posted and the ledger's result.

    Raises:
        InsufficientStockError: the plan is short and ``allow_partial`` is false;
            nothing was posted.
        StalePlanError: every attempt lost the race.
        InvalidValueError: the options do not fit (see ``plan_movements``).
    """
    if attempts < 1:
        msg = f"allocate_and_post needs at least 1 attempt, not {attempts}"
        raise InvalidValueError(msg)
    posting = _Posting.of("allocate_and_post", options)
    error: StalePlanError | None = None
    for _ in range(attempts):
        sync_index(index, ledger)
        plan = index.allocate(request)
        if plan.shortfall and not allow_partial:
            raise InsufficientStockError(
                item=request.gtin if request.device.gtin is not None else request.device,
                location=request.location or "any location",
                status=StockStatus.AVAILABLE,
                requested=request.quantity,
                available=plan.quantity,
            )
        try:
            result = _post(ledger, plan, posting, index, None)
        except StalePlanError as e:
            error = e
            continue
        return plan, result
    assert error is not None  # noqa: S101  (the loop ran at least once)
    raise error


# ---------------------------------------------------------------------- pick sequences


def pick_sequences_from(catalogue: CatalogueStore, *, as_of: object = None) -> dict[Location, int]:
    """The pick sequence of every location profile in ``catalogue``, by location.

    The profiles in force at ``as_of`` (an aware moment; ``None``: each profile's
    latest version, as every catalogue lookup without ``as_of``). Given to a
    [`FefoIndex`][medinv.allocation.FefoIndex], each applies to its location and
    to the locations below it that have no profile of their own: the nearest
    profiled ancestor decides, as
    [`profile_for`][medinv.ports.CatalogueStore.profile_for] does.
    """
    return {profile.path: profile.pick_sequence for profile in catalogue.locations(as_of=as_of)}


def sync_pick_sequences(
    index: FefoIndex, source: Ledger | CatalogueStore, *, as_of: object = None
) -> int:
    """Bring ``index``'s pick sequences up to the catalogue's location profiles.

    ``source`` is the catalogue, or a ledger whose store has one. Call it after
    changing location profiles (in this process or another one sharing the
    database): the positions whose pick sequence changed are re-filed, and the
    index plans as [`index_from_ledger`][medinv.services.index_from_ledger] would
    after a restart.

    Returns:
        How many positions were re-filed.

    Raises:
        InvalidValueError: ``source`` is a ledger whose store has no catalogue.
    """
    catalogue = source if isinstance(source, CatalogueStore) else _catalogue_of(source)
    if catalogue is None:
        msg = "the ledger's store has no catalogue: give the catalogue itself"
        raise InvalidValueError(msg)
    return index.set_pick_sequences(pick_sequences_from(catalogue, as_of=as_of))


def _catalogue_of(ledger: Ledger) -> CatalogueStore | None:
    """The catalogue of the ledger's store, if it has one."""
    found = getattr(ledger.store, "catalogue", None)
    return found if isinstance(found, CatalogueStore) else None


def _catalogue_sequences(
    ledger: Ledger, catalogue: CatalogueStore | None, as_of: object
) -> dict[Location, int] | None:
    """The pick sequences of ``catalogue`` (else of the ledger's store's), or ``None``."""
    if catalogue is None:
        catalogue = _catalogue_of(ledger)
    return None if catalogue is None else pick_sequences_from(catalogue, as_of=as_of)


# ---------------------------------------------------------------------- kept reservations


def _reservations_of(source: Ledger | ReservationStore) -> ReservationStore:
    """The reservation store given, or the one of the ledger's store."""
    if isinstance(source, ReservationStore):
        return source
    found = getattr(source.store, "reservations", None)
    if not isinstance(found, ReservationStore):
        msg = "the ledger's store keeps no reservations (it has no .reservations)"
        raise InvalidValueError(msg)
    return found


def _held(
    ledger: Ledger, plan: Plan, index: FefoIndex, reservation_id: str
) -> ReservationStore | None:
    """Before a reserved plan is posted: the store that keeps its reservation, if any.

    Raises:
        StalePlanError: neither the store nor the index holds the reservation in
            force now (it expired, was released or was posted): plan again.
        InvalidValueError: the stored reservation holds another plan.
    """
    found = getattr(ledger.store, "reservations", None)
    kept = found if isinstance(found, ReservationStore) else None
    now = pendulum.now("UTC")
    stored = None if kept is None else kept.get(reservation_id, as_of=now)
    if stored is None:
        held = next((r for r in index.reservations() if r.id == reservation_id), None)
        if held is not None and (held.expires_at is None or held.expires_at > now):
            return None  # held by the index alone (this process's)
        raise StalePlanError(
            planned_at=plan.position,
            current=ledger.head().position,
            reason=f"reservation {reservation_id!r} is not held (expired, released or posted)",
        )
    if stored.plan != plan:
        msg = f"reservation {reservation_id!r} holds another plan"
        raise InvalidValueError(msg)
    return kept


def reserve_plan(
    ledger: Ledger,
    index: FefoIndex,
    plan: Plan,
    *,
    reservation_id: str,
    expires_at: dt.datetime | str,
    as_of: object = None,
) -> Reservation:
    """Reserve ``plan`` in the ledger's store, for every process, and in ``index``.

    The store checks, in one transaction serialised with every other process on
    the database, that the plan's units are still AVAILABLE and not reserved by a
    reservation in force; then ``index`` holds them too. The reservation lapses at
    ``expires_at`` (required: a process that dies leaves nothing held for ever),
    is released by [`release_reservation`][medinv.services.release_reservation],
    and by [`post_plan`][medinv.services.post_plan] when its plan is posted.
    Reserving the same plan under the same id again changes nothing.

    Raises:
        ReservationConflictError: some units are reserved by another process or
            moved since the plan was made; nothing is reserved: plan again.
        StalePlanError: the store accepted but ``index`` no longer has the units
            (it is behind the ledger: sync it); nothing is reserved.
        InvalidValueError: the store keeps no reservations, the id is in use by
            another reservation, or ``expires_at`` is not after ``as_of`` (now).
    """
    reservations = _reservations_of(ledger)
    if type(plan) is not Plan:
        msg = f"reserve_plan takes a Plan, not {plan!r:.60}"
        raise InvalidValueError(msg)
    reservation = Reservation(id=reservation_id, plan=plan, expires_at=to_datetime(expires_at))
    stored = reservations.reserve(reservation, as_of=as_of)
    if any(r == reservation for r in index.reservations()):
        return reservation
    try:
        index.reserve(plan, reservation_id=reservation_id, expires_at=reservation.expires_at)
    except (StalePlanError, InvalidValueError):
        if stored:
            reservations.release(reservation_id)
        raise
    return reservation


def release_reservation(
    source: Ledger | ReservationStore, reservation_id: str, *, index: FefoIndex | None = None
) -> Reservation | None:
    """Release a kept reservation (and ``index``'s); ``None`` if the store held none by that id."""
    released = _reservations_of(source).release(reservation_id)
    if index is not None:
        index.release(reservation_id)
    return released


def sync_reservations(
    index: FefoIndex, source: Ledger | ReservationStore, *, as_of: object = None
) -> int:
    """Make ``index`` hold exactly the reservations the store keeps in force at ``as_of``.

    Reservations other processes made are held in ``index`` too (its plans then
    skip their units, with the reason ``RESERVED``); those released, posted or
    expired since are let go. Reservations made in ``index`` alone are let go as
    well: reserve through [`reserve_plan`][medinv.services.reserve_plan] when the
    store keeps reservations. Bring the index up to the ledger first
    ([`sync_index`][medinv.services.sync_index]); a kept reservation whose units
    the index no longer has (its plan was posted by a process that died before
    releasing it) is not held: it waits in the index, keeping from other plans
    whatever is left of its units, and is taken again if its units come back (as
    in a long-running index).

    Returns:
        How many reservations the index took or let go.
    """
    return index.hold_reservations(_reservations_of(source).active(as_of=as_of))
