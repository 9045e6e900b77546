"""What a party received: a patient, a department, a customer, or a procedure by its reference.

[`received`][medinv.services.party_receipts.received] reads, through the store's index
of movements by counterparty and business reference, the movements with one party
or for one document, and nets them per item:

| movement                         | counts as |
|----------------------------------|-----------|
| `ISSUE`, `CONSUMPTION`           | given: `+quantity` |
| `RETURN`                         | given back: `-quantity` |
| `REVERSAL` of one of those       | undoes it: the opposite sign |
| any other kind                   | not counted (a `RECEIPT` from a supplier is what the party *gave*; a `TRANSFER` stays inside the ledger's locations) |

A reversal is counted with the party or document of the movement it undoes: it
carries them (see [`Movement.reversal`][medinv.movements.Movement.reversal]).

```pycon
>>> from medinv import ItemKey, Ledger, Location, Movement
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.services import received
>>> ledger = Ledger(MemoryStore())
>>> at, item, shelf = "2026-11-23T09:00:00+01:00", ItemKey("04006381333931", lot="L7"), Location.parse("CHU/OR-1")
>>> _ = ledger.post([
...     Movement.receipt("r1", item=item, quantity=5, to=shelf, occurred_at=at, actor="dock"),
...     Movement.consumption("c1", item=item, quantity=2, source=shelf, occurred_at=at,
...                          actor="rn", counterparty="PATIENT:P-000123",
...                          business_references=["procedure:OP-77"]),
...     Movement.return_("b1", item=item, quantity=1, to=shelf, occurred_at=at, actor="rn",
...                      counterparty="PATIENT:P-000123"),
... ])
>>> got = received(ledger, party="PATIENT:P-000123")
>>> [(line.movement_id, line.quantity) for line in got.lines], got.quantity()
([('c1', 2), ('b1', -1)], 1)
>>> received(ledger, business_reference="procedure:OP-77").quantity(item)
2

```
"""  # noqa: E501  (a table row and a doctest line)

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs
import pendulum

from medinv.catalogue import BusinessReference, Party, PartyRef
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.movements import Movement, MovementKind
from medinv.ports import MovementQuery, RecordedMovement

__all__ = ["PartyReceipts", "ReceivedItem", "ReceivedLine", "received"]

_SIGNS: Final = {
    MovementKind.ISSUE: 1,
    MovementKind.CONSUMPTION: 1,
    MovementKind.RETURN: -1,
}


@attrs.frozen(kw_only=True)
class ReceivedLine:
    """One counted movement: what it gave to (positive) or took back from (negative) the party."""

    movement_id: str
    """The movement's id."""
    kind: MovementKind
    """Its kind."""
    item: ItemKey
    """The item."""
    quantity: int
    """Signed: ``+`` given, ``-`` given back or undone."""
    occurred_at: pendulum.DateTime
    """When it happened."""
    position: int
    """Its ledger position."""


@attrs.frozen(kw_only=True)
class ReceivedItem:
    """The net quantity of one item, and the first and last date it moved."""

    item: ItemKey
    """The item (GTIN or other DI, lot, serial)."""
    quantity: int
    """Net quantity received (0 when all of it came back)."""
    first_at: pendulum.DateTime
    """The first counted movement of the item."""
    last_at: pendulum.DateTime
    """The last counted movement of the item."""


@attrs.frozen(kw_only=True)
class PartyReceipts:
    """What a party received, or what was used for a document: per movement and per item."""

    lines: tuple[ReceivedLine, ...]
    """Every counted movement, in ledger order."""
    items: tuple[ReceivedItem, ...]
    """Net per item, in the order each item first appears."""

    def quantity(self, item: ItemKey | None = None) -> int:
        """The net quantity received of ``item`` (of every item: ``None``)."""
        return sum(line.quantity for line in self.lines if item is None or line.item == item)


def received(
    ledger: Ledger,
    *,
    party: PartyRef | Party | str | None = None,
    business_reference: BusinessReference | str | None = None,
    since: dt.datetime | str | None = None,
    until: dt.datetime | str | None = None,
) -> PartyReceipts:
    """What ``party`` received, or what went out for ``business_reference`` (or both at once).

    Read through the store's index of movements by counterparty and by business
    reference: the cost follows the party's movements, not the ledger's size.
    ``since`` (inclusive) and ``until`` (exclusive) bound the movements'
    ``occurred_at``.

    Raises:
        InvalidValueError: neither a party nor a business reference is given, one
            of them is malformed, or a bound is not an aware date-time.
    """
    if party is None and business_reference is None:
        raise InvalidValueError("say whose receipts: give a party, a business reference or both")
    query = MovementQuery(counterparty=party, business_reference=business_reference)
    low = None if since is None else to_datetime(since)
    high = None if until is None else to_datetime(until)
    found = list(ledger.store.movements(query))
    kinds = {r.movement.id: r.movement.kind for r in found}
    missing = [
        m.reverses
        for m in (r.movement for r in found)
        if m.reverses is not None and m.reverses not in kinds
    ]
    if missing:
        stored = ledger.store.movements_by_id(missing)
        kinds.update({mid: r.movement.kind for mid, r in stored.items()})
    lines = [line for recorded in found if (line := _line(recorded, kinds, low, high)) is not None]
    return PartyReceipts(lines=tuple(lines), items=_per_item(lines))


def _line(
    recorded: RecordedMovement,
    kinds: dict[str, MovementKind],
    low: pendulum.DateTime | None,
    high: pendulum.DateTime | None,
) -> ReceivedLine | None:
    m: Movement = recorded.movement
    if (low is not None and m.occurred_at < low) or (high is not None and m.occurred_at >= high):
        return None
    if m.reverses is None:
        sign = _SIGNS.get(m.kind, 0)
    else:
        original = kinds.get(m.reverses)
        sign = 0 if original is None else -_SIGNS.get(original, 0)
    if not sign:
        return None
    return ReceivedLine(
        movement_id=m.id,
        kind=m.kind,
        item=m.item,
        quantity=sign * m.quantity,
        occurred_at=m.occurred_at,
        position=recorded.position,
    )


def _per_item(lines: list[ReceivedLine]) -> tuple[ReceivedItem, ...]:
    totals: dict[ItemKey, ReceivedItem] = {}
    for line in lines:
        known = totals.get(line.item)
        if known is None:
            totals[line.item] = ReceivedItem(
                item=line.item,
                quantity=line.quantity,
                first_at=line.occurred_at,
                last_at=line.occurred_at,
            )
        else:
            totals[line.item] = attrs.evolve(
                known,
                quantity=known.quantity + line.quantity,
                first_at=min(known.first_at, line.occurred_at),
                last_at=max(known.last_at, line.occurred_at),
            )
    return tuple(totals.values())
