"""Posting plans through the ledger: one atomic batch per plan, stale plans refused.

The allocator's core (request, plan, index) does not need the ledger. This module
is the bridge: it turns a [`Plan`][medinv.allocation.Plan] into ISSUE,
CONSUMPTION or TRANSFER movements and posts them with
[`Ledger.post`][medinv.ledger.Ledger.post], and keeps a
[`FefoIndex`][medinv.allocation.FefoIndex] in step with the ledger.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from medinv.allocation import AllocationRequest, FefoIndex, Plan
from medinv.errors import (
    ConcurrencyError,
    InsufficientStockError,
    InvalidValueError,
    StalePlanError,
)
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import MovementQuery
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.ledger import Ledger, PostResult

__all__ = ["allocate_and_post", "index_from_ledger", "plan_movements", "post_plan", "sync_index"]

_POSTABLE: Final = (MovementKind.ISSUE, MovementKind.CONSUMPTION, MovementKind.TRANSFER)


def plan_movements(
    plan: Plan,
    *,
    kind: MovementKind,
    movement_id: str,
    occurred_at: dt.datetime | str,
    actor: str,
    to: Location | None = None,
    reference: str | None = None,
    reason: str | None = None,
) -> list[Movement]:
    """The movements that carry out ``plan``: one per pick, ids ``movement_id/1``, ``/2`` ...

    Args:
        plan: the plan to carry out.
        kind: ``ISSUE`` (stock leaves the ledger's locations), ``CONSUMPTION`` (used on
            a patient or in a procedure: ``reference`` required) or ``TRANSFER``
            (to the location ``to``, e.g. a department's cabinet).
        movement_id: the base of the movement ids (the idempotency key of the posting).
        occurred_at: when the picks physically happen.
        actor: who picks.
        to: the destination of a ``TRANSFER``.
        reference: business reference (order, patient or procedure).
        reason: optional reason code.

    Raises:
        InvalidValueError: the kind is not one of the three, or ``to`` does not fit it.
    """
    if kind not in _POSTABLE:
        msg = f"a plan is posted as ISSUE, CONSUMPTION or TRANSFER movements, not {kind.value}"
        raise InvalidValueError(msg)
    if (kind is MovementKind.TRANSFER) != (to is not None):
        msg = "a TRANSFER needs the destination 'to', and only a TRANSFER takes one"
        raise InvalidValueError(msg)
    if kind is MovementKind.CONSUMPTION and reference is None:
        msg = "a CONSUMPTION needs the patient or procedure reference"
        raise InvalidValueError(msg)
    movements = []
    for number, pick in enumerate(plan.picks, start=1):
        mid = f"{movement_id}/{number}"
        if kind is MovementKind.TRANSFER and to is not None:
            movement = Movement.transfer(
                mid,
                item=pick.item,
                quantity=pick.quantity,
                source=pick.location,
                to=to,
                occurred_at=occurred_at,
                actor=actor,
                reference=reference,
                reason=reason,
            )
        else:
            movement = Movement(
                id=mid,
                kind=kind,
                item=pick.item,
                quantity=pick.quantity,
                from_location=pick.location,
                from_status=StockStatus.AVAILABLE,
                occurred_at=occurred_at,
                actor=actor,
                reference=reference,
                reason=reason,
            )
        movements.append(movement)
    return movements


def post_plan(
    ledger: Ledger,
    plan: Plan,
    *,
    kind: MovementKind,
    movement_id: str,
    occurred_at: dt.datetime | str,
    actor: str,
    to: Location | None = None,
    reference: str | None = None,
    reason: str | None = None,
    index: FefoIndex | None = None,
    reservation_id: str | None = None,
) -> PostResult:
    """Post ``plan`` as one atomic batch of movements, or refuse it as stale.

    The movements are those of [`plan_movements`][medinv.services.plan_movements].

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
    movements = plan_movements(
        plan,
        kind=kind,
        movement_id=movement_id,
        occurred_at=occurred_at,
        actor=actor,
        to=to,
        reference=reference,
        reason=reason,
    )
    expected = None if reservation_id is not None else plan.position
    try:
        result = ledger.post(movements, expected_position=expected)
    except ConcurrencyError as e:
        raise StalePlanError(
            planned_at=plan.position,
            current=e.actual if isinstance(e.actual, int) else ledger.head().position,
            reason="the ledger has moved since the plan was made; plan again",
        ) from e
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


def index_from_ledger(ledger: Ledger, *, attempts: int = 3) -> FefoIndex:
    """A [`FefoIndex`][medinv.allocation.FefoIndex] over the ledger's current positions.

    The positions and the head are read consistently: if another writer posts in
    between, the read is repeated (up to ``attempts`` times), then the positions are
    read as of the head.
    """
    for _ in range(attempts):
        head = ledger.head()
        positions = ledger.positions()
        if ledger.head() == head:
            return FefoIndex.from_positions(positions, position=head.position)
    head = ledger.head()
    positions = ledger.positions(as_of_position=head.position)
    return FefoIndex.from_positions(positions, position=head.position)


def allocate_and_post(
    ledger: Ledger,
    index: FefoIndex,
    request: AllocationRequest,
    *,
    kind: MovementKind,
    movement_id: str,
    occurred_at: dt.datetime | str,
    actor: str,
    to: Location | None = None,
    reference: str | None = None,
    reason: str | None = None,
    allow_partial: bool = False,
    attempts: int = 5,
) -> tuple[Plan, PostResult]:
    """Plan ``request`` on a current index and post it; plan again if another writer won.

    Each attempt brings ``index`` up to the ledger head, plans, and posts the plan at
    that position. A [`StalePlanError`][medinv.errors.StalePlanError] (the ledger
    moved in between) starts a new attempt. Re-posting the same ``movement_id`` after
    a success is a replay in the ledger, so a retried call is safe.

    Returns:
        The plan that was posted and the ledger's result.

    Raises:
        InsufficientStockError: the plan is short and ``allow_partial`` is false;
            nothing was posted.
        StalePlanError: every attempt lost the race.
    """
    if attempts < 1:
        msg = f"allocate_and_post needs at least 1 attempt, not {attempts}"
        raise InvalidValueError(msg)
    error: StalePlanError | None = None
    for _ in range(attempts):
        sync_index(index, ledger)
        plan = index.allocate(request)
        if plan.shortfall and not allow_partial:
            raise InsufficientStockError(
                item=request.gtin,
                location=request.location or "any location",
                status=StockStatus.AVAILABLE,
                requested=request.quantity,
                available=plan.quantity,
            )
        try:
            result = post_plan(
                ledger,
                plan,
                kind=kind,
                movement_id=movement_id,
                occurred_at=occurred_at,
                actor=actor,
                to=to,
                reference=reference,
                reason=reason,
                index=index,
            )
        except StalePlanError as e:
            error = e
            continue
        return plan, result
    assert error is not None  # noqa: S101  (the loop ran at least once)
    raise error
