"""Reconcile one lot: a pure fold over its recorded movements (and the parties' responses).

[`reconcile_lot`][medinv.recall.reconcile_lot] reads nothing: it takes the
movements of one lot (or one serialised unit) in ledger order and folds them into
where the units went:

- ``received``: RECEIPT movements; ``returned``: RETURN movements, per party;
- ``on_hand``: what the movements leave in the ledger's locations, per status;
- ``consumed``: CONSUMPTION movements per pseudonymous patient reference;
- ``distributed``: ISSUE movements per party (customers, sites, departments
  outside the ledger's locations);
- ``scrapped``: SCRAP movements;
- ``written_off``: adjustments out less adjustments in (stock lost from the
  book without a destination; negative when more was found than lost).

A REVERSAL takes back exactly what the movement it reverses added. The figures
balance on every prefix of a lot's history::

    received == on hand + consumed + distributed + scrapped - returned + written_off

**Unaccounted** units are the units written off, plus, per party stock was
distributed to, the units neither returned (a RETURN movement with that party as
counterparty) nor reported on hand or destroyed in its latest
[`Response`][medinv.recall.Response]. The **effectiveness** is the share of
distributed units accounted for (``None`` when nothing was distributed).

Consumptions are keyed by the patient counterparty's pseudonym, or by the
movement's reference when that reads as a pseudonym; any other reference text
is never copied out (it is counted under ``"(no patient reference)"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Final, Protocol

import attrs

from medinv.catalogue import PartyKind, PartyRef
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

__all__ = ["NO_PATIENT", "UNKNOWN_PARTY", "LotReconciliation", "lot_of", "reconcile_lot"]

UNKNOWN_PARTY: Final = "(unknown party)"
"""The key of units issued or returned without a counterparty."""
NO_PATIENT: Final = "(no patient reference)"
"""The key of units consumed without a pseudonymous patient reference."""

Counts = tuple[tuple[str, int], ...]
"""Quantities per key, sorted by key, zeros left out."""


class _Recorded(Protocol):
    @property
    def movement(self) -> Movement: ...


class _Reported(Protocol):
    @property
    def party(self) -> PartyRef: ...
    @property
    def on_hand(self) -> int: ...
    @property
    def destroyed(self) -> int: ...


def lot_of(item: ItemKey) -> ItemKey:
    """The key a unit is reconciled under: its device and lot, or the serial item without a lot."""
    if item.lot is not None:
        return ItemKey(item.device, lot=item.lot)
    return item


def _of(key: ItemKey, item: ItemKey) -> bool:
    """Whether ``item`` belongs to ``key``: a lot (every serial of it) or one serial (any lot)."""
    if key.serial is not None:
        return item.device == key.device and item.serial == key.serial
    return lot_of(item) == key


def _counts(values: Mapping[str, int]) -> Counts:
    return tuple(sorted((k, v) for k, v in values.items() if v))


def _total(counts: Counts) -> int:
    return sum(v for _, v in counts)


@attrs.frozen(kw_only=True)
class LotReconciliation:
    """Where the units of one lot (or serialised unit) went, and what is unaccounted."""

    item: ItemKey
    """The lot (device and lot) or the serialised unit without a lot."""
    received: int
    returned: int
    returned_by: Counts
    """Returned units per party key (``KIND:id``)."""
    on_hand: tuple[tuple[StockStatus, int], ...]
    """Units in the ledger's locations per status (sorted by status name)."""
    consumed: Counts
    """Consumed units per pseudonymous patient reference."""
    distributed: Counts
    """Issued units per party key."""
    scrapped: int
    written_off: int
    """Adjusted out less adjusted in."""
    reported: Counts
    """Units each party reports on hand or destroyed (latest response)."""
    outstanding: Counts
    """Per party: distributed units neither returned nor reported."""

    @property
    def on_hand_total(self) -> int:
        return sum(v for _, v in self.on_hand)

    @property
    def consumed_total(self) -> int:
        return _total(self.consumed)

    @property
    def distributed_total(self) -> int:
        return _total(self.distributed)

    @property
    def unaccounted(self) -> int:
        """Units written off plus the parties' outstanding units."""
        return max(self.written_off, 0) + _total(self.outstanding)

    @property
    def effectiveness(self) -> Fraction | None:
        """The share of distributed units accounted for; ``None`` if none was distributed."""
        distributed = self.distributed_total
        if not distributed:
            return None
        return Fraction(distributed - _total(self.outstanding), distributed)


def _patient(movement: Movement) -> str:
    party = movement.counterparty
    if party is not None and party.kind is PartyKind.PATIENT:
        return party.id
    if movement.reference is not None:
        try:
            return PartyRef(kind=PartyKind.PATIENT, id=movement.reference).id
        except InvalidValueError:
            pass
    return NO_PATIENT


def _party(movement: Movement) -> str:
    party = movement.counterparty
    return UNKNOWN_PARTY if party is None else str(party)


_Effect = tuple[str, str, int]
"""What a movement adds to a figure: (figure, key, units)."""


def _effects(  # noqa: PLR0911  (one return per kind)
    movement: Movement, done: Mapping[str, tuple[_Effect, ...]]
) -> tuple[_Effect, ...]:
    kind, q = movement.kind, movement.quantity
    if kind is MovementKind.RECEIPT:
        return (("received", "", q),)
    if kind is MovementKind.RETURN:
        return (("returned", _party(movement), q),)
    if kind is MovementKind.ISSUE:
        return (("distributed", _party(movement), q),)
    if kind is MovementKind.CONSUMPTION:
        return (("consumed", _patient(movement), q),)
    if kind is MovementKind.SCRAP:
        return (("scrapped", "", q),)
    if kind is MovementKind.ADJUSTMENT:
        return (("written_off", "", -q if movement.to_location is not None else q),)
    if kind is MovementKind.REVERSAL and movement.reverses is not None:
        return tuple((f, k, -n) for f, k, n in done.get(movement.reverses, ()))
    return ()


def reconcile_lot(
    item: ItemKey,
    movements: Iterable[_Recorded],
    *,
    responses: Iterable[_Reported] = (),
) -> LotReconciliation:
    """Fold one lot's recorded movements (ledger order) and its parties' latest responses.

    Args:
        item: the lot reconciled (every serial of it included), as
            [`lot_of`][medinv.recall.lot_of] keys it; or one serialised unit
            (device and serial: its movements whatever lot they carry).
        movements: its recorded movements (anything with a ``movement``), oldest first;
            a reversal must come after the movement it reverses.
        responses: the latest response of each party for this item (see
            [`CampaignRecord.latest_responses`][medinv.recall.CampaignRecord.latest_responses]).

    Raises:
        InvalidValueError: a movement of another item.
    """
    key = ItemKey(item.device, serial=item.serial) if item.serial is not None else lot_of(item)
    figures: dict[str, dict[str, int]] = {
        "received": {},
        "returned": {},
        "distributed": {},
        "consumed": {},
        "scrapped": {},
        "written_off": {},
    }
    on_hand: dict[StockStatus, int] = {}
    done: dict[str, tuple[_Effect, ...]] = {}
    for recorded in movements:
        movement = recorded.movement
        if not _of(key, movement.item):
            msg = f"movement {movement.id!r} is of {movement.item}, not of {key}"
            raise InvalidValueError(msg)
        effects = _effects(movement, done)
        done[movement.id] = effects
        for figure, name, units in effects:
            bucket = figures[figure]
            bucket[name] = bucket.get(name, 0) + units
        for _location, status, delta in movement.deltas():
            on_hand[status] = on_hand.get(status, 0) + delta
    reported: dict[str, int] = {}
    for response in responses:
        name = str(response.party)
        reported[name] = reported.get(name, 0) + response.on_hand + response.destroyed
    returned_by = figures["returned"]
    outstanding = {
        party: max(units - returned_by.get(party, 0) - reported.get(party, 0), 0)
        for party, units in figures["distributed"].items()
    }
    return LotReconciliation(
        item=key,
        received=sum(figures["received"].values()),
        returned=sum(returned_by.values()),
        returned_by=_counts(returned_by),
        on_hand=tuple(sorted(((s, n) for s, n in on_hand.items() if n), key=lambda p: p[0].value)),
        consumed=_counts(figures["consumed"]),
        distributed=_counts(figures["distributed"]),
        scrapped=sum(figures["scrapped"].values()),
        written_off=sum(figures["written_off"].values()),
        reported=_counts(reported),
        outstanding=_counts(outstanding),
    )
