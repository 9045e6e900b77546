"""The stock an excursion exposed, from the ledger; holding it, and releasing it on a decision.

**Exposed** is any stock present at the excursion's location (or below it) at
some moment of one of its runs out of range. Per item the ledger's movements at
that place are replayed in the order they occurred: an item is exposed during a
run ``[start, end)`` when its balance there just before ``start`` is above zero,
or when stock of it arrives before ``end`` (a run still going has no end). So
stock that arrived during the excursion counts, and so does stock that left
during it; stock that left before it started, or arrived after it ended, does
not. (Testing only "present at the start" or only "arrived during it" misses
half of the exposed stock.)

Lots are fungible inside a location, so which units of an exposed lot left
afterwards is not known: every movement that took an exposed item away from the
place from the moment it was first exposed is listed for trace, a conservative
list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from medinv._retry import retry_lost_races
from medinv.coldchain._detect import Excursion, Interval
from medinv.coldchain._records import (
    ColdChainStore,
    ExcursionOpenError,
    QualityDecision,
    QualityDecisionError,
    Verdict,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services.lot_status import StatusChangeResult, StockTarget, hold
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.journal import RecordedMovement
    from medinv.ledger import Ledger

__all__ = [
    "Departure",
    "ExposedStock",
    "Exposure",
    "HoldPlan",
    "apply_hold_plan",
    "decide",
    "exposure",
    "hold_plan",
    "release_exposed",
]

_HOLD_REASON: Final = "temperature excursion"


@attrs.frozen(kw_only=True)
class Departure:
    """A movement that took an exposed item away from the excursion's place."""

    movement_id: str
    kind: MovementKind
    quantity: int
    occurred_at: pendulum.DateTime
    to_location: Location | None
    """Where it went inside the ledger (``None``: it left the ledger's locations)."""
    counterparty: str | None
    """Who it went to (``KIND:id``), when the movement says."""


@attrs.frozen(kw_only=True)
class ExposedStock:
    """One item the excursion exposed."""

    item: ItemKey
    exposed_from: pendulum.DateTime
    """The first moment of the excursion it was present."""
    most_present: int
    """The most units present at once while out of range (all statuses)."""
    on_site: int
    """Units at the place now (after the ledger's last movement)."""
    departures: tuple[Departure, ...]
    """Movements that took it away from the place since ``exposed_from``."""


@attrs.frozen(kw_only=True)
class Exposure:
    """What an excursion exposed, read from the ledger at ``head_position``."""

    excursion: Excursion
    location: Location
    head_position: int
    stock: tuple[ExposedStock, ...]
    """Every exposed item, in item order."""

    @property
    def on_site(self) -> tuple[ExposedStock, ...]:
        """Exposed items still at the place (the hold plan's targets)."""
        return tuple(s for s in self.stock if s.on_site > 0)

    @property
    def left(self) -> tuple[ExposedStock, ...]:
        """Exposed items that moved away since they were exposed (for trace)."""
        return tuple(s for s in self.stock if s.departures)


def _inside(delta_location: Location, place: Location) -> bool:
    return delta_location.is_within(place)


def _net(recorded: RecordedMovement, place: Location) -> int:
    return sum(q for loc, _status, q in recorded.movement.deltas() if _inside(loc, place))


def exposure(
    ledger: Ledger, excursion: Excursion, *, location: Location | str | None = None
) -> Exposure:
    """The stock present at the excursion's place during any of its runs out of range.

    ``location`` (default: the excursion's) is the place: it and everything below it.
    """
    place = (
        excursion.location
        if location is None
        else (Location.parse(location) if isinstance(location, str) else location)
    )
    head = ledger.head()
    recorded = ledger.history(location=place, up_to_position=head.position)
    recorded.sort(key=lambda r: (r.movement.occurred_at, r.position))
    intervals = excursion.intervals
    by_item: dict[ItemKey, list[RecordedMovement]] = {}
    for r in recorded:
        by_item.setdefault(r.movement.item, []).append(r)
    found = []
    for item in sorted(by_item, key=ItemKey.sort_key):
        stock = _exposed(item, by_item[item], intervals, place)
        if stock is not None:
            found.append(stock)
    return Exposure(
        excursion=excursion, location=place, head_position=head.position, stock=tuple(found)
    )


def _exposed(
    item: ItemKey, movements: list[RecordedMovement], intervals: Iterable[Interval], place: Location
) -> ExposedStock | None:
    nets = [(r.movement.occurred_at, _net(r, place)) for r in movements]
    first: pendulum.DateTime | None = None
    most = 0
    for interval in intervals:
        start, end = interval.start, interval.end
        balance = sum(q for at, q in nets if at < start)
        seen = start if balance > 0 else None
        peak = max(balance, 0)
        for at, q in nets:
            if at < start:
                continue
            if end is not None and at >= end:
                break
            balance += q
            if balance > 0:
                seen = at if seen is None else seen
                peak = max(peak, balance)
        if seen is not None:
            first = seen if first is None or seen < first else first
            most = max(most, peak)
    if first is None:
        return None
    on_site = sum(_net(r, place) for r in movements)
    departures = tuple(
        Departure(
            movement_id=r.movement.id,
            kind=r.movement.kind,
            quantity=-_net(r, place),
            occurred_at=r.movement.occurred_at,
            to_location=r.movement.to_location,
            counterparty=None if r.movement.counterparty is None else str(r.movement.counterparty),
        )
        for r in movements
        if r.movement.occurred_at >= first and _net(r, place) < 0
    )
    return ExposedStock(
        item=item, exposed_from=first, most_present=most, on_site=on_site, departures=departures
    )


# --------------------------------------------------------------------------- hold and release


@attrs.frozen(kw_only=True)
class HoldPlan:
    """The items an excursion's exposure puts on HOLD at its place (nothing posted yet)."""

    excursion_id: str
    location: Location
    items: tuple[ItemKey, ...]

    @property
    def operation(self) -> str:
        """The operation id the hold's movement ids derive from (so a re-run adds nothing)."""
        return f"coldchain/{self.excursion_id}"

    @property
    def reference(self) -> str:
        """The reference written on every hold movement (how a release finds them)."""
        return f"excursion:{self.excursion_id}"


def hold_plan(found: Exposure) -> HoldPlan:
    """The plan to hold the exposed stock still on site."""
    return HoldPlan(
        excursion_id=found.excursion.id,
        location=found.location,
        items=tuple(s.item for s in found.on_site),
    )


def apply_hold_plan(
    ledger: Ledger, plan: HoldPlan, *, actor: str, occurred_at: dt.datetime | str
) -> list[StatusChangeResult]:
    """Put each planned item's AVAILABLE stock at the plan's place on HOLD.

    Idempotent: the movement ids derive from the excursion, so running the plan
    again posts nothing for stock already held (see
    [`hold`][medinv.services.hold]).
    """
    return [
        hold(
            ledger,
            StockTarget.of_item(item),
            operation=plan.operation,
            reason=f"{_HOLD_REASON} {plan.excursion_id}",
            actor=actor,
            occurred_at=occurred_at,
            reference=plan.reference,
            within=plan.location,
        )
        for item in plan.items
    ]


def decide(store: ColdChainStore, decision: QualityDecision) -> bool:
    """Record a quality decision on a stored, closed excursion.

    Raises:
        QualityDecisionError: the excursion is not stored, or has another decision.
        ExcursionOpenError: the excursion is still in progress.
    """
    stored = store.excursion(decision.excursion_id)
    if stored is None:
        raise QualityDecisionError(f"no excursion {decision.excursion_id!r} is stored")
    if stored.is_open:
        raise ExcursionOpenError(stored.id)
    return store.record_decision(decision)


def release_exposed(
    ledger: Ledger,
    store: ColdChainStore,
    excursion_id: str,
    *,
    actor: str,
    occurred_at: dt.datetime | str,
    retries: int = 5,
) -> tuple[Movement, ...]:
    """Release what an excursion's hold plan put on HOLD, on a RELEASE decision.

    Exactly the units the plan's holds moved (movements with the plan's reference),
    per item and location, go back to AVAILABLE, never more than is still on HOLD
    there: stock held for another reason stays held. One batch; running it again
    posts nothing.

    Returns:
        The status changes posted (empty when nothing was left to release).

    Raises:
        ExcursionOpenError: the excursion is still in progress.
        QualityDecisionError: no stored excursion, no decision, or a REJECT decision.
        ConcurrencyError: the ledger kept moving through every retry; nothing was posted.
    """
    stored, decision = _release_decision(store, excursion_id)
    plan = HoldPlan(excursion_id=excursion_id, location=stored.location, items=())
    reason = f"quality release of {excursion_id}: {decision.reason}"

    def once() -> tuple[Movement, ...]:
        head = ledger.head()
        owed, done = _still_held(ledger, plan.reference)
        batch: list[Movement] = []
        for (item, place), quantity in sorted(
            owed.items(), key=lambda kv: (kv[0][0].sort_key(), kv[0][1].path)
        ):
            on_hold = sum(
                p.quantity
                for p in ledger.positions(item, location=place, status=StockStatus.HOLD)
                if p.location.path == place.path and p.item == item
            )
            if min(quantity, on_hold) > 0:
                batch.append(
                    Movement.status_change(
                        f"{plan.operation}/release/{done + len(batch) + 1}",
                        item=item,
                        quantity=min(quantity, on_hold),
                        at=place,
                        from_status=StockStatus.HOLD,
                        to_status=StockStatus.AVAILABLE,
                        occurred_at=occurred_at,
                        actor=actor,
                        reason=reason,
                        reference=plan.reference,
                    )
                )
        if batch:
            ledger.post(batch, expected_position=head.position)
        return tuple(batch)

    return retry_lost_races(once, retries)


def _release_decision(
    store: ColdChainStore, excursion_id: str
) -> tuple[Excursion, QualityDecision]:
    """The closed excursion and its RELEASE decision, or the error saying what is missing."""
    stored = store.excursion(excursion_id)
    if stored is None:
        raise QualityDecisionError(f"no excursion {excursion_id!r} is stored")
    if stored.is_open:
        raise ExcursionOpenError(excursion_id)
    decision = store.decision(excursion_id)
    if decision is None:
        msg = f"excursion {excursion_id!r} has no quality decision: record one first (two people)"
        raise QualityDecisionError(msg)
    if decision.verdict is not Verdict.RELEASE:
        msg = f"excursion {excursion_id!r}: quality decided {decision.verdict.value}, not RELEASE"
        raise QualityDecisionError(msg)
    return stored, decision


def _still_held(ledger: Ledger, reference: str) -> tuple[dict[tuple[ItemKey, Location], int], int]:
    """What a plan's holds moved and its releases have not given back, and the releases posted.

    The first is per item and place; the second counts the release movements so far.
    """
    owed: dict[tuple[ItemKey, Location], int] = {}
    done = 0
    for r in ledger.history(reference=reference, kind=MovementKind.STATUS_CHANGE):
        m = r.movement
        assert m.to_location is not None  # noqa: S101  (a status change has both sides)
        key = (m.item, m.to_location)
        if m.to_status is StockStatus.HOLD:
            owed[key] = owed.get(key, 0) + m.quantity
        elif m.from_status is StockStatus.HOLD and m.to_status is StockStatus.AVAILABLE:
            owed[key] = owed.get(key, 0) - m.quantity
            done += 1
    return owed, done
