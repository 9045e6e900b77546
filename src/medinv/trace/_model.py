"""The values a trace answers with: steps, holdings, flows and the mass balance.

None of them carries free text of a movement (its reference, reason or business
references) nor anything read from the catalogue: a patient appears only as the
pseudonymous [`PartyRef`][medinv.catalogue.PartyRef] a movement's counterparty holds.
"""

from __future__ import annotations

import enum

import attrs
import pendulum

from medinv.catalogue import PartyKind, PartyRef
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.status import StockStatus
from medinv.trace._subject import TraceSubject

__all__ = [
    "BackwardTrace",
    "Flow",
    "FlowKind",
    "ForwardTrace",
    "Holding",
    "MassBalance",
    "PartyFlow",
    "PointInTime",
    "Reached",
    "TraceStep",
]


@attrs.frozen(kw_only=True)
class TraceStep:
    """One movement of a traced subject, without its free text.

    ``effective_kind`` is what the movement does to the subject's account: its own
    kind, or for a reversal the kind of the movement it undoes (``undoes`` is then
    ``True``: its quantity counts against that kind).
    """

    position: int
    """Its ledger position (the order it was recorded in)."""
    movement_id: str
    """The movement's id."""
    kind: MovementKind
    """The movement's own kind."""
    effective_kind: MovementKind
    """Its kind, or the reversed movement's kind for a reversal."""
    undoes: bool
    """Whether it is a reversal (its quantity counts against ``effective_kind``)."""
    reverses: str | None
    """For a reversal: the id of the movement it undoes."""
    item: ItemKey
    """The item moved (a unit of the subject)."""
    quantity: int
    """How many units (always positive)."""
    occurred_at: pendulum.DateTime
    """When it happened (business time)."""
    recorded_at: pendulum.DateTime
    """When the ledger stored it."""
    from_location: Location | None
    """Where it came from (``None``: from outside the ledger)."""
    from_status: StockStatus | None
    """The status it left."""
    to_location: Location | None
    """Where it went (``None``: out of the ledger)."""
    to_status: StockStatus | None
    """The status it went into."""
    counterparty: PartyRef | None
    """Who it was with (a patient only by pseudonymous reference)."""

    @property
    def signed_quantity(self) -> int:
        """The quantity as it counts for ``effective_kind``: negative for a reversal."""
        return -self.quantity if self.undoes else self.quantity


@attrs.frozen(kw_only=True)
class Holding:
    """A non-zero quantity of one item at one location in one status."""

    item: ItemKey
    """The item (a unit of the subject)."""
    location: Location
    """Where it is (the exact location)."""
    status: StockStatus
    """In which status."""
    quantity: int
    """How many units; negative only in a point-in-time answer whose record, as known
    at that position, holds an exit whose entry was recorded later."""


@attrs.frozen(kw_only=True)
class MassBalance:
    """Where every unit of a subject went, summed over its movements (reversals net out).

    Received (receipts) plus returned (returns) plus adjusted (net adjustments) equals
    on hand plus consumed plus distributed (issues) plus scrapped, at every ledger
    position: [`balances`][medinv.trace.MassBalance.balances] checks it.
    """

    received: int
    """Received from outside (receipts, less reversed receipts)."""
    returned: int
    """Returned into the ledger's locations (returns, less reversed returns)."""
    adjusted: int
    """Net adjustments: found minus missing."""
    on_hand: int
    """In the ledger's locations now, in every status."""
    consumed: int
    """Used on patients or in procedures."""
    distributed: int
    """Issued out of the ledger (customers, other organisations, untracked wards)."""
    scrapped: int
    """Destroyed."""

    @property
    def balances(self) -> bool:
        """Whether received = on hand + consumed + distributed + scrapped - returned - adjusted."""
        return self.received == (
            self.on_hand
            + self.consumed
            + self.distributed
            + self.scrapped
            - self.returned
            - self.adjusted
        )


class FlowKind(enum.Enum):
    """What a flow counts: a location, or a site (the first segment of a location's path)."""

    LOCATION = "LOCATION"
    SITE = "SITE"

    __hash__ = object.__hash__


@attrs.frozen(kw_only=True)
class Flow:
    """How much of a subject entered and left one location (exact) or one site.

    A status change stays in place and a transfer inside a site does not cross the
    site: neither counts for the site. Reversals count against the movement they undo.
    """

    kind: FlowKind
    """A location or a site."""
    place: Location
    """The location, or the site as a one-segment location."""
    entered: int
    """Units that came in (receipts, returns, transfers in, adjustments found)."""
    left: int
    """Units that went out (transfers out, issues, consumptions, scraps, adjustments missing)."""
    first_at: pendulum.DateTime
    """When the first movement counted here occurred."""
    last_at: pendulum.DateTime
    """When the last one occurred."""

    @property
    def net(self) -> int:
        """Entered minus left: what the subject holds there (every status)."""
        return self.entered - self.left


@attrs.frozen(kw_only=True)
class PartyFlow:
    """What a subject did with one counterparty: sent to it and received from it."""

    party: PartyRef
    """The counterparty (a patient only by pseudonymous reference)."""
    sent: int
    """Units that went to it: issues, consumptions, scraps and transfers with it."""
    received: int
    """Units that came from it: receipts and returns with it."""
    consumed: int
    """Of ``sent``, those consumed (on a patient or in a procedure)."""
    first_at: pendulum.DateTime
    """When the first movement with it occurred."""
    last_at: pendulum.DateTime
    """When the last one occurred."""

    @property
    def net(self) -> int:
        """Sent minus received: what it still has of the subject, as the ledger knows it."""
        return self.sent - self.received


@attrs.frozen(kw_only=True)
class ForwardTrace:
    """Where a lot or serial is and where it went, as known at ledger position ``known_at``."""

    subject: TraceSubject
    """What was traced."""
    known_at: int
    """The ledger position the answer describes (movements recorded up to it)."""
    movements: int
    """How many movements of the subject there are."""
    first_at: pendulum.DateTime | None
    """When its first movement occurred (``None``: none)."""
    last_at: pendulum.DateTime | None
    """When its last movement occurred."""
    holdings: tuple[Holding, ...]
    """Where it is now, by item, location and status (sorted)."""
    locations: tuple[Flow, ...]
    """Every location it entered or left (sorted by path)."""
    sites: tuple[Flow, ...]
    """Every site it entered or left (sorted)."""
    parties: tuple[PartyFlow, ...]
    """Every counterparty of its movements (sorted by kind and id)."""
    balance: MassBalance
    """The totals, which balance."""

    def parties_of(self, kind: PartyKind) -> tuple[PartyFlow, ...]:
        """The counterparties of one kind: patients, departments, customers, sites, suppliers."""
        return tuple(flow for flow in self.parties if flow.party.kind is kind)

    def on_hand_within(self, location: Location) -> int:
        """Units held at ``location`` or anywhere below it, in every status."""
        return sum(h.quantity for h in self.holdings if h.location.is_within(location))


@attrs.frozen(kw_only=True)
class PointInTime:
    """Where a subject was at instant ``at``, as known at ledger position ``known_at``."""

    subject: TraceSubject
    """What was traced."""
    at: pendulum.DateTime | None
    """The instant: movements that occurred before it count (``None``: all of them)."""
    known_at: int
    """The ledger position: movements recorded after it are not counted."""
    holdings: tuple[Holding, ...]
    """Where it was, by item, location and status (sorted)."""
    late: tuple[TraceStep, ...]
    """Movements recorded after ``known_at`` that occurred before ``at``: backdated as
    seen from ``known_at`` (empty when ``known_at`` is the head)."""

    def quantity_within(self, location: Location, status: StockStatus | None = None) -> int:
        """Units at ``location`` or anywhere below it (in ``status``, or in every status)."""
        return sum(
            h.quantity
            for h in self.holdings
            if h.location.is_within(location) and (status is None or h.status is status)
        )


@attrs.frozen(kw_only=True)
class Reached:
    """One item that reached a party or a location subtree within a period."""

    item: ItemKey
    """The item (device, lot, serial)."""
    reached: int
    """Units that went to it (into the subtree, or to the party)."""
    left: int
    """Units that came back out of it (out of the subtree, or from the party)."""
    first_at: pendulum.DateTime
    """When the first such movement occurred."""
    last_at: pendulum.DateTime
    """When the last one occurred."""


@attrs.frozen(kw_only=True)
class BackwardTrace:
    """Which lots and serials reached a party or a location subtree over a period."""

    party: PartyRef | None
    """The party traced back from, or ``None``."""
    location: Location | None
    """The location subtree traced back from, or ``None``."""
    occurred_from: pendulum.DateTime | None
    """Start of the period (inclusive; ``None``: from the beginning)."""
    occurred_to: pendulum.DateTime | None
    """End of the period (exclusive; ``None``: to now)."""
    known_at: int
    """The ledger position the answer describes."""
    items: tuple[Reached, ...]
    """Per item, sorted by item."""
