"""Run a recall campaign through the ledger: quarantine, arrivals, exposure, reconciliation, close.

The campaign itself is kept in a [`RecallStore`][medinv.recall.RecallStore]
(``store.recalls``); these functions read the ledger and the campaign and post
through the ledger only what a recall moves: the status changes into
``RECALLED``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fractions import Fraction

import attrs
import pendulum

from medinv.catalogue import PartyKind, PartyRef
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey, Lot
from medinv.journal import RecordedMovement
from medinv.ledger import Ledger
from medinv.movements import Movement, MovementKind
from medinv.recall._model import (
    CampaignRecord,
    Closing,
    RecallCampaign,
    RecallClass,
    RecallDepth,
    RecallScope,
)
from medinv.recall._port import RecallStore
from medinv.recall._reconcile import LotReconciliation, lot_of, reconcile_lot
from medinv.services.lot_status import StatusChangeResult, StockTarget, recall
from medinv.status import StockStatus

__all__ = [
    "Exposure",
    "QuarantineResult",
    "Reconciliation",
    "affected_parties",
    "close_campaign",
    "land_recalled",
    "open_campaign",
    "quarantine",
    "reconcile",
]


def _record(recalls: RecallStore, campaign_id: str) -> CampaignRecord:
    found = recalls.get(campaign_id)
    if found is None:
        raise InvalidValueError(f"no recall campaign {campaign_id!r} in the store")
    return found


def open_campaign(
    recalls: RecallStore,
    campaign_id: str,
    *,
    scope: RecallScope,
    recall_class: RecallClass | str,
    depth: RecallDepth | str,
    opened_at: dt.datetime | str,
    opened_by: str,
    reason: str,
    reference: str | None = None,
) -> CampaignRecord:
    """Open a campaign (idempotent: the same campaign again changes nothing).

    Receipts and returns of its scope whose moment is at or after ``opened_at`` land
    ``RECALLED`` from then on (through [`receive`][medinv.services.receive] and
    [`land_recalled`][medinv.recall.land_recalled]); the stock already there is moved by
    [`quarantine`][medinv.recall.quarantine].

    Raises:
        InvalidValueError: a malformed field, or the id in use by another campaign.
    """
    campaign = RecallCampaign(
        id=campaign_id,
        scope=scope,
        recall_class=recall_class,
        depth=depth,
        opened_at=opened_at,
        opened_by=opened_by,
        reason=reason,
        reference=reference,
    )
    recalls.open(campaign)
    return _record(recalls, campaign.id)


# --------------------------------------------------------------------------- quarantine


@attrs.frozen(kw_only=True)
class QuarantineResult:
    """What one quarantine run moved into ``RECALLED`` (and what it could not judge)."""

    campaign_id: str
    runs: tuple[StatusChangeResult, ...]
    """One lot-wide recall per target (the lots together, or each serial)."""
    undetermined: tuple[ItemKey, ...]
    """Lots of a production-range scope whose production date is known nowhere."""

    @property
    def quantity(self) -> int:
        """Units moved into ``RECALLED`` by this run (0 on a re-run with nothing new)."""
        return sum(run.quantity for run in self.runs)

    @property
    def movement_ids(self) -> tuple[str, ...]:
        """The ids of the status changes this run posted."""
        return tuple(m.movement_id for run in self.runs for m in run.moved)


def _targets(scope: RecallScope) -> list[StockTarget]:
    if scope.serials:
        return [StockTarget.of_serial(scope.device, serial) for serial in scope.serials]
    lots = scope.known_lots
    return [StockTarget.of_lots(scope.device, lots)] if lots else []


def _undetermined(ledger: Ledger, scope: RecallScope) -> tuple[ItemKey, ...]:
    if not scope.is_range:
        return ()
    known = {lot for lot, _ in scope.production_dates}
    found: dict[Lot, None] = {}
    for recorded in ledger.history(device=scope.device):
        lot = recorded.movement.item.lot
        if lot is not None and lot not in known:
            found[lot] = None
    return tuple(ItemKey(scope.device, lot=lot) for lot in sorted(found, key=lambda x: x.value))


def quarantine(
    ledger: Ledger,
    recalls: RecallStore,
    campaign_id: str,
    *,
    actor: str,
    occurred_at: dt.datetime | str,
    retries: int = 5,
) -> QuarantineResult:
    """Move all remaining stock of the campaign's scope, everywhere, into ``RECALLED``.

    Reuses the lot-wide [`recall`][medinv.services.recall] with the campaign's
    operation id (``recall/<id>``): movement ids are deterministic, so running it
    again posts nothing, except for stock of the scope that arrived since in
    another status (a raw receipt, a return posted without
    [`land_recalled`][medinv.recall.land_recalled]), which it moves too.

    Raises:
        InvalidValueError: no such campaign, or it is closed.
        StockError: the ledger refused the batch; nothing was posted.
        ConcurrencyError: the ledger kept moving through every retry.
    """
    record = _record(recalls, campaign_id)
    campaign = record.campaign
    if not record.is_open:
        raise InvalidValueError(f"recall campaign {campaign_id!r} is closed")
    runs = tuple(
        recall(
            ledger,
            target,
            operation=campaign.operation,
            reason=f"recall {campaign.id}",
            actor=actor,
            occurred_at=occurred_at,
            reference=campaign.id,
            retries=retries,
        )
        for target in _targets(campaign.scope)
    )
    return QuarantineResult(
        campaign_id=campaign.id, runs=runs, undetermined=_undetermined(ledger, campaign.scope)
    )


_ARRIVING = frozenset({MovementKind.RECEIPT, MovementKind.RETURN})


def land_recalled(recalls: RecallStore, movements: Iterable[Movement]) -> list[Movement]:
    """The movements to post, with arrivals of a recalled scope landing ``RECALLED``.

    A RECEIPT or RETURN whose item an open campaign covers at its ``occurred_at``
    gets ``to_status=RECALLED`` (and the reason ``recall <id>`` if it had none);
    every other movement is returned as given. Call it on what you post through
    [`Ledger.post`][medinv.ledger.Ledger.post] yourself:
    [`receive`][medinv.services.receive] asks the store's campaigns already. A raw
    post that skips it books the arrival in the status it names; the campaign's
    next [`quarantine`][medinv.recall.quarantine] run moves it.
    """
    out = list(movements)
    by_moment: dict[pendulum.DateTime, list[int]] = {}
    for i, m in enumerate(out):
        if m.kind in _ARRIVING and m.to_status is not StockStatus.RECALLED:
            by_moment.setdefault(m.occurred_at, []).append(i)
    for moment, indexes in by_moment.items():
        found = recalls.covering([(out[i].item, None) for i in indexes], moment)
        for i, campaign in zip(indexes, found, strict=True):
            if campaign is not None:
                movement = out[i]
                out[i] = attrs.evolve(
                    movement,
                    to_status=StockStatus.RECALLED,
                    reason=movement.reason or f"recall {campaign}",
                )
    return out


# --------------------------------------------------------------------------- exposure


def _in_scope(ledger: Ledger, scope: RecallScope) -> list[RecordedMovement]:
    """The scope's movements in ledger order (a range scope: its known lots)."""
    found: list[RecordedMovement] = []
    if scope.serials:
        for serial in scope.serials:
            found.extend(ledger.history(device=scope.device, serial=serial))
    else:
        for lot in scope.known_lots:
            found.extend(ledger.history(device=scope.device, lot=lot))
    found.sort(key=lambda r: r.position)
    return found


@attrs.frozen(kw_only=True)
class Exposure:
    """A party or location the scope's stock reached: how much, when, which lots."""

    kind: str
    """The party kind (``DEPARTMENT``, ``CUSTOMER``, ``SITE``, ``PATIENT``, ``SUPPLIER``) or
    ``LOCATION`` for a place in the ledger's locations."""
    key: str
    """``KIND:id`` of a party (a patient by pseudonym only), or a location's path."""
    quantity: int
    """Units that reached it (issued, consumed, transferred or received there)."""
    first: pendulum.DateTime
    last: pendulum.DateTime
    lots: tuple[ItemKey, ...]
    """The lots (or serialised units) that reached it."""


def _reached(movement: Movement) -> list[tuple[str, str]]:
    """Who or where a movement took the stock to: (kind, key) pairs."""
    out: list[tuple[str, str]] = []
    party = movement.counterparty
    if movement.kind is MovementKind.CONSUMPTION:
        pseudonym = _patient_key(movement)
        if pseudonym is not None:
            out.append((PartyKind.PATIENT.value, pseudonym))
        if party is not None and party.kind is not PartyKind.PATIENT:
            out.append((party.kind.value, str(party)))
    elif party is not None and movement.kind not in _ARRIVING:
        out.append((party.kind.value, str(party)))
    if movement.to_location is not None and movement.kind is not MovementKind.STATUS_CHANGE:
        out.append(("LOCATION", str(movement.to_location)))
    return out


def _patient_key(movement: Movement) -> str | None:
    party = movement.counterparty
    if party is not None and party.kind is PartyKind.PATIENT:
        return str(party)
    if movement.reference is not None:
        try:
            return str(PartyRef(kind=PartyKind.PATIENT, id=movement.reference))
        except InvalidValueError:
            return None
    return None


def affected_parties(
    ledger: Ledger, recalls: RecallStore, campaign_id: str
) -> tuple[Exposure, ...]:
    """Departments, customers, sites, patients (by pseudonym) and locations the scope reached.

    Read from the ledger: the counterparties of the scope's movements and the
    locations they took stock to, with units and first and last dates, sorted by
    kind and key. Free-text references that do not read as pseudonyms never appear.
    """
    scope = _record(recalls, campaign_id).campaign.scope
    seen: dict[tuple[str, str], _Seen] = {}
    for recorded in _in_scope(ledger, scope):
        movement = recorded.movement
        if movement.kind is MovementKind.REVERSAL:
            continue
        for place in _reached(movement):
            entry = seen.get(place)
            if entry is None:
                entry = seen[place] = _Seen(movement.occurred_at)
            entry.add(movement)
    return tuple(
        Exposure(
            kind=kind,
            key=key,
            quantity=entry.quantity,
            first=entry.first,
            last=entry.last,
            lots=tuple(sorted(entry.lots, key=ItemKey.sort_key)),
        )
        for (kind, key), entry in sorted(seen.items())
    )


class _Seen:
    """What reached one party or location so far."""

    __slots__ = ("first", "last", "lots", "quantity")

    def __init__(self, when: pendulum.DateTime) -> None:
        self.quantity = 0
        self.first = self.last = when
        self.lots: dict[ItemKey, None] = {}

    def add(self, movement: Movement) -> None:
        self.quantity += movement.quantity
        self.first = min(self.first, movement.occurred_at)
        self.last = max(self.last, movement.occurred_at)
        self.lots[lot_of(movement.item)] = None


# --------------------------------------------------------------------------- reconcile


@attrs.frozen(kw_only=True)
class Reconciliation:
    """A campaign's reconciliation: per lot (or serialised unit) in scope, and the totals.

    One [`LotReconciliation`][medinv.recall.LotReconciliation] per lot.
    """

    campaign_id: str
    lots: tuple[LotReconciliation, ...]
    undetermined: tuple[ItemKey, ...]
    """Lots of a production-range scope whose production date is known nowhere."""

    @property
    def unaccounted(self) -> int:
        """Units unaccounted for over every lot."""
        return sum(lot.unaccounted for lot in self.lots)

    @property
    def effectiveness(self) -> Fraction | None:
        """The share of distributed units accounted for, over every lot."""
        distributed = sum(lot.distributed_total for lot in self.lots)
        if not distributed:
            return None
        outstanding = sum(n for lot in self.lots for _, n in lot.outstanding)
        return Fraction(distributed - outstanding, distributed)


def _serial_key(item: ItemKey) -> ItemKey:
    """A serial scope reconciles each unit by device and serial, whatever lot it carries."""
    return ItemKey(item.device, serial=item.serial)


def _scope_keys(scope: RecallScope) -> list[ItemKey]:
    if scope.serials:
        return [ItemKey(scope.device, serial=s) for s in scope.serials]
    return [ItemKey(scope.device, lot=lot) for lot in scope.known_lots]


def reconcile(ledger: Ledger, recalls: RecallStore, campaign_id: str) -> Reconciliation:
    """Reconcile every lot (or serialised unit) of the campaign from the ledger and responses.

    A lot scope reconciles each lot (its serials included); a serial scope each unit,
    keyed by device and serial (a response names the unit the same way, or with its lot).
    """
    record = _record(recalls, campaign_id)
    scope = record.campaign.scope
    key_of = _serial_key if scope.serials else lot_of
    by_lot: dict[ItemKey, list[RecordedMovement]] = {k: [] for k in _scope_keys(scope)}
    for recorded in _in_scope(ledger, scope):
        by_lot.setdefault(key_of(recorded.movement.item), []).append(recorded)
    latest = record.latest_responses()
    lots = tuple(
        reconcile_lot(
            key,
            movements,
            responses=[r for (_, item), r in latest.items() if key_of(item) == key],
        )
        for key, movements in sorted(by_lot.items(), key=lambda p: p[0].sort_key())
    )
    return Reconciliation(
        campaign_id=campaign_id, lots=lots, undetermined=_undetermined(ledger, scope)
    )


def close_campaign(
    ledger: Ledger,
    recalls: RecallStore,
    campaign_id: str,
    *,
    closed_by: str,
    closed_at: dt.datetime | str,
    reason: str | None = None,
) -> CampaignRecord:
    """Close the campaign after reconciling it.

    With every unit accounted for, anyone may close it. With units unaccounted,
    closing needs a ``reason`` signed by a second person: ``closed_by`` must not be
    the person who opened the campaign (names compared as people).

    Raises:
        InvalidValueError: units unaccounted without a reason, or closed by the
            opener; the campaign unknown or already closed otherwise.
    """
    result = reconcile(ledger, recalls, campaign_id)
    closing = Closing(
        closed_at=to_datetime(closed_at),
        closed_by=closed_by,
        unaccounted=result.unaccounted,
        reason=reason,
    )
    recalls.close_campaign(campaign_id, closing)
    return _record(recalls, campaign_id)
