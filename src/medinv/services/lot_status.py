"""Lot-wide status operations: hold, release, quarantine or recall stock wherever it is.

One call reads every position of a target (a lot, several lots of one GTIN, a
serialised unit or a whole GTIN) at every location, and posts one batch of
STATUS_CHANGE movements that brings the stock it applies to into the new status:
all of it, or nothing.

Which statuses each operation takes ([`TRANSITIONS`][medinv.services.lot_status.TRANSITIONS]):

| operation    | to           | takes by default                   | may also take |
|--------------|--------------|------------------------------------|---------------|
| `hold`       | `HOLD`       | `AVAILABLE`                        | `QUARANTINE`  |
| `release`    | `AVAILABLE`  | `HOLD`                             | `QUARANTINE`  |
| `quarantine` | `QUARANTINE` | `AVAILABLE`, `HOLD`                |               |
| `recall`     | `RECALLED`   | `AVAILABLE`, `QUARANTINE`, `HOLD`, `DAMAGED` |     |

The ledger itself accepts a status change between any two different statuses;
this table is narrower on purpose: recalled stock is never released here (it
leaves by return or scrap, or a mistaken recall is undone by reversing its
movements), and damage is a per-unit finding, not a lot-wide operation.

Movement ids are deterministic: ``<operation>/<digest>`` where the digest hashes
the item, location, from-status and to-status. Running the same operation again
finds the stock already moved and posts nothing; if stock of the target came back
into a status the operation takes (a later receipt), a re-run moves it under the
next id of that key (``<operation>/<digest>.2``, ``.3`` ...). The read and the
post are one optimistic transaction: the batch is posted only if the ledger head
is still the one the positions were read at; otherwise the whole operation runs
again ([`retry`][medinv.ledger.retry]).

```pycon
>>> import pendulum
>>> from medinv import ItemKey, Ledger, Location, Movement
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.services import StockTarget, hold, release
>>> ledger = Ledger(MemoryStore())
>>> at = "2026-11-23T09:00:00+01:00"
>>> item = ItemKey("04006381333931", lot="L7")
>>> _ = ledger.post([
...     Movement.receipt(f"r{i}", item=item, quantity=5 * i, to=Location.parse(place),
...                      occurred_at=at, actor="dock", expiry="2027-06-30")
...     for i, place in enumerate(["CHU/Pharmacy", "CHU/Ward-3"], start=1)
... ])
>>> result = hold(ledger, StockTarget.of_lot("04006381333931", "L7"), operation="INV-12",
...               reason="investigation", actor="qa", occurred_at=at)
>>> [(str(m.location), m.quantity) for m in result.moved], result.quantity
([('CHU/Pharmacy', 5), ('CHU/Ward-3', 10)], 15)
>>> again = hold(ledger, StockTarget.of_lot("04006381333931", "L7"), operation="INV-12",
...              reason="investigation", actor="qa", occurred_at=at)
>>> again.moved, sum(p.quantity for p in again.already)
((), 15)
>>> release(ledger, StockTarget.of_lot("04006381333931", "L7"), operation="INV-12-OK",
...         reason="cleared", actor="qa", occurred_at=at).quantity
15

```
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Required, TypedDict, Unpack

import attrs

from medinv._retry import retry_lost_races
from medinv.devices import DeviceIdentifier, IssuingAgency
from medinv.errors import InvalidValueError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial, device_of
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.ports import LedgerHead
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.ledger import Ledger, PostResult

__all__ = [
    "DEFAULT_SOURCES",
    "TRANSITIONS",
    "StatusChangeResult",
    "StatusMove",
    "StatusOptions",
    "StockTarget",
    "change_status",
    "hold",
    "quarantine",
    "recall",
    "release",
]

_AV, _QU, _HO, _RE, _DA = (
    StockStatus.AVAILABLE,
    StockStatus.QUARANTINE,
    StockStatus.HOLD,
    StockStatus.RECALLED,
    StockStatus.DAMAGED,
)

TRANSITIONS: Final[Mapping[StockStatus, frozenset[StockStatus]]] = MappingProxyType(
    {
        _HO: frozenset({_AV, _QU}),
        _AV: frozenset({_HO, _QU}),
        _QU: frozenset({_AV, _HO}),
        _RE: frozenset({_AV, _QU, _HO, _DA}),
    }
)
"""Per target status, the statuses a lot-wide operation may take stock out of."""

DEFAULT_SOURCES: Final[Mapping[StockStatus, frozenset[StockStatus]]] = MappingProxyType(
    {
        _HO: frozenset({_AV}),
        _AV: frozenset({_HO}),
        _QU: frozenset({_AV, _HO}),
        _RE: frozenset({_AV, _QU, _HO, _DA}),
    }
)
"""Per target status, the statuses taken when the caller names none."""

_DIGEST_CHARS: Final = 24  # 96 bits of SHA-256: ids of one operation never collide
_MAX_OPERATION: Final = 200 - 1 - _DIGEST_CHARS - 8  # movement ids hold 200 characters


# --------------------------------------------------------------------------- target


def _lots(values: Iterable[Lot | str]) -> tuple[Lot, ...]:
    if isinstance(values, (str, Lot)):
        values = [values]
    out: dict[Lot, None] = {}
    for value in values:
        out[value if isinstance(value, Lot) else Lot(value)] = None
    return tuple(sorted(out, key=lambda lot: lot.value))


def _serial(value: Serial | str | None) -> Serial | None:
    return value if value is None or isinstance(value, Serial) else Serial(value)


@attrs.frozen
class StockTarget:
    """What a lot-wide operation applies to: lots of a device, one serialised unit, or a device.

    Build it with [`of_lot`][medinv.services.StockTarget.of_lot],
    [`of_lots`][medinv.services.StockTarget.of_lots],
    [`of_serial`][medinv.services.StockTarget.of_serial],
    [`of_product`][medinv.services.StockTarget.of_product] or
    [`of_item`][medinv.services.StockTarget.of_item].

    Raises:
        InvalidValueError: a malformed GTIN, lot or serial, or both lots and a serial.
    """

    device: DeviceIdentifier = attrs.field(converter=device_of, alias="gtin")
    """The product: a device identifier of any agency, given as ``gtin`` (GTIN digits, a
    `Gtin`, a `DeviceIdentifier` or ``AGENCY:DI`` text such as ``"HIBCC:A123BJC5D6E71"``)."""
    lots: tuple[Lot, ...] = attrs.field(default=(), converter=_lots)
    """The lots (sorted, no repeats); empty: every lot (or the one serial)."""
    serial: Serial | None = attrs.field(default=None, converter=_serial)
    """The serialised unit, whatever its lot; ``None``: not a serial target."""

    def __attrs_post_init__(self) -> None:
        if self.lots and self.serial is not None:
            msg = f"a target is lots or a serial of {self.device}, not both"
            raise InvalidValueError(msg)

    @classmethod
    def of_lot(cls, gtin: DeviceIdentifier | Gtin | str, lot: Lot | str) -> StockTarget:
        """One lot of a GTIN, every serial of it included."""
        return cls(gtin, (lot,))

    @classmethod
    def of_lots(cls, gtin: DeviceIdentifier | Gtin | str, lots: Iterable[Lot | str]) -> StockTarget:
        """Several lots of a GTIN (at least one)."""
        chosen = _lots(lots)
        if not chosen:
            raise InvalidValueError(f"a lot list of {gtin} must name at least one lot")
        return cls(gtin, chosen)

    @classmethod
    def of_serial(cls, gtin: DeviceIdentifier | Gtin | str, serial: Serial | str) -> StockTarget:
        """One serialised unit, whatever lot it carries."""
        return cls(gtin, (), serial)

    @classmethod
    def of_product(cls, gtin: DeviceIdentifier | Gtin | str) -> StockTarget:
        """Every lot and serial of a GTIN."""
        return cls(gtin)

    @classmethod
    def of_item(cls, item: ItemKey) -> StockTarget:
        """The unit of a serialised item key, else the lot of a lot item, else the GTIN."""
        if item.serial is not None:
            return cls(item.device, (), item.serial)
        return cls(item.device, () if item.lot is None else (item.lot,))

    @property
    def gtin(self) -> Gtin:
        """The GTIN of a GS1 target.

        Raises:
            NotGs1Error: the device was issued by HIBCC or the MA code (read ``device``).
        """
        return ItemKey(self.device).gtin

    def __str__(self) -> str:
        device = self.device
        if device.agency is not IssuingAgency.GS1:
            text = str(device)
            if self.serial is not None:
                return f"{text} [serial {self.serial.value}]"
            return text + "".join(f" [lot {lot.value}]" for lot in self.lots)
        text = f"(01){device.value}"
        if self.serial is not None:
            return f"{text}(21){self.serial.value}"
        return text + "".join(f"(10){lot.value}" for lot in self.lots)


# --------------------------------------------------------------------------- result


@attrs.frozen(kw_only=True)
class StatusMove:
    """One status change of an operation: a quantity of an item at one location."""

    item: ItemKey
    location: Location
    from_status: StockStatus
    to_status: StockStatus
    quantity: int
    movement_id: str
    """The id the movement was (or would have been) posted under."""


@attrs.frozen(kw_only=True)
class StatusChangeResult:
    """What a lot-wide operation did (posted as one batch) and what it found."""

    operation: str
    """The operation id the movement ids derive from."""
    target: StockTarget
    to_status: StockStatus
    moved: tuple[StatusMove, ...]
    """The status changes this call posted, by item, location and from-status."""
    already: tuple[StockPosition, ...]
    """Stock of the target already in ``to_status``."""
    left: tuple[StockPosition, ...]
    """Stock of the target in statuses this operation does not take (left as it is)."""
    head: LedgerHead
    """The ledger head after the post (the head read when nothing moved)."""
    attempts: int
    """How many read-and-post rounds it took (more than 1 after a lost race)."""

    @property
    def quantity(self) -> int:
        """The total quantity moved into ``to_status``."""
        return sum(m.quantity for m in self.moved)


# --------------------------------------------------------------------------- operations


def change_status(
    ledger: Ledger,
    target: StockTarget | ItemKey,
    *,
    to: StockStatus | str,
    operation: str,
    reason: str,
    actor: str,
    occurred_at: dt.datetime | str,
    reference: str | None = None,
    from_statuses: Collection[StockStatus | str] | None = None,
    within: Location | str | None = None,
    retries: int = 5,
) -> StatusChangeResult:
    """Move every position of ``target`` in ``from_statuses`` to ``to``, in one batch.

    Args:
        ledger: the ledger to read and post through.
        target: a [`StockTarget`][medinv.services.StockTarget] (or an item key, see
            [`StockTarget.of_item`][medinv.services.StockTarget.of_item]).
        to: the new status: ``HOLD``, ``AVAILABLE``, ``QUARANTINE`` or ``RECALLED``.
        operation: the operation's id (a recall notice, an investigation number);
            the movement ids derive from it, so running it again adds nothing.
        reason: why (stored on every movement; not blank).
        actor: who decides.
        occurred_at: when the status changed (aware date-time or ISO text).
        reference: a business reference stored on every movement.
        from_statuses: the statuses to take stock from (default
            [`DEFAULT_SOURCES`][medinv.services.lot_status.DEFAULT_SOURCES]``[to]``);
            each must be allowed by [`TRANSITIONS`][medinv.services.lot_status.TRANSITIONS].
        within: only stock at this location and below it (default: everywhere).
        retries: how many times to read and post again after another writer
            moved the ledger between the read and the post.

    Returns:
        What moved, what was already in ``to``, what was left alone.

    Raises:
        InvalidValueError: a malformed argument or a transition the table does not allow.
        StockError: the ledger refused the batch; nothing was posted.
        ConcurrencyError: the ledger kept moving through every retry; nothing was posted.
    """
    chosen = _target(target)
    to_status = StockStatus.parse(to) if isinstance(to, str) else to
    sources = _sources(to_status, from_statuses)
    given: object = within  # checked at run time, whatever the annotations say
    if given is not None and not isinstance(given, (Location, str)):
        msg = f"within is a location or its path, not {type(given).__name__}"
        raise InvalidValueError(msg)
    scope = Location.parse(within) if isinstance(within, str) else within
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidValueError(f"retries must be a whole number of at least 0, not {retries!r}")
    _check_text(operation, reason)
    # Checks actor, occurred_at and reference once, before anything is read; the id,
    # item, quantity, location and from-status are replaced per position.
    template = Movement.status_change(
        f"{operation}/",
        item=ItemKey(chosen.device),
        quantity=1,
        at=Location.parse("placeholder"),
        from_status=next(iter(sources)),
        to_status=to_status,
        occurred_at=occurred_at,
        actor=actor,
        reason=reason,
        reference=reference,
    )
    attempts = 0

    def once() -> StatusChangeResult:
        nonlocal attempts
        attempts += 1
        return _run_once(
            ledger, chosen, scope, sources, template, operation=operation, attempt=attempts
        )

    return retry_lost_races(once, retries)


class StatusOptions(TypedDict, total=False):
    """The keyword arguments of [`hold`][medinv.services.hold] and its siblings.

    They are those of [`change_status`][medinv.services.change_status] except ``to``.
    """

    operation: Required[str]
    """The operation id the movement ids derive from."""
    reason: Required[str]
    """Why (stored on every movement; not blank)."""
    actor: Required[str]
    """Who decides."""
    occurred_at: Required[dt.datetime | str]
    """When the status changed."""
    reference: str | None
    """A business reference stored on every movement."""
    from_statuses: Collection[StockStatus | str] | None
    """The statuses to take stock from (default: the operation's)."""
    within: Location | str | None
    """Only stock at this location and below it."""
    retries: int
    """How many times to run again after a lost race (default 5)."""


def hold(
    ledger: Ledger, target: StockTarget | ItemKey, **options: Unpack[StatusOptions]
) -> StatusChangeResult:
    """Put the target's ``AVAILABLE`` stock on ``HOLD`` everywhere (see `change_status`)."""
    return change_status(ledger, target, to=_HO, **options)


def release(
    ledger: Ledger, target: StockTarget | ItemKey, **options: Unpack[StatusOptions]
) -> StatusChangeResult:
    """Release the target's ``HOLD`` stock to ``AVAILABLE`` (``QUARANTINE`` too when asked)."""
    return change_status(ledger, target, to=_AV, **options)


def quarantine(
    ledger: Ledger, target: StockTarget | ItemKey, **options: Unpack[StatusOptions]
) -> StatusChangeResult:
    """Put the target's ``AVAILABLE`` and ``HOLD`` stock in ``QUARANTINE`` everywhere."""
    return change_status(ledger, target, to=_QU, **options)


def recall(
    ledger: Ledger, target: StockTarget | ItemKey, **options: Unpack[StatusOptions]
) -> StatusChangeResult:
    """Mark all the target's stock ``RECALLED``, whatever status it is in, everywhere."""
    return change_status(ledger, target, to=_RE, **options)


# --------------------------------------------------------------------------- internals


def _target(target: object) -> StockTarget:
    if isinstance(target, StockTarget):
        return target
    if isinstance(target, ItemKey):
        return StockTarget.of_item(target)
    msg = f"a lot-wide operation needs a StockTarget or an ItemKey, not {type(target).__name__}"
    raise InvalidValueError(msg)


def _sources(to: object, given: Collection[StockStatus | str] | None) -> tuple[StockStatus, ...]:
    if not isinstance(to, StockStatus) or to not in TRANSITIONS:
        allowed = ", ".join(s.value for s in TRANSITIONS)
        msg = f"a lot-wide operation moves stock to one of {allowed}, not {to!r:.60}"
        raise InvalidValueError(msg)
    if given is None:
        chosen = DEFAULT_SOURCES[to]
    else:
        if isinstance(given, (str, StockStatus)):
            given = [given]
        chosen = frozenset(StockStatus.parse(s) if isinstance(s, str) else s for s in given)
        wrong = sorted(s.value for s in chosen - TRANSITIONS[to])
        if not chosen or wrong:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[to]))
            what = ", ".join(wrong) if wrong else "no status"
            msg = f"stock goes to {to.value} from {allowed}, not from {what}"
            raise InvalidValueError(msg)
    return tuple(sorted(chosen, key=lambda s: s.value))


def _check_text(operation: object, reason: object) -> None:
    if not isinstance(operation, str) or not operation.strip():
        raise InvalidValueError(f"an operation id is non-blank text, not {operation!r:.60}")
    if len(operation) > _MAX_OPERATION:
        msg = f"an operation id is at most {_MAX_OPERATION} characters, not {len(operation)}"
        raise InvalidValueError(msg)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValueError(f"a lot-wide operation needs a reason, not {reason!r:.60}")


def _read(
    ledger: Ledger, target: StockTarget, scope: Location | None
) -> tuple[LedgerHead, list[StockPosition]]:
    """The target's positions and the head read before them.

    Positions read after another writer committed are newer than ``head``; posting
    at ``expected_position=head.position`` then fails and the operation runs again.
    """
    head = ledger.head()
    found: list[StockPosition] = []
    for lot in target.lots or (None,):
        found.extend(
            ledger.positions(device=target.device, lot=lot, serial=target.serial, location=scope)
        )
    found.sort(key=lambda p: (p.item.sort_key(), p.location.path, p.status.value))
    return head, found


def _movement_key(
    operation: str, item: ItemKey, location: Location, source: StockStatus, to: StockStatus
) -> str:
    """The base movement id of an operation's status change of one balance."""
    parts = (
        item.device_text,
        "" if item.lot is None else item.lot.value,
        "" if item.serial is None else item.serial.value,
        str(location),
        source.value,
        to.value,
    )
    digest = hashlib.sha256("\x1f".join(("\x01" + p) for p in parts).encode()).hexdigest()
    return f"{operation}/{digest[:_DIGEST_CHARS]}"


def _free_ids(ledger: Ledger, bases: list[str]) -> list[str]:
    """For each base id, the first of ``base``, ``base.2``, ``base.3`` ... not stored yet."""
    chosen = list(bases)
    pending = list(range(len(bases)))
    round_ = 1
    while pending:
        stored = ledger.store.movements_by_id([chosen[i] for i in pending])
        if not stored:
            break
        round_ += 1
        pending = [i for i in pending if chosen[i] in stored]
        for i in pending:
            chosen[i] = f"{bases[i]}.{round_}"
    return chosen


def _run_once(
    ledger: Ledger,
    target: StockTarget,
    scope: Location | None,
    sources: tuple[StockStatus, ...],
    template: Movement,
    *,
    operation: str,
    attempt: int,
) -> StatusChangeResult:
    to = template.to_status
    assert to is not None  # noqa: S101  (a status change has both sides)
    head, positions = _read(ledger, target, scope)
    taking = [p for p in positions if p.status in sources]
    already = tuple(p for p in positions if p.status is to)
    left = tuple(p for p in positions if p.status is not to and p.status not in sources)
    bases = [_movement_key(operation, p.item, p.location, p.status, to) for p in taking]
    ids = _free_ids(ledger, bases)
    movements = [
        attrs.evolve(
            template,
            id=mid,
            item=p.item,
            quantity=p.quantity,
            from_location=p.location,
            from_status=p.status,
            to_location=p.location,
        )
        for p, mid in zip(taking, ids, strict=True)
    ]
    moved = tuple(
        StatusMove(
            item=m.item,
            location=p.location,
            from_status=p.status,
            to_status=to,
            quantity=m.quantity,
            movement_id=m.id,
        )
        for p, m in zip(taking, movements, strict=True)
    )
    after: LedgerHead = head
    if movements:
        posted: PostResult = ledger.post(movements, expected_position=head.position)
        after = posted.head
    return StatusChangeResult(
        operation=operation,
        target=target,
        to_status=to,
        moved=moved,
        already=already,
        left=left,
        head=after,
        attempts=attempt,
    )
