"""Summing a subject's steps into where it is, where it went and its mass balance.

One pass, in position order; what is kept grows with the number of places,
parties and items the subject touched, never with its number of movements.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final, TypeVar

import attrs
import pendulum

from medinv.catalogue import PartyRef
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.status import StockStatus
from medinv.trace._model import Flow, FlowKind, Holding, MassBalance, PartyFlow, TraceStep

__all__ = ["Account", "holdings_of", "original_sides"]

_K = MovementKind
_CATEGORY: Final = {
    _K.RECEIPT: "received",
    _K.RETURN: "returned",
    _K.ADJUSTMENT: "adjusted",
    _K.ISSUE: "distributed",
    _K.CONSUMPTION: "consumed",
    _K.SCRAP: "scrapped",
}
_FROM_PARTY: Final = frozenset({_K.RECEIPT, _K.RETURN})
_TO_PARTY: Final = frozenset({_K.ISSUE, _K.CONSUMPTION, _K.SCRAP, _K.TRANSFER})

HoldingKey = tuple[ItemKey, Location, StockStatus]
_Key = TypeVar("_Key")


def original_sides(step: TraceStep) -> tuple[Location | None, Location | None]:
    """Source and destination in the direction of the movement the step counts for.

    A reversal goes the other way from the movement it undoes; its quantity then
    counts negative in that movement's direction.
    """
    if step.undoes:
        return step.to_location, step.from_location
    return step.from_location, step.to_location


def holdings_of(balances: dict[HoldingKey, int]) -> tuple[Holding, ...]:
    """The non-zero balances as holdings, sorted by item, location and status."""
    found = [
        Holding(item=item, location=location, status=status, quantity=quantity)
        for (item, location, status), quantity in balances.items()
        if quantity
    ]
    found.sort(key=lambda h: (h.item.sort_key(), h.location.path, h.status.value))
    return tuple(found)


def add_deltas(balances: dict[HoldingKey, int], step: TraceStep) -> None:
    """Apply a step's effect on balances: out of its source, into its destination."""
    if step.from_location is not None and step.from_status is not None:
        balances[step.item, step.from_location, step.from_status] -= step.quantity
    if step.to_location is not None and step.to_status is not None:
        balances[step.item, step.to_location, step.to_status] += step.quantity


@attrs.define
class _Tally:
    """A flow being summed: entered (or sent), left (or received), consumed, dates."""

    first_at: pendulum.DateTime
    last_at: pendulum.DateTime
    into: int = 0
    out: int = 0
    consumed: int = 0

    def seen(self, at: pendulum.DateTime) -> None:
        self.first_at = min(self.first_at, at)
        self.last_at = max(self.last_at, at)


def _tally(tallies: dict[_Key, _Tally], key: _Key, at: pendulum.DateTime) -> _Tally:
    found = tallies.get(key)
    if found is None:
        found = tallies[key] = _Tally(first_at=at, last_at=at)
    else:
        found.seen(at)
    return found


def _cross(
    tallies: dict[_Key, _Tally],
    source: _Key | None,
    target: _Key | None,
    quantity: int,
    at: pendulum.DateTime,
) -> None:
    """Count ``quantity`` out of ``source`` and into ``target`` (either may be outside)."""
    if target is not None:
        _tally(tallies, target, at).into += quantity
    if source is not None:
        _tally(tallies, source, at).out += quantity


class Account:
    """A subject's steps summed: balances, flows per location, site and party, categories."""

    def __init__(self) -> None:
        self.balances: dict[HoldingKey, int] = defaultdict(int)
        self.totals: dict[str, int] = dict.fromkeys(_CATEGORY.values(), 0)
        self.count = 0
        self.first_at: pendulum.DateTime | None = None
        self.last_at: pendulum.DateTime | None = None
        self._locations: dict[Location, _Tally] = {}
        self._sites: dict[str, _Tally] = {}
        self._parties: dict[PartyRef, _Tally] = {}

    def add(self, step: TraceStep) -> None:
        """Count one step (steps come in position order)."""
        at = step.occurred_at
        self.count += 1
        if self.first_at is None or at < self.first_at:
            self.first_at = at
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        add_deltas(self.balances, step)
        quantity = step.signed_quantity
        kind = step.effective_kind
        source, target = original_sides(step)
        category = _CATEGORY.get(kind)
        if category is not None:
            # An adjustment counts found units positive and missing ones negative.
            missing = kind is _K.ADJUSTMENT and target is None
            self.totals[category] += -quantity if missing else quantity
        if source != target:
            _cross(self._locations, source, target, quantity, at)
            source_site = None if source is None else source.path[0]
            target_site = None if target is None else target.path[0]
            if source_site != target_site:
                _cross(self._sites, source_site, target_site, quantity, at)
        party = step.counterparty
        if party is not None and (kind in _FROM_PARTY or kind in _TO_PARTY):
            tally = _tally(self._parties, party, at)
            if kind in _FROM_PARTY:
                tally.out += quantity
            else:
                tally.into += quantity
                tally.consumed += quantity if kind is _K.CONSUMPTION else 0

    def balance(self) -> MassBalance:
        """The totals so far."""
        totals = self.totals
        return MassBalance(
            received=totals["received"],
            returned=totals["returned"],
            adjusted=totals["adjusted"],
            on_hand=sum(self.balances.values()),
            consumed=totals["consumed"],
            distributed=totals["distributed"],
            scrapped=totals["scrapped"],
        )

    def locations(self) -> tuple[Flow, ...]:
        """The location flows, sorted by path."""
        return tuple(
            _flow(FlowKind.LOCATION, place, tally)
            for place, tally in sorted(self._locations.items(), key=lambda kv: kv[0].path)
        )

    def sites(self) -> tuple[Flow, ...]:
        """The site flows, sorted by site."""
        return tuple(
            _flow(FlowKind.SITE, Location((site,)), tally)
            for site, tally in sorted(self._sites.items())
        )

    def parties(self) -> tuple[PartyFlow, ...]:
        """The party flows, sorted by kind and id."""
        return tuple(
            PartyFlow(
                party=party,
                sent=tally.into,
                received=tally.out,
                consumed=tally.consumed,
                first_at=tally.first_at,
                last_at=tally.last_at,
            )
            for party, tally in sorted(
                self._parties.items(), key=lambda kv: (kv[0].kind.value, kv[0].id)
            )
        )


def _flow(kind: FlowKind, place: Location, tally: _Tally) -> Flow:
    return Flow(
        kind=kind,
        place=place,
        entered=tally.into,
        left=tally.out,
        first_at=tally.first_at,
        last_at=tally.last_at,
    )
